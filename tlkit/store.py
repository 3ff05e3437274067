"""The run cache: records and checkpoints on disk, keyed by the spec's hash.

Layout under the results folder (``$TLKIT_RESULTS``, default ``./results``)::

    runs/<key[:2]>/<key>.json          one finished run (its Record)
    failed/<key>.json                  the last error of a run that raised (retried on rerun)
    checkpoints/<key[:2]>/<key>.pt     final weights of a run used as a source

    damaged/<the same path>.<time>     a file that could not be read, kept for inspection

Every file is written to a temporary name in the same folder and moved into place with
:func:`os.replace`, which is atomic on POSIX and Windows: a process killed at any moment
leaves either the old file, the complete new file, or a stray ``.tmp`` file that is ignored.

**Files that vouch for themselves.** Every record and checkpoint is written with the SHA-256
of its content and verified on every read (:mod:`tlkit.seal`).

**A cache that heals.** A record that is not valid JSON, is empty, has the wrong shape, names
another key, fails its digest or is a folder, and a checkpoint that torch cannot load or that
fails its digest (a disk that filled up, a file truncated or edited by hand), is moved under
``damaged/``, named in one warning line on standard error, and treated as missing: the sweep
recomputes that run and nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .record import Record
from .seal import SealError, check_record_shape, open_state, seal_record, seal_state, verify_record
from .spec import RunSpec

__all__ = ["Store", "results_root", "atomic_write_bytes", "atomic_writer", "DAMAGED",
           "CacheNotWritableError"]

#: The folder (under the results folder) where damaged files are kept.
DAMAGED = "damaged"
#: The bytes :meth:`Store.check_writable` writes: as much as a record with its history.
WRITE_CHECK_BYTES = 64 * 1024


def results_root() -> Path:
    """``$TLKIT_RESULTS`` if set, else ``results/`` in the current directory."""
    return Path(os.environ.get("TLKIT_RESULTS", "results")).expanduser()


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error (temporary
    file beside it, fsync, rename); on an error ``path`` is untouched and the temporary file
    removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_writer`)."""
    with atomic_writer(path) as fh:
        fh.write(data)


class CacheNotWritableError(OSError):
    """The results folder cannot be written: raised before a sweep trains anything."""


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

    def check_writable(self) -> None:
        """Raise :class:`CacheNotWritableError`, naming the folder, unless records can be
        written under it: checked before a sweep trains anything, so that no finished run is
        thrown away for want of a place to keep it. The check writes (and syncs, and removes)
        :data:`WRITE_CHECK_BYTES` bytes, so a disk with no room left fails it."""
        probe = self.root / ".tlkit-write-check"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(probe, bytes(WRITE_CHECK_BYTES))
            probe.unlink()
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise CacheNotWritableError(
                f"the results folder {self.root} is "
                + ("on a disk with no room left" if full else "not writable")
                + f" ({exc.strerror or exc}); "
                + ("free space on that disk, or set TLKIT_RESULTS to a folder on a disk with "
                   "room" if full else "set TLKIT_RESULTS to a folder you can write to")
            ) from exc

    # --- damage ---------------------------------------------------------------------------
    def quarantine(self, path: Path, why: str,
                   then: str = "the run will be recomputed") -> Path | None:
        """Move a damaged file under ``damaged/`` (same relative path, a time suffix), say so
        in one line on standard error, and return where it went (``None`` if another process
        moved it first)."""
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            rel = Path(path.name)
        dest = self.root / DAMAGED / rel.parent / f"{rel.name}.{time.strftime('%Y%m%d-%H%M%S')}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dest)
        except FileNotFoundError:
            return None
        print(f"tlkit: warning: {path} is damaged ({why}); moved to {dest}, {then}",
              file=sys.stderr)
        return dest

    def read_record(self, path: Path, key: str | None = None,
                    then: str = "the run will be recomputed") -> Record | None:
        """The record stored at ``path``, ``None`` if there is none; a damaged one is moved
        aside (:meth:`quarantine`) and counts as none."""
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            self.quarantine(path, "a folder, not a record file", then)
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"a JSON {type(data).__name__}, not an object")
            check_record_shape(data)
            verify_record(data)
            record = Record.from_dict(data)
            expected = key if key is not None else path.stem
            if record.key != expected:
                raise ValueError(f"it holds the record of run {record.key}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.quarantine(path, _reason(exc), then)
            return None
        return record

    # --- records --------------------------------------------------------------------------
    def has(self, spec: RunSpec) -> bool:
        """Whether a readable record of ``spec`` is stored (a damaged one is moved aside)."""
        key = spec.key()
        return self.read_record(self.record_path(key), key) is not None

    def get(self, spec: RunSpec) -> Record | None:
        """The stored record of ``spec`` (with ``spec``'s tags), or ``None``."""
        key = spec.key()
        record = self.read_record(self.record_path(key), key)
        if record is not None:
            record.spec = spec
        return record

    def put(self, record: Record) -> Path:
        """Save a finished run atomically; a successful run clears its failure note."""
        path = self.record_path(record.key)
        atomic_write_bytes(path, json.dumps(seal_record(record.to_dict()), indent=1).encode())
        with contextlib.suppress(FileNotFoundError):
            self.failure_path(record.key).unlink()
        return path

    def put_failure(self, spec: RunSpec, error: str, *, diverged: bool = False) -> Path:
        """Note that a run raised ``error``. A run that ``diverged`` (its loss became
        infinite: a property of the spec, as deterministic as a record) is not run again by
        a sweep while the note exists; any other failure is retried."""
        path = self.failure_path(spec.key())
        payload = {"key": spec.key(), "spec": spec.to_dict(), "error": error,
                   "diverged": diverged}
        atomic_write_bytes(path, json.dumps(payload, indent=1).encode())
        return path

    def diverged(self, spec: RunSpec) -> str | None:
        """The error of ``spec`` if it is noted as diverged (for this key), else ``None``."""
        path = self.failure_path(spec.key())
        try:
            note = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None
        if isinstance(note, dict) and note.get("diverged") is True and note.get(
                "key") == spec.key():
            return str(note.get("error", "diverged"))
        return None

    def failure(self, spec: RunSpec) -> str | None:
        try:
            return json.loads(self.failure_path(spec.key()).read_text())["error"]
        except FileNotFoundError:
            return None

    def records(self) -> Iterator[Record]:
        """Every readable stored record (with the tags it was first run with); damaged ones
        are moved aside."""
        for path in sorted((self.root / "runs").glob("*/*.json")):
            record = self.read_record(path)
            if record is not None:
                yield record

    # --- checkpoints ----------------------------------------------------------------------
    def has_checkpoint(self, spec: RunSpec) -> bool:
        """Whether a loadable checkpoint of ``spec`` is stored (a damaged one is moved
        aside)."""
        return self.load_checkpoint(spec) is not None

    def save_checkpoint(self, spec: RunSpec, state: dict[str, Any]) -> Path:
        import io

        buf = io.BytesIO()
        torch.save(seal_state(state), buf)
        path = self.checkpoint_path(spec.key())
        atomic_write_bytes(path, buf.getvalue())
        return path

    def load_checkpoint(self, spec: RunSpec) -> dict[str, torch.Tensor] | None:
        """The stored weights of ``spec``, ``None`` if there are none; a checkpoint that cannot
        be loaded or fails its digest is moved aside (:meth:`quarantine`) and counts as none."""
        return self.read_checkpoint(self.checkpoint_path(spec.key()))

    def read_checkpoint(self, path: Path,
                        then: str = "the run will be recomputed") -> dict[str, torch.Tensor] | None:
        """The weights stored at ``path`` (see :meth:`load_checkpoint`)."""
        try:
            return open_state(torch.load(path, map_location="cpu", weights_only=True))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            self.quarantine(path, "a folder, not a checkpoint file", then)
            return None
        except Exception as exc:  # truncated, zeroed, not a checkpoint: torch raises many kinds
            self.quarantine(path, _reason(exc), then)
            return None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, SealError):
        return text
    return f"{type(exc).__name__}: {text}"[:160] if text else type(exc).__name__
