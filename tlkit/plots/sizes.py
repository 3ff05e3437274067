"""Figures of the small-targets chapter: learning curves and paired gains against the target
size on a log axis."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..stats import summarize
from .base import ci_note, errorbars, label_axes, legend_below, record
from .style import COLUMN, METHOD_COLOURS, OKABE_ITO

__all__ = ["METHOD_STYLES", "learning_curves_plot", "gain_curves_plot"]


#: Colours and markers of the small-target methods (scratch black, as a baseline).
METHOD_STYLES: dict[str, dict] = {
    "scratch": dict(color=METHOD_COLOURS["scratch"], marker="o", linestyle="-"),
    "linear probe": dict(color=METHOD_COLOURS["linear probe"], marker="^", linestyle="--"),
    "fine-tune": dict(color=METHOD_COLOURS["fine-tune"], marker="s", linestyle="-"),
    "L2-SP": dict(color=METHOD_COLOURS["L2-SP"], marker="D", linestyle="-."),
    "DELTA": dict(color=METHOD_COLOURS["DELTA"], marker="v", linestyle=":"),
    "BSS": dict(color=METHOD_COLOURS["BSS"], marker="P", linestyle=(0, (5, 1, 1, 1))),
}


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
    return list(pairs[x]), [s if s != "all" else f"\nall ({v:.0f})" for v, s in
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
    note: bool = False,
) -> Figure:
    """Learning curves: mean ``y`` over seeds against the target size on a log axis, one line per
    ``hue``, with Student-t intervals. Lines are shifted by ``dodge`` decades so that bars do
    not overlap; ticks are the sizes run, labelled by column ``label`` (``"all"`` for the whole
    split, with its size). ``chance`` draws the accuracy of guessing as a dotted line."""
    styles = METHOD_STYLES if styles is None else styles
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 3.8), layout="constrained")
    fig = ax.figure
    table = summarize(df, [x, hue], y, level=level)
    record(ax, table)
    groups = list(hue_order or sorted(table[hue].unique(), key=str))
    groups = [g for g in groups if (table[hue] == g).any()]
    for i, group in enumerate(groups):
        part = table[table[hue] == group].sort_values(x)
        shift = 10 ** ((i - (len(groups) - 1) / 2) * dodge)
        means, err = errorbars(part)
        ax.errorbar(part[x].to_numpy(dtype=float) * shift, means, yerr=err, capsize=2,
                    label=str(group), markersize=4.5, **styles.get(str(group), {}))
    if chance is not None:
        ax.axhline(chance, color="0.5", linestyle=":", linewidth=1, label="chance")
    _size_axis(ax, *_size_labels(df, x, label))
    label_axes(ax, xlabel, ylabel, title)
    legend_below(ax, ncol=len(groups) + (chance is not None))
    if note:
        ci_note(ax, table["n"], level)
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
    note: bool = False,
) -> Figure:
    """Paired gains against the target size: one line per ``hue`` from a table of tests with
    columns ``gain``, ``ci_low``, ``ci_high`` and ``verdict`` (e.g.
    :func:`tlkit.experiments.small_targets.gain_tests`). A marker is filled when the interval
    excludes 0 (``verdict`` positive or negative) and hollow otherwise; negative cells are
    ringed in vermillion."""
    styles = METHOD_STYLES if styles is None else styles
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 3.8), layout="constrained")
    fig = ax.figure
    groups = list(hue_order or sorted(tests[hue].unique(), key=str))
    groups = [g for g in groups if (tests[hue] == g).any()]
    record(ax, tests[tests[hue].isin(groups)])
    ax.axhline(0.0, color="black", linewidth=0.9)
    for i, group in enumerate(groups):
        part = tests[tests[hue] == group].sort_values(x)
        style = dict(styles.get(str(group), {}))
        colour = style.pop("color", None)
        marker = style.pop("marker", "o")
        xs = part[x].to_numpy(dtype=float) * 10 ** ((i - (len(groups) - 1) / 2) * dodge)
        means, err = errorbars(part.rename(columns={"gain": "mean"}))
        ax.errorbar(xs, means, yerr=err, capsize=2, color=colour, marker="none",
                    label=str(group), **style)
        sig = (part["verdict"] != "no clear difference").to_numpy()
        ax.scatter(xs[sig], means[sig], marker=marker, color=colour, s=28, zorder=3)
        ax.scatter(xs[~sig], means[~sig], marker=marker, facecolor="white", edgecolor=colour,
                   s=28, zorder=3)
        neg = (part["verdict"] == "negative").to_numpy()
        ax.scatter(xs[neg], means[neg], marker="o", facecolor="none",
                   edgecolor=OKABE_ITO["vermillion"], s=110, linewidth=1.2, zorder=4)
    _size_axis(ax, *_size_labels(tests, x, label))
    label_axes(ax, xlabel, ylabel, title)
    legend_below(ax, ncol=len(groups))
    if note:
        ci_note(ax, tests["seeds"] if "seeds" in tests else [], 0.95, paired=True,
                extra="filled: CI excludes 0; ring: negative")
    return fig
