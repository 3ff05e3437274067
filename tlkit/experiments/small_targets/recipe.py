"""The recipe of each method of the small-target chapter at each target size: its bucket
(small or large), its learning rate (and DELTA's and BSS's strength) from the profile's
``recipes``, and its length in SGD steps and epochs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...train import TrainConfig

__all__ = ["bucket", "train_config", "recipe_of", "lr_of", "min_epochs_text", "length_of"]


def bucket(s: Mapping[str, Any], n: int | None) -> str:
    """``"small"`` below the profile's ``size_boundary`` examples per class, else ``"large"``
    (the whole split is large)."""
    return "small" if n is not None and n < s["size_boundary"] else "large"


def train_config(s: Mapping[str, Any], n_images: int, lr: float) -> TrainConfig:
    """The optimisation of a run on ``n_images`` training images: at least ``steps`` SGD steps
    and at least ``min_epochs`` epochs, at learning rate ``lr``.

    Epochs are whole: with ``b = ceil(n_images / batch_size)`` batches per epoch, the batch
    size is evened out to ``ceil(n_images / b)`` (so that no batch is a near-empty remainder)
    and the run takes ``max(ceil(steps / b), min_epochs)`` epochs. A tiny target is trained for
    as many steps as a larger one, and a large target for as many epochs as the recipes of the
    layer-transfer chapter need to converge. The cosine schedule spans all of them.
    """
    batches = math.ceil(n_images / s["batch_size"])
    batch = math.ceil(n_images / batches)
    epochs = max(1, math.ceil(s["steps"] / batches), s["min_epochs"])
    return TrainConfig(epochs=epochs, batch_size=batch, lr=lr)


def recipe_of(s: Mapping[str, Any], method: str, n: int | None, setting: str,
              as_bucket: str | None = None) -> float:
    """A ``setting`` of the recipe of ``method`` at size ``n``: the profile's for its bucket,
    or for ``as_bucket`` (``"large"``: the large-target recipe applied to a small target)."""
    key = f"{method}_{as_bucket or bucket(s, n)}"
    try:
        return float(s["recipes"][key][setting])
    except KeyError:
        raise ValueError(f"the profile has no {setting} in recipe {key!r}") from None


def lr_of(s: Mapping[str, Any], method: str, n: int | None,
          as_bucket: str | None = None) -> float:
    """The learning rate of ``method`` at size ``n``: the profile's recipe for its bucket (or
    for ``as_bucket``)."""
    return recipe_of(s, method, n, "lr", as_bucket)


def min_epochs_text(s: Mapping[str, Any]) -> str:
    """The least epochs in words: ``"40"``, or ``"40 (80 for fine-tune on large targets)"``."""
    extra = ", ".join(f"{r['min_epochs']} for {k.rsplit('_', 1)[0]} on {k.rsplit('_', 1)[1]} "
                      "targets" for k, r in s["recipes"].items() if "min_epochs" in r)
    return f"{s['min_epochs']}" + (f" ({extra})" if extra else "")


def length_of(s: Mapping[str, Any], method: str, n: int | None,
              as_bucket: str | None = None) -> dict[str, Any]:
    """The settings with ``method``'s least epochs at size ``n``: its recipe's ``min_epochs``
    if any (a method slower to reach its plateau, :mod:`~tlkit.experiments.recipe_plateau`);
    ``as_bucket``: the recipe of that bucket instead of ``n``'s."""
    own = s["recipes"].get(f"{method}_{as_bucket or bucket(s, n)}", {}).get("min_epochs")
    return dict(s) if own is None else {**s, "min_epochs": int(own)}
