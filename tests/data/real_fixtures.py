"""Small files in every real dataset's on-disk format, written from embedded data.

:func:`write_real_datasets` fills a data root with both splits of MNIST, Fashion-MNIST and
KMNIST (gzipped IDX), EMNIST letters (IDX, as extracted from its archive), CIFAR-10 and
CIFAR-100 (pickled batches and their meta file) and SVHN (MATLAB ``.mat``), ``per_class``
images of every class in each split. The pictures are scikit-learn's handwritten digits (the
``digits`` dataset), enlarged and, for the colour datasets, tinted per class, so that a class
is learnable and the formats' layouts (transposed EMNIST, CIFAR's planes, SVHN's label 10)
are exercised. The files cannot have the published checksums: read them with
``TLKIT_VERIFY=0`` (or ``verify=False``).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import torch.nn.functional as F

from tlkit import data
from tlkit.data import real as real_module


def _pictures(n: int, classes: int, side: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 pictures ``side`` x ``side`` (one per digit image, cycling) and their class
    labels ``0..classes-1``, each class ``n // classes`` times."""
    digits = data.load("digits", "train")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    picks = rng.integers(0, len(digits), size=n)
    small = digits.images[picks]  # (n, 1, 8, 8) in [0, 1]
    big = F.interpolate(small, size=(side, side), mode="bilinear", align_corners=False)
    pictures = (big[:, 0].numpy() * 255).clip(0, 255).astype(np.uint8)
    # every class gets its own shift, so that classes differ even where the digit is the same
    shift = (labels * 7) % side
    pictures = np.stack([np.roll(p, int(s), axis=1) for p, s in zip(pictures, shift,
                                                                     strict=True)])
    return pictures, labels.astype(np.int64)


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                    *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _mnist_like(folder: Path, split: str, pictures: np.ndarray, labels: np.ndarray,
                prefix: str = "", gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = {"train": "train", "test": "t10k"}[split] if not prefix else f"{prefix}-{split}"
    for kind, array in (("images-idx3-ubyte", pictures), ("labels-idx1-ubyte", labels)):
        name = f"{stem}-{kind}"
        raw = _idx(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / name).write_bytes(raw)


def _colour(pictures: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """(n, 32, 32, 3): the grey picture tinted by a colour of its class."""
    hues = np.stack([np.linspace(0.3, 1.0, classes), np.linspace(1.0, 0.3, classes),
                     (np.arange(classes) % 3) / 2 * 0.7 + 0.3], axis=1)
    tint = hues[labels][:, None, None, :]
    return (pictures[..., None] * tint).astype(np.uint8)


def write_real_datasets(root: str | Path, per_class: int = 3, seed: int = 0) -> Path:
    """Write both splits of every real dataset under ``root``; return ``root``."""
    root = Path(root)
    for offset, split in enumerate(("train", "test")):
        s = seed + 10 * offset
        for name, folder in (("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST"),
                             ("kmnist", "KMNIST")):
            k = len(data.info(name).classes)
            pictures, labels = _pictures(per_class * k, k, 28, s)
            _mnist_like(root / folder / "raw", split, pictures, labels)
        pictures, labels = _pictures(per_class * 26, 26, 28, s + 1)
        # EMNIST stores each image transposed and numbers the letters 1..26
        _mnist_like(root / "EMNIST" / "raw", split, pictures.transpose(0, 2, 1), labels + 1,
                    prefix="emnist-letters", gz=False)
        _cifar(root, split, per_class, s + 2)
        _svhn(root, split, per_class, s + 3)
    return root


def _cifar(root: Path, split: str, per_class: int, seed: int) -> None:
    for name, folder, meta, key, label_key, classes in (
            ("cifar10", "cifar-10-batches-py", "batches.meta", "label_names", "labels",
             real_module.CIFAR10_CLASSES),
            ("cifar100", "cifar-100-python", "meta", "fine_label_names", "fine_labels",
             tuple(data.info("cifar100").classes))):
        out = root / folder
        out.mkdir(parents=True, exist_ok=True)
        k = len(classes)
        pictures, labels = _pictures(per_class * k, k, 32, seed)
        rows = _colour(pictures, labels, k).transpose(0, 3, 1, 2).reshape(len(labels), -1)
        with open(out / meta, "wb") as handle:
            pickle.dump({key: list(classes)}, handle)
        if name == "cifar10":
            files = ([f"data_batch_{i}" for i in range(1, 6)] if split == "train"
                     else ["test_batch"])
        else:
            files = [split]
        for i, file in enumerate(files):  # the images dealt over the batches
            part = slice(i, None, len(files))
            with open(out / file, "wb") as handle:
                pickle.dump({"data": rows[part], label_key: labels[part].tolist()}, handle)


def _svhn(root: Path, split: str, per_class: int, seed: int) -> None:
    from scipy.io import savemat

    out = root / "SVHN"
    out.mkdir(parents=True, exist_ok=True)
    pictures, labels = _pictures(per_class * 10, 10, 32, seed)
    x = _colour(pictures, labels, 10).transpose(1, 2, 3, 0)  # (32, 32, 3, n)
    y = np.where(labels == 0, 10, labels).astype(np.uint8)[:, None]  # the digit 0 is label 10
    savemat(out / f"{split}_32x32.mat", {"X": x, "y": y})
