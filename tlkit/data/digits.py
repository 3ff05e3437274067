"""``digits``: scikit-learn's real handwritten digits.

The 1,797 8x8 images of :func:`sklearn.datasets.load_digits`, a copy of the test part of the
UCI "Optical Recognition of Handwritten Digits" data (Alpaydin & Kaynak, 1998): 32x32 bitmaps
of digits written by 43 people, reduced to 8x8 blocks counting the set pixels (0..16).
Pixels are divided by 16 to lie in [0, 1].

sklearn ships no train/test split, so one is drawn here, stratified: for a class with ``c``
images, ``(2c + 1) // 3`` (two thirds, rounded) go to train and the rest to test, chosen by a
random permutation seeded with ``seed``. Both splits keep the original order of the images.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import torch

from ..checks import option_int
from .base import TensorData
from .source import DatasetSource, stream_seed, validate_split

__all__ = ["CLASSES", "CLASS_COUNTS", "DEFAULT_OPTIONS", "train_count", "generate", "SOURCE"]

CLASSES = tuple("0123456789")
#: Number of images of each digit in ``load_digits``.
CLASS_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)
DEFAULT_OPTIONS: Mapping[str, Any] = {"seed": 0}


def train_count(count: int) -> int:
    """Number of the ``count`` images of a class that go to the train split: ``(2c + 1) // 3``."""
    return (2 * count + 1) // 3


@functools.lru_cache(maxsize=1)
def _arrays() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return images, labels


def generate(split: str = "train", seed: int = 0) -> TensorData:
    """The ``split`` of ``digits`` for the stratified split drawn with ``seed``."""
    split = validate_split(split)
    seed = option_int("digits", "seed", seed, 0)
    images, labels = _arrays()
    g = torch.Generator().manual_seed(stream_seed(seed, "digits-split"))
    chosen = []
    for k in range(len(CLASSES)):
        members = (labels == k).nonzero().flatten()
        order = members[torch.randperm(len(members), generator=g)]
        cut = train_count(len(members))
        chosen.append(order[:cut] if split == "train" else order[cut:])
    index = torch.cat(chosen).sort().values
    return TensorData(images[index].contiguous(), labels[index], CLASSES, f"digits/{split}")


def _class_counts(split: str, opts: Mapping[str, Any]) -> tuple[int, ...]:
    train = tuple(train_count(c) for c in CLASS_COUNTS)
    if validate_split(split) == "train":
        return train
    return tuple(c - t for c, t in zip(CLASS_COUNTS, train, strict=True))


SOURCE = DatasetSource(
    name="digits",
    kind="embedded",
    description=(
        "scikit-learn's 8x8 handwritten digits (UCI optical digits, Alpaydin & Kaynak 1998), "
        "split 2/3 train, 1/3 test, stratified"
    ),
    defaults=DEFAULT_OPTIONS,
    validate=lambda opts: {"seed": option_int("digits", "seed", opts["seed"], 0)},
    classes=lambda opts: CLASSES,
    class_counts=_class_counts,
    build=lambda split, opts, root, download: generate(split, **opts),
)
