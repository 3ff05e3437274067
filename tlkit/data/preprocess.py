"""Conversion of a dataset to a common image size and number of channels."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..checks import is_int
from .base import TensorData

__all__ = ["to_format", "LUMA_WEIGHTS"]

#: ITU-R BT.601 luma weights for (R, G, B): ``Y = 0.299 R + 0.587 G + 0.114 B``.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

_CHUNK = 8192  # images resized at a time, which bounds the peak memory of the resampler


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-2:] == (size, size):
        return images
    chunks = [
        F.interpolate(
            images[i : i + _CHUNK],
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )
        for i in range(0, images.shape[0], _CHUNK)
    ]
    out = torch.cat(chunks) if chunks else images.new_empty((0, images.shape[1], size, size))
    return out.clamp_(0.0, 1.0)


def _convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    have = images.shape[1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return images.repeat(1, 3, 1, 1)
    if have == 3 and channels == 1:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype).view(1, 3, 1, 1)
        return (images * weights).sum(dim=1, keepdim=True).clamp_(0.0, 1.0)
    raise ValueError(f"cannot convert images with {have} channels to {channels} channels")


def to_format(data: TensorData, size: int | None = None, channels: int | None = None) -> TensorData:
    """``data`` with square images of side ``size`` and ``channels`` channels.

    Resizing is bilinear with an antialiasing filter when shrinking
    (:func:`torch.nn.functional.interpolate` with ``antialias=True``); images that are not
    square are stretched to ``size x size``. One channel becomes three by repetition; three
    channels become one by the ITU-R BT.601 luminance ``Y = 0.299 R + 0.587 G + 0.114 B``.
    ``None`` keeps the current size or number of channels. Labels and classes are unchanged;
    when nothing changes, ``data`` itself is returned.
    """
    if size is not None and (not is_int(size) or size < 1):
        raise ValueError(f"size must be a positive integer or None, got {size!r}")
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    images = data.images
    if channels is not None and channels < images.shape[1]:
        images = _convert_channels(images, channels)  # fewer channels first: less to resize
    if size is not None:
        images = _resize(images, size)
    if channels is not None:
        images = _convert_channels(images, channels)
    if images is data.images:
        return data
    return TensorData(images.contiguous(), data.labels, data.classes, data.name)
