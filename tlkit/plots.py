"""Figures of the book: every point a mean over seeds with its confidence interval."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .stats import summarize

__all__ = ["mean_ci_plot"]


def mean_ci_plot(
    df: pd.DataFrame,
    x: str,
    y: str = "test_acc",
    hue: str | None = None,
    *,
    order: Sequence | None = None,
    hue_order: Sequence | None = None,
    level: float = 0.95,
    ax: plt.Axes | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    logx: bool = False,
    dodge: float = 0.0,
) -> Figure:
    """Mean of ``y`` per ``x`` (and ``hue``) over seeds, with Student-t intervals as bars.

    ``x`` may be numeric (lines) or categorical (points at integer positions, ``order``).
    """
    by = [x] + ([hue] if hue else [])
    table = summarize(df, by, y, level=level)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    numeric = pd.api.types.is_numeric_dtype(df[x]) and order is None
    categories = list(order) if order is not None else sorted(table[x].unique(), key=str)
    groups = [None] if hue is None else list(hue_order or sorted(table[hue].unique(), key=str))
    for i, group in enumerate(groups):
        part = table if group is None else table[table[hue] == group]
        if numeric:
            part = part.sort_values(x)
            xs = part[x].to_numpy(dtype=float)
        else:
            pos = {c: k for k, c in enumerate(categories)}
            part = part[part[x].isin(pos)]
            part = part.assign(_pos=part[x].map(pos)).sort_values("_pos")
            xs = part["_pos"].to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * dodge
        err = [(part["mean"] - part["ci_low"]).fillna(0),
               (part["ci_high"] - part["mean"]).fillna(0)]
        ax.errorbar(xs, part["mean"], yerr=err, marker="o", capsize=3,
                    linestyle="-" if numeric else "none",
                    label=None if group is None else str(group))
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    if title:
        ax.set_title(title)
    if hue:
        ax.legend(title=hue, frameon=False)
    ax.grid(alpha=0.3)
    n = int(table["n"].min()) if len(table) else 0
    ax.annotate(f"mean and {level:.0%} CI over {n}+ seeds", (1, 0), xycoords="axes fraction",
                xytext=(-4, 4), textcoords="offset points", ha="right", va="bottom",
                fontsize=8, color="0.4")
    return fig
