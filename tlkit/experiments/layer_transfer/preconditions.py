r"""Can this experiment show the effect? The preconditions of each claim, stated and measured
before any of the page's results.

A claim is a test of transfer learning only where its experiment could show the effect. Each
precondition below names the claims that need it, a threshold fixed with its reason before any
result, and where its value comes from: data alone (the distances), or the profile's pilot
(``power.pilot``: runs on seeds from :data:`~tlkit.experiments.profile.PILOT_SEEDS_FROM`,
which no page reports, read on **validation** accuracy). A claim whose precondition fails
leaves the family before any verdict (:func:`untestable`, :func:`tlkit.power.plan`), and the
page says why.

* **far is far** (``drop``, ``drop_2``, ...; one per (near, far) pair): half A of the far split
  lies farther from half B than half A of the near split, by more than the distance's own
  noise. The distance is the pixel OTDD of the page (one feature space for every split),
  measured on ``draws`` stratified subsamples of the pools (seeds 1 to ``draws``; the page's
  number is seed 0); the precondition holds when the 2.5% quantile of
  :math:`\mathrm{OTDD}(A_{far}, B) - \mathrm{OTDD}(A_{near}, B)` over the draws, paired by
  subsample seed, lies above zero. Without it, near minus far is not a comparison of
  distances.
* **learned features matter** (every drop): with the top depth frozen, *random* layers keep
  :math:`r` of baseB's accuracy. A far source whose features are no better than random keeps
  about :math:`r`, a near one at most 1, so the largest drop the experiment can show is about
  :math:`1 - r`; it must be at least the published drop (0.295, Yosinski et al., 2014).
* **headroom** (``boost``): Yosinski et al.'s boost, +0.017 over a baseB of 0.625, removed
  4.5% of baseB's errors. At this task's baseB accuracy :math:`a`, the same share is
  :math:`0.017\,(1 - a)/(1 - 0.625)`; it must be at least the claim's margin (half the
  published boost), or the equivalence test could not tell the survey's boost, rescaled to
  the errors left, from none. Equivalently :math:`1 - a \ge 0.1875`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .protocol import PUBLISHED, YOSINSKI_BASE_B

__all__ = ["DISTANCE_DRAWS", "HEADROOM_ERROR", "distance_draws", "far_is_far", "preconditions",
           "untestable", "pilot_values", "unpaired_text"]

#: Subsamples the distances' noise is measured on.
DISTANCE_DRAWS = 20


#: The least error rate of baseB at which the boost's precondition holds (module docstring).
HEADROOM_ERROR = (1 - YOSINSKI_BASE_B) / 2


def distance_draws(params: Mapping[str, Any], draws: int = DISTANCE_DRAWS) -> pd.DataFrame:
    """The pixel OTDD between half A and half B of every split
    (:func:`~.axis.split_distances`) on ``draws`` further subsamples (seeds 1 to ``draws``):
    columns ``split, draw, otdd_pixels``. Cached in the results folder."""
    from .axis import split_distances

    return pd.concat([split_distances(params, seed=k).assign(draw=k)
                      for k in range(1, draws + 1)],
                     ignore_index=True)[["split", "draw", "otdd_pixels"]]


def far_is_far(draws: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per (near, far) pair: OTDD(far) - OTDD(near) over the subsample draws (paired by draw),
    its mean and 95% interval (2.5% and 97.5% quantiles), and ``holds`` (the interval lies
    above zero)."""
    wide = draws.pivot(index="draw", columns="split", values="otdd_pixels")
    rows = []
    for i, (near, far) in enumerate(pairs):
        d = (wide[far] - wide[near]).to_numpy(dtype=float)
        low, high = np.quantile(d, [0.025, 0.975])
        rows.append(dict(claim="drop" if i == 0 else f"drop_{i + 1}", near=near, far=far,
                         difference=float(d.mean()), low=float(low), high=float(high),
                         draws=len(d), holds=bool(low > 0)))
    return pd.DataFrame(rows)


def unpaired_text(distances: Mapping[str, float], splits: Sequence[Any],
                  pairs: Sequence[Sequence[str]]) -> str:
    """The page's sentence on the far splits (of ``splits``, :class:`~.design.Split`) that no
    (near, far) pair of ``pairs`` compares: their pixel OTDD from B beside the first pair's
    near split's (``distances``: split name to distance). Empty when every far split is in a
    pair."""
    compared = {far for _, far in pairs}
    unpaired = [x.name for x in splits if x.kind == "far" and x.name not in compared]
    if not unpaired:
        return ""
    near = pairs[0][0]
    near_d = f"(the {near} split's: {distances[near]:.2f})"
    if len(unpaired) == 1:
        name = unpaired[0]
        return (f"Far in meaning only, the {name} split's half A lies {distances[name]:.2f} from B "
                f"{near_d}; it is shown, and no claim rests on it.")
    listed = ", ".join(f"{name} {distances[name]:.2f}" for name in unpaired)
    return (f"Far in meaning only, the halves A of the splits {listed} lie that far from B "
            f"{near_d}; they are shown, and no claim rests on them.")


def preconditions(params: Mapping[str, Any], draws: int = DISTANCE_DRAWS) -> pd.DataFrame:
    """Every precondition of the page (module docstring), one row per precondition and claim
    set: ``precondition, claims, measured, threshold, holds`` (None: not measured, for the
    profile has no pilot; the claims are then tested) and ``source`` (data or pilot)."""
    from .design import design_settings

    s = design_settings(params)
    published = PUBLISHED  # the sizes each threshold is stated against
    rows = []
    for r in far_is_far(distance_draws(params, draws), s["pairs"]).itertuples(index=False):
        rows.append(dict(
            precondition=f"far is far ({r.far})", claims=r.claim,
            measured=f"OTDD {r.far} - {r.near}: {r.difference:+.3f} "
                     f"[{r.low:+.3f}, {r.high:+.3f}] over {r.draws} subsamples",
            threshold="interval above 0", holds=r.holds, source="data"))
    pilot = (s.get("power") or {}).get("pilot") or {}
    drops = ", ".join("drop" if i == 0 else f"drop_{i + 1}" for i in range(len(s["pairs"])))
    kept = pilot.get("random_relative")
    rows.append(dict(
        precondition="learned features matter", claims=drops,
        measured="not measured (no pilot)" if kept is None else
        f"random frozen layers at the top depth keep {kept:.3f} of baseB: room for a drop "
        f"of {1 - kept:.3f}",
        threshold=f"room of at least the published drop, {published['drop']:.3f}",
        holds=None if kept is None else bool(1 - kept >= published["drop"]), source="pilot"))
    base = pilot.get("base_b")
    rows.append(dict(
        precondition="headroom", claims="boost",
        measured="not measured (no pilot)" if base is None else
        f"baseB {base:.3f}, errors {1 - base:.3f}: the published boost rescaled to them "
        f"{published['boost'] * (1 - base) / (2 * HEADROOM_ERROR):.4f}",
        threshold=f"errors at least {HEADROOM_ERROR:.4f} (the rescaled boost at least its "
                  f"margin, {published['boost'] / 2:.4f})",
        holds=None if base is None else bool(1 - base >= HEADROOM_ERROR), source="pilot"))
    return pd.DataFrame(rows)


def untestable(table: pd.DataFrame) -> dict[str, str]:
    """The claims whose experiment cannot show their effect (a precondition of
    :func:`preconditions` failed), each with the reason."""
    out: dict[str, str] = {}
    for r in table.itertuples(index=False):
        if pd.notna(r.holds) and not r.holds:
            for claim in str(r.claims).split(", "):
                out.setdefault(claim, f"precondition failed: {r.precondition}")
    return out


def pilot_values(df: pd.DataFrame, split: str) -> dict[str, Any]:
    """From a pilot's results table: baseB's validation accuracy on ``split`` (``base_b``,
    mean over seeds) and the share of it that random frozen layers at the deepest depth run
    keep (``random_relative``, on validation, paired by seed, mean over seeds)."""
    p = df[(df["part"] == "protocol") & (df["split"] == split)]
    base = p[p["condition"] == "baseB"].drop_duplicates("seed").set_index("seed")["val_acc"]
    rand = p[p["condition"] == "random"]
    top = rand[rand["layers"] == rand["layers"].max()].set_index("seed")["val_acc"]
    both = top.index.intersection(base.index)
    return dict(base_b=round(float(base.mean()), 4),
                random_relative=round(float((top.loc[both] / base.loc[both]).mean()), 4))
