"""Quickstart: does a source trained on printed letters help a small handwritten-digit task?

A source network is trained on the letter glyphs (A-Z, rendered from fonts); its first seven
layers (everything but the classifier) are copied into a network for handwritten digits,
which is then either fine-tuned or trained on top of the frozen features (a linear probe of the
penultimate layer followed by a new classifier). Both are compared with the same network trained
from scratch, at a few target sizes, over several seeds. Profiles: ``profiles/quickstart.yaml``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
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
from .experiment import Experiment, Stage, checked_once, listed
from .layer_transfer.preconditions import untestable
from .profile import at_seed, load_profiles, replicate_seeds, search_seeds, settings
from .recipe_plateau import PLATEAU_GAIN, experiment_specs, plateau
from .setting_checks import check_settings, train_recipe

__all__ = ["EXPERIMENT", "PROFILES", "CONDITIONS", "METHOD_OF", "SHORT", "check_params",
           "specs", "recipe_tasks", "gain_tests", "claims", "claim_values", "bn_effect",
           "HEADROOM_ERROR", "PLATEAU_GAIN", "check_specs", "preconditions", "untestable"]

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
#: Each transferred condition in the words of a claim about it.
STATEMENTS = {"fine-tuned": "Fine-tuning",
              "frozen features": "Training on frozen features (the source's batch-norm "
                                 "statistics)",
              "frozen features, target BN": "Training on frozen features (batch-norm "
                                            "statistics recomputed on the target)"}


def _source_classes(name: str) -> tuple[str, ...] | None:
    return tuple(LETTERS) if name == "glyphs" else None


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for an unknown dataset, a repeated or impossible target size, or a
    bad recipe."""
    check_settings("00_quickstart", params)
    s = settings(PROFILES, params)
    data.check(s["source"], classes=_source_classes(s["source"]), **s["source_options"])
    positive_int("validation", s["validation"], 0)
    for n in int_list("sizes", s["sizes"]):
        data.check(s["target"], n_per_class=n + s["validation"])
    for role in ("source", *CONDITIONS):
        train_recipe(s["recipes"], role)


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


def claim_values(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per claim of :func:`claims`: its per-seed values (``values``, the paired difference
    from scratch), ``description`` and ``statement`` (the claim in words)."""
    wide = df.pivot_table(index=["n_per_class", "seed"], columns="condition",
                          values="test_acc").reset_index()
    out = {}
    for n, part in wide.groupby("n_per_class", sort=True):
        for condition, short in SHORT.items():
            if condition in part:
                out[f"{short}_{int(n)}"] = dict(
                    values=(part[condition] - part["scratch"]).reset_index(drop=True),
                    description=f"{condition} - scratch, {int(n)} per class",
                    statement=f"{STATEMENTS[condition]} beats training from scratch at "
                              f"{int(n)} example{'' if int(n) == 1 else 's'} per class")
    return out


def claims(df: pd.DataFrame, untested: Mapping[str, str] | None = None) -> list[Any]:
    """The quickstart's family: at each target size, fine-tuning and frozen features (with the
    source's batch-norm statistics and with the target's) each beat scratch (paired by seed;
    claimed positive, no published size). A claim of ``untested`` (its name and why: a
    precondition failed, :func:`preconditions`) leaves the family."""
    from ..analysis import mean_claim

    return [mean_claim(name, c["values"], description=c["description"])
            for name, c in claim_values(df).items() if name not in (untested or {})]


def bn_effect(df: pd.DataFrame) -> pd.DataFrame:
    """Per target size: what recomputing the frozen layers' batch-norm statistics on the
    target is worth, frozen features with target statistics minus with the source's (paired by
    seed; :func:`tlkit.analysis.paired_tests`, 95% interval, not a claim of the page)."""
    wide = df.pivot_table(index=["n_per_class", "seed"], columns="condition",
                          values="test_acc").reset_index()
    return paired_tests(wide.assign(method="target BN"), ["n_per_class"],
                        "frozen features, target BN", "frozen features")


# --- can this experiment show the effect? ------------------------------------------------

#: Headroom: the least validation error of scratch at the search size. The claims have no
#: published size; the gains transfer is reported to give small targets are a few points of
#: accuracy, which need at least that many errors left to remove.
HEADROOM_ERROR = 0.05


def check_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs the preconditions read, on the search's seeds and size (never reported; only
    their validation accuracy is read): every condition's recipe at its length and at twice it
    (:func:`tlkit.experiments.recipe_plateau.experiment_specs`; the runs at its length are the
    search's own), and the probe on frozen *random* layers, their batch-norm statistics
    recomputed on the target, with the recipe of frozen features with target statistics (tag
    ``check="random"``)."""
    check_params(params)
    out = experiment_specs("00_quickstart", sys.modules[__name__], params)
    probe = recipe_tasks(params)["frozen features, target BN"]
    for seed in search_seeds(settings(PROFILES, params)["recipe_search"]["seeds"]):
        out.append(at_seed(replace(probe, transfer=replace(probe.transfer, source=None)), seed
                           ).with_tags(check="random"))
    return out


def _needs(s: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Per claim: the conditions whose recipes it compares (and the source's, if any)."""
    return {f"{short}_{n}": ("scratch", condition, "source")
            for n in s["sizes"] for condition, short in SHORT.items()}


def preconditions(params: Mapping[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """The page's preconditions, measured on the results table ``df`` of :func:`check_specs`'
    records (validation accuracy only), one row per precondition: ``precondition, claims,
    measured, threshold, holds``.

    * **baselines converge** (every claim, per condition): its recipe reached its plateau
      (:func:`tlkit.experiments.recipe_plateau.plateau`: twice the training gains at most
      0.02 of validation accuracy);
    * **headroom** (every claim): scratch's validation error at the search size is at least
      :data:`HEADROOM_ERROR`;
    * **learned features matter** (the frozen-features claims): the source's frozen layers
      beat frozen random layers (both with target statistics) on validation, the lower end of
      the 95% interval of the paired difference over the search's seeds above zero; otherwise
      a frozen-features verdict says nothing about what the source learned.
    """
    from ..analysis import t_interval

    s = settings(PROFILES, params)
    needs = _needs(s)
    random = df[df["check"] == "random"] if "check" in df else df.iloc[:0]
    curve = plateau(df[df["check"].isna()] if "check" in df else df)
    rows = []
    for r in curve.itertuples(index=False):
        rows.append(dict(precondition=f"{r.role} converges",
                         claims=", ".join(k for k, v in needs.items() if r.role in v),
                         measured=f"twice the epochs ({2 * r.epochs}): {r.gain:+.3f}",
                         threshold=f"gain at most {PLATEAU_GAIN}", holds=bool(r.reached)))
    once = df[(df.get("length") == 1) & df["check"].isna()] if "check" in df else df
    scratch = float(once.loc[once["role"] == "scratch", "val_acc"].mean())
    rows.append(dict(precondition="headroom", claims=", ".join(needs),
                     measured=f"scratch's validation error {1 - scratch:.3f}",
                     threshold=f"at least {HEADROOM_ERROR}",
                     holds=bool(1 - scratch >= HEADROOM_ERROR)))
    learned = once[(once["role"] == "frozen features, target BN")].set_index("seed")["val_acc"]
    diff = (learned - random.set_index("seed")["val_acc"]).dropna()
    low, high = t_interval(diff, 0.95)
    rows.append(dict(precondition="learned features matter",
                     claims=", ".join(k for k in needs if k.startswith("frozen")),
                     measured=f"source minus random frozen layers {diff.mean():+.3f} "
                              f"[{low:+.3f}, {high:+.3f}] over {len(diff)} seeds",
                     threshold="interval above 0", holds=bool(low > 0)))
    return pd.DataFrame(rows)


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


#: The quickstart's experiment: the runs its preconditions read (on selection seeds), then its
#: runs; its exercises grade the results table ``df``, and its first asks which of
#: fine-tuning and frozen features is ahead at the smallest size.
EXPERIMENT = Experiment("quickstart", "00_quickstart", __name__,
                        stages=(Stage("checks", lambda params, done: check_specs(params),
                                      check_specs, pinned=False), listed(specs)),
                        tables={"df": _frame}, effects=_effects)
