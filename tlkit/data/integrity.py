"""md5 checks of dataset files against the checksums published with torchvision."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from .base import DatasetIntegrityError

__all__ = ["md5sum", "verify_md5", "verify_files"]

_VERIFIED: dict[tuple[str, int, int, str], bool] = {}


def md5sum(path: Path, chunk_size: int = 1 << 20) -> str:
    """The md5 hex digest of the file at ``path``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _wrong_md5(path: Path, expected: str) -> str | None:
    """The md5 of the file at ``path`` when it is not ``expected``, else ``None``. A file that
    passed is remembered by path, size and modification time, so it is hashed once per
    process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if _VERIFIED.get(key):
        return None
    actual = md5sum(path)
    if actual != expected:
        return actual
    _VERIFIED[key] = True
    return None


def verify_md5(path: Path, expected: str, dataset: str) -> None:
    """Raise :class:`DatasetIntegrityError` unless the file at ``path`` has md5 ``expected``
    (hashed once per process when it passes)."""
    actual = _wrong_md5(path, expected)
    if actual is not None:
        raise DatasetIntegrityError(
            f"file {path} of dataset {dataset!r} is not the published file: its md5 is "
            f"{actual}, expected {expected}. Delete it and download it again, or pass "
            f"verify=False to skip the check."
        )


def verify_files(folder: Path, expected: Sequence[tuple[str, str]], dataset: str,
                 split: str) -> None:
    """Check every file of a split, ``(name, md5)`` pairs in ``folder``, and raise one
    :class:`DatasetIntegrityError` naming each file that is missing or not the published file
    (with its md5 and the one expected)."""
    wrong: list[str] = []
    for name, md5 in expected:
        path = Path(folder) / name
        if not path.is_file():
            wrong.append(f"{name} is missing (expected md5 {md5})")
        elif (actual := _wrong_md5(path, md5)) is not None:
            wrong.append(f"{name} has md5 {actual}, expected {md5}")
    if wrong:
        them = "it" if len(wrong) == 1 else f"these {len(wrong)} files"
        raise DatasetIntegrityError(
            f"dataset {dataset!r} ({split} split) in {folder} is not the published files: "
            f"{'; '.join(wrong)}. Replace {them} (delete and download again), or pass "
            f"verify=False to skip the check."
        )
