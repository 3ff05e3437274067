"""Where ImageNet's weights come from: photographs, and what the network makes of a target.

The pretrained chapter reuses a network trained on ImageNet's photographs for 8-pixel glyphs,
digits and shapes. :func:`imagenet_examples` shows the distance: two photographs that ship with
scikit-learn (a pagoda and a dahlia, the images the tests of the weights use), each titled with
the ImageNet classes the network gives it, beside target images as the network sees them
(upsampled to the chapter's input size), titled the same way; the class names are torchvision's.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from .style import COLUMN, SMALL, figure

__all__ = ["sample_photographs", "imagenet_examples"]


def sample_photographs(size: int = 224) -> torch.Tensor:
    """scikit-learn's two sample photographs (a pagoda, a dahlia) as ``[2, 3, size, size]`` in
    [0, 1]: the shorter side resized to ``size * 8 / 7`` and the centre cropped, as ImageNet's
    networks are evaluated."""
    from sklearn.datasets import load_sample_images

    out = []
    for img in load_sample_images().images:
        x = torch.tensor(np.asarray(img), dtype=torch.float32).permute(2, 0, 1)[None] / 255
        h, w = x.shape[-2:]
        r = round(size * 8 / 7) / min(h, w)
        x = F.interpolate(x, size=(round(h * r), round(w * r)), mode="bilinear",
                          antialias=True, align_corners=False)
        h, w = x.shape[-2:]
        top, left = (h - size) // 2, (w - size) // 2
        out.append(x[..., top:top + size, left:left + size].clamp(0, 1))
    return torch.cat(out)


def _top(model: torch.nn.Module, x: torch.Tensor, names: Sequence[str], k: int) -> list[str]:
    with torch.no_grad():
        p = model(x).softmax(-1)
    rows = []
    for probs in p:
        values, index = probs.topk(k)
        rows.append("\n".join(_wrap(f"{names[i]} {v:.0%}" if v >= 0.01 else
                                     f"{names[i]} {v:.1%}")
                              for v, i in zip(values.tolist(), index.tolist(), strict=True)))
    return rows


def _wrap(text: str, width: int = 14) -> str:
    return textwrap.fill(text, width, break_long_words=False)


def imagenet_examples(targets: Sequence[tuple[str, torch.Tensor]], size: int,
                      k: int = 1) -> Figure:
    """The two photographs and each target image of ``targets`` (its name, and one image
    ``[C, H, W]`` in [0, 1]) upsampled to ``size`` pixels, each titled with the ``k`` ImageNet
    classes EfficientNet-Lite0 with its ImageNet weights gives it most probability. Needs the
    weights (:func:`tlkit.models.efficientnet.weights_path`)."""
    from torchvision.models import ResNet18_Weights

    from ..models.efficientnet import LayerEfficientNetLite

    names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    model = LayerEfficientNetLite(1000, 3, "imagenet").eval()
    photos = sample_photographs()
    shown = [(f"photograph {i + 1}", photo) for i, photo in enumerate(photos)]
    titles = _top(model, photos, names, k)
    for name, image in targets:
        x = image[None].float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        shown.append((name, x[0].clamp(0, 1)))
        titles += _top(model, x, names, k)
    fig, axes = figure(2.9, ncols=len(shown), width=COLUMN, squeeze=False)
    for ax, (name, image), title in zip(axes[0], shown, titles, strict=True):
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="none")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(title, fontsize=SMALL, linespacing=1.15)
        ax.set_xlabel(f"{_wrap(name)}\n{image.shape[-1]} px", fontsize=SMALL)
    return fig
