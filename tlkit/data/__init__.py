"""Datasets for the transfer learning experiments, as tensors in memory.

Embedded datasets, always available offline and generated deterministically:
``glyphs`` (characters from matplotlib's fonts, with a style-shift dial), ``digits``
(scikit-learn's handwritten digits) and ``shapes`` (procedural shapes and textures).
Real datasets, read through torchvision and downloaded once, hash-checked: ``mnist``,
``fashion-mnist``, ``kmnist``, ``emnist-letters``, ``cifar10``, ``cifar100``, ``svhn``.
A reader's own images, one subfolder per class: ``folder`` (:mod:`tlkit.data.folder`; read
once by :func:`scan`, named in a run by :func:`spec_options`).

>>> from tlkit.data import load, semantic_split, select_classes, subsample_per_class
>>> train = load("glyphs", "train", size=32, channels=1)
>>> digits, letters = semantic_split("glyphs", "digits_vs_letters")
>>> source = subsample_per_class(select_classes(train, digits), n=50, seed=0)
"""

from .base import (
    DatasetIntegrityError,
    DatasetUnavailableError,
    TensorData,
    UnknownDatasetError,
    data_root,
)
from .folder import FolderError, FolderScan, max_folds, scan, spec_options
from .loading import clear_cache, load
from .preprocess import to_format
from .registry import availability, check, info, names
from .source import DatasetInfo
from .splits import SEMANTIC_SPLITS, random_halves, semantic_split
from .subsets import hold_out_per_class, select_classes, subsample_per_class
from .table import datasets_table

__all__ = [
    "TensorData",
    "DatasetInfo",
    "load",
    "names",
    "info",
    "availability",
    "check",
    "random_halves",
    "semantic_split",
    "SEMANTIC_SPLITS",
    "subsample_per_class",
    "hold_out_per_class",
    "select_classes",
    "to_format",
    "datasets_table",
    "data_root",
    "clear_cache",
    "UnknownDatasetError",
    "DatasetUnavailableError",
    "DatasetIntegrityError",
    "FolderError",
    "FolderScan",
    "scan",
    "spec_options",
    "max_folds",
]
