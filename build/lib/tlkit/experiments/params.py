"""Checks of notebook parameters, in one place: types, ranges, no repeats.

Every check raises ``ValueError`` with a message that names the parameter as the user typed
it, before any work starts. :func:`check_common` applies the checks every notebook shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["positive_int", "number", "int_list", "check_common", "PROFILE_NAMES"]

PROFILE_NAMES = ("smoke", "quick", "full")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(name: str, value: Any, low: int = 1, why: str = "") -> int:
    """``value`` if it is an integer ``>= low``; ``why`` explains the bound in the message."""
    if not _is_int(value) or value < low:
        reason = f" ({why})" if why else ""
        bound = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {bound}{reason}, got {value!r}")
    return value


def number(name: str, value: Any, *, positive: bool = False) -> float:
    """``value`` if it is a real number ``>= 0`` (``> 0`` when ``positive``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and (
        value > 0 if positive else value >= 0)
    if not ok:
        what = "a positive" if positive else "a non-negative"
        raise ValueError(f"{name} must be {what} number, got {value!r}")
    return float(value)


def int_list(name: str, values: Any, *, low: int = 1, high: int | None = None,
             allow: Sequence[Any] = ()) -> list[Any]:
    """``values`` if it is a non-empty list of distinct integers in ``low..high`` (or of the
    special values in ``allow``, e.g. ``None`` or ``"all"`` for a whole split)."""
    span = f"{low}..{high}" if high is not None else f">= {low}"
    extra = f" (or {', '.join(map(repr, allow))})" if allow else ""
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(f"{name} must be a non-empty list of integers {span}{extra}, "
                         f"got {values!r}")
    for v in values:
        if v in allow and not isinstance(v, bool):
            continue
        if not _is_int(v) or v < low or (high is not None and v > high):
            raise ValueError(f"{name} must be a non-empty list of integers {span}{extra}, "
                             f"got {values!r}")
    canonical = [None if v in allow else v for v in values]
    if len(set(canonical)) != len(canonical):
        raise ValueError(f"{name} repeats a value: {values!r}")
    return list(values)


def check_common(params: Mapping[str, Any]) -> None:
    """Checks shared by every notebook: ``profile``, ``seeds``, ``device``, ``executor``."""
    if "profile" in params and params["profile"] not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_NAMES)}, "
                         f"got {params['profile']!r}")
    seeds = params.get("seeds")
    if seeds is not None:
        positive_int("seeds", seeds, why="the number of seeds")
    device = params.get("device")
    if device is not None:
        ok = isinstance(device, str) and (
            device in ("auto", "cpu", "cuda") or device.startswith("cuda:"))
        if not ok:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    executor = params.get("executor")
    if executor is not None:
        from ..executors import EXECUTORS

        if executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
