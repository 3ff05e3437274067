"""Experiments behind the book's notebooks: specs from parameters, and the numbers pages plot.

Each notebook ``notebooks/NN_name.ipynb`` has a module or package ``tlkit.experiments.name``
that declares its :class:`~tlkit.experiments.experiment.Experiment` as ``EXPERIMENT`` (its
stages, its linked notebooks, the tables its exercises grade), with

* ``PROFILES``: the ``smoke``, ``quick`` and ``full`` settings, read from
  ``profiles/<name>.yaml`` (:mod:`tlkit.experiments.profile`);
* ``check_params(params)``: raises ``ValueError`` for a bad value, before any work;
* functions that list its runs and reduce a results table to the numbers, intervals and
  verdict labels its page plots and glues (the sentences are the notebook's).

The registry (:data:`EXPERIMENTS`) is found from the modules of this package: adding a chapter
is its notebook, its line in ``_toc.yml``, its experiment module and its profile file.
:func:`start` begins a notebook's run; :func:`check_params` adds the checks common to every
notebook (:func:`~tlkit.experiments.profile.check_common`; the names, types and ranges of the
settings given, against the profiles, :mod:`~tlkit.experiments.setting_checks`; and the count of
the runs they plan, :mod:`~tlkit.experiments.plan_size`).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .experiment import Experiment, Run, Stage
from .profile import PROFILE_NAMES, check_common, load_profiles, profile_table, settings

__all__ = ["EXPERIMENTS", "NOTEBOOKS", "PROFILE_NAMES", "Experiment", "Run", "Stage", "experiment",
           "start", "module_for", "check_params", "check_common", "settings", "load_profiles",
           "profile_table", "known_specs", "with_overrides", "LINKED"]



@functools.cache
def _registry() -> dict[str, Experiment]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        declared = getattr(module, "EXPERIMENT", None)
        if isinstance(declared, Experiment):
            found[declared.notebook] = declared
    return dict(sorted(found.items()))


class _Lazy(Mapping):
    """A mapping filled from the registry on first use (importing every experiment module)."""

    def __init__(self, build: Any) -> None:
        self._build = build

    def __getitem__(self, key: str) -> Any:
        return self._build()[key]

    def __iter__(self) -> Any:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())


#: notebook name (file stem) -> its declared experiment.
EXPERIMENTS: Mapping[str, Experiment] = _Lazy(_registry)
#: notebook name (file stem) -> experiment module.
NOTEBOOKS: Mapping[str, str] = _Lazy(lambda: {k: e.module for k, e in _registry().items()})
#: Settings a notebook takes from another notebook's profile (its sources, its targets), and
#: the key of its ``overrides`` that holds overrides of that profile: the runs it shares stay
#: the same runs when both notebooks are given the same overrides.
LINKED: Mapping[str, Mapping[str, str]] = _Lazy(
    lambda: {k: e.links for k, e in _registry().items() if e.links})


def experiment(notebook: str) -> Experiment:
    """The experiment of a notebook (by file stem, e.g. ``"02_small_targets"``)."""
    try:
        return EXPERIMENTS[notebook]
    except KeyError:
        raise ValueError(f"unknown notebook {notebook!r}; valid: {', '.join(EXPERIMENTS)}"
                         ) from None


def module_for(notebook: str) -> ModuleType:
    """The experiment module of a notebook (by file stem, e.g. ``"00_quickstart"``)."""
    return experiment(notebook).code


def start(notebook: str, params: Mapping[str, Any], *, device: str = "auto",
          executor: Any = None) -> Run:
    """Begin ``notebook``'s experiment with ``params`` (checked once): the notebook then runs
    its stages by name (``run.stage("runs")``)."""
    return experiment(notebook).start(params, device=device, executor=executor)


#: Settings of every notebook's replicates that no profile sets, accepted in ``overrides``: the
#: first seed of a pilot and a coursework variant's list of seeds
#: (:func:`~tlkit.experiments.profile.replicate_seeds`).
SEED_SETTINGS = ("first_seed", "replicates")


def with_overrides(notebook: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with its ``overrides`` (a mapping of the profile's own settings, e.g.
    ``{"validation": 2, "sizes": [1]}``, or of :data:`SEED_SETTINGS`) merged in, as the
    notebook merges them; a mapping given for a mapping of the profile is merged into it key
    by key (``{"recipes": {"scratch": {"lr": 0.1}}}`` changes one rate,
    :func:`~tlkit.experiments.profile.merged`). A key of :data:`LINKED` (``layer_transfer``)
    holds overrides of the linked notebook's profile, checked the same way; the values are
    checked by :func:`~tlkit.experiments.setting_checks.check_settings`.

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
    known = experiment(notebook).profiles.get(profile, {})
    linked = LINKED.get(notebook, {})
    for key, other in linked.items():
        if key in overrides:  # checked as that notebook's own overrides
            with_overrides(other, {"profile": profile, "overrides": overrides[key]})
    unknown = [k for k in overrides
               if k not in known and k not in linked and k not in SEED_SETTINGS]
    if unknown:
        valid = [*known, *linked, *SEED_SETTINGS]
        close = difflib.get_close_matches(str(unknown[0]), valid, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"overrides names {', '.join(map(str, unknown))}, not a setting of the "
                         f"{profile} profile of {notebook}{hint}; valid: {', '.join(valid)}")
    twice = [k for k in overrides if out.get(k) is not None]
    if twice:
        raise ValueError(f"{', '.join(twice)} given both as a parameter and in overrides; "
                         "give each once")
    return {**out, **overrides}


def check_params(notebook: str, params: Mapping[str, Any]) -> None:
    """Common checks and those of the settings given against the profiles (the plan's count of
    runs included), then the notebook's own ``check_params`` (on ``params`` with its
    ``overrides`` merged in, :func:`with_overrides`); once for equal parameters."""
    experiment(notebook).check(params)


def known_specs(notebook: str, params: Mapping[str, Any], store: Any = None,
                device: str = "auto") -> list[Any]:
    """The runs a notebook is known to need before it starts: every listed stage's (rates
    chosen later on validation are their grids' first, which need the same datasets and
    weights). With the run cache ``store`` (a :class:`~tlkit.store.Store`), a stage whose
    earlier stages are all cached there lists the very runs the notebook will ask for
    (:meth:`~tlkit.experiments.experiment.Experiment.known`). ``[]`` for a notebook without
    an experiment."""
    if notebook not in EXPERIMENTS:
        return []
    if store is not None:
        return experiment(notebook).known(params, store, device)
    return experiment(notebook).listing(params, pinned_only=False)
