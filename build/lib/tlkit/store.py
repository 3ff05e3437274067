"""The run cache: records and checkpoints on disk, keyed by the spec's hash.

Layout under the results folder (``$TLKIT_RESULTS``, default ``./results``)::

    runs/<key[:2]>/<key>.json          one finished run (its Record)
    failed/<key>.json                  the last error of a run that raised (retried on rerun)
    checkpoints/<key[:2]>/<key>.pt     final weights of a run used as a source

Every file is written to a temporary name in the same folder and moved into place with
:func:`os.replace`, which is atomic on POSIX and Windows: a process killed at any moment
leaves either the old file, the complete new file, or a stray ``.tmp`` file that is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .record import Record
from .spec import RunSpec

__all__ = ["Store", "results_root", "atomic_write_bytes"]


def results_root() -> Path:
    """``$TLKIT_RESULTS`` if set, else ``results/`` in the current directory."""
    return Path(os.environ.get("TLKIT_RESULTS", "results")).expanduser()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Store:
    """Records and checkpoints of finished runs under one folder."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else results_root()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # --- paths ----------------------------------------------------------------------------
    def record_path(self, key: str) -> Path:
        return self.root / "runs" / key[:2] / f"{key}.json"

    def failure_path(self, key: str) -> Path:
        return self.root / "failed" / f"{key}.json"

    def checkpoint_path(self, key: str) -> Path:
        return self.root / "checkpoints" / key[:2] / f"{key}.pt"

    # --- records --------------------------------------------------------------------------
    def has(self, spec: RunSpec) -> bool:
        return self.record_path(spec.key()).exists()

    def get(self, spec: RunSpec) -> Record | None:
        """The stored record of ``spec`` (with ``spec``'s tags), or ``None``."""
        path = self.record_path(spec.key())
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        record = Record.from_dict(data)
        record.spec = spec
        return record

    def put(self, record: Record) -> Path:
        """Save a finished run atomically; a successful run clears its failure note."""
        path = self.record_path(record.key)
        atomic_write_bytes(path, json.dumps(record.to_dict(), indent=1).encode())
        with contextlib.suppress(FileNotFoundError):
            self.failure_path(record.key).unlink()
        return path

    def put_failure(self, spec: RunSpec, error: str) -> Path:
        path = self.failure_path(spec.key())
        payload = {"key": spec.key(), "spec": spec.to_dict(), "error": error}
        atomic_write_bytes(path, json.dumps(payload, indent=1).encode())
        return path

    def failure(self, spec: RunSpec) -> str | None:
        try:
            return json.loads(self.failure_path(spec.key()).read_text())["error"]
        except FileNotFoundError:
            return None

    def records(self) -> Iterator[Record]:
        """Every stored record (with the tags it was first run with)."""
        for path in sorted((self.root / "runs").glob("*/*.json")):
            yield Record.from_dict(json.loads(path.read_text()))

    # --- checkpoints ----------------------------------------------------------------------
    def has_checkpoint(self, spec: RunSpec) -> bool:
        return self.checkpoint_path(spec.key()).exists()

    def save_checkpoint(self, spec: RunSpec, state: dict[str, Any]) -> Path:
        import io

        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
        path = self.checkpoint_path(spec.key())
        atomic_write_bytes(path, buf.getvalue())
        return path

    def load_checkpoint(self, spec: RunSpec) -> dict[str, torch.Tensor] | None:
        path = self.checkpoint_path(spec.key())
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)
