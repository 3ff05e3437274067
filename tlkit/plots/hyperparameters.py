"""Figures of the hyperparameter chapter: one hyperparameter at a time, a line per cell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .base import record
from .style import COLUMN, FONT, OKABE_ITO, SMALL, bottom_legend, figure

__all__ = ["REGION_STYLES", "knob_plot"]

#: One colour and marker per region of the taxonomy, the same on every figure of the chapter:
#: similar targets in blues, dissimilar ones in vermillion and orange, small ones dashed.
REGION_STYLES: Mapping[str, dict] = {
    "large & similar": dict(color=OKABE_ITO["blue"], marker="o", linestyle="-"),
    "small & similar": dict(color=OKABE_ITO["sky blue"], marker="s", linestyle="--"),
    "large & dissimilar": dict(color=OKABE_ITO["vermillion"], marker="^", linestyle="-"),
    "small & dissimilar": dict(color=OKABE_ITO["orange"], marker="D", linestyle="--"),
}


def knob_plot(curves: pd.DataFrame, panels: Sequence[str], xlabel: str, *,
              tick_labels: Mapping[str, Sequence[str]] | None = None,
              titles: Mapping[str, str] | None = None) -> Figure:
    """One panel per source (``panels``, by name): the paired change in test accuracy from the
    default recipe (``diff`` with ``diff_low``, ``diff_high`` of
    :func:`tlkit.experiments.hyperparameters.knob_curves`) at each value of one
    hyperparameter, in grid order along x (the default first), one line per region. The value
    chosen on validation is a filled marker, the others hollow; lines are dodged sideways so
    that their bars do not hide one another."""
    fig, axes = figure(3.0, ncols=len(panels), width=COLUMN, sharey=True, squeeze=False)
    regions = list(REGION_STYLES)
    for ax, source in zip(axes[0], panels, strict=True):
        part = curves[curves["source"] == source]
        record(ax, part)
        orders = sorted(part["order"].unique())
        for i, region in enumerate(regions):
            line = part[part["region"] == region].sort_values("order")
            if line.empty:
                continue
            st = REGION_STYLES[region]
            x = line["order"].to_numpy(dtype=float) + (i - 1.5) * 0.08
            y = line["diff"].to_numpy(dtype=float)
            err = [y - line["diff_low"].to_numpy(dtype=float),
                   line["diff_high"].to_numpy(dtype=float) - y]
            # every value hollow (as the legend shows it), the one chosen filled on top
            ax.errorbar(x, y, yerr=np.nan_to_num(err), color=st["color"],
                        linestyle=st["linestyle"], marker=st["marker"], markersize=5.5,
                        markerfacecolor="white", capsize=2, linewidth=1.3, label=region)
            chosen = line["chosen"].to_numpy(dtype=bool)
            ax.scatter(x[chosen], y[chosen], marker=st["marker"], color=st["color"], s=36,
                       zorder=3)
        ax.axhline(0, color="0.3", linewidth=0.8)
        labels = (tick_labels or {}).get(source)
        if labels is None:
            values = part.drop_duplicates("order").sort_values("order")["value"]
            labels = [_fmt(v) for v in values]
        ax.set_xticks(orders, [_wrap(t) for t in labels[:len(orders)]])
        ax.set_xlim(min(orders) - 0.4, max(orders) + 0.4)
        ax.set_title((titles or {}).get(source, source), fontsize=SMALL + 1)
    if len(panels) > 1:  # one label for the row: two would collide at the panels' width
        fig.supxlabel(xlabel, fontsize=FONT)
    else:
        axes[0, 0].set_xlabel(xlabel)
    axes[0, 0].set_ylabel("test accuracy − default's")
    # the legend above the panels, so that the row's label keeps the bottom
    bottom_legend(fig, axes[0], ncol=4, where="upper")
    return fig


def _wrap(label: str, width: int = 12) -> str:
    """A tick label longer than ``width`` characters broken at its spaces into lines."""
    if len(label) <= width or "\n" in label:
        return label
    lines, line = [], ""
    for word in label.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
