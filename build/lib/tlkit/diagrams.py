"""Diagrams for the book, drawn from code so that every figure can be regenerated.

The book's build calls :func:`render_all` to write every diagram into the staging folder before
Jupyter Book runs, so no hand-drawn image is ever committed. Each diagram function takes an output
path and returns it; output is deterministic (fixed SVG hash salt, no timestamp in the metadata), so
rebuilding the book leaves the files byte-for-byte unchanged.

The taxonomy follows Plested, Phiri & Gedeon, *Deep transfer learning for image classification: a
survey*, arXiv:2205.09904 (2022): the relationship between a source and a target is placed on two
axes, the size of the target dataset and the similarity of the target to the source (in input domain
and in label space).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

__all__ = ["Quadrant", "TAXONOMY", "render_all", "taxonomy_diagram"]

#: rcParams that make the SVG output reproducible and readable.
_RC = {
    "svg.hashsalt": "tlkit-diagrams",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
}
#: SVG metadata without a date, so two renders are identical.
_SVG_METADATA = {"Date": None}


@dataclass(frozen=True)
class Quadrant:
    """One region of the taxonomy: where it sits, what tends to happen there, and examples.

    ``column`` is 0 for small targets and 1 for large ones; ``row`` is 0 for targets dissimilar to
    the source and 1 for similar ones.
    """

    column: int
    row: int
    title: str
    behaviour: tuple[str, ...]
    examples: tuple[str, ...]
    colour: str


#: The four regions of the survey's taxonomy, as drawn in :func:`taxonomy_diagram`.
TAXONOMY: tuple[Quadrant, ...] = (
    Quadrant(
        column=0,
        row=1,
        title="Small, similar target",
        behaviour=(
            "Transfer helps most: pretrained features",
            "already fit, so copy many layers; a linear",
            "probe or gently regularised fine-tuning",
            "(L2-SP) avoids over-fitting.",
        ),
        examples=(
            "ImageNet \u2192 CIFAR-10 with 10 images per class",
            "ImageNet \u2192 pets, flowers, everyday objects",
        ),
        colour="#d9f0d3",
    ),
    Quadrant(
        column=1,
        row=1,
        title="Large, similar target",
        behaviour=(
            "Transfer reliably helps and the defaults",
            "work: fine-tune every layer; the gain over",
            "training from scratch shrinks as the",
            "target grows and training lengthens.",
        ),
        examples=(
            "ImageNet \u2192 CIFAR-10 / CIFAR-100 (full)",
            "ImageNet-21k \u2192 ImageNet-1k",
        ),
        colour="#a6dba0",
    ),
    Quadrant(
        column=0,
        row=0,
        title="Small, dissimilar target",
        behaviour=(
            "Riskiest region: recipes tuned for similar",
            "targets over-fit or transfer negatively.",
            "Copy fewer layers, re-initialise the top,",
            "tune per-layer rates and the L2-SP/L2 mix.",
        ),
        examples=(
            "ImageNet \u2192 medical images",
            "ImageNet \u2192 fine-grained cars / aircraft",
        ),
        colour="#f4a582",
    ),
    Quadrant(
        column=1,
        row=0,
        title="Large, dissimilar target",
        behaviour=(
            "Pretrained weights mainly speed up",
            "convergence; scratch training catches up",
            "given enough data and time. Fine-tune all",
            "layers, little pull towards the source.",
        ),
        examples=(
            "ImageNet \u2192 large chest X-ray collections",
            "ImageNet \u2192 large satellite-image sets",
        ),
        colour="#fddbc7",
    ),
)


def _draw_quadrant(ax: Axes, q: Quadrant) -> None:
    """Draw one rounded region with its title, behaviour and example pairs."""
    pad = 0.02
    x0, y0 = q.column * 0.5 + pad, q.row * 0.5 + pad
    width = height = 0.5 - 2 * pad
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            width,
            height,
            boxstyle="round,pad=0.0,rounding_size=0.02",
            facecolor=q.colour,
            edgecolor="#4d4d4d",
            linewidth=0.8,
        )
    )
    left = x0 + 0.02
    ax.text(left, y0 + height - 0.03, q.title, fontsize=12, fontweight="bold", va="top")
    ax.text(
        left,
        y0 + height - 0.1,
        "\n".join(q.behaviour),
        fontsize=10,
        va="top",
        linespacing=1.4,
    )
    ax.text(
        left,
        y0 + 0.03,
        "\n".join(f"e.g. {example}" for example in q.examples),
        fontsize=9.2,
        style="italic",
        color="#222222",
        va="bottom",
        linespacing=1.35,
    )


def taxonomy_diagram(path: str | Path) -> Path:
    """Draw the survey's taxonomy of source-target relationships and save it to ``path``.

    The x axis is the size of the target dataset (small to large) and the y axis the similarity of
    the target to the source, in input domain and label space (dissimilar to similar). Each of the
    four regions states what the survey reports happens there and gives example source-target pairs.
    The file format follows the suffix of ``path`` (``.svg`` in the book; ``.png`` works too).

    Args:
        path: Where to write the figure. Parent folders are created.

    Returns:
        The path written, as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(9.0, 6.0))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.08, 0.09, 0.9, 0.86))
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_xticks([0.25, 0.75], ["small", "large"])
        ax.set_yticks([0.25, 0.75], ["dissimilar", "similar"], rotation=90, va="center")
        ax.tick_params(length=0, labelsize=10)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_linewidth(1.2)
        # Arrow heads at the end of both axes: size and similarity grow away from the origin.
        ax.plot(1.0, 0.0, ">k", transform=ax.transAxes, clip_on=False, markersize=6)
        ax.plot(0.0, 1.0, "^k", transform=ax.transAxes, clip_on=False, markersize=6)
        ax.set_xlabel("Target dataset size  \u2192", fontsize=11)
        ax.set_ylabel("Similarity of target to source (input domain, labels)  \u2192", fontsize=11)
        for quadrant in TAXONOMY:
            _draw_quadrant(ax, quadrant)
        fig.savefig(path, metadata=_SVG_METADATA if path.suffix == ".svg" else None)
    return path


def render_all(folder: str | Path) -> list[Path]:
    """Write every diagram of the book into ``folder`` and return the paths written.

    The book's chapters refer to these files as ``_generated/<name>.svg`` (relative to ``book/``);
    the build renders them into ``_build/src/book/_generated``.

    Args:
        folder: Destination folder; created if missing.

    Returns:
        The paths of the files written, in a fixed order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [taxonomy_diagram(folder / "taxonomy.svg")]
