"""Expensive computations of a build (distances, transferability scores) cached like runs.

A notebook that re-executes on a warm run cache should only re-plot. Its other costly steps
are pure functions of what they read: the OTDD between two training pools, the scores of a
source network on a target's images. :func:`cached` keeps each result in the results folder
under a key that hashes

    key = SHA-256(kind, the inputs, the fingerprint of the code that computes it),

where the inputs name what is read (data specs, a source run's key, which itself hashes the
code that trained it) and the code is the computing code of runs
(:func:`tlkit.fingerprint.code_fingerprint`) plus the modules the computation runs
(``modules``, e.g. ``measures``). Editing any of them changes every key, as for records.

Layout: ``computed/<kind>/<key[:2]>/<key>.json``, a JSON object ``{"key", "kind", "inputs",
"value"}`` written atomically. A file that cannot be read, is not such an object or names
another key is moved under ``damaged/`` with one warning line (as records are) and the value
is computed again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .fingerprint import _PACKAGE, code_fingerprint, source_fingerprint
from .store import Store, atomic_write_bytes

__all__ = ["cached", "computed_path", "modules_fingerprint"]


def modules_fingerprint(modules: Sequence[str]) -> str:
    """16 hex digits of the syntax trees of ``modules`` (files or folders relative to the
    package, docstrings left out) and of :func:`~tlkit.fingerprint.code_fingerprint`."""
    digest = hashlib.sha256(code_fingerprint().encode())
    digest.update(_sources(tuple(sorted(modules))).encode())
    return digest.hexdigest()[:16]


@functools.cache
def _sources(modules: tuple[str, ...]) -> str:
    """The digest of the syntax trees of ``modules``, parsed once per process (as the code
    fingerprint is): the source files of an installation do not change under a process."""
    digest = hashlib.sha256()
    for entry in modules:
        path = _PACKAGE / entry
        if not path.exists():
            raise ValueError(f"no module {entry!r} in tlkit")
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(_PACKAGE).as_posix().encode())
            digest.update(source_fingerprint(file.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()


def _key(kind: str, inputs: Mapping[str, Any], modules: Sequence[str]) -> str:
    payload = json.dumps({"kind": kind, "inputs": inputs, "code": modules_fingerprint(modules)},
                         sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def computed_path(store: Store, kind: str, key: str) -> Path:
    """Where the value of ``key`` of ``kind`` is kept in ``store``."""
    return store.root / "computed" / kind / key[:2] / f"{key}.json"


def cached(kind: str, inputs: Mapping[str, Any], compute: Callable[[], Any], *,
           modules: Sequence[str] = (), store: Store | None = None) -> Any:
    """``compute()``, or the value kept from an earlier call with the same ``kind``,
    ``inputs`` and code.

    Args:
        kind: a folder name for this kind of value (``"scores"``, ``"distances"``).
        inputs: JSON-ready description of everything the value is computed from.
        compute: the computation; its value must be JSON-serialisable (NaN allowed).
        modules: tlkit modules (files or folders relative to the package) the computation
            runs, besides the computing code of runs.
        store: the results folder (default: ``$TLKIT_RESULTS``).
    """
    store = store if store is not None else Store()
    key = _key(kind, inputs, modules)
    path = computed_path(store, kind, key)
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raw = None
    if raw is not None:
        try:
            entry = json.loads(raw.decode("utf-8"))
            if not isinstance(entry, dict) or "value" not in entry:
                raise ValueError("not a computed value")
            if entry.get("key") != key:
                raise ValueError(f"it holds the value of {entry.get('key')}")
            return entry["value"]
        except (ValueError, UnicodeDecodeError) as exc:
            store.quarantine(path, str(exc).splitlines()[0][:200])
    value = compute()
    payload = {"key": key, "kind": kind, "inputs": inputs, "value": value}
    try:
        atomic_write_bytes(path, json.dumps(payload, default=str).encode())
    except OSError:  # a read-only results folder: the value is still returned
        pass
    return value
