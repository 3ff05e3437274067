"""Experiments behind the book's notebooks: specs from parameters, and parameter checks.

Each notebook ``notebooks/NN_name.ipynb`` has a module here (see :data:`NOTEBOOKS`) with

* ``PROFILES``: the settings of the ``smoke``, ``quick`` and ``full`` profiles;
* ``check_params(params)``: raises ``ValueError`` for a bad value, before any work;
* ``specs(params)``: the list of :class:`~tlkit.spec.RunSpec` the notebook runs.

:func:`check_params` adds the checks common to every notebook (profile, seeds, device).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

__all__ = ["NOTEBOOKS", "PROFILES", "module_for", "check_params", "check_common"]

PROFILES = ("smoke", "quick", "full")

#: notebook name (file stem) -> experiment module
NOTEBOOKS: dict[str, str] = {
    "00_quickstart": "tlkit.experiments.quickstart",
    "01_layer_transfer": "tlkit.experiments.layer_transfer",
    "02_small_targets": "tlkit.experiments.small_targets",
}


def module_for(notebook: str) -> ModuleType:
    """The experiment module of a notebook (by file stem, e.g. ``"00_quickstart"``)."""
    try:
        return importlib.import_module(NOTEBOOKS[notebook])
    except KeyError:
        raise ValueError(f"unknown notebook {notebook!r}; valid: {', '.join(NOTEBOOKS)}") from None


def check_common(params: Mapping[str, Any]) -> None:
    """Checks shared by every notebook: ``profile``, ``seeds``, ``device``, ``executor``."""
    if "profile" in params and params["profile"] not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {params['profile']!r}")
    seeds = params.get("seeds")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"seeds must be a positive integer (the number of seeds), got {seeds!r}")
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


def check_params(notebook: str, params: Mapping[str, Any]) -> None:
    """Common checks, then the notebook's own ``check_params``."""
    check_common(params)
    module = module_for(notebook)
    if hasattr(module, "check_params"):
        module.check_params(params)


def settings(profiles: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]
             ) -> dict[str, Any]:
    """The profile's settings, overridden by any parameter that is not ``None``."""
    profile = params.get("profile", "quick")
    if profile not in profiles:
        raise ValueError(f"profile must be one of {', '.join(profiles)}, got {profile!r}")
    out = dict(profiles[profile])
    out.update({k: v for k, v in params.items() if v is not None and k != "profile"})
    out["profile"] = profile
    return out
