"""The patterns the layer-transfer chapter checks, as numbers and verdict labels.

:func:`patterns` reads every pattern from one run's table and returns the values the page
glues (numbers, depth lists, split names and the labels ``held``, ``did not hold`` and
``not tested``) and a table with one row per pattern: its published value, ours with its
interval, and the verdict. The sentences are the notebook's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ...analysis import format_interval
from .axis import axis_gains, best_depth_trend, best_depths
from .protocol import (
    YOSINSKI_ACCURACY,
    YOSINSKI_BASE_B,
    YOSINSKI_FAR_RELATIVE_TOP,
    bnb_dip,
    fine_tuning_boost,
    protocol_curves,
    top_layer_drop,
)

__all__ = ["VERDICTS", "patterns"]

#: The labels a pattern's verdict takes.
VERDICTS = ("held", "did not hold", "not tested")


def _label(held: bool) -> str:
    return "held" if held else "did not hold"


def _depths(depths: Sequence[int]) -> str:
    return ", ".join(str(n) for n in depths) if depths else "none"


def patterns(df: pd.DataFrame, distances: pd.DataFrame | None,
             pairs: Sequence[Sequence[str]]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Every pattern of the chapter, computed from this run's table.

    ``pairs[0]`` is the primary (near, far) pair; the BnB and AnB+ patterns are read on its
    near split. Returns ``(values, table)``; see the module docstring.
    """
    near, far = pairs[0]
    v: dict[str, Any] = {}
    rows = []

    # 1. the co-adaptation dip and its repair
    try:
        dip = bnb_dip(df, near)
    except ValueError:  # no middle depth was run
        dip = None
    if dip is None:
        v.update(dip_verdict="not tested", repair_verdict="not tested", dip_depth=0)
        for k in ("dip", "dip_low", "dip_high", "repair", "repair_low", "repair_high"):
            v[k] = math.nan
    else:
        v.update({k: dip[k] for k in ("dip_depth", "dip", "dip_low", "dip_high", "repair",
                                      "repair_low", "repair_high", "plus_vs_base",
                                      "plus_low", "plus_high")})
        v["dip_verdict"] = _label(dip["dip_held"])
        v["repair_verdict"] = _label(dip["repair_held"]) if dip["dip_held"] else "not tested"
        rows.append(dict(pattern=f"BnB dip: BnB - baseB at n = {dip['dip_depth']}",
                         published=f"{YOSINSKI_ACCURACY['BnB'][4] - YOSINSKI_BASE_B:+.3f}",
                         ours=format_interval(dip["dip"], dip["dip_low"], dip["dip_high"]),
                         verdict=v["dip_verdict"]))
        published = YOSINSKI_ACCURACY["BnB+"][4] - YOSINSKI_ACCURACY["BnB"][4]
        rows.append(dict(pattern=f"repair: BnB+ - BnB at n = {dip['dip_depth']}",
                         published=f"{published:+.3f}",
                         ours=format_interval(dip["repair"], dip["repair_low"],
                                              dip["repair_high"]),
                         verdict=v["repair_verdict"]))

    # 2. the top-layer drop, near against far, for every pair
    for i, (n_name, f_name) in enumerate(pairs):
        drop = top_layer_drop(df, n_name, f_name)
        prefix = "" if i == 0 else f"pair{i}_"
        for k in ("depth", "rel_near", "rel_near_low", "rel_near_high", "rel_far",
                  "rel_far_low", "rel_far_high", "drop_near", "drop_far", "ratio", "diff",
                  "diff_low", "diff_high"):
            v[prefix + k] = drop[k]
        v[prefix + "drop_verdict"] = _label(drop["held"])
        v[prefix + "near"], v[prefix + "far"] = n_name, f_name
        top = YOSINSKI_ACCURACY["AnB"][6] / YOSINSKI_BASE_B
        low, high = YOSINSKI_FAR_RELATIVE_TOP
        rows.append(dict(
            pattern=f"top-layer drop: AnB/baseB at n = {drop['depth']}, {n_name} - {f_name}",
            published=f"{top - high:+.2f} to {top - low:+.2f}",
            ours=format_interval(drop["diff"], drop["diff_low"], drop["diff_high"]),
            verdict=v[prefix + "drop_verdict"]))

    # 3. AnB+ at or above baseB
    boost = fine_tuning_boost(df, near)
    depths_run = sorted(set(protocol_curves(df)["layers"]) - {0})
    v.update(boost=boost["mean_gain"], boost_low=boost["gain_low"],
             boost_high=boost["gain_high"], boost_above=_depths(boost["above"]),
             boost_below=_depths(boost["below"]), boost_n_above=len(boost["above"]),
             boost_n_below=len(boost["below"]), boost_depths=len(depths_run),
             boost_verdict=_label(boost["held"]))
    rows.append(dict(pattern="boost: AnB+ - baseB, mean over depths", published="+0.017",
                     ours=format_interval(boost["mean_gain"], boost["gain_low"],
                                          boost["gain_high"]),
                     verdict=v["boost_verdict"]))

    # 4. the best depth against measured distance
    if distances is not None and "part" in df and (df["part"] == "axis").any():
        best = best_depths(axis_gains(df))
        for condition, prefix in (("AnB", "trend"), ("AnB+", "trend_plus")):
            t = best_depth_trend(best, distances, condition)
            v.update({f"{prefix}_rho": t["rho"], f"{prefix}_p": t["p"],
                      f"{prefix}_targets": t["targets"],
                      f"{prefix}_nearest": t.get("nearest", ""),
                      f"{prefix}_nearest_best": t.get("nearest_best", math.nan),
                      f"{prefix}_farthest": t.get("farthest", ""),
                      f"{prefix}_farthest_best": t.get("farthest_best", math.nan),
                      f"{prefix}_verdict": _label(t["held"])})
            rows.append(dict(pattern=f"best {condition} depth against pixel OTDD (Spearman)",
                             published="negative",
                             ours=f"{t['rho']:+.2f} (p = {t['p']:.3g}, {t['targets']} targets)",
                             verdict=v[f"{prefix}_verdict"]))
    return v, pd.DataFrame(rows, columns=["pattern", "published", "ours", "verdict"])
