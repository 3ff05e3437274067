"""One plotting style for the whole book, set once per page.

Figures are drawn at the width of the book's text column (:data:`COLUMN`, in inches) with text of
at least 10.5 points (tick labels, legends, notes; axis labels 11.5), and shown at the column's
width, so that every label is readable without zooming; they are emitted as SVG (vector, sharp on
any screen). Colours come from one palette, the eight colours of Okabe and Ito (2008, *Color
universal design*), which stay apart under the common colour-vision deficiencies
(:data:`OKABE_ITO`); series that share a figure differ in marker and line style too
(:data:`MARKERS`), never in colour alone. The conditions of the layer-transfer chapter
(:data:`CONDITION_COLOURS`, after Yosinski et al.'s figure 2: B blue, A vermillion) and the
methods of the small-target chapter (:data:`METHOD_COLOURS`) have the same colour on every page.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.figure import Figure

__all__ = ["COLUMN", "FONT", "SMALL", "OKABE_ITO", "SERIES", "MARKERS", "CONDITION_COLOURS",
           "METHOD_COLOURS", "QUICKSTART_COLOURS", "RC", "use", "figure", "bottom_legend"]

#: Width of the book's text column at 100% zoom, in inches (about 670 px at 96 dpi).
COLUMN = 7.0
#: Base and smallest font sizes, in points.
FONT, SMALL = 11.5, 10.5

#: Okabe and Ito's colour-blind-safe palette.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
             "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "reddish purple": "#CC79A7"}
#: Colours of series with no colour of their own, in order (yellow last: faint on white).
SERIES = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish green", "reddish purple",
                                 "orange", "sky blue", "black", "yellow")]
#: Markers of series, in the same order: no two series of a figure share one.
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "h"]

CONDITION_COLOURS = {"BnB": OKABE_ITO["blue"], "BnB+": OKABE_ITO["sky blue"],
                     "AnB": OKABE_ITO["vermillion"], "AnB+": OKABE_ITO["orange"],
                     "random": "#7f7f7f", "baseB": OKABE_ITO["black"]}
METHOD_COLOURS = {"scratch": OKABE_ITO["black"], "linear probe": OKABE_ITO["bluish green"],
                  "fine-tune": OKABE_ITO["blue"], "L2-SP": OKABE_ITO["orange"],
                  "DELTA": OKABE_ITO["reddish purple"], "BSS": OKABE_ITO["vermillion"],
                  "linear probe, target BN": OKABE_ITO["sky blue"]}
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
    "axes.prop_cycle": cycler(color=SERIES),
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


def bottom_legend(fig: Figure, axes: Any, ncol: int = 4, where: str = "lower",
                  **kwargs: Any) -> None:
    """One legend for the whole figure, below the axes (``where="upper"``: above them; never
    over the data), collecting the labelled artists of ``axes`` once each."""
    handles, labels, seen = [], [], set()
    for ax in (axes if hasattr(axes, "__iter__") else [axes]):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in seen and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
                seen.add(lab)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc=f"outside {where} center", ncol=ncol, **kwargs)
