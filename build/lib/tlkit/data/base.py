"""The in-memory dataset type, the data folder and the errors of :mod:`tlkit.data`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = [
    "TensorData",
    "data_root",
    "UnknownDatasetError",
    "DatasetUnavailableError",
    "DatasetIntegrityError",
]


class UnknownDatasetError(ValueError):
    """A dataset name that the registry does not know."""


class DatasetUnavailableError(RuntimeError):
    """A real dataset whose files are absent here and could not be downloaded."""


class DatasetIntegrityError(RuntimeError):
    """A dataset file whose md5 checksum differs from the published one."""


def data_root() -> Path:
    """The folder that holds downloaded datasets.

    ``$TLKIT_DATA`` when set, else ``~/.cache/tlkit/data``. Nothing is created here.
    """
    env = os.environ.get("TLKIT_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tlkit" / "data"


@dataclass(frozen=True, eq=False)
class TensorData:
    """A labelled image classification dataset held in memory.

    Attributes:
        images: float32 tensor of shape ``(N, C, H, W)`` with values in ``[0, 1]``.
        labels: int64 tensor of shape ``(N,)`` with values in ``0..K-1``.
        classes: the ``K`` class names; ``labels == k`` means ``classes[k]``.
        name: a short description of where the data came from, e.g. ``"glyphs/train"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.images, torch.Tensor) or not isinstance(self.labels, torch.Tensor):
            raise TypeError("images and labels must be torch tensors")
        if self.images.dtype != torch.float32:
            raise TypeError(f"images must be float32, got {self.images.dtype}")
        if self.images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64:
            raise TypeError(f"labels must be int64, got {self.labels.dtype}")
        if self.labels.ndim != 1 or self.labels.shape[0] != self.images.shape[0]:
            raise ValueError(
                f"labels must have shape ({self.images.shape[0]},), got {tuple(self.labels.shape)}"
            )
        classes = tuple(str(c) for c in self.classes)
        object.__setattr__(self, "classes", classes)
        if len(set(classes)) != len(classes):
            raise ValueError(f"class names must be distinct, got {classes}")
        if self.labels.numel() and (
            int(self.labels.min()) < 0 or int(self.labels.max()) >= len(classes)
        ):
            raise ValueError(
                f"labels must lie in 0..{len(classes) - 1}, got "
                f"{int(self.labels.min())}..{int(self.labels.max())}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return (
            f"TensorData(name={self.name!r}, n={n}, shape=({c}, {h}, {w}), "
            f"num_classes={self.num_classes})"
        )

    @property
    def num_classes(self) -> int:
        """The number of classes ``K`` (classes with no examples included)."""
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape ``(C, H, W)`` of one image."""
        _, c, h, w = self.images.shape
        return (int(c), int(h), int(w))

    def class_counts(self) -> list[int]:
        """The number of examples of each class, in the order of :attr:`classes`."""
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()

    def subset(self, index: torch.Tensor | Sequence[int]) -> TensorData:
        """The examples at ``index`` (integer indices or a boolean mask), classes unchanged."""
        index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            index = index.nonzero().flatten()
        index = index.to(torch.int64)
        return TensorData(self.images[index], self.labels[index], self.classes, self.name)
