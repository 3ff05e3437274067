"""The claims the small-targets chapter checks, as numbers and verdict labels.

:func:`patterns` reads each claim from one run's tables for the first study and returns the
values the page glues (numbers, size lists, names, and the labels ``held`` and
``did not hold``) and a table with one row per claim. The sentences are the notebook's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...analysis import format_interval, paired_by_seed
from .taxonomy import REGIONS, region_summary

__all__ = ["patterns"]


def _label(held: bool) -> str:
    return "held" if held else "did not hold"


def _cell(tests: pd.DataFrame, role: str, method: str, which: str) -> pd.Series:
    part = tests[(tests["role"] == role) & (tests["method"] == method)].sort_values("per_class")
    return part.iloc[0] if which == "smallest" else part.iloc[-1]


def _seed_gains(gain_table: pd.DataFrame, study: str, role: str, method: str,
                size: str) -> pd.DataFrame:
    """The per-seed gains of one cell of :func:`~.curves.gains`."""
    return gain_table[(gain_table["study"] == study) & (gain_table["role"] == role)
                      & (gain_table["method"] == method) & (gain_table["size"] == size)]


def _region_key(region: str) -> str:
    return region.replace(" & ", "_")


def patterns(gain_table: pd.DataFrame, tests: pd.DataFrame, cross: pd.DataFrame,
             probe_vs_ft: pd.DataFrame, l2sp_vs_ft: pd.DataFrame, distances: pd.DataFrame,
             cells: pd.DataFrame, size_boundary: float,
             probe_cells: pd.DataFrame | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """The claims of the chapter for the first study of ``tests``.

    ``gain_table`` is :func:`~.curves.gains`, ``tests`` :func:`~.curves.gain_tests`,
    ``cross`` :func:`~.curves.crossovers`, the two differences
    :func:`~.curves.method_differences`, ``cells`` the map of fine-tuning
    (:func:`~.taxonomy.map_cells`) and ``probe_cells`` that of the linear probe.

    Returns ``(values, table)`` (see the module docstring).
    """
    from scipy.stats import ttest_ind

    study = tests["study"].iloc[0]
    t = tests[tests["study"] == study]
    v: dict[str, Any] = dict(study=study)
    rows = []
    dist = distances[distances["study"] == study].set_index("role")["otdd_pixels"]
    near_d, far_d = float(dist.get("near", math.nan)), float(dist.get("far", math.nan))
    v["far_is_farther"] = "yes" if far_d > near_d else "no"
    sizes = t.sort_values("per_class")["size"].unique()
    v["smallest"], v["largest"] = str(sizes[0]), str(sizes[-1])
    v["largest_per_class"] = float(t["per_class"].max())

    # 1. transfer matters most when the target is small: fine-tuning, smallest vs largest
    for role in ("near", "far"):
        for which, name in (("smallest", "small"), ("largest", "large")):
            c = _cell(t, role, "fine-tune", which)
            v.update({f"{role}_{name}_gain": c["gain"], f"{role}_{name}_low": c["ci_low"],
                      f"{role}_{name}_high": c["ci_high"], f"{role}_{name}_p": c["p_value"],
                      f"{role}_{name}_verdict": c["verdict"],
                      f"{role}_{name}_acc": c["accuracy"],
                      f"{role}_{name}_scratch": c["scratch"]})
        a = _seed_gains(gain_table, study, role, "fine-tune", v["smallest"])["gain"]
        b = _seed_gains(gain_table, study, role, "fine-tune", v["largest"])["gain"]
        p = float(ttest_ind(a, b, equal_var=False).pvalue) if len(a) > 1 and len(b) > 1 \
            else math.nan
        v[f"{role}_small_vs_large_p"] = p
        v[f"{role}_small_vs_large_verdict"] = _label(bool(np.mean(a) > np.mean(b) and p < 0.05))
        rows.append(dict(
            claim=f"fine-tune gain, {v['smallest']} against {v['largest']} per class, "
                  f"{role} source",
            measured=f"{v[f'{role}_small_gain']:+.3f} vs {v[f'{role}_large_gain']:+.3f} "
                     f"(Welch p = {p:.2g})",
            verdict=v[f"{role}_small_vs_large_verdict"]))

    # 2. negative transfer: cells significantly below scratch, small and far first
    small = t[t["per_class"] < size_boundary]
    for role in ("near", "far"):
        part = small[small["role"] == role]
        v[f"{role}_small_negative"] = int((part["verdict"] == "negative").sum())
        v[f"{role}_small_positive"] = int((part["verdict"] == "positive").sum())
        v[f"{role}_small_cells"] = len(part)
        v[f"{role}_negative_total"] = int((t[t["role"] == role]["verdict"] == "negative").sum())
    negative = t["verdict"] == "negative"
    v["negative_cells"] = int(negative.sum())
    v["negative_holm"] = int((negative & (t["p_holm"] < 0.05)).sum())
    v["tests"] = len(t)
    far_small_neg = small[(small["role"] == "far") & (small["verdict"] == "negative")]
    v["far_small_negative_methods"] = ", ".join(sorted(set(far_small_neg["method"]))) or "none"
    v["ft_negative_cells"] = int((negative & (t["method"] == "fine-tune")).sum())
    v["negative_verdict"] = _label(v["far_small_negative"] > 0)
    rows.append(dict(claim="cells significantly below scratch: far source and small targets",
                     measured=f"{v['far_small_negative']} of {v['far_small_cells']} (all "
                              f"cells: {v['negative_cells']} of {v['tests']})",
                     verdict=v["negative_verdict"]))

    # 3. crossovers of fine-tuning, the linear probe and L2-SP
    c = cross[cross["study"] == study].set_index(["role", "method"])
    for role in ("near", "far"):
        for method, short in (("fine-tune", "ft"), ("linear probe", "probe"), ("L2-SP", "l2sp")):
            key = (role, method)
            found = key in c.index
            v[f"{role}_{short}_crossover"] = c.loc[key, "crossover"] if found else "n/a"
            v[f"{role}_{short}_positive_at"] = c.loc[key, "positive_at"] if found else "none"
            v[f"{role}_{short}_negative_at"] = c.loc[key, "negative_at"] if found else "none"

    # 4. near against far, at the smallest size
    a = _seed_gains(gain_table, study, "near", "fine-tune", v["smallest"])
    b = _seed_gains(gain_table, study, "far", "fine-tune", v["smallest"])
    r = paired_by_seed(a, b, "gain")
    v.update(near_far=r.mean_diff, near_far_low=r.ci_low, near_far_high=r.ci_high,
             near_far_p=r.p_value, near_far_verdict=_label(r.ci_low > 0))
    rows.append(dict(claim=f"near minus far fine-tune gain, {v['smallest']} per class",
                     measured=f"{format_interval(r.mean_diff, r.ci_low, r.ci_high)}, "
                              f"p = {r.p_value:.2g}",
                     verdict=v["near_far_verdict"]))

    # 5. L2-SP against fine-tuning, and the linear probe against fine-tuning (near source)
    for name, table, claim in (("l2sp", l2sp_vs_ft, "L2-SP minus fine-tune"),
                               ("probe", probe_vs_ft, "linear probe minus fine-tune")):
        part = table[(table["study"] == study) & (table["role"] == "near")]
        part = part.sort_values("per_class")
        first, last = part.iloc[0], part.iloc[-1]
        for which, row in (("small", first), ("large", last)):
            v.update({f"{name}_{which}": row["diff"], f"{name}_{which}_low": row["ci_low"],
                      f"{name}_{which}_high": row["ci_high"],
                      f"{name}_{which}_p": row["p_value"],
                      f"{name}_{which}_verdict": row["verdict"]})
        v[f"{name}_better_at"] = ", ".join(part[part["verdict"] == "positive"]["size"]) or "none"
        v[f"{name}_worse_at"] = ", ".join(part[part["verdict"] == "negative"]["size"]) or "none"
        v[f"{name}_verdict"] = _label(first["verdict"] == "positive")
        interval = format_interval(first["diff"], first["ci_low"], first["ci_high"])
        rows.append(dict(claim=f"{claim}, near source, {v['smallest']} per class",
                         measured=f"{interval}, p = {first['p_value']:.2g}",
                         verdict=v[f"{name}_verdict"]))

    # 6. the map's regions (descriptive: means over cells)
    summary = region_summary(cells)
    for r in summary.itertuples():
        key = _region_key(r.region)
        v.update({f"region_{key}_cells": int(r.cells), f"region_{key}_gain": float(r.mean_gain),
                  f"region_{key}_min": float(r.min_gain), f"region_{key}_max": float(r.max_gain),
                  f"region_{key}_positive": int(r.positive),
                  f"region_{key}_negative": int(r.negative)})
        v[f"region_{key}_helped"] = r.positive / r.cells if r.cells else math.nan
    v["map_cells"] = len(cells)
    v["map_lt_cells"] = int((cells["origin"] == "layer transfer").sum())
    finite = summary["mean_gain"].notna().any()
    v["map_best_region"] = summary.loc[summary["mean_gain"].idxmax(), "region"] if finite \
        else "none"
    v["map_worst_region"] = summary.loc[summary["mean_gain"].idxmin(), "region"] if finite \
        else "none"
    v["map_best_gain"] = float(summary["mean_gain"].max())
    means = {region: v[f"region_{_region_key(region)}_gain"] for region in REGIONS.values()}
    ss, sd = means["small & similar"], means["small & dissimilar"]
    v["map_small_similar_best"] = _label(math.isfinite(ss) and all(
        not math.isfinite(x) or ss > x for r_, x in means.items() if r_ != "small & similar"))
    v["map_similar_beats_dissimilar"] = _label(math.isfinite(ss) and math.isfinite(sd)
                                               and ss > sd)
    if probe_cells is not None:
        for r in region_summary(probe_cells).itertuples():
            key = _region_key(r.region)
            v.update({f"probe_region_{key}_cells": int(r.cells),
                      f"probe_region_{key}_gain": float(r.mean_gain),
                      f"probe_region_{key}_positive": int(r.positive),
                      f"probe_region_{key}_negative": int(r.negative)})
    rows.append(dict(claim="map: small & similar has the largest mean fine-tune gain",
                     measured=", ".join(f"{k} {x:+.3f}" for k, x in means.items()),
                     verdict=v["map_small_similar_best"]))
    v = {k: (float(x) if isinstance(x, np.floating) else int(x) if isinstance(x, np.integer)
             else x) for k, x in v.items()}
    return v, pd.DataFrame(rows, columns=["claim", "measured", "verdict"])
