"""Checks of the fields of frozen specs: a wrong type is a ``TypeError``, a value out of range
a ``ValueError``, each naming the class and the field (``TransferSpec.layers``).

The notebooks' parameters have checks of their own that name the parameter as typed
(:mod:`tlkit.experiments.params`); these guard the API, where a spec is built by hand.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_type", "check_int", "check_number"]


def check_type(owner: str, name: str, value: Any, kind: type | tuple[type, ...],
               what: str) -> None:
    """``TypeError`` naming ``owner.name`` when ``value`` is not of ``kind`` (bools are not
    numbers here: ``layers=True`` is a mistake, not one layer)."""
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
