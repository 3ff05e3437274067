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
import pickle
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

import torch
from torchvision.datasets import CIFAR10, CIFAR100, EMNIST, KMNIST, MNIST, SVHN, FashionMNIST
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.datasets.utils import download_and_extract_archive, download_url, extract_archive

from .base import DatasetIntegrityError, DatasetUnavailableError, TensorData
from .integrity import verify_md5
from .source import DatasetSource, check_bool, validate_split

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
FASHION_MNIST_CLASSES = tuple(FashionMNIST.classes)
KMNIST_CLASSES = tuple(KMNIST.classes)
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

_DOWNLOAD_ERRORS = (URLError, HTTPError, OSError, RuntimeError)


def offline() -> bool:
    """Whether ``$TLKIT_OFFLINE`` forbids downloads (``1``, ``true`` or ``yes``)."""
    return os.environ.get("TLKIT_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def _to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` to float32 in [0, 1]."""
    return images.to(torch.float32).div_(255.0)


def _read_idx(folder: Path, stem: str, reader: Callable[[str], torch.Tensor]) -> torch.Tensor:
    """Read the IDX file ``stem`` of ``folder``, from ``stem.gz`` when that is present.

    A ``.gz`` is decompressed into a temporary folder (with torchvision's ``extract_archive``),
    so that read-only data folders work and the bytes read are the ones whose md5 was checked.
    """
    gz = folder / f"{stem}.gz"
    if gz.is_file():
        with tempfile.TemporaryDirectory(prefix="tlkit-idx-") as tmp:
            extract_archive(str(gz), tmp)
            return reader(os.path.join(tmp, stem))
    return reader(str(folder / stem))


@dataclass(frozen=True)
class RealDataset:
    """A dataset read through torchvision.

    Attributes:
        name: registry name.
        classes: class names in label order.
        train_counts, test_counts: the number of examples of each class in each split.
        description: one sentence with the citation.
        subfolder: where its files live, relative to the data root.
    """

    name: str
    classes: tuple[str, ...]
    train_counts: tuple[int, ...]
    test_counts: tuple[int, ...]
    description: str
    subfolder: str

    def folder(self, root: Path) -> Path:
        """The folder that holds the files of this dataset."""
        return Path(root) / self.subfolder

    def required(self, split: str) -> list[str]:
        """File names needed to read ``split``."""
        raise NotImplementedError

    def present(self, root: Path, split: str) -> bool:
        """Whether the files of ``split`` are all in the folder (unchecked)."""
        folder = self.folder(root)
        return all((folder / f).is_file() for f in self.required(split))

    def verify(self, root: Path, split: str) -> None:
        """Check the md5 of the files of ``split``; :class:`DatasetIntegrityError` if wrong."""
        raise NotImplementedError

    def download(self, root: Path, split: str) -> None:
        """Download the files of ``split`` with torchvision's helpers."""
        raise NotImplementedError

    def read(self, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images ``(N, C, H, W)`` and int64 labels ``0..K-1`` of ``split``."""
        raise NotImplementedError

    def counts(self, split: str) -> tuple[int, ...]:
        return self.train_counts if validate_split(split) == "train" else self.test_counts


@dataclass(frozen=True)
class _IdxDataset(RealDataset):
    """MNIST, Fashion-MNIST and KMNIST: four gzipped IDX files with published md5s."""

    torchvision_class: type[MNIST] = MNIST

    def _stems(self, split: str) -> list[str]:
        prefix = "train" if validate_split(split) == "train" else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _md5(self) -> dict[str, str]:
        return dict(self.torchvision_class.resources)

    def required(self, split: str) -> list[str]:
        return [f"{stem}.gz" for stem in self._stems(split)]

    def present(self, root: Path, split: str) -> bool:
        folder = self.folder(root)
        return all(
            (folder / f"{s}.gz").is_file() or (folder / s).is_file() for s in self._stems(split)
        )

    def verify(self, root: Path, split: str) -> None:
        folder = self.folder(root)
        md5 = self._md5()
        for name in self.required(split):
            path = folder / name
            if not path.is_file():
                raise DatasetIntegrityError(
                    f"cannot check dataset {self.name!r}: its md5 is published for {name}, "
                    f"which is not in {folder} (only the decompressed file is). Put {name} "
                    f"there (expected md5 {md5[name]}), or pass verify=False to skip the check."
                )
            verify_md5(path, md5[name], self.name)

    def download(self, root: Path, split: str) -> None:
        folder = self.folder(root)
        folder.mkdir(parents=True, exist_ok=True)
        md5 = self._md5()
        for name in self.required(split):
            errors = []
            for mirror in self.torchvision_class.mirrors:
                try:
                    download_and_extract_archive(
                        f"{mirror}{name}", download_root=str(folder), filename=name, md5=md5[name]
                    )
                except _DOWNLOAD_ERRORS as err:
                    errors.append(f"{mirror}{name}: {err!r}")
                    continue
                break
            else:
                raise RuntimeError("; ".join(errors))

    def read(self, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        folder = self.folder(root)
        image_stem, label_stem = self._stems(split)
        images = _read_idx(folder, image_stem, read_image_file).unsqueeze(1)
        labels = _read_idx(folder, label_stem, read_label_file)
        return images, labels


@dataclass(frozen=True)
class _EmnistLetters(RealDataset):
    """EMNIST letters: IDX files from one zip archive whose md5 is published.

    The IDX images are stored transposed; they are transposed back so letters stand upright.
    Labels 1..26 become 0..25.
    """

    def _stems(self, split: str) -> list[str]:
        prefix = f"emnist-letters-{validate_split(split)}"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def required(self, split: str) -> list[str]:
        return self._stems(split)

    def present(self, root: Path, split: str) -> bool:
        folder = self.folder(root)
        return all(
            (folder / s).is_file() or (folder / f"{s}.gz").is_file() for s in self._stems(split)
        )

    def verify(self, root: Path, split: str) -> None:
        archive = self.folder(root) / "gzip.zip"
        if not archive.is_file():
            raise DatasetIntegrityError(
                f"cannot check dataset {self.name!r}: its md5 is published for the archive "
                f"{archive.name}, which is not in {archive.parent}. Put it there (expected md5 "
                f"{EMNIST.md5}), or pass verify=False to skip the check."
            )
        verify_md5(archive, EMNIST.md5, self.name)

    def download(self, root: Path, split: str) -> None:
        folder = self.folder(root)
        folder.mkdir(parents=True, exist_ok=True)
        download_and_extract_archive(EMNIST.url, download_root=str(folder), md5=EMNIST.md5)
        gzip_folder = folder / "gzip"
        for name in sorted(os.listdir(gzip_folder)):
            if name.endswith(".gz"):
                extract_archive(str(gzip_folder / name), str(folder))
        shutil.rmtree(gzip_folder)

    def read(self, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        folder = self.folder(root)
        image_stem, label_stem = self._stems(split)
        images = _read_idx(folder, image_stem, read_image_file).transpose(1, 2).unsqueeze(1)
        labels = _read_idx(folder, label_stem, read_label_file) - 1
        return images.contiguous(), labels


def _unchecked(cls: type, files: Callable[[Any], list[str]]) -> type:
    """A subclass of a torchvision dataset whose constructor only checks that files exist.

    The md5 checks are done beforehand by :meth:`RealDataset.verify` (or skipped on request),
    with errors that name the file.
    """

    def _check_integrity(self: Any) -> bool:
        return all(os.path.isfile(p) for p in files(self))

    def _load_meta(self: Any) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        with open(path, "rb") as handle:
            self.classes = pickle.load(handle, encoding="latin1")[self.meta["key"]]

    body: dict[str, Any] = {"_check_integrity": _check_integrity}
    if issubclass(cls, CIFAR10):
        body["_load_meta"] = _load_meta
    return type(f"_Unchecked{cls.__name__}", (cls,), body)


@dataclass(frozen=True)
class _Cifar(RealDataset):
    """CIFAR-10 and CIFAR-100: pickled batches extracted from one tar archive."""

    torchvision_class: type[CIFAR10] = CIFAR10

    def _listed(self, split: str) -> list[tuple[str, str]]:
        cls = self.torchvision_class
        batches = cls.train_list if validate_split(split) == "train" else cls.test_list
        return [(name, md5) for name, md5 in batches] + [(cls.meta["filename"], cls.meta["md5"])]

    def required(self, split: str) -> list[str]:
        return [name for name, _ in self._listed(split)]

    def verify(self, root: Path, split: str) -> None:
        folder = self.folder(root)
        for name, md5 in self._listed(split):
            verify_md5(folder / name, md5, self.name)

    def download(self, root: Path, split: str) -> None:
        cls = self.torchvision_class
        Path(root).mkdir(parents=True, exist_ok=True)
        download_and_extract_archive(cls.url, str(root), filename=cls.filename, md5=cls.tgz_md5)

    def read(self, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        train = validate_split(split) == "train"
        names = self.required(split)
        cls = _unchecked(
            self.torchvision_class,
            lambda ds: [os.path.join(ds.root, ds.base_folder, n) for n in names],
        )
        dataset = cls(str(root), train=train, download=False)
        if tuple(dataset.classes) != self.classes:
            raise RuntimeError(f"unexpected class names in {self.folder(root)}: {dataset.classes}")
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        return images, torch.as_tensor(dataset.targets, dtype=torch.int64)


@dataclass(frozen=True)
class _Svhn(RealDataset):
    """SVHN cropped digits: one MATLAB file per split."""

    def _listed(self, split: str) -> tuple[str, str, str]:
        return tuple(SVHN.split_list[validate_split(split)])  # (url, filename, md5)

    def required(self, split: str) -> list[str]:
        return [self._listed(split)[1]]

    def verify(self, root: Path, split: str) -> None:
        _, name, md5 = self._listed(split)
        verify_md5(self.folder(root) / name, md5, self.name)

    def download(self, root: Path, split: str) -> None:
        url, name, md5 = self._listed(split)
        download_url(url, str(self.folder(root)), name, md5)

    def read(self, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        name = self._listed(split)[1]
        cls = _unchecked(SVHN, lambda ds: [os.path.join(ds.root, name)])
        dataset = cls(str(self.folder(root)), split=split, download=False)
        images = torch.from_numpy(dataset.data).contiguous()
        return images, torch.as_tensor(dataset.labels, dtype=torch.int64)


REAL_DATASETS: Mapping[str, RealDataset] = {
    d.name: d
    for d in (
        _IdxDataset(
            "mnist", MNIST_CLASSES, _MNIST_TRAIN, _MNIST_TEST,
            "MNIST handwritten digits, 28x28 grey (LeCun et al. 1998)",
            "MNIST/raw", MNIST,
        ),
        _IdxDataset(
            "fashion-mnist", FASHION_MNIST_CLASSES, (6000,) * 10, (1000,) * 10,
            "Fashion-MNIST Zalando article images, 28x28 grey (Xiao et al. 2017)",
            "FashionMNIST/raw", FashionMNIST,
        ),
        _IdxDataset(
            "kmnist", KMNIST_CLASSES, (6000,) * 10, (1000,) * 10,
            "Kuzushiji-MNIST cursive Japanese hiragana, 28x28 grey (Clanuwat et al. 2018)",
            "KMNIST/raw", KMNIST,
        ),
        _EmnistLetters(
            "emnist-letters", EMNIST_LETTERS_CLASSES, (4800,) * 26, (800,) * 26,
            "EMNIST letters, upper and lower case merged, 28x28 grey (Cohen et al. 2017)",
            "EMNIST/raw",
        ),
        _Cifar(
            "cifar10", CIFAR10_CLASSES, (5000,) * 10, (1000,) * 10,
            "CIFAR-10 tiny natural images, 32x32 colour (Krizhevsky 2009)",
            "cifar-10-batches-py", CIFAR10,
        ),
        _Cifar(
            "cifar100", CIFAR100_CLASSES, (500,) * 100, (100,) * 100,
            "CIFAR-100 tiny natural images, 100 classes, 32x32 colour (Krizhevsky 2009)",
            "cifar-100-python", CIFAR100,
        ),
        _Svhn(
            "svhn", SVHN_CLASSES, _SVHN_TRAIN, _SVHN_TEST,
            "SVHN house-number digits cropped from Street View, 32x32 colour "
            "(Netzer et al. 2011)",
            "SVHN",
        ),
    )
}  # fmt: skip


def _unavailable(dataset: RealDataset, root: Path, split: str, reason: str) -> str:
    folder = dataset.folder(root)
    return (
        f"dataset {dataset.name!r} ({split} split) is not available: its files are not in "
        f"{folder} (looked for {', '.join(dataset.required(split))}) and {reason}. "
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
    except _DOWNLOAD_ERRORS as err:
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
    if verify:
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
        validate=lambda opts: {"verify": check_bool(dataset.name, "verify", opts["verify"])},
        classes=lambda opts: dataset.classes,
        class_counts=lambda split, opts: dataset.counts(split),
        build=lambda split, opts, root, download: read(
            dataset.name, split, root, download, opts["verify"]
        ),
        availability=_availability(dataset),
        folder=dataset.folder,
    )


SOURCES: tuple[DatasetSource, ...] = tuple(_source(d) for d in REAL_DATASETS.values())
