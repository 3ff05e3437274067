"""Can this experiment show the effect? The small-target chapter's preconditions, stated and
measured before any of its results.

Each precondition names the claims that need it and a threshold fixed with its reason before
any result; its value comes from the data alone or from runs on the recipe searches' seeds
(:data:`~tlkit.experiments.profile.SEARCH_SEEDS_FROM`, never reported), read on validation
accuracy. A claim whose precondition fails leaves the family before any verdict.

* **far is far** (the claims about the far sources), for every far source: its training
  images lie farther from the target's than the near source's do, by more than the distance's
  own noise: the pixel OTDD of the layer-transfer chapter on further subsamples, paired by
  subsample (:func:`source_draws`, judged by
  :func:`~tlkit.experiments.layer_transfer.far_is_far`). The claims pool the far sources, so
  one that fails bars them all.
* **converges** (per recipe, the claims that compare it): the recipe reached its plateau,
  twice its training gaining at most
  :data:`~tlkit.experiments.recipe_plateau.PLATEAU_GAIN` of validation accuracy
  (:mod:`tlkit.experiments.recipe_plateau`).
* **the recipes differ** (the claims about the large-target recipe), for every far source: the
  recipe chosen for large targets differs from the one that source's small targets run by in
  learning rate or length (least steps or epochs); where they coincide the arm is the same run
  as fine-tuning and can show nothing.
* **headroom** (every claim): scratch's validation error on a small target at the search's
  size is at least :data:`HEADROOM_ERROR`, room for gains and losses of a few points.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pandas as pd

from ...measures.pairs import DistancePair, pair_distances
from ...spec import DataSpec
from .. import layer_transfer as lt
from ..profile import settings
from ..recipe_plateau import PLATEAU_GAIN, experiment_specs, plateau
from .design import (
    PROFILES,
    cnn_model,
    layer_params,
    own_recipe,
    recipe_tasks,
    source_run,
    studies,
)
from .recipe import recipe_key

__all__ = ["HEADROOM_ERROR", "PLATEAU_GAIN", "NEEDS", "FAR_CLAIMS", "LARGE_CLAIMS",
           "check_specs", "preconditions", "needs", "source_draws"]

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


def needs(params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """:data:`NEEDS` for the profile's first study: a claim about the far sources needs, in
    place of the near source's small-target recipe of a method, the recipe every far source
    runs that method by (its own, where it has one)."""
    study = studies(params)[0]
    s = settings(PROFILES, params)
    n = s["recipe_search"]["sizes"]["small"]

    def far(method: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(recipe_key(s, method, n, own=own_recipe(s, src, n))
                                   for src in study.sources if src.role == "far"))

    out = dict(NEEDS)
    out["far_ft_hurts"] = ("scratch_small", *far("fine-tune"))
    out["far_l2sp_hurts"] = ("scratch_small", *far("L2-SP"))
    out["near_beats_far"] = ("scratch_small", "fine-tune_small", *far("fine-tune"))
    out["large_recipe_costs"] = ("fine-tune_large", *far("fine-tune"))
    return out


def source_draws(params: Mapping[str, Any], draws: int = lt.DISTANCE_DRAWS) -> pd.DataFrame:
    """The pixel OTDD between each source's training images and the first study's target's
    (the layer-transfer chapter's pixel space and subsample size), on ``draws`` further
    subsamples (seeds 1 to ``draws``): columns ``split`` (the source's name), ``draw``,
    ``otdd_pixels`` (the table :func:`~tlkit.experiments.layer_transfer.far_is_far` reads).
    A source without images (torchvision weights) is left out. Cached in the results
    folder."""
    s = settings(PROFILES, params)
    ls = settings(lt.PROFILES, layer_params(s))
    study = studies(params)[0]
    target = DataSpec(study.dataset, study.options, classes=study.classes)
    space = (lt.pixel_space(ls["feature_size"]),)
    pairs = [DistancePair(run.data, target, space, {"split": src.name})
             for src in study.sources if (run := source_run(s, src, 0)) is not None]
    return pd.concat([pair_distances(pairs, cnn_model(s), ls["distance_samples"], seed=k)
                      .assign(draw=k) for k in range(1, draws + 1)],
                     ignore_index=True)[["split", "draw", "otdd_pixels"]]


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
    near = next(src.name for src in study.sources if src.role == "near")
    pairs = [(near, src.name) for src in study.sources if src.role == "far"]
    draws = source_draws(params)
    for r in lt.far_is_far(draws, [p for p in pairs if p[1] in set(draws["split"])]
                           ).itertuples():
        rows.append(dict(precondition=f"far is far ({r.far})", claims=", ".join(FAR_CLAIMS),
                         measured=f"OTDD {r.far} - {r.near}: {r.difference:+.3f} "
                                  f"[{r.low:+.3f}, {r.high:+.3f}] over {r.draws} subsamples",
                         threshold="interval above 0", holds=bool(r.holds)))
    need = needs(params)
    for r in plateau(df).itertuples(index=False):
        rows.append(dict(precondition=f"{r.role} converges",
                         claims=", ".join(k for k, v in need.items() if r.role in v),
                         measured=f"twice the epochs ({2 * r.epochs}): {r.gain:+.3f}",
                         threshold=f"gain at most {PLATEAU_GAIN}", holds=bool(r.reached)))
    if s.get("large_recipe_arm"):
        big = s["recipes"].get("fine-tune_large", {})
        for src in (x for x in study.sources if x.role == "far"):
            n = s["recipe_search"]["sizes"]["small"]
            key = recipe_key(s, "fine-tune", n, own=own_recipe(s, src, n))
            shown = {k: ", ".join(f"{name} {r[name] if name in r else s[name]}" for name in (
                "lr", "steps", "min_epochs")) for k, r in (("large", big),
                                                           ("own", s["recipes"].get(key, {})))}
            rows.append(dict(precondition=f"the recipes differ ({src.name})",
                             claims=", ".join(LARGE_CLAIMS),
                             measured=f"large targets: {shown['large']}; its own: "
                                      f"{shown['own']}",
                             threshold="another learning rate or length",
                             holds=shown["large"] != shown["own"]))
    once = df[(df["length"] == 1) & (df["role"] == "scratch_small")]
    error = 1 - float(once["val_acc"].mean())
    rows.append(dict(precondition="headroom", claims=", ".join(need),
                     measured=f"scratch's validation error {error:.3f} at "
                              f"{s['recipe_search']['sizes']['small']} per class",
                     threshold=f"at least {HEADROOM_ERROR}", holds=bool(error >= HEADROOM_ERROR)))
    return pd.DataFrame([r for r in rows if r["claims"]])
