"""A fixed pixel feature space for distances between image datasets."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["pixel_features"]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights, as in PIL's convert("L")


def pixel_features(images: np.ndarray | torch.Tensor, size: int = 8) -> np.ndarray:
    r"""A fixed pixel feature space for distances between image datasets.

    ``images`` of shape ``(N, C, H, W)`` (or ``(N, H, W)``) with values in [0, 1], as a numpy array
    or a torch tensor, are converted to grayscale (``C=3``: :math:`0.299R + 0.587G + 0.114B`,
    ITU-R BT.601; ``C=1``: unchanged), resized to ``size x size`` by area averaging
    (``torch.nn.functional.interpolate(mode="area")``), and flattened.

    Returns a float64 array of shape ``(N, size * size)`` with values in [0, 1].
    """
    t = torch.as_tensor(images).detach().to("cpu", torch.float64)
    if t.ndim == 3:
        t = t.unsqueeze(1)
    if t.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W) or (N, H, W); got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError("images is empty")
    if t.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels; got {t.shape[1]}")
    if size < 1:
        raise ValueError(f"size must be >= 1; got {size}")
    if not torch.isfinite(t).all():
        raise ValueError("images contain NaN or infinite values")
    if t.min() < 0 or t.max() > 1:
        raise ValueError(
            f"images must have values in [0, 1]; got range [{t.min().item():.3g}, "
            f"{t.max().item():.3g}] (divide uint8 images by 255; undo any normalisation)"
        )
    if t.shape[1] == 3:
        weights = torch.tensor(_LUMA, dtype=t.dtype).view(1, 3, 1, 1)
        t = (t * weights).sum(dim=1, keepdim=True)
    t = F.interpolate(t, size=(size, size), mode="area")
    return t.reshape(t.shape[0], -1).numpy().clip(0.0, 1.0)
