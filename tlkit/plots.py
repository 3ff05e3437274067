"""Figures of the book: every point a mean over seeds with its confidence interval."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .stats import mean_ci, summarize

__all__ = ["mean_ci_plot", "depth_curves_plot", "relative_depth_plot", "gain_heatmap",
           "best_depth_plot", "CONDITION_STYLES"]


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


def _summary_points(table: pd.DataFrame) -> tuple:
    err = [(table["mean"] - table["ci_low"]).fillna(0).clip(lower=0),
           (table["ci_high"] - table["mean"]).fillna(0).clip(lower=0)]
    return table["mean"], err


def _label_axes(ax: plt.Axes, xlabel: str, ylabel: str, title: str | None) -> None:
    """Axis labels, an optional title and a light grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)


def _seeds_note(ax: plt.Axes, n: int, level: float) -> None:
    ax.annotate(f"mean and {level:.0%} CI over {n}+ seeds", (1, 0), xycoords="axes fraction",
                xytext=(-4, 4), textcoords="offset points", ha="right", va="bottom",
                fontsize=8, color="0.4")


#: Colours of the layer-transfer conditions (Yosinski et al. 2014, figure 2: B blue, A red).
CONDITION_STYLES: dict[str, dict] = {
    "BnB": dict(color="tab:blue", marker="o", linestyle="-"),
    "BnB+": dict(color="tab:cyan", marker="o", linestyle="--", markerfacecolor="white"),
    "AnB": dict(color="tab:red", marker="s", linestyle="-"),
    "AnB+": dict(color="tab:pink", marker="s", linestyle="--", markerfacecolor="white"),
    "random": dict(color="0.5", marker="^", linestyle=":"),
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
) -> Figure:
    """Accuracy against transfer depth, one line per condition, in the style of Yosinski et al.

    Each point is the mean of ``y`` over seeds at one depth, with its Student-t interval;
    lines of different conditions are shifted by ``dodge`` so that the bars do not overlap.
    ``baseline`` (values over seeds, e.g. baseB's accuracy) is drawn as a horizontal line with
    its interval as a band.
    """
    styles = CONDITION_STYLES if styles is None else styles
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    table = summarize(df, [x, hue], y, level=level)
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
        means, err = _summary_points(part)
        ax.errorbar(xs, means, yerr=err, capsize=2, label=str(group), markersize=5,
                    **styles.get(str(group), {}))
    ax.set_xticks(sorted(table[x].unique()))
    _label_axes(ax, xlabel, ylabel, title)
    ax.legend(frameon=False, fontsize=8)
    _seeds_note(ax, int(table["n"].min()) if len(table) else 0, level)
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
) -> Figure:
    """A ratio (e.g. AnB/baseB) against depth, one line per ``hue``, beside published values.

    ``published`` has columns ``x`` and ``y`` (a reference series, drawn grey and dashed);
    ``published_range`` is ``(x, low, high)``, a published interval drawn as a grey bar.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    table = summarize(df, [x, hue], y, level=level)
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    colours = ["tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:olive"]
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        xs = part[x].to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * dodge
        means, err = _summary_points(part)
        ax.errorbar(xs, means, yerr=err, marker="o", capsize=2, label=str(group),
                    color=colours[i % len(colours)])
    if published is not None:
        ax.plot(published[x], published[y], color="0.45", linestyle="--", marker="x",
                label=published_label)
    if published_range is not None:
        px, low, high = published_range
        ax.vlines(px + 0.25, low, high, color="0.45", linewidth=4, alpha=0.6,
                  label=published_range_label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    _label_axes(ax, xlabel, ylabel, title)
    ax.legend(frameon=False, fontsize=8)
    _seeds_note(ax, int(table["n"].min()) if len(table) else 0, level)
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
        _, ax = plt.subplots(figsize=(7, 4))
    fig = ax.figure
    table = summarize(df, [row, col], value, level=level)
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
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5,
                    color="white" if abs(m) > 0.6 * top else "black")
    ax.set_xticks(range(len(cols)), list(col_labels) if col_labels is not None else cols,
                  rotation=40, ha="right", fontsize=8)
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
) -> Figure:
    """Mean ``y`` over seeds (with interval) against a per-target value ``x``, one series per
    ``hue``; targets are numbered by ``x`` beside their points, with a key of their ``label``
    and ``x`` to the right of the axes.

    ``bounds`` (e.g. the smallest and largest depth run) clips the intervals and the y-axis to
    the values ``y`` can take; the figure says so when it clips.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    fig = ax.figure
    by = [x, hue] + ([label] if label else [])
    table = summarize(df, by, y, level=level)
    clipped = False
    if bounds is not None:
        lo, hi = bounds
        clipped = bool((table["ci_low"] < lo).any() or (table["ci_high"] > hi).any())
        table = table.assign(ci_low=table["ci_low"].clip(lower=lo),
                             ci_high=table["ci_high"].clip(upper=hi))
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    markers = ["o", "s", "^", "D"]
    colours = ["tab:red", "tab:pink", "tab:blue", "tab:green"]
    offset = 0.006 * float(np.ptp(table[x].to_numpy(dtype=float)) or 1.0)
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        means, err = _summary_points(part)
        ax.errorbar(part[x] + (i - (len(groups) - 1) / 2) * offset, means, yerr=err,
                    marker=markers[i % 4], capsize=3, linestyle="none", color=colours[i % 4],
                    label=str(group), alpha=0.9, markersize=6)
    if label:
        first = table[table[hue] == groups[0]].sort_values(x).reset_index(drop=True)
        key = []
        for k, r in first.iterrows():
            ax.annotate(str(k + 1), (r[x], r["mean"]), xytext=(-3, 5 + 8 * (k % 2)),
                        textcoords="offset points", fontsize=7, color="0.2", ha="right")
            key.append(f"{k + 1}  {r[label]} ({r[x]:.2f})")
        ax.text(1.02, 1.0, "\n".join(key), transform=ax.transAxes, fontsize=7.5, va="top",
                ha="left", color="0.2")
    if bounds is not None:
        ax.set_ylim(bounds[0] - 0.5, bounds[1] + 0.5)
    _label_axes(ax, xlabel, ylabel, title)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    n = int(table["n"].min()) if len(table) else 0
    note = f"mean and {level:.0%} CI over {n}+ seeds" + (
        f", CI clipped to [{bounds[0]:g}, {bounds[1]:g}]" if clipped and bounds else "")
    ax.annotate(note, (1, 0), xycoords="axes fraction", xytext=(-4, 4),
                textcoords="offset points", ha="right", va="bottom", fontsize=8, color="0.4")
    return fig


# --------------------------------------------------------------------------- small targets

__all__ += ["METHOD_STYLES", "learning_curves_plot", "gain_curves_plot", "taxonomy_map"]

#: Colours and markers of the small-target methods (scratch black, as a baseline).
METHOD_STYLES: dict[str, dict] = {
    "scratch": dict(color="black", marker="o", linestyle="-"),
    "linear probe": dict(color="tab:green", marker="^", linestyle="--"),
    "fine-tune": dict(color="tab:blue", marker="s", linestyle="-"),
    "L2-SP": dict(color="tab:orange", marker="D", linestyle="-."),
}


def _mean_and_error(table: pd.DataFrame) -> tuple[pd.Series, list[pd.Series]]:
    """Columns ``mean``, ``ci_low``, ``ci_high`` as errorbar values (a missing CI draws none)."""
    err = [(table["mean"] - table["ci_low"]).fillna(0).clip(lower=0),
           (table["ci_high"] - table["mean"]).fillna(0).clip(lower=0)]
    return table["mean"], err


def _size_axis(ax: plt.Axes, positions: Sequence[float], labels: Sequence[str] | None) -> None:
    """A log x-axis with one tick per size run, labelled by ``labels`` (e.g. ``"all"``)."""
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(list(positions), list(labels) if labels is not None
                  else [f"{p:g}" for p in positions])


def _size_labels(df: pd.DataFrame, x: str, label: str | None) -> tuple[list[float], list[str]]:
    if label is None or label not in df:
        xs = sorted(df[x].unique())
        return xs, [f"{v:g}" for v in xs]
    pairs = df[[x, label]].drop_duplicates().sort_values(x)
    # "all" goes on a second line: it usually sits close to the largest size run
    return list(pairs[x]), [s if s != "all" else f"\nall ({v:g})" for v, s in
                            zip(pairs[x], pairs[label], strict=True)]


def learning_curves_plot(
    df: pd.DataFrame,
    *,
    x: str = "per_class",
    y: str = "test_acc",
    hue: str = "method",
    hue_order: Sequence[str] | None = None,
    label: str | None = "size",
    styles: dict[str, dict] | None = None,
    level: float = 0.95,
    dodge: float = 0.035,
    chance: float | None = None,
    ax: plt.Axes | None = None,
    xlabel: str = "target examples per class (log scale)",
    ylabel: str = "test accuracy",
    title: str | None = None,
) -> Figure:
    """Learning curves: mean ``y`` over seeds against the target size on a log axis, one line per
    ``hue``, with Student-t intervals. Lines are shifted by ``dodge`` decades so that bars do
    not overlap; ticks are the sizes run, labelled by column ``label`` (``"all"`` for the whole
    split, with its size). ``chance`` draws the accuracy of guessing as a dotted line."""
    styles = METHOD_STYLES if styles is None else styles
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    table = summarize(df, [x, hue], y, level=level)
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    groups = [g for g in groups if (table[hue] == g).any()]
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        shift = 10 ** ((i - (len(groups) - 1) / 2) * dodge)
        means, err = _mean_and_error(part)
        ax.errorbar(part[x].to_numpy(dtype=float) * shift, means, yerr=err, capsize=2,
                    label=str(group), markersize=4.5, **styles.get(str(group), {}))
    if chance is not None:
        ax.axhline(chance, color="0.5", linestyle=":", linewidth=1, label="chance")
    _size_axis(ax, *_size_labels(df, x, label))
    _label_axes(ax, xlabel, ylabel, title)
    ax.legend(frameon=False, fontsize=8)
    n = int(table["n"].min()) if len(table) else 0
    ax.annotate(f"mean and {level:.0%} CI, {n}+ seeds per point", (1, 0),
                xycoords="axes fraction", xytext=(-4, 4), textcoords="offset points",
                ha="right", va="bottom", fontsize=7.5, color="0.4")
    return fig


def gain_curves_plot(
    tests: pd.DataFrame,
    *,
    x: str = "per_class",
    hue: str = "method",
    hue_order: Sequence[str] | None = None,
    label: str | None = "size",
    styles: dict[str, dict] | None = None,
    dodge: float = 0.035,
    ax: plt.Axes | None = None,
    xlabel: str = "target examples per class (log scale)",
    ylabel: str = "gain over scratch (accuracy)",
    title: str | None = None,
) -> Figure:
    """Paired gains against the target size: one line per ``hue`` from a table of tests with
    columns ``gain``, ``ci_low``, ``ci_high`` and ``verdict`` (e.g.
    :func:`tlkit.experiments.small_targets.gain_tests`). A marker is filled when the interval
    excludes 0 (``verdict`` positive or negative) and hollow otherwise; negative cells are
    ringed in red."""
    styles = METHOD_STYLES if styles is None else styles
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    fig = ax.figure
    groups = list(hue_order or sorted(tests[hue].unique(), key=str))
    groups = [g for g in groups if (tests[hue] == g).any()]
    ax.axhline(0.0, color="black", linewidth=0.9)
    for i, group in enumerate(groups):
        part = tests[tests[hue] == group].sort_values(x)
        style = dict(styles.get(str(group), {}))
        colour = style.pop("color", None)
        marker = style.pop("marker", "o")
        xs = part[x].to_numpy(dtype=float) * 10 ** ((i - (len(groups) - 1) / 2) * dodge)
        means, err = _mean_and_error(part.rename(columns={"gain": "mean"}))
        ax.errorbar(xs, means, yerr=err, capsize=2, color=colour, marker="none",
                    label=str(group), **style)
        sig = (part["verdict"] != "no clear difference").to_numpy()
        ax.scatter(xs[sig], means[sig], marker=marker, color=colour, s=28, zorder=3)
        ax.scatter(xs[~sig], means[~sig], marker=marker, facecolor="white", edgecolor=colour,
                   s=28, zorder=3)
        neg = (part["verdict"] == "negative").to_numpy()
        ax.scatter(xs[neg], means[neg], marker="o", facecolor="none", edgecolor="red", s=110,
                   linewidth=1.2, zorder=4)
    _size_axis(ax, *_size_labels(tests, x, label))
    _label_axes(ax, xlabel, ylabel, title)
    ax.legend(frameon=False, fontsize=8)
    ax.annotate("paired 95% CI over seeds; filled: CI excludes 0; red ring: negative", (1, 0),
                xycoords="axes fraction", xytext=(-4, 4), textcoords="offset points",
                ha="right", va="bottom", fontsize=7, color="0.4")
    return fig


def taxonomy_map(
    cells: pd.DataFrame,
    *,
    size_boundary: float,
    distance_boundary: float,
    x: str = "per_class",
    y: str = "distance",
    value: str = "gain",
    origin: str = "origin",
    markers: dict[str, str] | None = None,
    offsets: dict[str, float] | None = None,
    labels: dict[str, str] | None = None,
    annotate: Sequence[str] | bool = True,
    vmax: float | None = None,
    ax: plt.Axes | None = None,
    xlabel: str = "target examples per class (log scale)",
    ylabel: str = "measured distance of the target from the source (pixel OTDD)",
    title: str | None = None,
    colorbar_label: str = "gain of fine-tuning over scratch (accuracy)",
) -> Figure:
    """The survey's taxonomy as a map filled with measured gains.

    Each row of ``cells`` is one measured cell at (``x``, ``y``) coloured by ``value`` on a
    diverging scale centred at 0 (blue: transfer helped, red: it hurt; symmetric limits
    ``±vmax``, default the largest absolute value). Cells whose ``verdict`` is positive or
    negative get a black edge, others a grey one. ``origin`` picks the marker (``markers``), an
    optional multiplicative x ``offsets`` per origin (so that cells of two experiments at the
    same point stay visible) and the legend ``labels``; ``annotate`` (True, False or the origins
    to annotate) writes each cell's gain under it. Dashed lines at ``size_boundary`` and
    ``distance_boundary`` split the map into the survey's four regions, labelled in their
    corners.
    """
    from matplotlib.colors import Normalize

    markers = markers or {}
    offsets = offsets or {}
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5.5))
    fig = ax.figure
    placed = cells[np.isfinite(cells[y].to_numpy(dtype=float))]
    top = vmax if vmax is not None else float(np.nanmax(np.abs(placed[value]))) if len(
        placed) else 1.0
    top = top or 1.0
    norm = Normalize(vmin=-top, vmax=top)
    groups = list(dict.fromkeys(placed[origin])) if origin in placed else [None]
    default_markers = ["o", "s", "D", "^"]
    image = None
    for i, group in enumerate(groups):
        part = placed if group is None else placed[placed[origin] == group]
        sig = (part["verdict"] != "no clear difference").to_numpy() if "verdict" in part \
            else np.zeros(len(part), bool)
        xs = part[x].to_numpy(dtype=float) * offsets.get(group, 1.0)
        image = ax.scatter(xs, part[y], c=part[value], cmap="RdBu", norm=norm,
                           s=150 if i == 0 else 95,
                           marker=markers.get(group, default_markers[i % 4]),
                           edgecolors=np.where(sig, "black", "0.6").tolist(),
                           linewidths=np.where(sig, 1.4, 0.8), zorder=3 + i)
        if annotate is True or (annotate and group in annotate):
            for xv, yv, g in zip(xs, part[y], part[value], strict=True):
                ax.annotate(f"{g:+.2f}", (xv, yv), xytext=(0, -13), textcoords="offset points",
                            ha="center", va="top", fontsize=6, color="0.25")
    ax.set_xscale("log")
    ax.axvline(size_boundary, color="0.3", linestyle="--", linewidth=1)
    ax.axhline(distance_boundary, color="0.3", linestyle="--", linewidth=1)
    if len(placed):
        ax.set_xlim(placed[x].min() / 1.8, placed[x].max() * 2.2)
        ylo, yhi = placed[y].min(), placed[y].max()
        pad = 0.12 * (yhi - ylo or 1.0)
        ax.set_ylim(ylo - 2 * pad, yhi + 2 * pad)
    corners = [("small & similar", 0.02, 0.02, "left", "bottom"),
               ("large & similar", 0.98, 0.02, "right", "bottom"),
               ("small & dissimilar", 0.02, 0.98, "left", "top"),
               ("large & dissimilar", 0.98, 0.98, "right", "top")]
    for text, cx, cy, ha, va in corners:
        ax.text(cx, cy, text, transform=ax.transAxes, ha=ha, va=va, fontsize=9,
                color="0.35", style="italic",
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none",
                          alpha=0.8))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.25)
    if image is not None:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="RdBu"), ax=ax,
                     label=colorbar_label, shrink=0.9)
    if groups != [None]:
        handles = [plt.Line2D([], [], marker=markers.get(g, default_markers[i % 4]),
                              linestyle="none", markerfacecolor="0.85",
                              markeredgecolor="0.3", markersize=8,
                              label=(labels or {}).get(g, str(g)))
                   for i, g in enumerate(groups)]
        handles.append(plt.Line2D([], [], marker="o", linestyle="none",
                                  markerfacecolor="white", markeredgecolor="black",
                                  markeredgewidth=1.4, markersize=8,
                                  label="black edge: 95% CI excludes 0"))
        ax.legend(handles=handles, fontsize=8, loc="center left", framealpha=0.9)
    return fig
