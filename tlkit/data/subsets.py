"""Subsets of a dataset: some of its classes, or n examples of each class."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..checks import is_int
from .base import TensorData

__all__ = ["select_classes", "subsample_per_class", "hold_out_per_class"]


def _dataset_name(data: TensorData) -> str:
    return data.name.split("/")[0] if data.name else "the dataset"


def _split_name(data: TensorData) -> str:
    parts = data.name.split("/")
    return f" in the {parts[1]} split" if len(parts) > 1 and parts[1] else ""


def select_classes(data: TensorData, classes: Sequence[str]) -> TensorData:
    """The examples of ``classes`` only, relabelled ``0..k-1`` in the order given.

    ``select_classes(data, ["b", "a"])`` keeps the examples of "b" and "a", labels "b" 0 and
    "a" 1, and keeps the examples in their original order.
    """
    if isinstance(classes, str):
        raise TypeError("classes must be a sequence of class names, not a string")
    wanted = tuple(str(c) for c in classes)
    if not wanted:
        raise ValueError("select_classes needs at least one class")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"class names repeat in {wanted}")
    unknown = [c for c in wanted if c not in data.classes]
    if unknown:
        raise ValueError(
            f"unknown class name(s) {unknown} for {_dataset_name(data)}; "
            f"its classes are {list(data.classes)}"
        )
    mapping = torch.full((data.num_classes,), -1, dtype=torch.int64)
    for new, old in enumerate(data.classes.index(c) for c in wanted):
        mapping[old] = new
    new_labels = mapping[data.labels]
    keep = (new_labels >= 0).nonzero().flatten()
    return TensorData(data.images[keep], new_labels[keep], wanted, data.name)


def subsample_per_class(data: TensorData, n: int | None, seed: int) -> TensorData:
    """A stratified random subset with exactly ``n`` examples of every class.

    A :class:`torch.Generator` seeded with ``seed`` draws one random permutation of each
    class's examples, class by class in label order; the first ``n`` of each are kept and
    returned in their original order. Subsets are therefore nested: with the same seed, the
    subset of size ``n`` contains the subset of every smaller size. ``n=None`` returns
    ``data`` unchanged. A class with fewer than ``n`` examples is a ValueError naming it.
    """
    if n is None:
        return data
    if not is_int(n) or n < 1:
        raise ValueError(f"n must be a positive integer or None, got {n!r}")
    counts = data.class_counts()
    short = [(c, k) for c, k in zip(data.classes, counts, strict=True) if k < n]
    if short:
        name, count = min(short, key=lambda item: item[1])
        raise ValueError(
            f"asked for {n} examples per class but class {name!r} of {_dataset_name(data)} "
            f"has only {count}{_split_name(data)}"
        )
    return data.subset(_stratified_index(data, n, seed))


def _stratified_index(data: TensorData, n: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``n`` random examples of each class (one permutation per class)."""
    g = torch.Generator().manual_seed(int(seed))
    order = torch.argsort(data.labels, stable=True)  # examples grouped by class, in order
    chosen = []
    start = 0
    for count in data.class_counts():
        members = order[start : start + count]
        chosen.append(members[torch.randperm(count, generator=g)[:n]])
        start += count
    return torch.cat(chosen).sort().values


def hold_out_per_class(data: TensorData, n: int, seed: int) -> tuple[TensorData, TensorData]:
    """Split off ``n`` examples of every class: ``(rest, held_out)``, both in original order.

    The held-out examples are a stratified random subset drawn as by
    :func:`subsample_per_class` with ``seed``; ``rest`` is everything else, from which a run's
    own subsample is then drawn, so held-out examples never enter training. ``n=0`` holds out
    nothing. A class with ``n`` or fewer examples is a ValueError naming it (it would have none
    left to train on).
    """
    if not is_int(n) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if n == 0:
        return data, data.subset(torch.zeros(0, dtype=torch.int64))
    counts = data.class_counts()
    short = [(c, k) for c, k in zip(data.classes, counts, strict=True) if k <= n]
    if short:
        name, count = min(short, key=lambda item: item[1])
        raise ValueError(
            f"cannot hold out {n} examples per class: class {name!r} of {_dataset_name(data)} "
            f"has only {count}{_split_name(data)}"
        )
    index = _stratified_index(data, n, seed)
    mask = torch.ones(len(data), dtype=torch.bool)
    mask[index] = False
    return data.subset(mask), data.subset(index)
