"""What every figure of the book shares: error bars from a summary table, axis labels, and
the note that says what the points and bars are."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..stats import summarize
from .style import COLUMN, MARKERS, SMALL

__all__ = ["errorbars", "label_axes", "seeds_text", "ci_note", "legend_below", "direct_labels",
           "spread", "record", "figure_data", "mean_ci_plot"]


def record(ax: plt.Axes, table: pd.DataFrame) -> None:
    """Keep ``table``, the numbers ``ax`` draws (means, intervals, n), with the axes, for
    :func:`figure_data`. Every plot of :mod:`tlkit.plots` records what it draws."""
    ax.__dict__.setdefault("tlkit_data", []).append(table.reset_index(drop=True))


def figure_data(fig: Figure) -> pd.DataFrame | None:
    """Every table the axes of ``fig`` recorded (:func:`record`), one frame; with more than one
    panel, a ``panel`` column names each (its title, or its number). ``None`` when the figure
    recorded nothing (an image grid, a diagram)."""
    parts = []
    tables = [(ax, t) for ax in fig.axes for t in ax.__dict__.get("tlkit_data", [])]
    many = len({id(ax) for ax, _ in tables}) > 1
    for k, (ax, t) in enumerate(tables):
        title = next((ax.get_title(loc=w) for w in ("center", "left", "right")
                      if ax.get_title(loc=w)), str(k + 1))
        parts.append(t.assign(panel=title) if many else t)
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


def errorbars(table: pd.DataFrame) -> tuple[pd.Series, list[pd.Series]]:
    """Means and asymmetric error bars from columns ``mean``, ``ci_low``, ``ci_high`` (a
    missing interval, from a single seed, draws no bar)."""
    err = [(table["mean"] - table["ci_low"]).fillna(0).clip(lower=0),
           (table["ci_high"] - table["mean"]).fillna(0).clip(lower=0)]
    return table["mean"], err


def label_axes(ax: plt.Axes, xlabel: str, ylabel: str, title: str | None) -> None:
    """Axis labels, an optional title and a light grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)


def seeds_text(counts: Iterable[int]) -> str:
    """``"5 seeds"``, or ``"3-8 seeds"`` when the points have different numbers of seeds."""
    ns = sorted({int(n) for n in counts})
    if not ns:
        return "no seeds"
    if len(ns) == 1:
        return f"{ns[0]} seed" + ("" if ns[0] == 1 else "s")
    return f"{ns[0]}\u2013{ns[-1]} seeds"


def ci_note(ax: plt.Axes, counts: Iterable[int], level: float = 0.95, *, paired: bool = False,
            extra: str = "") -> None:
    """The note in the corner of a figure: what a point is (a mean over how many seeds) and
    what a bar is (a Student-t interval, paired by seed or not)."""
    kind = "paired" if paired else "unpaired"
    text = f"mean over {seeds_text(counts)}; bars: {kind} {level:.0%} CI"
    if extra:
        text += f"; {extra}"
    ax.annotate(text, (1, 0), xycoords="axes fraction", xytext=(-4, 4),
                textcoords="offset points", ha="right", va="bottom", fontsize=SMALL, color="0.4")


def spread(values: Sequence[float], gap: float) -> list[float]:
    """``values`` moved apart, as little as possible and keeping their order, so that
    neighbours are at least ``gap`` apart (labels that would otherwise overlap)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [float(v) for v in values]
    for a, b in zip(order, order[1:], strict=False):
        out[b] = max(out[b], out[a] + gap)
    # centre the moved block on the original values, so labels do not all drift up
    shift = (sum(out) - sum(float(v) for v in values)) / max(len(values), 1)
    return [v - shift for v in out]


def direct_labels(ax: plt.Axes, ends: Sequence[tuple[str, float, float, str]],
                  gap_points: float = 12.0) -> None:
    """Name each series in the right margin of the axes at the height of its last point, in
    its colour (``ends``: label, x, y, colour; x is not used: every label sits past the
    right edge, clear of the data), moved apart vertically where two would overlap."""
    if not ends:
        return
    fig = ax.figure
    y0, y1 = ax.get_ylim()
    height_points = ax.get_window_extent().height * 72 / fig.dpi
    gap = gap_points / max(height_points, 1.0) * (y1 - y0)
    ys = spread([e[2] for e in ends], gap)
    for (label, _, _, colour), y in zip(ends, ys, strict=True):
        ax.annotate(label, (1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=SMALL,
                    color=colour, annotation_clip=False)


def legend_below(ax: plt.Axes, ncol: int = 4, **kwargs) -> None:
    """The axes' legend below it, outside the data, in ``ncol`` columns."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol,
                  frameon=False, **kwargs)


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
    colours: dict[str, str] | None = None,
    note: bool = False,
    labels: str = "legend",
) -> Figure:
    """Mean of ``y`` per ``x`` (and ``hue``) over seeds, with Student-t intervals as bars.

    ``x`` may be numeric (lines) or categorical (points at integer positions, ``order``);
    ``dodge`` moves each group sideways by that much (a fraction of a decade on a log axis) so
    that bars at one ``x`` do not hide each other. ``labels="legend"`` puts the legend below
    the axes; ``labels="direct"`` names each line at its last point in the right margin
    instead (:func:`direct_labels`), for lines that cross or lie on top of each other.
    ``note`` adds the in-figure note on seeds and intervals (a caption says the same on the
    book's pages).
    """
    if labels not in ("legend", "direct"):
        raise ValueError(f"labels must be 'legend' or 'direct', not {labels!r}")
    by = [x] + ([hue] if hue else [])
    table = summarize(df, by, y, level=level)
    if ax is None:
        fig, ax = plt.subplots(figsize=(COLUMN, 3.8), layout="constrained")
    fig = ax.figure
    record(ax, table)
    numeric = pd.api.types.is_numeric_dtype(df[x]) and order is None
    categories = list(order) if order is not None else sorted(table[x].unique(), key=str)
    groups = [None] if hue is None else list(hue_order or sorted(table[hue].unique(), key=str))
    ends = []
    for i, group in enumerate(groups):
        part = table if group is None else table[table[hue] == group]
        shift = (i - (len(groups) - 1) / 2) * dodge
        if numeric:
            part = part.sort_values(x)
            xs = part[x].to_numpy(dtype=float)
            xs = xs * 10 ** shift if logx else xs + shift
        else:
            pos = {c: k for k, c in enumerate(categories)}
            part = part[part[x].isin(pos)]
            part = part.assign(_pos=part[x].map(pos)).sort_values("_pos")
            xs = part["_pos"].to_numpy(dtype=float) + shift
        means, err = errorbars(part)
        drawn = ax.errorbar(xs, means, yerr=err, marker=MARKERS[i % len(MARKERS)], capsize=3,
                            linestyle="-" if numeric else "none",
                            label=None if group is None else str(group),
                            color=(colours or {}).get(str(group)))
        if group is not None and len(xs):
            ends.append((str(group), xs[-1], float(np.asarray(means)[-1]),
                         drawn.lines[0].get_color()))
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if hue and labels == "direct":
        direct_labels(ax, ends)
    elif hue:
        legend_below(ax, ncol=len(groups))
    if note:
        ci_note(ax, table["n"], level)
    return fig
