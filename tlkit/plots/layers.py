"""Figures of the layer-transfer chapter: accuracy against depth, ratios to baseB, gains per
target and depth, and the best depth against distance."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..stats import mean_ci, summarize
from .base import ci_note, direct_labels, errorbars, label_axes, legend_below, record
from .style import COLUMN, CONDITION_COLOURS, MARKERS, SERIES, SMALL

__all__ = ["CONDITION_STYLES", "depth_curves_plot", "relative_depth_plot", "gain_heatmap",
           "best_depth_plot"]


#: Colours of the layer-transfer conditions (Yosinski et al. 2014, figure 2: B blue, A red).
CONDITION_STYLES: dict[str, dict] = {
    "BnB": dict(color=CONDITION_COLOURS["BnB"], marker="o", linestyle="-"),
    "BnB+": dict(color=CONDITION_COLOURS["BnB+"], marker="o", linestyle="--",
                 markerfacecolor="white"),
    "AnB": dict(color=CONDITION_COLOURS["AnB"], marker="s", linestyle="-"),
    "AnB+": dict(color=CONDITION_COLOURS["AnB+"], marker="s", linestyle="--",
                 markerfacecolor="white"),
    "random": dict(color=CONDITION_COLOURS["random"], marker="^", linestyle=":"),
}


def depth_curves_plot(
    df: pd.DataFrame,
    *,
    x: str = "layers",
    y: str = "test_acc",
    hue: str = "condition",
    hue_order: Sequence[str] | None = None,
    baseline: pd.Series | Sequence[float] | None = None,
    baseline_label: str = "baseB",
    styles: dict[str, dict] | None = None,
    level: float = 0.95,
    dodge: float = 0.08,
    ax: plt.Axes | None = None,
    xlabel: str = "layers n copied from the source",
    ylabel: str = "test accuracy",
    title: str | None = None,
    note: bool = False,
) -> Figure:
    """Accuracy against transfer depth, one line per condition, in the style of Yosinski et al.

    Each point is the mean of ``y`` over seeds at one depth, with its Student-t interval;
    lines of different conditions are shifted by ``dodge`` so that the bars do not overlap.
    ``baseline`` (values over seeds, e.g. baseB's accuracy) is drawn as a horizontal line with
    its interval as a band.
    """
    styles = CONDITION_STYLES if styles is None else styles
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 3.8), layout="constrained")
    fig = ax.figure
    table = summarize(df, [x, hue], y, level=level)
    record(ax, table)
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    if baseline is not None:
        mean, low, high = mean_ci(list(baseline), level)
        ax.axhline(mean, color="black", linewidth=1.2, label=baseline_label, zorder=1)
        if math.isfinite(low):
            ax.axhspan(low, high, color="black", alpha=0.08, linewidth=0, zorder=0)
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        if part.empty:
            continue
        xs = part[x].to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * dodge
        means, err = errorbars(part)
        ax.errorbar(xs, means, yerr=err, capsize=2, label=str(group), markersize=5,
                    **styles.get(str(group), {}))
    ax.set_xticks(sorted(table[x].unique()))
    label_axes(ax, xlabel, ylabel, title)
    legend_below(ax, ncol=len(groups) + (baseline is not None))
    if note:
        ci_note(ax, table["n"], level)
    return fig


def relative_depth_plot(
    df: pd.DataFrame,
    *,
    x: str = "layers",
    y: str = "relative",
    hue: str = "split",
    hue_order: Sequence[str] | None = None,
    published: pd.DataFrame | None = None,
    published_label: str = "published",
    published_range: tuple[float, float, float] | None = None,
    published_range_label: str = "published range",
    level: float = 0.95,
    dodge: float = 0.08,
    ax: plt.Axes | None = None,
    xlabel: str = "layers n copied from the source (frozen)",
    ylabel: str = "accuracy relative to baseB",
    title: str | None = None,
    note: bool = False,
) -> Figure:
    """A ratio (e.g. AnB/baseB) against depth, one line per ``hue``, beside published values.

    ``published`` has columns ``x`` and ``y`` (a reference series, drawn grey and dashed);
    ``published_range`` is ``(x, low, high)``, a published interval drawn as a grey bar.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 3.8), layout="constrained")
    fig = ax.figure
    table = summarize(df, [x, hue], y, level=level)
    record(ax, table)
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    colours = [SERIES[k] for k in (2, 0, 1, 3, 4)]  # green, blue, vermillion, purple, orange
    lines = ["-", "--", "-.", ":", (0, (5, 1, 1, 1))]
    ends = []
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        xs = part[x].to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * dodge
        means, err = errorbars(part)
        colour = colours[i % len(colours)]
        ax.errorbar(xs, means, yerr=err, marker=MARKERS[i % len(MARKERS)], capsize=2,
                    label=str(group), color=colour, linestyle=lines[i % len(lines)])
        if len(part):
            ends.append((str(group), float(xs[-1]), float(means.iloc[-1]), colour))
    if published is not None:
        ax.plot(published[x], published[y], color="0.45", linestyle="--", marker="x",
                label=published_label)
    if published_range is not None:
        px, low, high = published_range
        ax.vlines(px + 0.25, low, high, color="0.45", linewidth=4, alpha=0.6,
                  label=published_range_label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    label_axes(ax, xlabel, ylabel, title)
    direct_labels(ax, ends)
    legend_below(ax, ncol=2)
    if note:
        ci_note(ax, table["n"], level)
    return fig


def gain_heatmap(
    df: pd.DataFrame,
    *,
    row: str = "layers",
    col: str = "target",
    value: str = "gain",
    col_order: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    level: float = 0.95,
    ax: plt.Axes | None = None,
    vmax: float | None = None,
    xlabel: str = "target (ordered by measured distance)",
    ylabel: str = "layers n copied from the source",
    title: str | None = None,
    colorbar_label: str = "gain over scratch (accuracy)",
) -> Figure:
    """Mean ``value`` over seeds as a ``row`` x ``col`` heatmap, each cell annotated with its
    mean and the half-width of its confidence interval; the colour scale is centred on 0."""
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 4.0), layout="constrained")
    fig = ax.figure
    table = summarize(df, [row, col], value, level=level)
    record(ax, table)
    rows = sorted(table[row].unique())
    cols = list(col_order) if col_order is not None else sorted(table[col].unique(), key=str)
    mean = table.pivot(index=row, columns=col, values="mean").reindex(index=rows, columns=cols)
    half = (table.assign(h=table["ci_high"] - table["mean"])
            .pivot(index=row, columns=col, values="h").reindex(index=rows, columns=cols))
    top = vmax if vmax is not None else float(np.nanmax(np.abs(mean.to_numpy()))) or 1.0
    image = ax.imshow(mean.to_numpy(), cmap="RdBu", vmin=-top, vmax=top, aspect="auto",
                      origin="lower")
    for i in range(len(rows)):
        for j in range(len(cols)):
            m, h = mean.iat[i, j], half.iat[i, j]
            if np.isnan(m):
                continue
            text = f"{m:+.2f}" + ("" if np.isnan(h) else f"\n±{h:.2f}")
            ax.text(j, i, text, ha="center", va="center", fontsize=SMALL,
                    color="white" if abs(m) > 0.6 * top else "black")
    ax.set_xticks(range(len(cols)), list(col_labels) if col_labels is not None else cols,
                  rotation=40, ha="right", fontsize=SMALL)
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, label=colorbar_label, shrink=0.9)
    return fig


def best_depth_plot(
    df: pd.DataFrame,
    *,
    x: str,
    y: str = "best_depth",
    hue: str = "condition",
    hue_order: Sequence[str] | None = None,
    label: str | None = "target",
    bounds: tuple[float, float] | None = None,
    level: float = 0.95,
    ax: plt.Axes | None = None,
    xlabel: str = "measured distance from the source",
    ylabel: str = "best number of layers copied",
    title: str | None = None,
    note: str | None = None,
    key: bool = False,
) -> Figure:
    """Mean ``y`` over seeds (with interval) against a per-target value ``x``, one series per
    ``hue`` (each its own colour and marker, the first filled, the others hollow); targets are
    numbered in the order of ``x`` along the top of the axes, above every series' points at
    that distance, staggered where two would touch (with ``key``, a key of their ``label`` and
    ``x`` to the right of the axes; on a page the key belongs in the caption, which keeps the
    figure at the column's width).

    ``bounds`` (e.g. the smallest and largest depth run) clips the intervals and the y-axis to
    the values ``y`` can take; the figure says so when it clips. With one row per target (a
    choice made once, on validation averaged over seeds) there is no interval: ``note`` then
    says what a point is.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 4.0), layout="constrained")
    fig = ax.figure
    by = [x, hue] + ([label] if label else [])
    table = summarize(df, by, y, level=level)
    clipped = False
    if bounds is not None:
        lo, hi = bounds
        clipped = bool((table["ci_low"] < lo).any() or (table["ci_high"] > hi).any())
        table = table.assign(ci_low=table["ci_low"].clip(lower=lo),
                             ci_high=table["ci_high"].clip(upper=hi))
    record(ax, table)
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    colours = [CONDITION_COLOURS["AnB"], CONDITION_COLOURS["AnB+"], CONDITION_COLOURS["BnB"],
               SERIES[2]]
    span = float(np.ptp(table[x].to_numpy(dtype=float)) or 1.0)
    offset = 0.006 * span
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        means, err = errorbars(part)
        style = dict(marker=MARKERS[i % len(MARKERS)], linestyle="none", color=colours[i % 4],
                     label=str(group), markersize=7,
                     markerfacecolor=colours[i % 4] if i == 0 else "white", markeredgewidth=1.6)
        xs = part[x] + (i - (len(groups) - 1) / 2) * offset
        if any(float(e.abs().sum()) > 0 for e in err):
            ax.errorbar(xs, means, yerr=err, capsize=3, **style)
        else:  # one choice per target: no interval, and the legend shows none
            ax.plot(xs, means, **style)
    if label:
        first = table[table[hue] == groups[0]].sort_values(x).reset_index(drop=True)
        lines = []
        xs = first[x].to_numpy(dtype=float)
        # stagger the numbers into rows so that neighbours at least 3% of the axis apart
        rows: list[float] = []
        for k, value in enumerate(xs):
            row = next((j for j, last in enumerate(rows) if value - last >= 0.03 * span),
                       len(rows))
            if row == len(rows):
                rows.append(value)
            else:
                rows[row] = value
            ax.annotate(str(k + 1), (value, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3 + 12 * row), textcoords="offset points", fontsize=SMALL,
                        color="0.2", ha="center", va="bottom", annotation_clip=False)
            ax.axvline(value, color="0.85", linewidth=0.8, zorder=0)
        for k, r in first.iterrows():
            lines.append(f"{k + 1}  {r[label]} ({r[x]:.2f})")
        if key:
            ax.text(1.02, 1.0, "\n".join(lines), transform=ax.transAxes, fontsize=SMALL,
                    va="top", ha="left", color="0.2")
    if bounds is not None:
        ax.set_ylim(bounds[0] - 0.5, bounds[1] + 0.5)
    label_axes(ax, xlabel, ylabel, title)
    legend_below(ax, ncol=len(groups))
    if note is not None:
        ax.annotate(note, (1, 0), xycoords="axes fraction", xytext=(-4, 4),
                    textcoords="offset points", ha="right", va="bottom", fontsize=SMALL,
                    color="0.4")
    elif clipped and bounds:
        ax.annotate(f"intervals clipped to [{bounds[0]:g}, {bounds[1]:g}]", (1, 0),
                    xycoords="axes fraction", xytext=(-4, 4), textcoords="offset points",
                    ha="right", va="bottom", fontsize=SMALL, color="0.4")
    return fig
