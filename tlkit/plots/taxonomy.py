"""The survey's taxonomy as a map filled with measured gains."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["taxonomy_map"]


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
