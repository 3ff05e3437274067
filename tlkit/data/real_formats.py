"""Readers of the real datasets' on-disk formats: IDX (the MNIST family), the EMNIST archive,
the CIFAR pickles and SVHN's ``.mat`` files, each with the files it needs, its md5 checks and
its download (torchvision's helpers and published checksums). :mod:`tlkit.data.real` lists
the datasets and reads them through these classes.
"""

from __future__ import annotations

import importlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

import torch

from .base import DatasetIntegrityError
from .integrity import verify_files, verify_md5
from .source import validate_split

__all__ = ["RealDataset", "IdxDataset", "EmnistLetters", "Cifar", "Svhn", "unchecked",
           "DOWNLOAD_ERRORS"]

DOWNLOAD_ERRORS = (URLError, HTTPError, OSError, RuntimeError)


def _tv(module: str, name: str) -> Any:
    """``name`` from ``torchvision.<module>``, imported when first needed: importing
    torchvision takes over a second (it imports its models and ``torch._dynamo``), which every
    notebook kernel and worker would otherwise pay without reading a real dataset."""
    return getattr(importlib.import_module(f"torchvision.{module}"), name)


def _emnist() -> Any:
    return _tv("datasets", "EMNIST")


def read_image_file(path: str) -> torch.Tensor:
    return _tv("datasets.mnist", "read_image_file")(path)


def read_label_file(path: str) -> torch.Tensor:
    return _tv("datasets.mnist", "read_label_file")(path)


def extract_archive(*args: Any, **kwargs: Any) -> Any:
    return _tv("datasets.utils", "extract_archive")(*args, **kwargs)


def download_and_extract_archive(*args: Any, **kwargs: Any) -> None:
    _tv("datasets.utils", "download_and_extract_archive")(*args, **kwargs)


def download_url(*args: Any, **kwargs: Any) -> None:
    _tv("datasets.utils", "download_url")(*args, **kwargs)


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

    def missing(self, root: Path, split: str) -> list[str]:
        """The files of ``split`` that are not in the folder (every one, in order)."""
        folder = self.folder(root)
        return [f for f in self.required(split) if not (folder / f).is_file()]

    def present(self, root: Path, split: str) -> bool:
        """Whether the files of ``split`` are all in the folder (unchecked)."""
        return not self.missing(root, split)

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
class IdxDataset(RealDataset):
    """MNIST, Fashion-MNIST and KMNIST: four gzipped IDX files with published md5s."""

    torchvision_name: str = "MNIST"

    @property
    def torchvision_class(self) -> Any:
        """The torchvision dataset class whose resources, md5s and mirrors this one uses."""
        return _tv("datasets", self.torchvision_name)

    def _stems(self, split: str) -> list[str]:
        prefix = "train" if validate_split(split) == "train" else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _md5(self) -> dict[str, str]:
        return dict(self.torchvision_class.resources)

    def required(self, split: str) -> list[str]:
        return [f"{stem}.gz" for stem in self._stems(split)]

    def missing(self, root: Path, split: str) -> list[str]:
        folder = self.folder(root)
        return [f"{s}.gz" for s in self._stems(split)
                if not (folder / f"{s}.gz").is_file() and not (folder / s).is_file()]

    def verify(self, root: Path, split: str) -> None:
        folder = self.folder(root)
        md5 = self._md5()
        names = self.required(split)
        unpacked = [n for n in names if not (folder / n).is_file()]
        if unpacked:
            raise DatasetIntegrityError(
                f"cannot check dataset {self.name!r}: its md5 is published for "
                f"{', '.join(unpacked)}, not in {folder} (only the decompressed files are). "
                f"Put them there (expected md5 {', '.join(md5[n] for n in unpacked)}), or "
                "pass verify=False to skip the check."
            )
        verify_files(folder, [(n, md5[n]) for n in names], self.name, split)

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
                except DOWNLOAD_ERRORS as err:
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
class EmnistLetters(RealDataset):
    """EMNIST letters: IDX files from one zip archive whose md5 is published.

    The IDX images are stored transposed; they are transposed back so letters stand upright.
    Labels 1..26 become 0..25.
    """

    def _stems(self, split: str) -> list[str]:
        prefix = f"emnist-letters-{validate_split(split)}"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def required(self, split: str) -> list[str]:
        return self._stems(split)

    def missing(self, root: Path, split: str) -> list[str]:
        folder = self.folder(root)
        return [s for s in self._stems(split)
                if not (folder / s).is_file() and not (folder / f"{s}.gz").is_file()]

    def verify(self, root: Path, split: str) -> None:
        archive = self.folder(root) / "gzip.zip"
        if not archive.is_file():
            raise DatasetIntegrityError(
                f"cannot check dataset {self.name!r}: its md5 is published for the archive "
                f"{archive.name}, which is not in {archive.parent}. Put it there (expected md5 "
                f"{_emnist().md5}), or pass verify=False to skip the check."
            )
        verify_md5(archive, _emnist().md5, self.name)

    def download(self, root: Path, split: str) -> None:
        folder = self.folder(root)
        folder.mkdir(parents=True, exist_ok=True)
        download_and_extract_archive(_emnist().url, download_root=str(folder), md5=_emnist().md5)
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


def unchecked(cls: type, files: Callable[[Any], list[str]]) -> type:
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
    if issubclass(cls, _tv("datasets", "CIFAR10")):
        body["_load_meta"] = _load_meta
    return type(f"_Unchecked{cls.__name__}", (cls,), body)


@dataclass(frozen=True)
class Cifar(RealDataset):
    """CIFAR-10 and CIFAR-100: pickled batches extracted from one tar archive."""

    torchvision_name: str = "CIFAR10"

    @property
    def torchvision_class(self) -> Any:
        """``torchvision.datasets.CIFAR10`` or ``CIFAR100``."""
        return _tv("datasets", self.torchvision_name)

    def _listed(self, split: str) -> list[tuple[str, str]]:
        cls = self.torchvision_class
        batches = cls.train_list if validate_split(split) == "train" else cls.test_list
        return [(name, md5) for name, md5 in batches] + [(cls.meta["filename"], cls.meta["md5"])]

    def required(self, split: str) -> list[str]:
        return [name for name, _ in self._listed(split)]

    def verify(self, root: Path, split: str) -> None:
        verify_files(self.folder(root), self._listed(split), self.name, split)

    def download(self, root: Path, split: str) -> None:
        cls = self.torchvision_class
        Path(root).mkdir(parents=True, exist_ok=True)
        download_and_extract_archive(cls.url, str(root), filename=cls.filename, md5=cls.tgz_md5)

    def read(self, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        train = validate_split(split) == "train"
        names = self.required(split)
        cls = unchecked(
            self.torchvision_class,
            lambda ds: [os.path.join(ds.root, ds.base_folder, n) for n in names],
        )
        dataset = cls(str(root), train=train, download=False)
        if tuple(dataset.classes) != self.classes:
            raise RuntimeError(f"unexpected class names in {self.folder(root)}: {dataset.classes}")
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        return images, torch.as_tensor(dataset.targets, dtype=torch.int64)


@dataclass(frozen=True)
class Svhn(RealDataset):
    """SVHN cropped digits: one MATLAB file per split."""

    def _listed(self, split: str) -> tuple[str, str, str]:
        # (url, filename, md5)
        return tuple(_tv("datasets", "SVHN").split_list[validate_split(split)])

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
        cls = unchecked(_tv("datasets", "SVHN"), lambda ds: [os.path.join(ds.root, name)])
        dataset = cls(str(self.folder(root)), split=split, download=False)
        images = torch.from_numpy(dataset.data).contiguous()
        return images, torch.as_tensor(dataset.labels, dtype=torch.int64)
