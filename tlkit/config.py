"""The optimisation recipe of one training run, as part of a run's spec.

Kept apart from the trainer (:mod:`tlkit.train`) so that specs are made and checked without
importing a network library.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import check_int, check_number

__all__ = ["TrainConfig", "SCHEDULES"]

#: The learning-rate schedules a recipe may name.
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation hyperparameters of one training run.

    ``weight_decay`` is plain L2 towards zero on conv/linear weights, applied by SGD
    (``grad += weight_decay * w``, the gradient of ``weight_decay/2 * ||w||^2``).
    ``warmup_epochs`` raises the learning rate linearly from 0 over that many epochs (may be
    fractional) before the schedule starts; the schedule spans the remaining steps.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: float = 0.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            check_int("TrainConfig", name, getattr(self, name), 1)
        for name in ("lr", "momentum", "weight_decay", "warmup_epochs"):
            check_number("TrainConfig", name, getattr(self, name))
            object.__setattr__(self, name, float(getattr(self, name)))  # lr=1 and 1.0: one key
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup_epochs must lie in [0, epochs), got {self.warmup_epochs}")
        if self.lr <= 0 or not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError("need lr > 0, 0 <= momentum < 1 and weight_decay >= 0")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}")
