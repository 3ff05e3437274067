"""Quickstart: does a source trained on printed letters help a small handwritten-digit task?

A source network is trained on the letter glyphs (A-Z, rendered from fonts); its first seven
layers (everything but the classifier) are copied into a network for handwritten digits,
which is then either fine-tuned or trained on top of the frozen features (a linear probe of the
penultimate layer followed by a new classifier). Both are compared with the same network trained
from scratch, at a few target sizes, over several seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import data
from ..spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from ..train import TrainConfig
from . import settings

__all__ = ["PROFILES", "CONDITIONS", "check_params", "specs"]

LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(seeds=2, sizes=[5], width=4, size=16, source="glyphs", target="digits",
                  source_options={"n_train": 20, "n_test": 10}, source_epochs=1,
                  target_epochs=2),
    "quick": dict(seeds=5, sizes=[5, 20], width=8, size=16, source="glyphs", target="digits",
                  source_options={}, source_epochs=8, target_epochs=40),
    "full": dict(seeds=5, sizes=[5, 20, 100], width=32, size=32, source="emnist-letters",
                 target="mnist", source_options={}, source_epochs=15, target_epochs=60),
}

CONDITIONS = ("scratch", "frozen features", "fine-tuned")


def _source_classes(name: str) -> tuple[str, ...] | None:
    return LETTERS if name == "glyphs" else None


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for an unknown dataset or an impossible target size."""
    s = settings(PROFILES, params)
    data.check(s["source"], classes=_source_classes(s["source"]), **s["source_options"])
    sizes = s["sizes"]
    if not isinstance(sizes, list | tuple) or not sizes or not all(
            isinstance(n, int) and n >= 1 for n in sizes):
        raise ValueError(f"sizes must be a list of positive integers, got {sizes!r}")
    for n in sizes:
        data.check(s["target"], n_per_class=n)


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run of the quickstart: three conditions x target sizes x seeds."""
    check_params(params)
    s = settings(PROFILES, params)
    model = ModelSpec(width=s["width"], size=s["size"], channels=1)
    source = RunSpec(
        DataSpec(s["source"], s["source_options"], classes=_source_classes(s["source"])),
        model, TrainConfig(epochs=s["source_epochs"], batch_size=128, lr=0.05), seed=0)
    target_train = TrainConfig(epochs=s["target_epochs"], batch_size=32, lr=0.02)
    transfers = {
        "scratch": TransferSpec(),
        "frozen features": TransferSpec(source=source, layers=7, freeze=True),
        "fine-tuned": TransferSpec(source=source, layers=7, freeze=False),
    }
    out = []
    for n in s["sizes"]:
        for seed in range(s["seeds"]):
            target = DataSpec(s["target"], n_per_class=n, subsample_seed=seed)
            for condition, transfer in transfers.items():
                out.append(RunSpec(target, model, target_train, transfer, seed=seed)
                           .with_tags(condition=condition))
    return out
