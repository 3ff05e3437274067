"""The survey's taxonomy as a map filled with measured gains, oriented like the taxonomy
chapter's diagram: target size grows to the right, similarity to the source grows upwards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .base import record
from .style import COLUMN, SMALL

__all__ = ["taxonomy_map", "taxonomy_panels"]


_MARKERS = ["o", "s", "D", "^"]


def _handles(groups: list, markers: Mapping[str, str], labels: Mapping[str, str] | None
             ) -> list:
    """Legend entries: one marker per origin, and what a black edge means."""
    out = [plt.Line2D([], [], marker=markers.get(g, _MARKERS[i % 4]), linestyle="none",
                      markerfacecolor="0.85", markeredgecolor="0.3", markersize=8,
                      label=(labels or {}).get(g, str(g)))
           for i, g in enumerate(groups)]
    out.append(plt.Line2D([], [], marker="o", linestyle="none", markerfacecolor="white",
                          markeredgecolor="black", markeredgewidth=1.4, markersize=8,
                          label="black edge: 95% CI excludes 0"))
    return out


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
    vmax: float | None = None,
    ax: plt.Axes | None = None,
    xlabel: str = "target examples per class (log scale)",
    ylabel: str = "distance from the source (pixel OTDD)\n\u2190 far          near \u2192",
    title: str | None = None,
    colorbar_label: str = "gain over scratch (accuracy)",
    colorbar: bool = True,
    legend: bool = True,
) -> Figure:
    """The survey's taxonomy as a map filled with measured gains.

    Each row of ``cells`` is one measured cell at (``x``, ``y``) coloured by ``value`` on a
    diverging scale centred at 0 (blue: transfer helped, red: it hurt; symmetric limits
    ``±vmax``, default the largest absolute value). The distance axis is inverted, so that
    similar (near) targets sit at the top, as in the taxonomy diagram. Cells whose ``verdict`` is
    positive or negative get a black edge, others a grey one. ``origin`` picks the marker
    (``markers``), an optional multiplicative x ``offsets`` per origin (so that cells of two
    experiments at the same point stay visible) and the legend ``labels``. Dashed lines at
    ``size_boundary`` and ``distance_boundary`` split the map into the survey's four regions,
    named in their corners. The cells' numbers belong in a table beside the map.
    """
    from matplotlib.colors import Normalize

    markers = markers or {}
    offsets = offsets or {}
    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN, 4.2), layout="constrained")
    fig = ax.figure
    placed = cells[np.isfinite(cells[y].to_numpy(dtype=float))]
    record(ax, placed)
    top = vmax if vmax is not None else float(np.nanmax(np.abs(placed[value]))) if len(
        placed) else 1.0
    top = top or 1.0
    norm = Normalize(vmin=-top, vmax=top)
    groups = list(dict.fromkeys(placed[origin])) if origin in placed else [None]
    for i, group in enumerate(groups):
        part = placed if group is None else placed[placed[origin] == group]
        sig = (part["verdict"] != "no clear difference").to_numpy() if "verdict" in part \
            else np.zeros(len(part), bool)
        xs = part[x].to_numpy(dtype=float) * offsets.get(group, 1.0)
        ax.scatter(xs, part[y], c=part[value], cmap="RdBu", norm=norm,
                   s=110 if i == 0 else 75, marker=markers.get(group, _MARKERS[i % 4]),
                   edgecolors=np.where(sig, "black", "0.6").tolist(),
                   linewidths=np.where(sig, 1.4, 0.8), zorder=3 + i)
    ax.set_xscale("log")
    if len(placed):  # ticks at the sizes measured, in examples per class
        ticks = sorted({float(v) for v in placed[x]})
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.minorticks_off()
    ax.axvline(size_boundary, color="0.3", linestyle="--", linewidth=1)
    ax.axhline(distance_boundary, color="0.3", linestyle="--", linewidth=1)
    if len(placed):
        ax.set_xlim(placed[x].min() / 1.8, placed[x].max() * 2.2)
        ylo, yhi = placed[y].min(), placed[y].max()
        pad = 0.12 * (yhi - ylo or 1.0)
        ax.set_ylim(yhi + 2 * pad, ylo - 2 * pad)  # inverted: near (similar) at the top
    corners = [("small & similar", 0.02, 0.98, "left", "top"),
               ("large & similar", 0.98, 0.98, "right", "top"),
               ("small & dissimilar", 0.02, 0.02, "left", "bottom"),
               ("large & dissimilar", 0.98, 0.02, "right", "bottom")]
    for text, cx, cy, ha, va in corners:
        ax.text(cx, cy, text, transform=ax.transAxes, ha=ha, va=va, fontsize=SMALL,
                color="0.35", style="italic",
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none",
                          alpha=0.85))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    ax.grid(alpha=0.25)
    if colorbar:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="RdBu"), ax=ax,
                     label=colorbar_label, shrink=0.9)
    if legend and groups != [None]:
        ax.legend(handles=_handles(groups, markers, labels), loc="upper center",
                  bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    return fig


def taxonomy_panels(
    panels: Mapping[str, pd.DataFrame],
    *,
    size_boundary: float,
    distance_boundary: float,
    markers: dict[str, str] | None = None,
    offsets: dict[str, float] | None = None,
    labels: dict[str, str] | None = None,
    height: float = 3.3,
    colorbar_label: str = "gain over scratch (accuracy)",
    **kwargs: Any,
) -> Figure:
    """Several taxonomy maps (title -> cells, as :func:`taxonomy_map` takes them) stacked at
    the column's width, on one colour scale (the largest absolute gain of any panel), with one
    colour bar and one legend below the last panel."""
    cells = [c for c in panels.values() if len(c)]
    top = max([float(np.nanmax(np.abs(c["gain"]))) for c in cells] or [1.0]) or 1.0
    fig, axes = plt.subplots(len(panels), 1, figsize=(COLUMN, height * len(panels) + 0.8),
                             sharex=True, squeeze=False, layout="constrained")
    for ax, (title, part) in zip(axes[:, 0], panels.items(), strict=True):
        taxonomy_map(part, size_boundary=size_boundary, distance_boundary=distance_boundary,
                     markers=markers, offsets=offsets, labels=labels, vmax=top, ax=ax,
                     title=title, colorbar=False, legend=False, **kwargs)
        if ax is not axes[-1, 0]:
            ax.set_xlabel("")
    from matplotlib.colors import Normalize

    fig.colorbar(plt.cm.ScalarMappable(norm=Normalize(-top, top), cmap="RdBu"), ax=axes[:, 0],
                 label=colorbar_label, shrink=0.8)
    groups = list(dict.fromkeys(g for c in cells for g in c["origin"]))
    fig.legend(handles=_handles(groups, markers or {}, labels), loc="outside lower center",
               ncol=2)
    return fig
