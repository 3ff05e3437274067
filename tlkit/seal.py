"""Digests by which a stored record and a stored checkpoint vouch for themselves.

A record is written with the SHA-256 of its own content::

    sha256 = SHA-256( canonical JSON of the record without its "sha256" field )

where the canonical JSON sorts keys and has no spaces, so the digest does not depend on how
the file is indented. A checkpoint is written as ``{"format", "sha256", "state"}``, the digest
taken over every tensor of ``state`` in the order of their names: name, dtype, shape, then the
tensor's bytes. Both are verified on every read (:class:`tlkit.store.Store`) and by
``tlkit results export`` and ``import``; a file that fails is moved aside and recomputed.

**What the digests protect against:** a file damaged on disk or in a copy (a bit flipped, a
truncated write, a disk that filled up) and an edit that does not recompute the digest (a
``test_acc`` changed by hand, a spec edited so that it no longer matches its run). **What they
do not:** anyone who edits a record on purpose can recompute its digest, since the formula is
public. Results published for others are vouched for by a signature over the archive's
manifest (:mod:`tlkit.signing`), which only the holder of the private key can make.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["DIGEST", "CHECKPOINT_FORMAT", "SealError", "record_digest", "seal_record",
           "verify_record", "check_record_shape", "state_digest", "seal_state", "open_state"]

#: The field of a record that holds its digest.
DIGEST = "sha256"
#: The ``format`` of a checkpoint file that carries its digest.
CHECKPOINT_FORMAT = "tlkit-checkpoint-1"


class SealError(ValueError):
    """A record or checkpoint whose digest is missing or does not match its content, or that
    does not have the shape of one; its message says why, as "it ..."."""


def record_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``payload`` without its :data:`DIGEST`."""
    body = {k: v for k, v in payload.items() if k != DIGEST}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def seal_record(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with its :data:`DIGEST` (:func:`record_digest`)."""
    out = {k: v for k, v in payload.items() if k != DIGEST}
    out[DIGEST] = record_digest(out)
    return out


def verify_record(payload: Mapping[str, Any]) -> None:
    """Raise :class:`SealError` unless ``payload`` carries the digest of its content."""
    found = payload.get(DIGEST)
    if not isinstance(found, str):
        raise SealError("it carries no digest (written by hand or by an earlier tlkit)")
    if found != record_digest(payload):
        raise SealError("its content does not match its digest (edited or corrupted after it "
                        "was written)")


def check_record_shape(payload: Mapping[str, Any]) -> None:
    """Raise :class:`SealError` unless ``payload`` has the shape of a record: a 16-hex-digit
    ``key``, a ``spec`` object, ``metrics`` mapping names to numbers (``None`` allowed) with a
    finite ``test_acc`` in [0, 1], and, where present, ``history`` mapping names to lists and
    ``provenance`` an object."""
    key = payload.get("key")
    if not (isinstance(key, str) and len(key) == 16
            and all(c in "0123456789abcdef" for c in key)):
        raise SealError(f"its key is {key!r}, not 16 hex digits")
    if not isinstance(payload.get("spec"), dict):
        raise SealError("its spec is not an object")
    metrics = payload.get("metrics")
    if not isinstance(metrics, dict):
        raise SealError(f"its metrics are a JSON {type(metrics).__name__}, not an object")
    for name, value in metrics.items():
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (int, float))):
            raise SealError(f"its metric {name!r} is {value!r}, not a number")
    acc = metrics.get("test_acc")
    if not isinstance(acc, (int, float)) or isinstance(acc, bool) or not (
            math.isfinite(acc) and 0.0 <= acc <= 1.0):
        raise SealError(f"its test_acc is {acc!r}, not an accuracy in [0, 1]")
    history = payload.get("history", {})
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise SealError("its history is not an object of lists")
    if not isinstance(payload.get("provenance", {}), dict):
        raise SealError("its provenance is not an object")


def state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state dict: each tensor's name, dtype, shape and bytes, by name."""
    h = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        h.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def seal_state(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The object a checkpoint file holds: ``state`` (on the CPU) with its digest."""
    cpu = {k: v.detach().cpu() for k, v in state.items()}
    return {"format": CHECKPOINT_FORMAT, DIGEST: state_digest(cpu), "state": cpu}


def open_state(obj: Any) -> dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint file, its digest verified; :class:`SealError`
    otherwise."""
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise SealError("it is not a tlkit checkpoint with a digest")
    state = obj.get("state")
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise SealError("its state is not a dict of tensors")
    if obj.get(DIGEST) != state_digest(state):
        raise SealError("its weights do not match their digest (edited or corrupted after "
                        "they were written)")
    return state
