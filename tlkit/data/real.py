"""Real image datasets, read through torchvision from files on disk or downloaded once.

``mnist`` (LeCun et al., 1998), ``fashion-mnist`` (Xiao et al., 2017), ``kmnist`` (Clanuwat
et al., 2018), ``emnist-letters`` (Cohen et al., 2017), ``cifar10`` and ``cifar100``
(Krizhevsky, 2009) and ``svhn`` (Netzer et al., 2011).

Files live under a root folder (``root=`` or :func:`~tlkit.data.base.data_root`) in
torchvision's layout: ``MNIST/raw/``, ``FashionMNIST/raw/``, ``KMNIST/raw/``, ``EMNIST/raw/``,
``cifar-10-batches-py/``, ``cifar-100-python/``, and ``SVHN/`` (a folder of its own, unlike
torchvision's default). Downloads go through torchvision's download helpers with the URLs and
md5 checksums that torchvision publishes; before use, every file is checked against those md5s
(``verify=False`` skips the check). The MNIST-format files of a split are read with
torchvision's IDX readers directly, so that one split can be loaded when only its files are
present; CIFAR and SVHN are read by torchvision's dataset classes. Images become float32
tensors in [0, 1] straight from the raw uint8 arrays.

A dataset that is absent and cannot be downloaded (``download=False``, ``TLKIT_OFFLINE=1``,
or a network error) raises one :class:`~tlkit.data.base.DatasetUnavailableError` naming the
dataset, the folder looked in, and how to get the files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from ..checks import option_bool
from .base import DatasetUnavailableError, TensorData
from .real_formats import (
    DOWNLOAD_ERRORS,
    Cifar,
    EmnistLetters,
    IdxDataset,
    RealDataset,
    Svhn,
)
from .source import DatasetSource, validate_split

__all__ = [
    "RealDataset",
    "REAL_DATASETS",
    "SOURCES",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "KMNIST_CLASSES",
    "EMNIST_LETTERS_CLASSES",
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
    "SVHN_CLASSES",
    "offline",
    "read",
]

MNIST_CLASSES = tuple("0123456789")
#: Fashion-MNIST's and KMNIST's class names as torchvision gives them (a test checks they agree).
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
KMNIST_CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
#: EMNIST "letters" merges upper and lower case; each class is named by its capital.
EMNIST_LETTERS_CLASSES = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
#: CIFAR-100 fine labels in label order (alphabetical, as in the dataset's ``meta`` file).
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip
SVHN_CLASSES = tuple("0123456789")

_MNIST_TRAIN = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
_MNIST_TEST = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
_SVHN_TRAIN = (4948, 13861, 10585, 8497, 7458, 6882, 5727, 5595, 5045, 4659)
_SVHN_TEST = (1744, 5099, 4149, 2882, 2523, 2384, 1977, 2019, 1660, 1595)

def offline() -> bool:
    """Whether ``$TLKIT_OFFLINE`` forbids downloads (``1``, ``true`` or ``yes``)."""
    return os.environ.get("TLKIT_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def checksums_on() -> bool:
    """Whether files are checked against their published md5; ``$TLKIT_VERIFY=0`` turns the
    check off everywhere, for tests that run the real-data paths on small files they write
    (which cannot have the published checksums). Never set it for results you publish."""
    return os.environ.get("TLKIT_VERIFY", "1").strip().lower() not in ("0", "false", "no")


def _to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` to float32 in [0, 1]."""
    return images.to(torch.float32).div_(255.0)


REAL_DATASETS: Mapping[str, RealDataset] = {
    d.name: d
    for d in (
        IdxDataset(
            "mnist", MNIST_CLASSES, _MNIST_TRAIN, _MNIST_TEST,
            "MNIST handwritten digits, 28x28 grey (LeCun et al. 1998)",
            "MNIST/raw", "MNIST",
        ),
        IdxDataset(
            "fashion-mnist", FASHION_MNIST_CLASSES, (6000,) * 10, (1000,) * 10,
            "Fashion-MNIST Zalando article images, 28x28 grey (Xiao et al. 2017)",
            "FashionMNIST/raw", "FashionMNIST",
        ),
        IdxDataset(
            "kmnist", KMNIST_CLASSES, (6000,) * 10, (1000,) * 10,
            "Kuzushiji-MNIST cursive Japanese hiragana, 28x28 grey (Clanuwat et al. 2018)",
            "KMNIST/raw", "KMNIST",
        ),
        EmnistLetters(
            "emnist-letters", EMNIST_LETTERS_CLASSES, (4800,) * 26, (800,) * 26,
            "EMNIST letters, upper and lower case merged, 28x28 grey (Cohen et al. 2017)",
            "EMNIST/raw",
        ),
        Cifar(
            "cifar10", CIFAR10_CLASSES, (5000,) * 10, (1000,) * 10,
            "CIFAR-10 tiny natural images, 32x32 colour (Krizhevsky 2009)",
            "cifar-10-batches-py", "CIFAR10",
        ),
        Cifar(
            "cifar100", CIFAR100_CLASSES, (500,) * 100, (100,) * 100,
            "CIFAR-100 tiny natural images, 100 classes, 32x32 colour (Krizhevsky 2009)",
            "cifar-100-python", "CIFAR100",
        ),
        Svhn(
            "svhn", SVHN_CLASSES, _SVHN_TRAIN, _SVHN_TEST,
            "SVHN house-number digits cropped from Street View, 32x32 colour "
            "(Netzer et al. 2011)",
            "SVHN",
        ),
    )
}  # fmt: skip


def _unavailable(dataset: RealDataset, root: Path, split: str, reason: str) -> str:
    folder = dataset.folder(root)
    missing = dataset.missing(root, split) or dataset.required(split)
    return (
        f"dataset {dataset.name!r} ({split} split) is not available: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not in {folder} and {reason}. "
        f"To get it, either run once with network access: "
        f"tlkit.data.load({dataset.name!r}, split={split!r}, download=True); "
        f"or copy the files into {folder}; "
        f"or point TLKIT_DATA (or root=) at a folder that holds them under "
        f"{dataset.subfolder}/."
    )


def ensure(dataset: RealDataset, root: Path, split: str, download: bool | None) -> None:
    """Make sure the files of ``split`` are in the folder, downloading them if allowed.

    ``download=None`` downloads unless ``$TLKIT_OFFLINE`` is set. Raises
    :class:`DatasetUnavailableError` when the files are absent and cannot be fetched.
    """
    if dataset.present(root, split):
        return
    if download is None:
        download = not offline()
        reason = "downloads are off (TLKIT_OFFLINE is set)"
    else:
        reason = "downloads are off (download=False)"
    if not download:
        raise DatasetUnavailableError(_unavailable(dataset, root, split, reason))
    try:
        dataset.download(root, split)
    except DOWNLOAD_ERRORS as err:
        reason = f"downloading failed ({type(err).__name__}: {err})"
        raise DatasetUnavailableError(_unavailable(dataset, root, split, reason)) from None
    if not dataset.present(root, split):
        reason = "the download did not produce them"
        raise DatasetUnavailableError(_unavailable(dataset, root, split, reason))


def read(
    name: str, split: str, root: Path, download: bool | None = None, verify: bool = True
) -> TensorData:
    """Load ``split`` of the real dataset ``name`` from ``root`` as float32 in [0, 1]."""
    dataset = REAL_DATASETS[name]
    split = validate_split(split)
    root = Path(root).expanduser()
    ensure(dataset, root, split, download)
    if verify and checksums_on():
        dataset.verify(root, split)
    images, labels = dataset.read(root, split)
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(dataset.classes)):
        raise RuntimeError(
            f"labels of dataset {name!r} in {dataset.folder(root)} lie outside "
            f"0..{len(dataset.classes) - 1}"
        )
    return TensorData(_to_float(images), labels, dataset.classes, f"{name}/{split}")


def _availability(dataset: RealDataset) -> Callable[[Path, str | None], str]:
    def availability(root: Path, split: str | None = None) -> str:
        splits = ("train", "test") if split is None else (validate_split(split),)
        on_disk = all(dataset.present(Path(root).expanduser(), s) for s in splits)
        return "on disk" if on_disk else "needs download"

    return availability


def _source(dataset: RealDataset) -> DatasetSource:
    return DatasetSource(
        name=dataset.name,
        kind="torchvision",
        description=dataset.description,
        defaults={"verify": True},
        validate=lambda opts: {"verify": option_bool(dataset.name, "verify", opts["verify"])},
        classes=lambda opts: dataset.classes,
        class_counts=lambda split, opts: dataset.counts(split),
        build=lambda split, opts, root, download: read(
            dataset.name, split, root, download, opts["verify"]
        ),
        availability=_availability(dataset),
        folder=dataset.folder,
    )


SOURCES: tuple[DatasetSource, ...] = tuple(_source(d) for d in REAL_DATASETS.values())
