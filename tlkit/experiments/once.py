"""Checks run once for equal arguments in a process (:func:`checked_once`).

A notebook's listings each check their parameters (each can be called alone), and a build
calls them many times: a check that passed for equal arguments, with the same data folder and
the same limit of a plan's runs (which some checks read), is not run again.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any

__all__ = ["checked_once"]


def _frozen(args: Any) -> str:
    """A key for equal parameters (and the data folder and the limit of a plan's runs, which
    some checks read)."""
    return json.dumps([args, os.environ.get("TLKIT_DATA"), os.environ.get("TLKIT_MAX_RUNS")],
                      sort_keys=True, default=repr)


def checked_once(check: Callable[..., None]) -> Callable[..., None]:
    """``check`` run once for equal arguments (parameters) in a process: a notebook's listings
    each check their parameters (they can be called alone), and a build calls them many times."""
    passed: set[str] = set()

    @functools.wraps(check)
    def once(*args: Any) -> None:
        key = _frozen(list(args))
        if key not in passed:
            check(*args)
            passed.add(key)

    return once
