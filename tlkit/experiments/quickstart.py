"""Quickstart: does a source trained on printed letters help a small handwritten-digit task?

A source network is trained on the letter glyphs (A-Z, rendered from fonts); its first seven
layers (everything but the classifier) are copied into a network for handwritten digits,
which is then either fine-tuned or trained on top of the frozen features (a linear probe of the
penultimate layer followed by a new classifier). Both are compared with the same network trained
from scratch, at a few target sizes, over several seeds. Profiles: ``profiles/quickstart.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .. import data
from ..analysis import paired_tests
from ..data.glyphs import LETTERS
from ..methods import transfer
from ..spec import DataSpec, ModelSpec, RunSpec
from ..stats import holm
from ..train import TrainConfig
from .params import int_list
from .profile import load_profiles, settings

__all__ = ["PROFILES", "CONDITIONS", "METHOD_OF", "check_params", "specs", "gain_tests"]

PROFILES = load_profiles("quickstart")

#: The three conditions of the page and the transfer method each one is.
METHOD_OF: Mapping[str, str] = {"scratch": "scratch", "frozen features": "linear probe",
                                "fine-tuned": "fine-tune"}
CONDITIONS = tuple(METHOD_OF)


def _source_classes(name: str) -> tuple[str, ...] | None:
    return tuple(LETTERS) if name == "glyphs" else None


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for an unknown dataset, a repeated or impossible target size."""
    s = settings(PROFILES, params)
    data.check(s["source"], classes=_source_classes(s["source"]), **s["source_options"])
    for n in int_list("sizes", s["sizes"]):
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
    out = []
    for n in s["sizes"]:
        for seed in range(s["seeds"]):
            target = DataSpec(s["target"], n_per_class=n, subsample_seed=seed)
            for condition, name in METHOD_OF.items():
                t = transfer(name, source if name != "scratch" else None, arch=model.arch)
                out.append(RunSpec(target, model, target_train, t, seed=seed)
                           .with_tags(condition=condition))
    return out


def gain_tests(df: pd.DataFrame) -> pd.DataFrame:
    """Per target size and transferred condition: the paired (by seed) gain over scratch.

    Columns ``n_per_class, method, accuracy, scratch, gain, ci_low, ci_high, p_value,
    wilcoxon_p, seeds, direction`` (:func:`tlkit.analysis.paired_tests`) and ``p_holm``,
    Holm-adjusted over every row.
    """
    wide = df.pivot_table(index=["n_per_class", "seed"], columns="condition",
                          values="test_acc").reset_index()
    parts = [paired_tests(wide.assign(method=condition), ["n_per_class", "method"], condition,
                          "scratch")
             for condition in CONDITIONS if condition != "scratch" and condition in wide]
    out = pd.concat(parts, ignore_index=True)
    out["p_holm"] = holm(out["p_value"])  # over the whole family, not per condition
    return out.rename(columns={"mean_a": "accuracy", "mean_b": "scratch", "diff": "gain"})
