r"""Did each declared recipe reach its plateau? Its search runs, once more, twice as long.

A recipe chosen on validation can still stop while its network is learning: the grid may not
offer a longer one, or the longer one may lose on noise. So every recipe a profile declares
(:func:`~tlkit.experiments.recipes.declared`) trains on its search's template runs (which carry
the declared recipe) and seeds at its own length and at twice it (twice the epochs; the cosine
schedule stretched over them, the warm-up unchanged). Where the grid holds the doubled recipe,
or the recipe itself, those runs are the search's own, found in the run cache; the others are
new, on the same selection seeds (never reported).

The check is the one the pretrained chapter applies to its methods
(:mod:`tlkit.experiments.pretrained.convergence`), fixed before any run: a recipe has **reached
its plateau** when doubling its training gains at most :data:`PLATEAU_GAIN` (0.02) of validation
accuracy, on the mean over seeds of the paired difference

.. math:: g = \overline{\mathrm{acc}_{val}(2T) - \mathrm{acc}_{val}(T)} \le 0.02,

where a role searched on several templates (transfer at two depths) averages them per seed
first. Test accuracy is not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..spec import RunSpec
from .profile import at_seed, search_seeds, settings
from .searched import experiment_params, searched_experiments

__all__ = ["PLATEAU_GAIN", "specs", "experiment_specs", "plateau", "gains"]

#: The most validation accuracy that twice the training may add to a recipe at its plateau:
#: about the smallest published effect the book tests (the layer-transfer boost, 0.017), and
#: below the differences between methods its chapters are about.
PLATEAU_GAIN = 0.02


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs of the check: for every declared recipe, each of its search's templates (which
    carry the recipe) at the recipe's length and twice it, for each search seed. Tags
    ``experiment``, ``role``, ``template``, ``length`` (1 or 2)."""
    return [spec for notebook, module in searched_experiments(params)
            for spec in experiment_specs(notebook, module, experiment_params(params, notebook))]


def experiment_specs(notebook: str, module: Any, params: Mapping[str, Any]) -> list[RunSpec]:
    """:func:`specs` for one experiment (``module``, with ``recipe_tasks``) and its own
    parameters ``params``: the check a chapter can run on its own page."""
    n_seeds = settings(module.PROFILES, params)["recipe_search"]["seeds"]
    out = []
    for role, task in module.recipe_tasks(params).items():
        templates = task if isinstance(task, list | tuple) else [task]
        for j, template in enumerate(templates):
            for seed in search_seeds(n_seeds):
                for length in (1, 2):
                    config = replace(template.train, epochs=length * template.train.epochs)
                    out.append(at_seed(replace(template, train=config), seed).with_tags(
                        experiment=notebook, role=role, template=j, length=length))
    return out


def plateau(df: pd.DataFrame) -> pd.DataFrame:
    """Per experiment and role: ``epochs`` (the recipe's) and the columns of :func:`gains`.
    ``df`` is the results table of :func:`specs`' records; only ``val_acc`` is read."""
    return gains(df, {"experiment": "experiment", "role": "role"})


def gains(df: pd.DataFrame, by: Mapping[str, str]) -> pd.DataFrame:
    """Per group of ``df`` (the columns of ``by``, named in the result as its values): the
    least epochs of its runs at length 1 (``epochs``), mean validation accuracy at length 1
    (``val_1``) and 2 (``val_2``; a seed's runs of one length averaged first), the mean paired
    gain ``gain`` with its range over seeds (``gain_min``, ``gain_max``), ``seeds`` and
    ``reached`` (``gain`` at most :data:`PLATEAU_GAIN`). Only ``val_acc`` is read."""
    if "val_acc" not in df or df["val_acc"].isna().any():
        raise ValueError("the plateau check needs the validation accuracy of every run")
    rows = []
    for names, part in df.groupby(list(by), sort=False):
        wide = part.groupby(["seed", "length"])["val_acc"].mean().unstack("length")
        gain = (wide[2] - wide[1]).dropna().to_numpy(dtype=float)
        rows.append(dict(zip(by.values(), names, strict=True),
                         epochs=int(part.loc[part["length"] == 1, "epochs"].min()),
                         val_1=float(wide[1].mean()), val_2=float(wide[2].mean()),
                         gain=float(gain.mean()), gain_min=float(np.min(gain)),
                         gain_max=float(np.max(gain)), seeds=len(gain),
                         reached=bool(gain.mean() <= PLATEAU_GAIN)))
    return pd.DataFrame(rows)
