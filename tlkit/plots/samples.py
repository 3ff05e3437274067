"""What the data look like: a grid of sample images, one row per dataset."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .style import COLUMN, SMALL

__all__ = ["sample_grid"]


def _pick(labels: torch.Tensor, n: int, seed: int) -> list[int]:
    """Indices of ``n`` images, one per class in turn (classes in label order)."""
    g = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels.numpy() == c) for c in range(int(labels.max()) + 1)]
    by_class = [g.permutation(ix) for ix in by_class if len(ix)]
    out: list[int] = []
    k = 0
    while len(out) < n and any(len(ix) > k for ix in by_class):
        out += [int(ix[k]) for ix in by_class if len(ix) > k][: n - len(out)]
        k += 1
    return out


def sample_grid(rows: Mapping[str, object], n: int = 10, *, seed: int = 0,
                width: float = COLUMN, captions: bool = True) -> Figure:
    """One row of ``n`` images per dataset in ``rows`` (label -> :class:`~tlkit.data.TensorData`),
    one image per class in turn, each titled with its class name when ``captions`` (not in a
    row whose class names are too long to fit above an image: the caption of the figure names
    them); the row's label on the left. Grey images are shown in grey, colour ones in colour,
    each pixel a sharp square."""
    names = list(rows)
    height = 0.3 + len(names) * (width / n) * (1.25 if captions else 1.0)
    fig, axes = plt.subplots(len(names), n, figsize=(width, height), squeeze=False,
                             gridspec_kw=dict(wspace=0.08, hspace=0.45 if captions else 0.1))
    for r, name in enumerate(names):
        data = rows[name]
        picks = _pick(data.labels, n, seed)
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.grid(False)
            if c >= len(picks):
                ax.set_visible(False)
                continue
            image = data.images[picks[c]]
            # "none": the image's own pixels, drawn sharp at any zoom (an 8-pixel glyph
            # smoothed by the browser would blur into a smudge)
            if image.shape[0] == 1:
                ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="none")
            else:
                ax.imshow(image.permute(1, 2, 0).numpy().clip(0, 1), interpolation="none")
            if captions and max(len(str(k)) for k in data.classes) <= 6:
                ax.set_title(str(data.classes[int(data.labels[picks[c]])]), fontsize=SMALL,
                             pad=2)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=SMALL,
                              labelpad=6)
        axes[r, 0].yaxis.set_visible(True)
    return fig
