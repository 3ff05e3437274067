"""Checks of types and ranges, in one place: spec fields, notebook parameters, dataset options.

Each check raises before any work starts, with a message that names what is wrong the way its
reader wrote it:

* a spec field (:class:`~tlkit.spec.RunSpec` and its parts, :class:`~tlkit.config.TrainConfig`):
  a wrong type is a ``TypeError``, a value out of range a ``ValueError``, each naming the class
  and the field (``TransferSpec.layers``) — :func:`check_type`, :func:`check_int`,
  :func:`check_number`;
* a notebook parameter or profile setting: a ``ValueError`` naming the parameter as typed —
  :func:`positive_int`, :func:`number`, :func:`int_list`;
* a dataset option: a ``ValueError`` naming the option and the dataset —
  :func:`option_int`, :func:`option_float`, :func:`option_bool`.

A bool is never a number here: ``layers=True`` is a mistake, not one layer. This module
imports neither torch nor numpy.
"""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Sequence
from typing import Any

__all__ = ["shown", "is_int", "is_number", "check_type", "check_int", "check_number",
           "positive_int", "number", "int_list", "option_int", "option_float", "option_bool"]

_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 8
_SHORT.maxstring = _SHORT.maxother = 60


def shown(value: Any) -> str:
    """``repr(value)``, cut short (at most 8 items of a list, 60 characters of a string), so a
    message about a huge value stays one readable line."""
    return _SHORT.repr(value)


def is_int(value: Any, *, exact: bool = True) -> bool:
    """Whether ``value`` is an integer and not a bool: a Python ``int`` (``exact``), or any
    integral number such as numpy's (``exact=False``)."""
    kind = int if exact else numbers.Integral
    return isinstance(value, kind) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --- spec fields ----------------------------------------------------------------------------


def check_type(owner: str, name: str, value: Any, kind: type | tuple[type, ...],
               what: str) -> None:
    """``TypeError`` naming ``owner.name`` when ``value`` is not of ``kind`` (bools are not
    numbers here)."""
    numeric = kind in (int, float) or kind == (int, float)
    if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
        raise TypeError(f"{owner}.{name} must be {what}, got {type(value).__name__} "
                        f"{value!r}")


def check_int(owner: str, name: str, value: Any, low: int) -> None:
    """An integer (not a bool) ``>= low``."""
    check_type(owner, name, value, int, "an integer")
    if value < low:
        raise ValueError(f"{owner}.{name} must be >= {low}, got {value!r}")


def check_number(owner: str, name: str, value: Any) -> None:
    """A real number (not a bool) ``>= 0``; ``nan`` fails."""
    check_type(owner, name, value, (int, float), "a number")
    if not value >= 0:  # also rejects nan
        raise ValueError(f"{owner}.{name} must be >= 0, got {value!r}")


# --- notebook parameters and profile settings ------------------------------------------------


def positive_int(name: str, value: Any, low: int = 1, why: str = "") -> int:
    """``value`` if it is an integer ``>= low``; ``why`` explains the bound in the message."""
    if not is_int(value) or value < low:
        reason = f" ({why})" if why else ""
        bound = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {bound}{reason}, got {shown(value)}")
    return value


def number(name: str, value: Any, *, positive: bool = False) -> float:
    """``value`` if it is a real number ``>= 0`` (``> 0`` when ``positive``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and (
        value > 0 if positive else value >= 0)
    if not ok:
        what = "a positive" if positive else "a non-negative"
        raise ValueError(f"{name} must be {what} number, got {shown(value)}")
    return float(value)


def int_list(name: str, values: Any, *, low: int = 1, high: int | None = None,
             allow: Sequence[Any] = ()) -> list[Any]:
    """``values`` if it is a non-empty list of distinct integers in ``low..high`` (or of the
    special values in ``allow``, e.g. ``None`` or ``"all"`` for a whole split)."""
    span = f"{low}..{high}" if high is not None else f">= {low}"
    extra = f" (or {', '.join(map(repr, allow))})" if allow else ""
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(f"{name} must be a non-empty list of integers {span}{extra}, "
                         f"got {shown(values)}")
    for v in values:
        if v in allow and not isinstance(v, bool):
            continue
        if not is_int(v) or v < low or (high is not None and v > high):
            raise ValueError(f"{name} must be a non-empty list of integers {span}{extra}, "
                             f"got {shown(values)}")
    canonical = [None if v in allow else v for v in values]
    if len(set(canonical)) != len(canonical):
        seen: set[Any] = set()
        twice = next(v for v in canonical if v in seen or seen.add(v))
        raise ValueError(f"{name} repeats a value ({twice!r}): {shown(values)}")
    return list(values)


# --- dataset options --------------------------------------------------------------------------


def option_int(dataset: str, option: str, value: Any, minimum: int) -> int:
    """``value`` if it is an integer ``>= minimum`` (numpy's too), else a ValueError naming the
    option."""
    if not is_int(value, exact=False) or value < minimum:
        raise ValueError(
            f"option {option!r} of dataset {dataset!r} must be an integer >= {minimum}, "
            f"got {value!r}"
        )
    return int(value)


def option_float(dataset: str, option: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float if it lies in ``[low, high]``, else a ValueError naming the option."""
    if not is_number(value) or not low <= value <= high:
        raise ValueError(
            f"option {option!r} of dataset {dataset!r} must be a number in [{low}, {high}], "
            f"got {value!r}"
        )
    return float(value)


def option_bool(dataset: str, option: str, value: Any) -> bool:
    """``value`` if it is a bool (numpy's too), else a ValueError naming the option."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise ValueError(f"option {option!r} of dataset {dataset!r} must be True or False")
    return bool(value)
