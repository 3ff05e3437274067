"""Can this experiment show the effect? The small-target chapter's preconditions, stated and
measured before any of its results.

Each precondition names the claims that need it and a threshold fixed with its reason before
any result; its value comes from the data alone or from runs on the recipe searches' seeds
(:data:`~tlkit.experiments.profile.SEARCH_SEEDS_FROM`, never reported), read on validation
accuracy. A claim whose precondition fails leaves the family before any verdict.

* **far is far** (the claims about the far source): half A of the far split lies farther from
  the target than half A of the near split, by more than the distance's own noise: the
  layer-transfer chapter's test (:func:`~tlkit.experiments.layer_transfer.far_is_far`, the
  pixel OTDD on further subsamples, paired by subsample).
* **converges** (per recipe, the claims that compare it): the recipe reached its plateau,
  twice its training gaining at most
  :data:`~tlkit.experiments.recipe_plateau.PLATEAU_GAIN` of validation accuracy
  (:mod:`tlkit.experiments.recipe_plateau`).
* **the recipes differ** (the claims about the large-target recipe): the recipe chosen for
  large targets differs from the small-target one in learning rate or least epochs; where
  they coincide the arm is the same run as fine-tuning and can show nothing.
* **headroom** (every claim): scratch's validation error on a small target at the search's
  size is at least :data:`HEADROOM_ERROR`, room for gains and losses of a few points.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pandas as pd

from .. import layer_transfer as lt
from ..profile import settings
from ..recipe_plateau import PLATEAU_GAIN, experiment_specs, plateau
from .design import PROFILES, layer_params, recipe_tasks, studies

__all__ = ["HEADROOM_ERROR", "PLATEAU_GAIN", "NEEDS", "FAR_CLAIMS", "LARGE_CLAIMS",
           "check_specs", "preconditions"]

#: The least validation error of scratch on a small target (module docstring).
HEADROOM_ERROR = 0.05

#: The recipes each claim compares (:func:`~.claims.effects`).
NEEDS: Mapping[str, tuple[str, ...]] = {
    "small_gain": ("scratch_small", "fine-tune_small"),
    "shrinks": ("scratch_small", "fine-tune_small", "scratch_large", "fine-tune_large"),
    "far_ft_hurts": ("scratch_small", "fine-tune_small"),
    "far_l2sp_hurts": ("scratch_small", "L2-SP_small"),
    "near_beats_far": ("scratch_small", "fine-tune_small"),
    "l2sp_beats_ft": ("fine-tune_small", "L2-SP_small"),
    "large_recipe_hurts": ("scratch_small", "fine-tune_large"),
    "large_recipe_costs": ("fine-tune_small", "fine-tune_large"),
}
#: The claims about fine-tuning by the large-target recipe on small targets.
LARGE_CLAIMS = ("large_recipe_hurts", "large_recipe_costs")
#: The claims about the far source, which need it to be far by measure.
FAR_CLAIMS = ("far_ft_hurts", "far_l2sp_hurts", "near_beats_far", *LARGE_CLAIMS)


def check_specs(params: Mapping[str, Any]) -> list[Any]:
    """The runs the preconditions read: every recipe at its length and at twice it, on its
    search's runs and seeds (:func:`tlkit.experiments.recipe_plateau.experiment_specs`)."""
    module = SimpleNamespace(PROFILES=PROFILES, recipe_tasks=recipe_tasks)
    return experiment_specs("02_small_targets", module, params)


def preconditions(params: Mapping[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """The page's preconditions (module docstring), one row each: ``precondition, claims,
    measured, threshold, holds``. ``df`` is the results table of :func:`check_specs`' records
    (validation accuracy only)."""
    s = settings(PROFILES, params)
    rows = []
    study = studies(params)[0]
    split = {src.role: src.split for src in study.sources}
    if split.get("near") and split.get("far"):
        pair = [(split["near"], split["far"])]
        r = next(lt.far_is_far(lt.distance_draws(layer_params(s)), pair).itertuples())
        rows.append(dict(precondition=f"far is far ({r.far})", claims=", ".join(FAR_CLAIMS),
                         measured=f"OTDD {r.far} - {r.near}: {r.difference:+.3f} "
                                  f"[{r.low:+.3f}, {r.high:+.3f}] over {r.draws} subsamples",
                         threshold="interval above 0", holds=bool(r.holds)))
    for r in plateau(df).itertuples(index=False):
        rows.append(dict(precondition=f"{r.role} converges",
                         claims=", ".join(k for k, v in NEEDS.items() if r.role in v),
                         measured=f"twice the epochs ({2 * r.epochs}): {r.gain:+.3f}",
                         threshold=f"gain at most {PLATEAU_GAIN}", holds=bool(r.reached)))
    if s.get("large_recipe_arm"):
        big, own = (s["recipes"].get(f"fine-tune_{b}", {}) for b in ("large", "small"))
        shown = {k: f"lr {r.get('lr')}, least epochs {r.get('min_epochs', s['min_epochs'])}"
                 for k, r in (("large", big), ("small", own))}
        rows.append(dict(precondition="the recipes differ", claims=", ".join(LARGE_CLAIMS),
                         measured=f"large targets: {shown['large']}; small: {shown['small']}",
                         threshold="another learning rate or length",
                         holds=shown["large"] != shown["small"]))
    once = df[(df["length"] == 1) & (df["role"] == "scratch_small")]
    error = 1 - float(once["val_acc"].mean())
    rows.append(dict(precondition="headroom", claims=", ".join(NEEDS),
                     measured=f"scratch's validation error {error:.3f} at "
                              f"{s['recipe_search']['sizes']['small']} per class",
                     threshold=f"at least {HEADROOM_ERROR}", holds=bool(error >= HEADROOM_ERROR)))
    return pd.DataFrame([r for r in rows if r["claims"]])
