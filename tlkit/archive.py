"""Results that travel: the run cache as one versioned archive with checksums.

A maintainer builds the book on a GPU machine, ``tlkit results export results.tar.gz``, and any
other machine (the Pages workflow, a reader) runs ``tlkit results import results.tar.gz`` and
builds the book without training: every record is found in the cache by its key.

The archive is a gzipped tar of

* ``manifest.json``: the archive's format and :data:`FORMAT_VERSION`, the code fingerprint and
  cache version the records were made by, where they computed (``computes``: a machine without
  a GPU builds from ``cuda-bf16`` records with ``TLKIT_COMPUTE=cuda-bf16``), the provenance of
  the machine that made them, and the SHA-256 and size of every other member;
* ``runs/<key[:2]>/<key>.json``: the records;
* ``checkpoints/<key[:2]>/<key>.pt``: the final weights of the runs that serve as sources (the
  notebooks read them to re-plot: features for distances, a source's accuracy).

Only records of this code are exported (a record whose key this installation would not compute
for its spec is left out, and counted). :func:`import_results` checks everything before it
writes anything: the format version, every checksum and size, that each member has the name of
a record or checkpoint, and that each record is one this code computes (its key, recomputed from
its spec here, is the key it is stored under: the fingerprint of the evidence chapter). An
archive that fails any check is refused whole, with one message naming the problem and what to
do. Records already in the cache are kept (a run's result is the same computation wherever it
ran; only the last bits of floating point may differ between machines).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .record import Record
from .store import Store, atomic_write_bytes, atomic_writer

__all__ = ["FORMAT", "FORMAT_VERSION", "ArchiveError", "Exported", "Imported", "export_results",
           "import_results", "read_manifest"]

FORMAT = "tlkit-results"
#: Bumped when the layout of the archive changes; an archive of another version is refused.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: The names a member may have: a record or a checkpoint, nothing outside the cache's layout.
_MEMBER = re.compile(r"^(runs/[0-9a-f]{2}/[0-9a-f]{16}\.json"
                     r"|checkpoints/[0-9a-f]{2}/[0-9a-f]{16}\.pt)$")


class ArchiveError(ValueError):
    """An archive that cannot be imported (nothing was written)."""


@dataclass(frozen=True)
class Exported:
    path: Path
    records: int
    checkpoints: int
    skipped: int  # records of other code, left out
    bytes: int


@dataclass(frozen=True)
class Imported:
    records: int  # new in the cache
    checkpoints: int
    kept: int  # already in the cache, left as they were
    computes: tuple[str, ...]  # where the archive's records computed


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _current(record: Record) -> bool:
    """Whether this code computes ``record``: the key of its spec, here, is its key."""
    return record.spec.key() == record.key


def export_results(path: str | os.PathLike[str], store: Store | None = None) -> Exported:
    """Write the records of this code in ``store`` (and their checkpoints) to ``path``.

    The archive is written one member at a time (memory holds one file, not the archive), to a
    temporary file that becomes ``path`` only when it is complete.

    Raises:
        ArchiveError: the cache holds no record of this code, or a file changed while the
            archive was written (a sweep on the same folder); ``path`` is left as it was.
    """
    from .fingerprint import code_fingerprint
    from .notebooks import environment_summary
    from .spec import CACHE_VERSION

    store = store if store is not None else Store()
    files: dict[str, dict[str, Any]] = {}
    skipped, computes = 0, set()
    for record in store.records():
        if not _current(record):
            skipped += 1
            continue
        computes.add(record.spec.compute)
        for member in (store.record_path(record.key), store.checkpoint_path(record.key)):
            if member.is_file():
                data = member.read_bytes()
                files[member.relative_to(store.root).as_posix()] = {
                    "sha256": _sha256(data), "bytes": len(data)}
    if not files:
        raise ArchiveError(f"the run cache {store.root} holds no record of this code to export "
                           f"({skipped} of other code); build the book first")
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "code": code_fingerprint(),
                "cache_version": CACHE_VERSION, "computes": sorted(computes),
                **environment_summary(), "files": dict(sorted(files.items()))}
    path = Path(path)
    with atomic_writer(path) as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        for name, expected in manifest["files"].items():
            data = (store.root / name).read_bytes()
            if len(data) != expected["bytes"] or _sha256(data) != expected["sha256"]:
                raise ArchiveError(f"{store.root / name} changed while the archive was "
                                   "written (a sweep on the same results folder?); export again "
                                   "when it has finished")
            _add(tar, name, data)
    n_ckpt = sum(name.startswith("checkpoints/") for name in files)
    return Exported(path, len(files) - n_ckpt, n_ckpt, skipped, path.stat().st_size)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def _open(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise ArchiveError(f"no archive at {path}")
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{path} is not a results archive that can be read ({exc}); "
                           "export it again with `tlkit results export`") from None


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the archive at ``path``, its format and version checked."""
    path = Path(path)
    with _open(path) as tar:
        return _manifest(tar, path)


def _manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member is not None else None
    except (KeyError, ValueError, tarfile.TarError, OSError, EOFError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not a tlkit results archive (no readable {MANIFEST}); "
                           "make one with `tlkit results export`")
    if manifest.get("version") != FORMAT_VERSION:
        raise ArchiveError(f"{path} is a results archive of format version "
                           f"{manifest.get('version')} (made by tlkit "
                           f"{manifest.get('versions', {}).get('tlkit', '?')}); this tlkit reads "
                           f"version {FORMAT_VERSION}: export it again with this version")
    return manifest


def _members(tar: tarfile.TarFile, path: Path, manifest: dict[str, Any]
             ) -> Iterator[tuple[str, bytes]]:
    """Every member but the manifest, ``(name, data)``, one at a time, each checked against
    the manifest (its name, size and SHA-256); at the end, that none the manifest lists is
    missing."""
    files: dict[str, Any] = manifest.get("files") or {}
    seen: set[str] = set()
    try:
        for member in tar:
            if member.name == MANIFEST:
                continue
            if not member.isfile() or not _MEMBER.match(member.name) or member.name not in files:
                raise ArchiveError(f"{path} holds {member.name!r}, which is not a record or "
                                   "checkpoint listed in its manifest; the archive was altered")
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else b""
            expected = files[member.name]
            if len(data) != expected.get("bytes") or _sha256(data) != expected.get("sha256"):
                raise ArchiveError(f"{member.name} in {path} does not match its checksum "
                                   "(a truncated or corrupted archive); copy or export it again")
            seen.add(member.name)
            yield member.name, data
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{path} is truncated or corrupted ({exc}); copy or export it "
                           "again") from None
    missing = sorted(set(files) - seen)
    if missing:
        raise ArchiveError(f"{path} lacks {len(missing)} file(s) its manifest lists (first: "
                           f"{missing[0]}): a truncated archive; copy or export it again")


def _check_record(name: str, data: bytes, path: Path, manifest: dict[str, Any]) -> None:
    """``ArchiveError`` unless ``data`` is a record this code computes, stored under its key."""
    from .fingerprint import code_fingerprint

    try:
        record = Record.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArchiveError(f"{name} in {path} is not a record ({exc})") from None
    if record.key != Path(name).stem or not _current(record):
        made_by = manifest.get("versions", {}).get("tlkit", "?")
        raise ArchiveError(
            f"{path} holds records made by a different computation (code "
            f"{manifest.get('code')}, tlkit {made_by}; this installation computes code "
            f"{code_fingerprint()}): none is imported. Rebuild the results with this code, "
            f"or install the tlkit that made them")


def import_results(path: str | os.PathLike[str], store: Store | None = None) -> Imported:
    """Verify the archive at ``path`` and merge it into ``store``.

    Two passes over the archive, each holding one member in memory: the first checks every
    member (checksums, names, that each record is one this code computes), the second writes
    checkpoints and then records.

    Raises:
        ArchiveError: the archive is unreadable, of another format version, altered, truncated,
            or holds records this code does not compute (nothing is written then).
    """
    path, store = Path(path), store if store is not None else Store()
    with _open(path) as tar:
        manifest = _manifest(tar, path)
        for name, data in _members(tar, path, manifest):
            if name.startswith("runs/"):
                _check_record(name, data, path, manifest)
    store.check_writable()
    new = kept = ckpts = 0
    for kind in ("checkpoints/", "runs/"):  # checkpoints before the records that need them
        with _open(path) as tar:
            for name, data in _members(tar, path, _manifest(tar, path)):
                if not name.startswith(kind):
                    continue
                target = store.root / name
                if target.exists():
                    kept += 1
                    continue
                atomic_write_bytes(target, data)
                if kind == "checkpoints/":
                    ckpts += 1
                else:
                    new += 1
    return Imported(new, ckpts, kept, tuple(manifest.get("computes", ())))
