"""Experiments behind the book's notebooks: specs from parameters, and the numbers pages plot.

Each notebook ``notebooks/NN_name.ipynb`` has a module or package here (see :data:`NOTEBOOKS`)
with

* ``PROFILES``: the ``smoke``, ``quick`` and ``full`` settings, read from
  ``profiles/<name>.yaml`` (:mod:`tlkit.experiments.profile`);
* ``check_params(params)``: raises ``ValueError`` for a bad value, before any work;
* ``specs(params)``: the list of :class:`~tlkit.spec.RunSpec` the notebook runs;
* functions that reduce a results table to the numbers, intervals and verdict labels its page
  plots and glues (the sentences are the notebook's).

:func:`check_params` adds the checks common to every notebook (:mod:`.params`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .profile import PROFILE_NAMES, check_common, load_profiles, profile_table, settings

__all__ = ["NOTEBOOKS", "PROFILES", "module_for", "check_params", "check_common", "settings",
           "load_profiles", "profile_table", "known_specs", "with_overrides", "LINKED"]

PROFILES = PROFILE_NAMES

#: notebook name (file stem) -> experiment module
NOTEBOOKS: dict[str, str] = {
    "00_quickstart": "tlkit.experiments.quickstart",
    "01_layer_transfer": "tlkit.experiments.layer_transfer",
    "02_small_targets": "tlkit.experiments.small_targets",
    "03_pretrained": "tlkit.experiments.pretrained",
    "04_hyperparameters": "tlkit.experiments.hyperparameters",
    "90_recipes": "tlkit.experiments.recipes",
}


def module_for(notebook: str) -> ModuleType:
    """The experiment module of a notebook (by file stem, e.g. ``"00_quickstart"``)."""
    try:
        return importlib.import_module(NOTEBOOKS[notebook])
    except KeyError:
        raise ValueError(f"unknown notebook {notebook!r}; valid: {', '.join(NOTEBOOKS)}") from None


#: Settings a notebook takes from another notebook's profile (its sources, its targets), and
#: the key of its ``overrides`` that holds overrides of that profile: the runs it shares stay
#: the same runs when both notebooks are given the same overrides.
LINKED: dict[str, dict[str, str]] = {
    "02_small_targets": {"layer_transfer": "01_layer_transfer"},
    "03_pretrained": {"layer_transfer": "01_layer_transfer"},
    "04_hyperparameters": {"pretrained": "03_pretrained"},
    "90_recipes": {name: name for name in ("00_quickstart", "01_layer_transfer",
                                           "02_small_targets")},
}


def with_overrides(notebook: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with its ``overrides`` (a mapping of the profile's own settings, e.g.
    ``{"validation": 2, "sizes": [1]}``) merged in, as the notebook merges them. A key of
    :data:`LINKED` (``layer_transfer``) holds overrides of the linked notebook's profile,
    checked the same way.

    Raises:
        ValueError: ``overrides`` is not a mapping, or names a setting the profile lacks.
    """
    overrides = params.get("overrides")
    out = {k: v for k, v in params.items() if k != "overrides"}
    if overrides is None:
        return out
    if not isinstance(overrides, Mapping):
        raise ValueError(f"overrides must be a mapping of the profile's settings, such as "
                         f"{{validation: 2}}, got {overrides!r}")
    profile = params.get("profile", "quick")
    known = getattr(module_for(notebook), "PROFILES", {}).get(profile, {})
    linked = LINKED.get(notebook, {})
    for key, other in linked.items():
        if key in overrides:  # checked as that notebook's own overrides
            with_overrides(other, {"profile": profile, "overrides": overrides[key]})
    unknown = [k for k in overrides if k not in known and k not in linked]
    if unknown:
        raise ValueError(f"overrides names {', '.join(map(str, unknown))}, not a setting of the "
                         f"{profile} profile of {notebook}; valid: "
                         f"{', '.join([*known, *linked])}")
    twice = [k for k in overrides if out.get(k) is not None]
    if twice:
        raise ValueError(f"{', '.join(twice)} given both as a parameter and in overrides; "
                         "give each once")
    return {**out, **overrides}


def check_params(notebook: str, params: Mapping[str, Any]) -> None:
    """Common checks, then the notebook's own ``check_params`` (on ``params`` with its
    ``overrides`` merged in, :func:`with_overrides`)."""
    params = with_overrides(notebook, params)
    check_common(params)
    module = module_for(notebook)
    if hasattr(module, "check_params"):
        module.check_params(params)


#: Functions of an experiment module that list, from the parameters alone, runs it will need.
_LISTINGS = ("specs", "search_specs", "layer_transfer_specs")


def known_specs(notebook: str, params: Mapping[str, Any]) -> list[Any]:
    """The runs a notebook is known to need before it starts: its module's ``specs``,
    ``search_specs`` and ``layer_transfer_specs`` (rates chosen later on validation are their
    grids' first, which need the same datasets and weights). ``[]`` for a notebook without
    an experiment module."""
    if notebook not in NOTEBOOKS:
        return []
    params = with_overrides(notebook, params)
    module = module_for(notebook)
    out: list[Any] = []
    for name in _LISTINGS:
        listing = getattr(module, name, None)
        if callable(listing):
            out += listing(params)
    return out
