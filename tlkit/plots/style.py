"""One plotting style for the whole book, set once per page.

Figures are drawn at the width of the book's text column (:data:`COLUMN`, in inches) with text of
at least 9 points, so that at 100% zoom they need no scaling and every label is readable; they
are emitted as SVG (vector, sharp on any screen). Colours come from one palette: the conditions
of the layer-transfer chapter (:data:`CONDITION_COLOURS`, after Yosinski et al.'s figure 2: B
blue, A red) and the methods of the small-target chapter (:data:`METHOD_COLOURS`), the same
colour for the same thing on every page.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["COLUMN", "FONT", "SMALL", "CONDITION_COLOURS", "METHOD_COLOURS", "QUICKSTART_COLOURS",
           "RC", "use",
           "figure", "bottom_legend"]

#: Width of the book's text column at 100% zoom, in inches (about 670 px at 96 dpi).
COLUMN = 7.0
#: Base and smallest font sizes, in points.
FONT, SMALL = 10.0, 9.0

CONDITION_COLOURS = {"BnB": "#1f77b4", "BnB+": "#6baed6", "AnB": "#d62728", "AnB+": "#f28e8e",
                     "random": "#7f7f7f", "baseB": "#000000"}
METHOD_COLOURS = {"scratch": "#000000", "linear probe": "#2ca02c", "fine-tune": "#1f77b4",
                  "L2-SP": "#ff7f0e", "DELTA": "#9467bd", "BSS": "#8c564b",
                  "linear probe, target BN": "#98df8a"}
#: The quickstart's conditions in the colours of the methods they are.
QUICKSTART_COLOURS = {"scratch": METHOD_COLOURS["scratch"],
                      "frozen features": METHOD_COLOURS["linear probe"],
                      "frozen features, target BN": METHOD_COLOURS["linear probe, target BN"],
                      "fine-tuned": METHOD_COLOURS["fine-tune"]}

#: The rcParams of every figure of the book.
RC: dict[str, Any] = {
    "figure.figsize": (COLUMN, 3.8),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": FONT,
    "axes.titlesize": FONT,
    "axes.labelsize": FONT,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "legend.title_fontsize": SMALL,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "path",
    "svg.hashsalt": "tlkit",
}


def use() -> None:
    """Apply the book's style: seaborn's white-grid theme, the rcParams above and SVG output in
    notebooks (when the inline backend is present)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", rc=RC)
    plt.rcParams.update(RC)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover - outside IPython
        return
    set_matplotlib_formats("svg")


def figure(height: float = 3.8, *, ncols: int = 1, nrows: int = 1, width: float = COLUMN,
           **kwargs: Any) -> tuple[Figure, Any]:
    """A figure at the column's width: ``(fig, axes)`` as :func:`matplotlib.pyplot.subplots`
    gives them, with constrained layout."""
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kwargs)


def bottom_legend(fig: Figure, axes: Any, ncol: int = 4, **kwargs: Any) -> None:
    """One legend for the whole figure, below the axes (never over the data), collecting the
    labelled artists of ``axes`` once each."""
    handles, labels, seen = [], [], set()
    for ax in (axes if hasattr(axes, "__iter__") else [axes]):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in seen and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
                seen.add(lab)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, **kwargs)
