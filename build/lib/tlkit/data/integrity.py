"""md5 checks of dataset files against the checksums published with torchvision."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .base import DatasetIntegrityError

__all__ = ["md5sum", "verify_md5"]

_VERIFIED: dict[tuple[str, int, int, str], bool] = {}


def md5sum(path: Path, chunk_size: int = 1 << 20) -> str:
    """The md5 hex digest of the file at ``path``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify_md5(path: Path, expected: str, dataset: str) -> None:
    """Raise :class:`DatasetIntegrityError` unless the file at ``path`` has md5 ``expected``.

    A file that passed is remembered by path, size and modification time, so it is hashed
    once per process.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if _VERIFIED.get(key):
        return
    actual = md5sum(path)
    if actual != expected:
        raise DatasetIntegrityError(
            f"file {path} of dataset {dataset!r} is not the published file: its md5 is "
            f"{actual}, expected {expected}. Delete it and download it again, or pass "
            f"verify=False to skip the check."
        )
    _VERIFIED[key] = True
