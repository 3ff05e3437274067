"""Yosinski et al.'s protocol read from a results table: curves, ratios and the four patterns.

Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in deep
neural networks? NeurIPS. Their published values (ImageNet halves, recomputed from the
authors' training logs) are :data:`YOSINSKI_ACCURACY` and :data:`YOSINSKI_BASE_B`.

Every comparison is paired by seed (:func:`tlkit.analysis.paired_by_seed`): the runs of one
seed share the target subsample and the test set. Each function returns numbers, intervals
and booleans; the page writes the sentences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...analysis import paired_by_seed, with_baseline
from ...stats import PairedResult, mean_ci
from .design import CONDITIONS

__all__ = [
    "YOSINSKI_BASE_B",
    "YOSINSKI_ACCURACY",
    "YOSINSKI_FAR_RELATIVE_TOP",
    "yosinski_relative",
    "protocol_curves",
    "relative_to_base",
    "paired_condition",
    "bnb_dip",
    "top_layer_drop",
    "fine_tuning_boost",
]

#: Yosinski et al. (2014), ImageNet random halves, top-1 accuracy (recomputed from the authors'
#: published training logs); ``baseB`` is .625.
YOSINSKI_BASE_B = 0.625
YOSINSKI_ACCURACY: Mapping[str, tuple[float, ...]] = {
    "BnB": (0.627, 0.624, 0.621, 0.605, 0.594, 0.619, 0.623),
    "AnB": (0.628, 0.624, 0.619, 0.600, 0.578, 0.581, 0.543),
    "BnB+": (0.618, 0.622, 0.631, 0.629, 0.630, 0.628, 0.627),
    "AnB+": (0.637, 0.636, 0.643, 0.640, 0.645, 0.646, 0.647),
}
#: AnB/baseB at n = 7 on their dissimilar (natural vs man-made) split: a range, 0.54-0.61.
YOSINSKI_FAR_RELATIVE_TOP = (0.54, 0.61)


def yosinski_relative() -> pd.DataFrame:
    """Yosinski et al.'s accuracies relative to their baseB, one row per condition and n.

    Columns ``condition, layers, accuracy, relative``; n = 0 is baseB (relative 1).
    """
    rows = [dict(condition=c, layers=0, accuracy=YOSINSKI_BASE_B, relative=1.0)
            for c in YOSINSKI_ACCURACY]
    for condition, values in YOSINSKI_ACCURACY.items():
        for n, acc in enumerate(values, start=1):
            rows.append(dict(condition=condition, layers=n, accuracy=acc,
                             relative=acc / YOSINSKI_BASE_B))
    return pd.DataFrame(rows)


def _protocol(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["part"] == "protocol"]


def protocol_curves(df: pd.DataFrame) -> pd.DataFrame:
    """The protocol runs with depth 0 of every condition filled by baseB (as in Yosinski's
    figures): columns ``split, kind, condition, layers, seed, test_acc``."""
    p = _protocol(df)
    cols = ["split", "kind", "condition", "layers", "seed", "test_acc"]
    runs = p[p["condition"].isin(CONDITIONS)][cols]
    base = p[p["condition"] == "baseB"][cols]
    zero = [base.assign(condition=c, layers=0) for c in CONDITIONS]
    return pd.concat([runs, *zero], ignore_index=True)


def relative_to_base(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`protocol_curves` with ``base_b`` (baseB of the same split and seed) and
    ``relative`` = test accuracy / ``base_b`` (Yosinski's "performance relative to baseB")."""
    p = _protocol(df)
    curves = with_baseline(protocol_curves(df), p[p["condition"] == "baseB"],
                           on=["split", "seed"], name="base_b")
    return curves.assign(relative=curves["test_acc"] / curves["base_b"])


def paired_condition(df: pd.DataFrame, split: str, a: str, n: int, b: str, m: int = 0,
                     value: str = "test_acc") -> PairedResult:
    """Paired (by seed) difference ``a@n - b@m`` on one split (depth 0 of any condition is
    baseB); ``value`` may be ``relative``."""
    curves = relative_to_base(df)
    part = curves[curves["split"] == split]
    x = part[(part["condition"] == a) & (part["layers"] == n)]
    y = part[(part["condition"] == b) & (part["layers"] == m)]
    return paired_by_seed(x, y, value)


def bnb_dip(df: pd.DataFrame, split: str, middle: Sequence[int] = (3, 4, 5, 6)
            ) -> dict[str, Any]:
    """Yosinski's co-adaptation dip: frozen BnB below baseB in the middle layers, repaired by
    fine-tuning.

    The dip depth is the middle depth (of those run) where mean ``BnB - baseB`` (paired by
    seed) is lowest. ``dip_held``: its 95% CI lies below 0 and it is lower than the
    difference at the first and at the last depth (a dip, not a steady decline).
    ``repair_held``: at that depth ``BnB+ - BnB`` has a CI above 0 and ``BnB+ - baseB`` is not
    significantly negative. Differences are in accuracy points (fractions).
    """
    curves = protocol_curves(df)
    depths = sorted(set(curves.loc[curves["split"] == split, "layers"]) - {0})
    mids = [n for n in depths if n in middle]
    if not mids:
        raise ValueError(f"no middle depth {tuple(middle)} among the depths run {depths}")
    diffs = {n: paired_condition(df, split, "BnB", n, "BnB", 0) for n in depths}
    dip_n = min(mids, key=lambda n: diffs[n].mean_diff)
    dip = diffs[dip_n]
    ends = [diffs[depths[0]].mean_diff, diffs[depths[-1]].mean_diff]
    held = bool(dip.ci_high < 0 and all(dip.mean_diff < e for e in ends))
    repair = paired_condition(df, split, "BnB+", dip_n, "BnB", dip_n)
    plus = paired_condition(df, split, "BnB+", dip_n, "BnB", 0)
    repaired = bool(repair.ci_low > 0 and plus.ci_high >= 0)
    return dict(split=split, dip_depth=dip_n, dip=dip.mean_diff, dip_low=dip.ci_low,
                dip_high=dip.ci_high, first=ends[0], last=ends[1], dip_held=held,
                repair=repair.mean_diff, repair_low=repair.ci_low, repair_high=repair.ci_high,
                plus_vs_base=plus.mean_diff, plus_low=plus.ci_low, plus_high=plus.ci_high,
                repair_held=repaired)


def top_layer_drop(df: pd.DataFrame, near: str, far: str) -> dict[str, Any]:
    """The drop of frozen ``AnB`` at the deepest depth run, relative to baseB, near vs far.

    ``rel_near``, ``rel_far``: mean AnB/baseB at the top depth; ``drop_* = 1 - rel_*``;
    ``ratio = drop_far / drop_near`` (Yosinski et al.: 0.13 near against 0.39-0.46 far, about
    3-3.5 times). ``held``: the far drop is larger, with a 95% CI of the paired (by seed)
    difference ``rel_near - rel_far`` above 0.
    """
    rel = relative_to_base(df)
    top = int(rel.loc[rel["condition"] == "AnB", "layers"].max())
    anb = rel[(rel["condition"] == "AnB") & (rel["layers"] == top)]
    x, y = anb[anb["split"] == near], anb[anb["split"] == far]
    diff = paired_by_seed(x, y, "relative")
    rel_near, near_low, near_high = mean_ci(x["relative"])
    rel_far, far_low, far_high = mean_ci(y["relative"])
    drop_near, drop_far = 1 - rel_near, 1 - rel_far
    ratio = drop_far / drop_near if drop_near > 0 else math.nan
    return dict(depth=top, rel_near=rel_near, rel_near_low=near_low, rel_near_high=near_high,
                rel_far=rel_far, rel_far_low=far_low, rel_far_high=far_high,
                drop_near=drop_near, drop_far=drop_far, ratio=ratio,
                diff=diff.mean_diff, diff_low=diff.ci_low, diff_high=diff.ci_high,
                held=bool(diff.ci_low > 0 and drop_far > 0))


def fine_tuning_boost(df: pd.DataFrame, split: str) -> dict[str, Any]:
    """``AnB+`` against baseB on one split, paired by seed.

    ``mean_gain``: the mean over depths of ``AnB+ - baseB`` (per seed, then its CI over
    seeds; Yosinski et al.: +0.017). ``below``: depths where AnB+ is significantly below
    baseB; ``above``: depths where it is significantly above. ``held`` (at or above baseB): no
    depth significantly below and a mean gain >= 0.
    """
    rel = relative_to_base(df)
    part = rel[(rel["split"] == split) & (rel["condition"] == "AnB+")]
    depths = sorted(set(part["layers"]) - {0})
    plus = part[part["layers"] > 0]
    per_seed = (plus["test_acc"] - plus["base_b"]).groupby(plus["seed"]).mean()
    mean_gain, low, high = mean_ci(per_seed)
    below, above = [], []
    for n in depths:
        r = paired_condition(df, split, "AnB+", n, "AnB+", 0)
        if r.ci_high < 0:
            below.append(n)
        if r.ci_low > 0:
            above.append(n)
    return dict(split=split, mean_gain=mean_gain, gain_low=low, gain_high=high,
                below=below, above=above, held=bool(not below and mean_gain >= 0))
