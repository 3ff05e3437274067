"""Results that travel: the run cache as one versioned archive with checksums.

A maintainer builds the book on a GPU machine, ``tlkit results export results.tar.gz``, and any
other machine (the Pages workflow, a reader) runs ``tlkit results import results.tar.gz`` and
builds the book without training: every record is found in the cache by its key.

The archive is a gzipped tar of

* ``manifest.json``: the archive's format and :data:`FORMAT_VERSION`, the code fingerprint and
  cache version the records were made by, where they computed (``computes``: a machine without
  a GPU builds from ``cuda-bf16`` records with ``TLKIT_COMPUTE=cuda-bf16``), the provenance of
  the machine that made them, and the SHA-256 and size of every other member;
* ``manifest.sig``, in a signed archive: a signature over the manifest's bytes
  (:mod:`tlkit.signing`); as the manifest lists every member's SHA-256, it vouches for all;
* ``runs/<key[:2]>/<key>.json``: the records;
* ``checkpoints/<key[:2]>/<key>.pt``: the final weights of the runs that serve as sources (the
  notebooks read them to re-plot: features for distances, a source's accuracy).

Only records of this code are exported (a record whose key this installation would not compute
for its spec is left out, and counted), and only files that pass their own digests
(:mod:`tlkit.seal`): a cache holding a damaged one is not exported. :func:`import_results`
reads the archive at a bounded cost (:mod:`tlkit.archive_reading`) and checks everything before
it writes anything: the format version, every checksum and size, that each member has the name
of a record or checkpoint, that each record and checkpoint passes its digest, that each record
is one this code computes (its key, recomputed from its spec here, is the key it is stored
under: the fingerprint of the evidence chapter) and, given a trusted public key, the signature.
An archive that fails any check is refused whole, with one message naming the problem and what
to do. Records already in the cache that pass their digests are kept (a run's result is the
same computation wherever it ran; only the last bits of floating point may differ between
machines); a damaged one is moved aside and replaced by the archive's.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .archive_reading import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SIGNATURE,
    ArchiveError,
    Reader,
    check_checkpoint,
    check_record,
    sha256,
)
from .record import Record
from .store import Store, atomic_write_bytes, atomic_writer

__all__ = ["FORMAT", "FORMAT_VERSION", "ArchiveError", "Exported", "Imported", "export_results",
           "import_results", "read_manifest", "verify_archive"]


@dataclass(frozen=True)
class Exported:
    path: Path
    records: int
    checkpoints: int
    skipped: int  # records of other code, left out
    bytes: int
    signed_by: str | None = None  # the fingerprint of the signing key


@dataclass(frozen=True)
class Imported:
    records: int  # new in the cache
    checkpoints: int
    kept: int  # already in the cache, left as they were
    computes: tuple[str, ...]  # where the archive's records computed
    replaced: int = 0  # damaged in the cache, replaced by the archive's
    signed_by: str | None = None  # the fingerprint of the key whose signature was verified


def _current(record: Record) -> bool:
    """Whether this code computes ``record``: the key of its spec, here, is its key."""
    return record.spec.key() == record.key


def export_results(path: str | os.PathLike[str], store: Store | None = None, *,
                   sign_with: str | os.PathLike[str] | None = None) -> Exported:
    """Write the records of this code in ``store`` (and their checkpoints) to ``path``, signed
    with the private key in the file ``sign_with`` if given (:mod:`tlkit.signing`).

    The archive is written one member at a time (memory holds one file, not the archive), to a
    temporary file that becomes ``path`` only when it is complete.

    Raises:
        ArchiveError: the cache holds no record of this code, holds a record or checkpoint that
            fails its digest (moved aside: recompute it first), or a file changed while the
            archive was written (a sweep on the same folder); ``path`` is left as it was.
    """
    from .fingerprint import code_fingerprint
    from .notebooks import environment_summary
    from .spec import CACHE_VERSION

    store = store if store is not None else Store()
    key = None
    if sign_with is not None:
        from .signing import load_private_key

        key = load_private_key(sign_with)
    files: dict[str, dict[str, Any]] = {}
    skipped, computes = 0, set()
    listed = sorted((store.root / "runs").glob("*/*.json"))
    records = list(store.records())
    damaged = [p for p in listed if not p.exists()]
    for record in records:
        if not _current(record):
            skipped += 1
            continue
        computes.add(record.spec.compute)
        ckpt = store.checkpoint_path(record.key)
        if ckpt.exists() and store.load_checkpoint(record.spec) is None:
            damaged.append(ckpt)
        for member in (store.record_path(record.key), ckpt):
            if member.is_file():
                data = member.read_bytes()
                files[member.relative_to(store.root).as_posix()] = {
                    "sha256": sha256(data), "bytes": len(data)}
    if damaged:
        raise ArchiveError(f"{len(damaged)} file(s) of the run cache {store.root} failed their "
                           f"digests (first: {damaged[0]}) and were moved aside; rerun the "
                           "notebooks to recompute them, then export")
    if not files:
        raise ArchiveError(f"the run cache {store.root} holds no record of this code to export "
                           f"({skipped} of other code); build the book first")
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "code": code_fingerprint(),
                "cache_version": CACHE_VERSION, "computes": sorted(computes),
                **environment_summary(), "files": dict(sorted(files.items()))}
    manifest_bytes = json.dumps(manifest, indent=1).encode()
    path = Path(path)
    with atomic_writer(path) as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        _add(tar, MANIFEST, manifest_bytes)
        if key is not None:
            from .signing import sign

            _add(tar, SIGNATURE, sign(key, manifest_bytes))
        for name, expected in manifest["files"].items():
            data = (store.root / name).read_bytes()
            if len(data) != expected["bytes"] or sha256(data) != expected["sha256"]:
                raise ArchiveError(f"{store.root / name} changed while the archive was "
                                   "written (a sweep on the same results folder?); export again "
                                   "when it has finished")
            _add(tar, name, data)
    n_ckpt = sum(name.startswith("checkpoints/") for name in files)
    signed_by = None
    if key is not None:
        from .signing import fingerprint

        signed_by = fingerprint(key.public_key())
    return Exported(path, len(files) - n_ckpt, n_ckpt, skipped, path.stat().st_size, signed_by)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the archive at ``path``, its format and version checked."""
    with Reader(path) as reader:
        return reader.manifest


def verify_archive(path: str | os.PathLike[str],
                   trust: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Check the archive at ``path`` as :func:`import_results` does, writing nothing; with
    ``trust``, the file of a public key, its signature must be that key's. Returns the
    manifest, with ``signed_by`` (the fingerprint of the verified key, or ``None``).

    Raises:
        ArchiveError: any check failed (see :func:`import_results`).
    """
    path = Path(path)
    with Reader(path) as reader:
        signed_by = _check_signature(reader, trust)
        for name, data in reader.members():
            if name.startswith("runs/"):
                check_record(name, data, path, reader.manifest)
            else:
                check_checkpoint(name, data, path)
        return {**reader.manifest, "signed_by": signed_by}


def _check_signature(reader: Reader, trust: str | os.PathLike[str] | None) -> str | None:
    if trust is None:
        return None
    from .signing import SignatureError, verify

    try:
        return verify(trust, reader.manifest_bytes, reader.signature)
    except SignatureError as exc:
        raise ArchiveError(f"{reader.path}: {exc}; nothing was imported") from None


def import_results(path: str | os.PathLike[str], store: Store | None = None, *,
                   trust: str | os.PathLike[str] | None = None) -> Imported:
    """Verify the archive at ``path`` (:func:`verify_archive`, with the public key ``trust``
    if given) and merge it into ``store``.

    Two passes over the archive, each holding one member in memory: the first checks every
    member, the second writes checkpoints and then records. A file already in the cache that
    passes its digest is kept; a damaged one is moved aside and replaced.

    Raises:
        ArchiveError: the archive is unreadable, of another format version, altered, truncated,
            unsigned or signed by another key than ``trust``, or holds records this code does
            not compute (nothing is written then).
    """
    path, store = Path(path), store if store is not None else Store()
    manifest = verify_archive(path, trust)
    store.check_writable()
    new = kept = ckpts = replaced = 0
    for kind in ("checkpoints/", "runs/"):  # checkpoints before the records that need them
        with Reader(path) as reader:
            for name, data in reader.members():
                if not name.startswith(kind):
                    continue
                target = store.root / name
                if target.exists() or target.is_symlink():
                    if _intact(store, target):
                        kept += 1
                        continue
                    replaced += 1
                atomic_write_bytes(target, data)
                if kind == "checkpoints/":
                    ckpts += 1
                else:
                    new += 1
    return Imported(new, ckpts, kept, tuple(manifest.get("computes", ())), replaced,
                    manifest["signed_by"])


def _intact(store: Store, target: Path) -> bool:
    """Whether the cache's file at ``target`` passes its checks (a damaged one is moved
    aside, :meth:`tlkit.store.Store.quarantine`, and the archive's takes its place)."""
    then = "the archive's copy takes its place"
    if target.suffix == ".json":
        return store.read_record(target, then=then) is not None
    return store.read_checkpoint(target, then=then) is not None
