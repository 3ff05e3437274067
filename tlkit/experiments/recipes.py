"""Training recipes chosen on validation data: the searches behind every profile's recipes.

Each experiment declares, per profile, the recipes its runs use (``recipes`` in its profile
file: epochs, batch size, learning rate, warm-up, weight decay) and the search that chose them
(``recipe_search``: a grid over some of those settings and a number of seeds). Its module's
``recipe_tasks(params)`` gives, per recipe *role* (``scratch``, ``transfer``, ...), the run or
runs the recipe is chosen on (several when one recipe serves several kinds of run, e.g. transfer
at the shallowest and the deepest depth: a grid point's validation accuracy is then its mean over
them). :func:`search_specs` turns every grid point of every
role into runs (the template with that recipe, for each search seed: seeds from
:data:`~tlkit.experiments.profile.SEARCH_SEEDS_FROM` on, disjoint from every replicate whose
accuracy a page reports, so no search run doubles as one, and a transfer copies the source
network of its own seed, :func:`~tlkit.experiments.profile.at_seed`); :func:`select` picks,
from their **validation** accuracy alone, the recipe by the one-standard-error rule: among the
grid points whose mean validation accuracy is within one standard error (over seeds) of the
best, the cheapest (fewest epochs), and among equally cheap ones the best on validation. Test
accuracy is never read.

Breiman, L., Friedman, J., Olshen, R. & Stone, C. (1984). *Classification and Regression
Trees*, section 3.4.3 (the one-SE rule); Hastie, T., Tibshirani, R. & Friedman, J. (2009).
*The Elements of Statistical Learning*, section 7.10.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..spec import RunSpec
from ..train import TrainConfig
from .experiment import Experiment, Stage
from .profile import GRID_KEYS, at_seed, search_seeds, settings
from .recipe_plateau import specs as recipe_plateau_specs
from .searched import experiment_params, searched_experiments

__all__ = ["EXPERIMENT", "GRID_KEYS", "grid_points", "check_params", "search_specs", "specs",
           "budgets", "select",
           "declared", "agreement", "contradicted", "validation_curves", "RATE_SEARCHES",
           "rate_search_params", "rate_search_specs", "rate_select", "plateau_specs"]

_TRANSFER_KEYS = ("alpha",)


def grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, cheapest first: by epochs, then in the grid's order."""
    unknown = [k for k in grid if k not in GRID_KEYS]
    if unknown:
        raise ValueError(f"a recipe grid may vary {', '.join(GRID_KEYS)}; got {unknown}")
    keys = list(grid)
    points = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*(grid[k] for k in keys))]
    return sorted(points, key=lambda p: p.get("epochs", 0))  # stable: grid order within


def declared(params: Mapping[str, Any]) -> pd.DataFrame:
    """The recipes the profiles declare: one row per experiment and role."""
    rows = []
    for notebook, module in searched_experiments(params):
        s = settings(module.PROFILES, experiment_params(params, notebook))
        for role, recipe in s["recipes"].items():
            rows.append(dict(experiment=notebook, role=role, **recipe))
    return pd.DataFrame(rows)


def search_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run of every recipe search of the profile (tags ``experiment``, ``role``,
    ``point`` (the grid point's index, cheapest first) and the grid's settings)."""
    out = []
    for notebook, module in searched_experiments(params):
        s = settings(module.PROFILES, experiment_params(params, notebook))
        search = s["recipe_search"]
        tasks = module.recipe_tasks(experiment_params(params, notebook))
        for role, task in tasks.items():
            templates = task if isinstance(task, list | tuple) else [task]
            for i, point in enumerate(grid_points(search["grid"][role])):
                for j, template in enumerate(templates):
                    config = TrainConfig(**{**_fields(template.train), **{
                        k: v for k, v in point.items() if k not in _TRANSFER_KEYS}})
                    moved = replace(template.transfer, **{
                        k: v for k, v in point.items() if k in _TRANSFER_KEYS})
                    for seed in search_seeds(search["seeds"]):
                        spec = at_seed(replace(template, train=config, transfer=moved), seed)
                        out.append(spec.with_tags(experiment=notebook, role=role, point=i,
                                                  template=j,
                                                  **{f"grid_{k}": v for k, v in point.items()}))
    return out


def _fields(config: TrainConfig) -> dict[str, Any]:
    return {k: getattr(config, k) for k in ("epochs", "batch_size", "lr", "momentum",
                                            "nesterov", "weight_decay", "schedule",
                                            "warmup_epochs")}


def budgets(params: Mapping[str, Any]) -> dict[str, float]:
    """Per experiment, the most epochs a recipe may take (``recipe_search.max_epochs``; no
    limit when absent): a time budget stated with the profile, so that a longer recipe is
    shown with its validation accuracy but not chosen."""
    out = {}
    for notebook, module in searched_experiments(params):
        s = settings(module.PROFILES, experiment_params(params, notebook))
        out[notebook] = float(s["recipe_search"].get("max_epochs", math.inf))
    return out


def select(df: pd.DataFrame, max_epochs: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The recipe chosen for each experiment and role by the one-SE rule on validation.

    ``df`` is :func:`tlkit.results.frame` of :func:`search_specs`' records. Returns one row per
    grid point with ``val_mean`` and ``val_sem`` (over seeds, of the mean over the role's
    templates), ``train_mean`` and ``min_train`` (final training accuracy) and
    ``chosen`` (True for the choice); the test accuracy is not used (and not returned). A grid
    point with fewer finished runs than the others (some diverged) is never chosen, nor one
    with more epochs than its experiment's budget (``max_epochs``, :func:`budgets`); column
    ``eligible`` says which could be.
    """
    if "val_acc" not in df or df["val_acc"].isna().any():
        raise ValueError("recipe selection needs the validation accuracy of every run")
    settings_cols = [c for c in df.columns if c.startswith("grid_")]
    rows = []
    for (experiment, role), part in df.groupby(["experiment", "role"], sort=False):
        points = []
        templates = part["template"].nunique()  # a point whose runs of one template all
        for point, runs in part.groupby("point", sort=True):  # diverged is incomplete
            per_seed = runs.groupby("seed")
            complete = per_seed["val_acc"].count() == templates
            v = per_seed["val_acc"].mean()[complete].to_numpy(dtype=float)
            sem = float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
            first = runs.iloc[0]
            points.append(dict(experiment=experiment, role=role, point=int(point),
                               **{c[5:]: first[c] for c in settings_cols
                                  if not pd.isna(first[c])},
                               val_mean=float(v.mean()) if len(v) else math.nan,
                               val_sem=sem,
                               train_mean=float(runs["train_acc"].mean()),
                               min_train=float(runs["train_acc"].min()), seeds=len(v)))
        table = pd.DataFrame(points)
        cap = (max_epochs or {}).get(experiment, math.inf)
        table["eligible"] = (table["seeds"] == table["seeds"].max()) & (
            table["epochs"].fillna(0) <= cap if "epochs" in table else True)
        complete = table[table["eligible"]]
        best = complete.loc[complete["val_mean"].idxmax()]
        bar = best["val_mean"] - (0.0 if math.isnan(best["val_sem"]) else best["val_sem"])
        near = complete[complete["val_mean"] >= bar]
        cheapest = near[near["epochs"] == near["epochs"].min()] if "epochs" in near else near
        chosen = cheapest.loc[cheapest["val_mean"].idxmax(), "point"]
        rows.append(table.assign(chosen=table["point"] == chosen))
    return pd.concat(rows, ignore_index=True)


def agreement(selection: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    """Per experiment and role: the recipe the profile declares against the one the search
    chose (only the settings the grid varies), and whether they agree.

    Columns ``experiment, role, declared, chosen, val_mean`` (the choice's), ``declared_val``
    (the declared grid point's mean validation accuracy, NaN when it is not a grid point),
    ``agrees`` (the same settings) and ``tied``: the declared recipe is one this search cannot
    tell apart from its best (:func:`_tied`: an eligible grid point within twice the standard
    error of the difference). Where two recipes are that close, which one wins depends on the
    machine's floating point (the same seeds give validation accuracies a point or two apart
    on another processor), so a declared recipe that is tied is not contradicted by its search;
    one that is not tied is (:func:`contradicted`).
    """
    chosen = selection[selection["chosen"]].set_index(["experiment", "role"])
    rows = []
    for r in declared(params).itertuples(index=False):
        key = (r.experiment, r.role)
        if key not in chosen.index:
            continue
        pick = chosen.loc[key]
        varied = [k for k in GRID_KEYS if k in pick.index and not pd.isna(pick[k])]
        same = all(float(getattr(r, k)) == float(pick[k]) for k in varied)
        points = selection[(selection["experiment"] == r.experiment)
                           & (selection["role"] == r.role)]
        match = points[np.logical_and.reduce(
            [np.isclose(points[k].astype(float), float(getattr(r, k))) for k in varied])]
        rows.append(dict(experiment=r.experiment, role=r.role,
                         declared=", ".join(f"{k} {getattr(r, k):g}" for k in varied),
                         chosen=", ".join(f"{k} {float(pick[k]):g}" for k in varied),
                         val_mean=float(pick["val_mean"]),
                         declared_val=(float(match["val_mean"].iloc[0]) if len(match)
                                       else math.nan),
                         agrees=same, tied=same or _tied(points, match)))
    return pd.DataFrame(rows)


def _tied(points: pd.DataFrame, match: pd.DataFrame) -> bool:
    r"""Whether the declared grid point ``match`` is tied with the search's best: eligible, and
    its mean validation accuracy below the best eligible one's by no more than twice the
    standard error of their difference, :math:`2\sqrt{s_b^2 + s_d^2}` (each the standard error
    of a mean over the search's seeds). Within that band the search cannot tell the two apart,
    and which one the one-SE rule picks turns on the processor's floating point."""
    if len(match) != 1 or not bool(match["eligible"].iloc[0]):
        return False
    eligible = points[points["eligible"]]
    best = eligible.loc[eligible["val_mean"].idxmax()]
    declared = match.iloc[0]
    sems = [0.0 if math.isnan(x) else float(x) for x in (best["val_sem"], declared["val_sem"])]
    return float(best["val_mean"]) - float(declared["val_mean"]) <= 2 * math.hypot(*sems)


def contradicted(table: pd.DataFrame) -> list[str]:
    """The declared recipes their search contradicts (:func:`agreement`'s ``tied`` is false),
    each in words with the profile setting to change: empty when every profile's recipe is
    one its search chooses."""
    return [f"{r.experiment}: recipes.{r.role} declares {r.declared}, its search chose "
            f"{r.chosen} (validation {r.val_mean:.3f} against {r.declared_val:.3f})"
            for r in table.itertuples(index=False) if not r.tied]


def validation_curves(records: Any) -> pd.DataFrame:
    """Validation accuracy after each evaluated epoch of every search run: columns
    ``experiment, role, point, seed, epoch, val_acc`` (the curves a recipe is chosen from)."""
    rows = []
    for r in records:
        tags = r.spec.tag_dict
        for epoch, acc in zip(r.history.get("val_epoch", []), r.history.get("val_acc", []),
                              strict=True):
            rows.append(dict(experiment=tags["experiment"], role=tags["role"],
                             point=tags["point"], template=tags.get("template", 0),
                             seed=r.spec.seed, epoch=epoch, val_acc=acc))
    return pd.DataFrame(rows)


def check_params(params: Mapping[str, Any]) -> None:
    """Check the overrides given for each chapter (under its name) as that chapter checks its
    own parameters, before any work; a ``ValueError`` names the chapter."""
    from . import experiment

    for notebook in EXPERIMENT.links:
        if params.get(notebook) is not None:
            try:
                experiment(notebook).check(experiment_params(params, notebook))
            except ValueError as err:
                raise ValueError(f"{notebook}: {err}") from None


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs of the recipes appendix: every search (:func:`search_specs`)."""
    return search_specs(params)


# --- the chapters that choose their learning rates in a stage of their own -------------------

def rate_search_params(params: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    """The pretrained chapter's parameters behind ``notebook``'s learning-rate search."""
    own = experiment_params(params, notebook)
    if notebook == "04_hyperparameters":
        from .hyperparameters import pretrained_params

        return pretrained_params(own)
    return own


#: The chapters whose runs use the learning rates their own search stage chose (so nothing is
#: declared that could disagree); this page shows their searches beside the others.
RATE_SEARCHES = ("03_pretrained", "04_hyperparameters")


def rate_search_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The learning-rate searches of :data:`RATE_SEARCHES` (the same runs as those chapters'
    ``search`` stage, shared through the run cache), tagged like :func:`search_specs`' runs:
    ``experiment``, ``role`` (the grid key), ``point`` (the rate's place in its grid),
    ``template`` and ``grid_lr``."""
    from . import pretrained as pt

    out = []
    for notebook in RATE_SEARCHES:
        p = rate_search_params(params, notebook)
        grid = settings(pt.PROFILES, p)["search"]["grid"]
        for spec in pt.search_specs(p):
            role = spec.tag_dict["lr_choice"]
            point = [float(x) for x in grid[role]].index(spec.train.lr)
            out.append(spec.with_tags(experiment=notebook, role=role, point=point, template=0,
                                      grid_lr=spec.train.lr))
    return out


def rate_select(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`select`'s table for the learning-rate searches, with ``chosen`` the rate each
    chapter's own rule took (:func:`tlkit.experiments.pretrained.chosen_rates`: the best mean
    validation accuracy, ties to the smaller rate), which its runs then use."""
    from .pretrained import chosen_rates

    if "experiment" not in df:
        raise ValueError("no run of the learning-rate searches finished (their errors are in "
                         "the run's failed table)")
    parts = []
    for _, part in df.groupby("experiment", sort=False):
        table = select(part)
        rates = chosen_rates(part)
        parts.append(table.assign(chosen=[
            bool(rates.get(role) == lr) for role, lr in zip(table["role"], table["lr"],
                                                            strict=True)]))
    return pd.concat(parts, ignore_index=True)


def plateau_specs(params: Mapping[str, Any], done: Mapping[str, list[Any]]) -> list[RunSpec]:
    """The pretrained chapter's plateau check at the rates its search chose."""
    from .. import results
    from . import pretrained as pt

    records = [r for r in done["rate searches"]
               if r.spec.tag_dict["experiment"] == "03_pretrained"]
    p = rate_search_params(params, "03_pretrained")
    return pt.plateau_specs(p, pt.chosen_rates(results.frame(records)))


#: The recipes appendix: every search of every chapter (the declared recipes' searches, then the
#: learning-rate searches of the chapters that choose their rates as they run, then the
#: pretrained chapter's plateau check and that of every declared recipe); a diverged search run
#: is a recipe that does not work, not an error.
EXPERIMENT = Experiment(
    "recipes", "90_recipes", __name__,
    stages=(Stage("searches", lambda params, done: search_specs(params), search_specs,
                  failures=True),
            Stage("rate searches", lambda params, done: rate_search_specs(params),
                  rate_search_specs, pinned=False, failures=True),
            Stage("plateau", plateau_specs),
            Stage("recipe plateau", lambda params, done: recipe_plateau_specs(params),
                  recipe_plateau_specs)),
    links={name: name for name in ("00_quickstart", "01_layer_transfer", "02_small_targets",
                                   *RATE_SEARCHES)})
