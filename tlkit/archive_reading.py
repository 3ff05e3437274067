"""Reading a results archive at a bounded cost, and checking every member it holds.

An archive (:mod:`tlkit.archive`) is read as a stream, its manifest first; what it may cost is
fixed by the manifest before any other member is read:

* the manifest is the first member and at most :data:`MAX_MANIFEST_BYTES`;
* a member is read only if the manifest lists it, once, under a record's or checkpoint's
  name, and its size in the archive is the size the manifest declares, at most
  :data:`MAX_RECORD_BYTES` or :data:`MAX_CHECKPOINT_BYTES`; it is read up to that size and one
  byte more, so a member longer than declared is caught without reading the rest of it;
* so the members read number at most the manifest's entries, their bytes at most the sizes it
  declares, and memory holds one member at a time whatever the archive holds.

Each record must have the shape of a record and carry its digest, and each checkpoint must be
one torch loads with its digest (:mod:`tlkit.seal`); a record must be one this code computes.
A problem is one :class:`ArchiveError` that says what is wrong: not an archive, truncated,
corrupted, altered, or made by other code (naming both fingerprints).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ArchiveError", "FORMAT", "FORMAT_VERSION", "MANIFEST", "SIGNATURE",
           "MAX_MANIFEST_BYTES", "MAX_RECORD_BYTES", "MAX_CHECKPOINT_BYTES", "Reader",
           "check_record", "check_checkpoint", "sha256"]

FORMAT = "tlkit-results"
#: Bumped when the layout of the archive changes; an archive of another version is refused.
#: Version 2: records and checkpoints carry their own digests; a signature may follow.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
#: The signature over the manifest's bytes (:mod:`tlkit.signing`), when the archive is signed.
SIGNATURE = "manifest.sig"
MAX_MANIFEST_BYTES = 64 * 2**20
MAX_RECORD_BYTES = 16 * 2**20
MAX_CHECKPOINT_BYTES = 512 * 2**20
_MAX_SIGNATURE_BYTES = 4096
#: The names a member may have: a record or a checkpoint, nothing outside the cache's layout.
_MEMBER = re.compile(r"^(runs/[0-9a-f]{2}/[0-9a-f]{16}\.json"
                     r"|checkpoints/[0-9a-f]{2}/[0-9a-f]{16}\.pt)$")
_AGAIN = "copy or export it again"


class ArchiveError(ValueError):
    """An archive that cannot be imported (nothing was written)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _limit(name: str) -> int:
    return MAX_RECORD_BYTES if name.startswith("runs/") else MAX_CHECKPOINT_BYTES


class Reader:
    """One pass over the archive at ``path``: :attr:`manifest` (and its raw bytes and
    :attr:`signature`, if any) on entry, then :meth:`members`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest: dict[str, Any] = {}
        self.manifest_bytes = b""
        self.signature: bytes | None = None
        self._tar: tarfile.TarFile | None = None
        self._first: tarfile.TarInfo | None = None

    def __enter__(self) -> Reader:
        if not self.path.is_file():
            raise ArchiveError(f"no archive at {self.path}")
        with open(self.path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        try:  # a stream: members are read in order, once; none is kept but the one read
            self._tar = tarfile.open(self.path, mode="r|gz" if gzipped else "r|")
            info = self._next()
        except ArchiveError:
            self.__exit__()
            raise
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            self.__exit__()
            raise ArchiveError(f"{self.path} is not a tlkit results archive (not a "
                               f"{'tar inside gzip' if gzipped else 'gzipped tar'} that can "
                               "be read); make one with `tlkit results export`") from None
        if info is None or info.name != MANIFEST or not info.isfile():
            self.__exit__()
            raise ArchiveError(f"{self.path} is not a tlkit results archive (its first member "
                               f"is not {MANIFEST}); make one with `tlkit results export`")
        self.manifest_bytes = self._read(info, MAX_MANIFEST_BYTES)
        self.manifest = self._parse_manifest()
        info = self._next()
        if info is not None and info.name == SIGNATURE:
            self.signature = self._read(info, _MAX_SIGNATURE_BYTES)
            info = self._next()
        self._first = info
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def _next(self) -> tarfile.TarInfo | None:
        assert self._tar is not None
        try:
            info = self._tar.next()
        except (tarfile.ReadError, EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise self._broken(exc) from None
        if info is not None:  # the stream keeps every header it read: keep none
            self._tar.members.clear()
        return info

    def _broken(self, exc: BaseException) -> ArchiveError:
        if isinstance(exc, EOFError) or "ended before" in str(exc) or "unexpected end" in str(
                exc).lower():
            return ArchiveError(f"{self.path} is truncated (it ends before the archive does); "
                                f"{_AGAIN}")
        return ArchiveError(f"{self.path} is corrupted ({type(exc).__name__}: {exc}); {_AGAIN}")

    def _read(self, info: tarfile.TarInfo, most: int) -> bytes:
        """The data of ``info``, refused if its size is over ``most`` bytes (read: its size
        and one byte more, at most, so a member longer than its header says is caught)."""
        if info.size > most:
            raise ArchiveError(f"{info.name} in {self.path} is {info.size:,} bytes, over the "
                               f"{most:,} a member of its kind may have; the archive was altered")
        assert self._tar is not None
        try:
            handle = self._tar.extractfile(info)
            data = handle.read(info.size + 1) if handle is not None else b""
        except (tarfile.ReadError, EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise self._broken(exc) from None
        if len(data) != info.size:
            raise ArchiveError(f"{self.path} is truncated (inside {info.name}); {_AGAIN}")
        return data

    def _parse_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_bytes)
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ArchiveError(f"{self.path} is not a tlkit results archive (no readable "
                               f"{MANIFEST}); make one with `tlkit results export`")
        if manifest.get("version") != FORMAT_VERSION:
            made_by = (manifest.get("versions") or {}).get("tlkit", "?")
            raise ArchiveError(f"{self.path} is a results archive of format version "
                               f"{manifest.get('version')} (made by tlkit {made_by}); this "
                               f"tlkit reads version {FORMAT_VERSION}: export it again with "
                               "this version")
        files = manifest.get("files")
        if not isinstance(files, dict) or not all(
                isinstance(name, str) and _MEMBER.match(name) and isinstance(entry, dict)
                and isinstance(entry.get("bytes"), int) and 0 <= entry["bytes"] <= _limit(name)
                and isinstance(entry.get("sha256"), str) for name, entry in files.items()):
            raise ArchiveError(f"the manifest of {self.path} does not list its files as a "
                               "results archive does (a name, size or checksum out of bounds); "
                               "the archive was altered")
        return manifest

    def members(self) -> Iterator[tuple[str, bytes]]:
        """Every member after the manifest, ``(name, data)``, one at a time, each checked
        against the manifest (listed, once, its size and SHA-256); at the end, that none the
        manifest lists is missing."""
        files: dict[str, dict[str, Any]] = self.manifest["files"]
        seen: set[str] = set()
        info = self._first
        while info is not None:
            name = info.name
            if not info.isfile() or name not in files or name in seen:
                what = ("a second copy of a file" if name in seen
                        else "which is not a record or checkpoint")
                raise ArchiveError(f"{self.path} holds {name!r}, {what} its manifest lists; "
                                   "the archive was altered")
            expected = files[name]
            if info.size != expected["bytes"]:
                raise ArchiveError(f"{name} in {self.path} is {info.size:,} bytes, its manifest "
                                   f"says {expected['bytes']:,}; the archive was altered")
            data = self._read(info, expected["bytes"])
            if sha256(data) != expected["sha256"]:
                raise ArchiveError(f"{name} in {self.path} does not match its checksum (a "
                                   f"corrupted or altered archive); {_AGAIN}")
            seen.add(name)
            yield name, data
            info = self._next()
        missing = sorted(set(files) - seen)
        if missing:
            raise ArchiveError(f"{self.path} is truncated: it lacks {len(missing)} of the "
                               f"{len(files)} files its manifest lists (first: {missing[0]}); "
                               f"{_AGAIN}")


def check_record(name: str, data: bytes, path: Path, manifest: dict[str, Any]) -> None:
    """``ArchiveError`` unless ``data`` is a record with its digest, that this code computes,
    stored under its key."""
    from .fingerprint import code_fingerprint
    from .record import Record
    from .seal import SealError, check_record_shape, verify_record

    try:
        payload = json.loads(data)
        if not isinstance(payload, dict):
            raise SealError("it is not a JSON object")
        check_record_shape(payload)
        verify_record(payload)
        record = Record.from_dict(payload)
    except SealError as exc:
        raise ArchiveError(f"{name} in {path} is not a record that vouches for itself: {exc}; "
                           "nothing was imported") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArchiveError(f"{name} in {path} is not a record ({exc})") from None
    if record.key != Path(name).stem:
        raise ArchiveError(f"{name} in {path} holds the record of run {record.key}; the "
                           "archive was altered")
    if record.spec.key() == record.key:
        return
    here, made = code_fingerprint(), manifest.get("code")
    if made == here:
        raise ArchiveError(f"the spec of record {record.key} in {path} does not give its key "
                           f"under the code that made it (code {here}, here and in the "
                           "archive): the record was edited after it was computed")
    made_by = (manifest.get("versions") or {}).get("tlkit", "?")
    raise ArchiveError(
        f"{path} holds records made by a different computation (code {made}, tlkit {made_by}; "
        f"this installation computes code {here}): none is imported. Rebuild the results "
        "with this code, or install the tlkit that made them")


def check_checkpoint(name: str, data: bytes, path: Path) -> None:
    """``ArchiveError`` unless ``data`` is a checkpoint torch loads, with its digest."""
    import torch

    from .seal import open_state

    try:
        open_state(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a file it cannot load
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArchiveError(f"{name} in {path} is not a checkpoint that vouches for itself "
                           f"({reason[:120]}); nothing was imported") from None
