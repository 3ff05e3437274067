"""What a sweep's worker executes: one run, or a batch of runs trained together.

Both entry points take and return plain objects (spec dicts, record dicts, CPU tensors) so
that they pickle for process pools and Dask. A worker only reads the run cache (the checkpoint
of a run's source); the sweep that called it writes the results.
"""

from __future__ import annotations

import traceback
from typing import Any

from .runner import MissingSourceError
from .spec import RunSpec
from .store import Store

__all__ = ["execute_one", "execute_many"]


def execute_one(spec_dict: dict[str, Any], root: str, device: str,
                keep_state: bool) -> dict[str, Any]:
    """Worker entry point: run one spec, return its record dict or the error's traceback.

    Reads the checkpoint of the spec's source run from the store at ``root`` (never writes).
    With ``keep_state`` the run's final weights come back under ``"state"`` (CPU tensors) for
    the sweep to save. Takes and returns plain objects so that it pickles for process pools and
    Dask.
    """
    from .runner import train

    spec = RunSpec.from_dict(spec_dict)
    try:
        source = None
        if spec.transfer.source is not None:
            source = Store(root).load_checkpoint(spec.transfer.source)
            if source is None:
                raise MissingSourceError(
                    f"the checkpoint of source run {spec.transfer.source.key()} is not in "
                    f"{root}; it is written before any run that copies it is submitted")
        trained = train(spec, source=source, device=device)
    except Exception as exc:  # noqa: BLE001 - reported per run
        return {"key": spec.key(), "error": traceback.format_exc(),
                "diverged": isinstance(exc, FloatingPointError)}
    out: dict[str, Any] = {"key": spec.key(), "record": trained.record.to_dict()}
    if keep_state:
        out["state"] = trained.state
    return out


def execute_many(spec_dicts: list[dict[str, Any]], root: str, device: str,
                 keep_states: list[bool]) -> list[dict[str, Any]]:
    """Worker entry point for a batch: the runs of ``spec_dicts`` trained together where they
    can (:func:`tlkit.runner.train_many`), each returned as :func:`execute_one` returns it. A
    single spec is :func:`execute_one`."""
    from .runner import train_many

    if len(spec_dicts) == 1:
        return [execute_one(spec_dicts[0], root, device, keep_states[0])]
    specs = [RunSpec.from_dict(d) for d in spec_dicts]
    sources: list[Any] = []
    store = Store(root)
    for spec in specs:
        src = spec.transfer.source
        sources.append(None if src is None else store.load_checkpoint(src))
    results = train_many(specs, sources)
    out = []
    for spec, keep, result in zip(specs, keep_states, results, strict=True):
        if isinstance(result, Exception):
            error = "".join(traceback.format_exception(result))
            out.append({"key": spec.key(), "error": error,
                        "diverged": isinstance(result, FloatingPointError)})
            continue
        item: dict[str, Any] = {"key": spec.key(), "record": result.record.to_dict()}
        if keep:
            item["state"] = result.state
        out.append(item)
    return out
