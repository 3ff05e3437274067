"""The disk a sweep needs: an estimate of its records and checkpoints, checked before it trains,
and the error that stops it when the disk fills up all the same.

A record holds the run's spec, metrics and per-epoch history: at most
``RECORD_BASE + RECORD_PER_EPOCH * epochs`` bytes (records measured in the book's caches: 4 kB
for 20 epochs, 32 kB for the longest). A checkpoint holds the final weights of a run that
serves as a source: 4 bytes per parameter and buffer element (float32), plus
``TENSOR_OVERHEAD`` bytes per tensor, counted on the model itself, built once per shape with
:data:`CLASSES_BOUND` classes (more than any of the book's datasets has, so the estimate is an
upper bound). :func:`space_problem` asks for that much and a tenth more to be free.
"""

from __future__ import annotations

import errno
import functools
import shutil
from collections.abc import Iterable
from pathlib import Path

from .spec import RunSpec

__all__ = ["RECORD_BASE", "RECORD_PER_EPOCH", "TENSOR_OVERHEAD", "CLASSES_BOUND", "DiskFullError",
           "record_bytes", "checkpoint_bytes", "bytes_needed", "space_problem", "is_disk_full",
           "megabytes"]

RECORD_BASE = 4096
RECORD_PER_EPOCH = 200
TENSOR_OVERHEAD = 1024
CLASSES_BOUND = 100
#: The errors of a disk (or a quota) with no room left.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """The results folder's disk filled up during a sweep: the runs stored are kept, the sweep
    submitted nothing more; the message names the folder and the space still needed."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says that a disk or a quota has no room left."""
    return isinstance(exc, OSError) and exc.errno in _FULL


def megabytes(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def record_bytes(spec: RunSpec) -> int:
    """An upper estimate of the size of ``spec``'s record."""
    return RECORD_BASE + RECORD_PER_EPOCH * int(spec.train.epochs)


@functools.lru_cache(maxsize=64)
def _weights_bytes(arch: str, channels: int, size: int, width: int) -> int:
    from .models import build_model

    model = build_model(arch, CLASSES_BOUND, in_channels=channels, input_size=size, width=width)
    tensors = [*model.parameters(), *model.buffers()]
    return sum(4 * t.numel() + TENSOR_OVERHEAD for t in tensors)


def checkpoint_bytes(spec: RunSpec) -> int:
    """An upper estimate of the size of ``spec``'s checkpoint (its model's weights)."""
    m = spec.model
    return _weights_bytes(m.arch, m.channels, m.size, m.width)


def bytes_needed(specs: Iterable[RunSpec], checkpoints: Iterable[RunSpec] = ()) -> int:
    """The bytes that the records of ``specs`` and the checkpoints of ``checkpoints`` take."""
    return (sum(record_bytes(s) for s in specs)
            + sum(checkpoint_bytes(s) for s in checkpoints))


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def space_problem(root: Path, need: int, runs: int) -> str | None:
    """A one-line problem if the disk of ``root`` has less than ``need`` bytes (and a tenth
    more) free for ``runs`` runs; ``None`` if it has them."""
    free = shutil.disk_usage(_existing(Path(root))).free
    if free >= need * 1.1:
        return None
    return (f"the results folder {root} has {megabytes(free)} free, and the {runs:,} runs to "
            f"train need about {megabytes(need * 1.1)} for their records and checkpoints: free "
            "space on that disk, or set TLKIT_RESULTS to a folder on a disk with room")
