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

__all__ = ["Quadrant", "TAXONOMY", "LAYERS", "render_all", "taxonomy_diagram",
           "transfer_diagram"]

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


def _canvas(size: tuple[float, float], rect: tuple[float, float, float, float]
            ) -> tuple[Figure, Axes]:
    """A figure of ``size`` inches with one axes at ``rect`` spanning 0 to 1 on both axes."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(rect)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    return fig, ax


def _save(fig: Figure, path: Path) -> None:
    """Write ``fig`` to ``path`` (its folders created), without a date in SVG metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata=_SVG_METADATA if path.suffix == ".svg" else None)


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
    with mpl.rc_context(_RC):
        fig, ax = _canvas((9.0, 6.0), (0.08, 0.09, 0.9, 0.86))
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
        _save(fig, path)
    return path


#: The layers of the book's eight-layer network, as the transfer diagram names them.
LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")

# Okabe and Ito's blue and vermillion (tlkit.plots.style): the source's weights, and training
_SOURCE, _TRAINED = "#0072B2", "#D55E00"


def _layer(ax: Axes, x: float, y: float, name: str, kind: str, w: float = 0.085,
           h: float = 0.13) -> None:
    """One layer box: ``source`` (trained on the source), ``frozen`` (a copy kept fixed),
    ``tuned`` (a copy trained further) or ``new`` (re-initialised at random and trained)."""
    face, edge, hatch, style = {
        "source": (_SOURCE, _SOURCE, None, "-"),
        "frozen": ("#cfe3f1", _SOURCE, "////", "-"),
        "tuned": (_SOURCE, _TRAINED, None, "-"),
        "new": ("white", _TRAINED, None, "--"),
    }[kind]
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.004,rounding_size=0.012",
                                facecolor=face, edgecolor=edge, hatch=hatch, linestyle=style,
                                linewidth=2.0 if kind in ("tuned", "new") else 1.2))
    dark = kind in ("source", "tuned")
    ax.text(x + w / 2, y + h / 2, name, ha="center", va="center", fontsize=9.5,
            color="white" if dark else "#222222", fontweight="bold" if dark else "normal",
            bbox=dict(facecolor=face, edgecolor="none", pad=1.0) if hatch and name else None)


def transfer_diagram(path: str | Path, n: int = 5) -> Path:
    """Draw how a network is transferred at depth ``n`` and save it to ``path``: the source
    network, trained on the source task; below it the target's network, whose first ``n``
    layers are copied from it and either frozen (AnB, a linear probe when ``n`` is all but
    the classifier) or fine-tuned (AnB+), and whose other layers start at random and train on
    the target (:mod:`tlkit.transfer`).

    Args:
        path: Where to write the figure (``.svg`` in the book). Parent folders are created.
        n: The layers copied, 1 to 7.

    Returns:
        The path written.
    """
    if not 1 <= n < len(LAYERS):
        raise ValueError(f"n must be 1 to {len(LAYERS) - 1}, got {n!r}")
    path = Path(path)
    with mpl.rc_context(_RC):
        fig, ax = _canvas((9.0, 4.6), (0.0, 0.0, 1.0, 1.0))
        ax.axis("off")
        x0, step, w = 0.085, 0.108, 0.098
        rows = [(0.74, "source network, trained on the source", ["source"] * len(LAYERS)),
                (0.43, f"target network: copy {n} layers and freeze them (AnB; a linear "
                 "probe when all but fc8 are copied)",
                 ["frozen"] * n + ["new"] * (len(LAYERS) - n)),
                (0.12, f"target network: copy {n} layers and fine-tune them (AnB+)",
                 ["tuned"] * n + ["new"] * (len(LAYERS) - n))]
        for y, label, kinds in rows:
            ax.text(x0, y + 0.155, label, ha="left", va="bottom", fontsize=10.5,
                    color="#222222")
            for k, (name, kind) in enumerate(zip(LAYERS, kinds, strict=True)):
                _layer(ax, x0 + k * step, y, name, kind, w=w)
        # the copy: a bracket from the source's layers to each target network, left of them
        for y, arm in ((0.43, 16), (0.12, 30)):
            ax.annotate("", xy=(x0 - 0.006, y + 0.065), xytext=(x0 - 0.006, 0.74 + 0.065),
                        arrowprops=dict(arrowstyle="-|>", color="#555555", linewidth=1.3,
                                        connectionstyle=f"arc,angleA=180,angleB=180,"
                                                        f"armA={arm},armB={arm},rad=6"))
        ax.text(0.012, 0.5, f"copy layers 1 to {n}", fontsize=9.5, color="#555555",
                ha="center", va="center", rotation=90)
        ax.text(x0 + n * step + (len(LAYERS) - n) * step / 2 - 0.005, 0.43 - 0.045,
                "re-initialised at random, trained on the target", ha="center", va="center",
                fontsize=9.5, color=_TRAINED)
        legend = [("source", "learned on the source"),
                  ("frozen", "copied, kept fixed"),
                  ("tuned", "copied, trained further"),
                  ("new", "new, trained on the target")]
        for k, (kind, text) in enumerate(legend):
            lx = 0.015 + k * 0.235
            _layer(ax, lx, 0.015, "", kind, w=0.035, h=0.055)
            ax.text(lx + 0.045, 0.0425, text, va="center", fontsize=9.5, color="#222222")
        _save(fig, path)
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
    return [taxonomy_diagram(folder / "taxonomy.svg"), transfer_diagram(folder / "transfer.svg")]
