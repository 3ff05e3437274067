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
from ..checks import int_list, positive_int
from ..data.glyphs import LETTERS
from ..methods import transfer
from ..spec import DataSpec, ModelSpec, RunSpec
from ..stats import holm
from ..train import TrainConfig
from .experiment import Experiment, checked_once, listed
from .profile import load_profiles, replicate_seeds, settings

__all__ = ["EXPERIMENT", "PROFILES", "CONDITIONS", "METHOD_OF", "SHORT", "check_params",
           "specs", "recipe_tasks", "gain_tests", "claims", "bn_effect"]

PROFILES = load_profiles("quickstart")

#: The conditions of the page and the transfer method each one is. Frozen features run both
#: ways: with the source's batch-norm statistics in the frozen layers, and with them recomputed
#: on the target's training images (:mod:`tlkit.methods`), since a claim about frozen features
#: would otherwise be a claim about one choice of statistics.
METHOD_OF: Mapping[str, str] = {"scratch": "scratch", "frozen features": "linear probe",
                                "frozen features, target BN": "linear probe, target BN",
                                "fine-tuned": "fine-tune"}
CONDITIONS = tuple(METHOD_OF)
#: The transferred conditions, each compared with scratch, and their short claim names.
SHORT = {"fine-tuned": "ft", "frozen features": "frozen",
         "frozen features, target BN": "frozen_tbn"}


def _source_classes(name: str) -> tuple[str, ...] | None:
    return tuple(LETTERS) if name == "glyphs" else None


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for an unknown dataset, a repeated or impossible target size, or a
    bad recipe."""
    s = settings(PROFILES, params)
    data.check(s["source"], classes=_source_classes(s["source"]), **s["source_options"])
    positive_int("validation", s["validation"], 0)
    for n in int_list("sizes", s["sizes"]):
        data.check(s["target"], n_per_class=n + s["validation"])
    for role in ("source", *CONDITIONS):
        TrainConfig(**s["recipes"][role])


def _source(s: Mapping[str, Any], model: ModelSpec, seed: int = 0) -> RunSpec:
    """The source network of replicate ``seed``: every seed has its own (its initial weights
    and batch order), so that the seeds the intervals run over are independent replicates."""
    data_spec = DataSpec(s["source"], s["source_options"], classes=_source_classes(s["source"]),
                         validation=s["validation"])
    return RunSpec(data_spec, model, TrainConfig(**s["recipes"]["source"]), seed=seed)


def _run(s: Mapping[str, Any], model: ModelSpec, source: RunSpec, condition: str, n: int,
         seed: int) -> RunSpec:
    target = DataSpec(s["target"], n_per_class=n, subsample_seed=seed,
                      validation=s["validation"])
    name = METHOD_OF[condition]
    t = transfer(name, source if name != "scratch" else None, arch=model.arch)
    return RunSpec(target, model, TrainConfig(**s["recipes"][condition]), t, seed=seed
                   ).with_tags(condition=condition)


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run of the quickstart: three conditions x target sizes x seeds, each condition
    with its recipe (chosen on validation); the transfers of seed k copy source network k."""
    check_params(params)
    s = settings(PROFILES, params)
    model = ModelSpec(width=s["width"], size=s["size"], channels=1)
    return [_run(s, model, _source(s, model, seed), condition, n, seed)
            for n in s["sizes"] for seed in replicate_seeds(s) for condition in METHOD_OF]


def recipe_tasks(params: Mapping[str, Any]) -> dict[str, RunSpec]:
    """The runs each recipe is chosen on (:mod:`tlkit.experiments.recipes`): the source, and
    each condition at the search's size."""
    s = settings(PROFILES, params)
    model = ModelSpec(width=s["width"], size=s["size"], channels=1)
    source = _source(s, model)
    n = s["recipe_search"]["size"]
    return {"source": source,
            **{c: _run(s, model, source, c, n, 0) for c in METHOD_OF}}


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


def claims(df: pd.DataFrame) -> list[Any]:
    """The quickstart's family: at each target size, fine-tuning and frozen features (with the
    source's batch-norm statistics and with the target's) each beat scratch (paired by seed;
    claimed positive, no published size)."""
    from ..analysis import mean_claim

    wide = df.pivot_table(index=["n_per_class", "seed"], columns="condition",
                          values="test_acc").reset_index()
    out = []
    for n, part in wide.groupby("n_per_class", sort=True):
        for condition, short in SHORT.items():
            if condition in part:
                out.append(mean_claim(f"{short}_{int(n)}", part[condition] - part["scratch"],
                                      description=f"{condition} - scratch, {int(n)} per class"))
    return out


def bn_effect(df: pd.DataFrame) -> pd.DataFrame:
    """Per target size: what recomputing the frozen layers' batch-norm statistics on the
    target is worth, frozen features with target statistics minus with the source's (paired by
    seed; :func:`tlkit.analysis.paired_tests`, 95% interval, not a claim of the page)."""
    wide = df.pivot_table(index=["n_per_class", "seed"], columns="condition",
                          values="test_acc").reset_index()
    return paired_tests(wide.assign(method="target BN"), ["n_per_class"],
                        "frozen features, target BN", "frozen features")


def _frame(params: Mapping[str, Any], done: Mapping[str, list[Any]]) -> pd.DataFrame:
    from .. import results

    return results.frame(done["runs"])


def _effects(table: Any, params: Mapping[str, Any]) -> list[Any]:
    from ..stats import paired_difference
    from .experiment import Effect

    df = table("df")
    small = df[df["n_per_class"] == df["n_per_class"].min()]
    wide = small.pivot_table(index="seed", columns="condition", values="test_acc")
    r = paired_difference(wide["fine-tuned"], wide["frozen features"])
    return [Effect("q1_predict", "fine-tuned minus frozen features at the smallest size "
                   "(paired by seed)", r.mean_diff, r.ci_low, r.ci_high, r.n)]


#: The quickstart's experiment: one stage; its exercises grade the results table ``df``, and
#: its first asks which of fine-tuning and frozen features is ahead at the smallest size.
EXPERIMENT = Experiment("quickstart", "00_quickstart", __name__, stages=(listed(specs),),
                        tables={"df": _frame}, effects=_effects)
