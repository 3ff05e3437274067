"""The description of one dataset in the registry: its options, classes, sizes and builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .base import TensorData

__all__ = [
    "DatasetSource",
    "DatasetInfo",
    "SPLITS",
    "validate_split",
    "stream_seed",
]

SPLITS = ("train", "test")


def validate_split(split: str) -> str:
    """``split`` if it is ``"train"`` or ``"test"``, else a ValueError."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def stream_seed(*words: int | str) -> int:
    """A 63-bit seed for :class:`torch.Generator` derived from ``words``.

    Independent streams (e.g. the train and test split of one generated dataset) get seeds
    that share no structure, through NumPy's ``SeedSequence`` hashing of the words.
    """
    entropy = [w if isinstance(w, int) else int.from_bytes(w.encode(), "little") for w in words]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return int(state) >> 1


@dataclass(frozen=True)
class DatasetInfo:
    """What the registry knows about a dataset without building or downloading it.

    Attributes:
        name: registry name, e.g. ``"glyphs"``.
        kind: ``"embedded"`` (generated or shipped with a package) or ``"torchvision"``.
        classes: class names in label order.
        train_size, test_size: number of examples per split (``None`` if unknown).
        min_train_per_class: size of the smallest class of the train split (``None`` if unknown).
        description: one sentence about the data and its source.
        options: the valid options with their values (defaults, updated by those given).
        defaults: the valid options with their default values.
    """

    name: str
    kind: str
    classes: tuple[str, ...]
    train_size: int | None
    test_size: int | None
    min_train_per_class: int | None
    description: str
    options: Mapping[str, Any]
    defaults: Mapping[str, Any]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class DatasetSource:
    """One entry of the dataset registry.

    Attributes:
        name: registry name.
        kind: ``"embedded"`` or ``"torchvision"``.
        description: one sentence, with the citation of the data.
        defaults: the valid options and their default values.
        validate: turns the complete options (defaults updated by the caller's) into clean
            values, raising ValueError for an invalid value; must be cheap.
        classes: class names for validated options.
        class_counts: ``(split, options) -> per-class counts`` or ``None`` when unknown.
        build: ``(split, options, root, download) -> TensorData``; the expensive part.
        availability: ``(root, split) -> "embedded" | "on disk" | "needs download"``.
        folder: ``root -> folder`` where the files of a real dataset are looked for.
        location: options that say where the files are, not what they hold (an image
            folder's ``path``): left out of a run's identity (:meth:`tlkit.spec.RunSpec.key`),
            so that moving or renaming the files recomputes nothing.
    """

    name: str
    kind: str
    description: str
    defaults: Mapping[str, Any]
    validate: Callable[[dict[str, Any]], dict[str, Any]]
    classes: Callable[[Mapping[str, Any]], tuple[str, ...]]
    class_counts: Callable[[str, Mapping[str, Any]], tuple[int, ...] | None]
    build: Callable[[str, Mapping[str, Any], Path, bool | None], TensorData]
    availability: Callable[[Path, str | None], str] = field(
        default=lambda root, split=None: "embedded"
    )
    folder: Callable[[Path], Path] | None = None
    location: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The validated complete options: defaults updated by ``given``."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            valid = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items()) or "none"
            raise ValueError(
                f"unknown option(s) {', '.join(map(repr, unknown))} for dataset "
                f"{self.name!r}; valid options (with defaults): {valid}"
            )
        return self.validate({**self.defaults, **given})
