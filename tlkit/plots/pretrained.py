"""Figures of the pretrained-source chapter: the lines of its learning curves, and how well each
transferability score ranks the sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .base import record
from .style import COLUMN, FONT, METHOD_COLOURS, OKABE_ITO, SMALL, bottom_legend, figure

__all__ = ["PRETRAINED_STYLES", "line_styles", "agreement_plot", "source_accuracy_plot"]

#: Colours and markers of the chapter's methods: the baselines in black and grey, the ways of
#: using the ImageNet weights in the colours the small-target chapter gives the same methods.
PRETRAINED_STYLES: dict[str, dict] = {
    "scratch (cnn8)": dict(color=METHOD_COLOURS["scratch"], marker="o", linestyle="-"),
    "scratch (EfficientNet)": dict(color="#8c8c8c", marker="o", linestyle="--"),
    "linear probe": dict(color=METHOD_COLOURS["linear probe"], marker="^", linestyle="--"),
    "linear probe, target BN": dict(color=METHOD_COLOURS["linear probe, target BN"],
                                    marker="<", linestyle=":"),
    "fine-tune top": dict(color=OKABE_ITO["reddish purple"], marker="v", linestyle=":"),
    "fine-tune top, target BN": dict(color=OKABE_ITO["reddish purple"], marker=">",
                                     linestyle=(0, (1, 3)), markerfacecolor="white"),
    "fine-tune": dict(color=METHOD_COLOURS["fine-tune"], marker="s", linestyle="-"),
    "ImageNet, method chosen on validation": dict(color=OKABE_ITO["blue"], marker="s",
                                                  linestyle="-", linewidth=2.4),
    "L2-SP": dict(color=METHOD_COLOURS["L2-SP"], marker="D", linestyle="-."),
}
#: The glyph sources, each its own colour, marker and line: no two alike in any of the three.
_SOURCE_STYLES = (dict(color=OKABE_ITO["vermillion"], marker="P", linestyle="-"),
                  dict(color=OKABE_ITO["orange"], marker="X", linestyle="--"),
                  dict(color=OKABE_ITO["bluish green"], marker="*", linestyle="-."),
                  dict(color=OKABE_ITO["sky blue"], marker="h", linestyle=":"))


def line_styles(sources: Sequence[str]) -> dict[str, dict]:
    """:data:`PRETRAINED_STYLES` and a style for each line ``fine-tune from <source>`` of the
    given glyph ``sources``, in order."""
    out = dict(PRETRAINED_STYLES)
    for i, name in enumerate(sources):
        out[f"fine-tune from {name}"] = dict(_SOURCE_STYLES[i % len(_SOURCE_STYLES)])
    return out


def agreement_plot(summary: pd.DataFrame, reference: Mapping[str, float] | None = None
                   ) -> Figure:
    """Per score (rows): its mean weighted tau over tasks (left) and top-1 hit rate (right),
    with their intervals (columns ``weighted_tau``, ``wtau_low``, ``wtau_high``, ``top1``,
    ``top1_low``, ``top1_high`` of
    :func:`tlkit.experiments.pretrained.bootstrap_agreement`); ``reference`` (default: the
    table's ``TLlib`` column) is drawn as a diamond on the left."""
    if reference is None and "TLlib" in summary:
        reference = {s: v for s, v in zip(summary["score"], summary["TLlib"], strict=True)
                     if np.isfinite(v)}
    reference = reference or {}
    fig, axes = figure(0.45 * len(summary) + 1.9, ncols=2, width=COLUMN, sharey=True,
                       squeeze=False)
    left, right = axes[0]
    record(left, summary)
    y = np.arange(len(summary))[::-1]
    for ax, (mid, lo, hi), xlim, label in (
            (left, ("weighted_tau", "wtau_low", "wtau_high"), (-1.05, 1.05), "weighted τ"),
            (right, ("top1", "top1_low", "top1_high"), (-0.05, 1.05), "top-1 rate")):
        m = summary[mid].to_numpy(dtype=float)
        err = [m - summary[lo].to_numpy(dtype=float), summary[hi].to_numpy(dtype=float) - m]
        ax.errorbar(m, y, xerr=err, fmt="o", color=OKABE_ITO["blue"], capsize=3,
                    label="this page")
        ax.set_xlim(*xlim)
        ax.set_xlabel(label)
        ax.grid(axis="x", color="0.9")
    left.axvline(0, color="black", linewidth=0.9)
    ref = [(y[i], reference[s]) for i, s in enumerate(summary["score"]) if s in reference]
    if ref:
        left.scatter([v for _, v in ref], [p for p, _ in ref], marker="D",
                     color=OKABE_ITO["orange"], zorder=3, label="TLlib benchmark")
    left.set_yticks(y, summary["score"])
    bottom_legend(fig, [left, right], ncol=2)
    return fig


def source_accuracy_plot(scores: pd.DataFrame, sources: Sequence[str]) -> Figure:
    """What the scores should predict: per target (panels), size (columns) and source (rows,
    in the order of ``sources``), the mean test accuracy over seeds of fine-tuning the source
    (columns ``target, source, per_class, size, test_acc`` of
    :func:`tlkit.experiments.pretrained.score_table`), shaded within each column and written
    in the cell; the best source of each column is boxed."""
    targets = list(dict.fromkeys(scores["target"]))
    fig, axes = figure(0.32 * len(sources) + 1.3, ncols=len(targets), sharey=True,
                       squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        part = scores[scores["target"] == target]
        sizes = part.sort_values("per_class")["size"].drop_duplicates().tolist()
        mean = part.pivot_table(index="source", columns="size", values="test_acc",
                                aggfunc="mean").reindex(index=list(sources), columns=sizes)
        record(ax, mean.reset_index().melt(id_vars="source", var_name="size",
                                           value_name="mean_test_acc"))
        values = mean.to_numpy(dtype=float)
        lo, hi = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            shade = np.where(hi > lo, (values - lo) / (hi - lo), 1.0)
        ax.imshow(shade, cmap="Blues", vmin=-0.15, vmax=1.3, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                best = v == hi[j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=SMALL,
                        fontweight="bold" if best else "normal",
                        color="white" if shade[i, j] > 0.7 else "black")
                if best:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                           edgecolor=OKABE_ITO["vermillion"],
                                           linewidth=1.5))
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_xlabel("examples per class")
        ax.set_title(target, fontsize=FONT)
        ax.tick_params(length=0)
        ax.grid(False)
    axes[0, 0].set_yticks(range(len(sources)), list(sources))
    return fig
