"""An experiment declared as an object: what a chapter runs, in which order, and what its
exercises read.

Each experiment module declares one :class:`Experiment` as ``EXPERIMENT``:

* ``name`` and ``notebook`` (the chapter's file stem, ``"02_small_targets"``), its profiles
  (``profiles/<name>.yaml``) and its parameter checks;
* its **stages**, in order: each a function from the checked parameters and the records of the
  stages before it to the specs it runs (a search, then the runs at the rates it chose), and,
  where the specs are known from the parameters alone (or with stand-ins for what a search
  will choose), a listing of them;
* the notebooks whose profiles it shares runs with (``links``: the key of its ``overrides``
  that holds overrides of that notebook's profile);
* the tables its exercises grade, each rebuilt from the records of its stages;
* the effects its *predict, then run* exercises turn on (``effects(table, params)``: a list
  of :class:`Effect` computed from its tables, ``table(name)``), which
  ``tlkit assignments`` reports as signal or noise.
* the files its coursework ships beside the student's notebook (``coursework_files(folder,
  params)``: writes them into the empty ``folder`` and returns the parameters that point the
  notebook at them, as paths relative to that folder), which ``tlkit assignments`` copies
  beside the notebooks it writes and into the grading package.

A notebook starts its experiment once (:func:`start`, which checks the parameters once) and
runs its stages by name; the preflight, the golden listings, the teaching tools and the
execution statistics ask the same object. Nothing slices records by position.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .once import checked_once

__all__ = ["Effect", "Stage", "Experiment", "Run", "listed", "checked_once"]

Params = Mapping[str, Any]
Done = Mapping[str, list[Any]]


@dataclass(frozen=True)
class Effect:
    """The effect an exercise turns on, with its 95% interval over seeds.

    Attributes:
        exercise: The question's name.
        effect: What is measured, in words.
        estimate: The mean difference.
        low: Lower end of its 95% interval.
        high: Upper end.
        seeds: Seeds per side.
    """

    exercise: str
    effect: str
    estimate: float
    low: float
    high: float
    seeds: int

    @property
    def clear(self) -> bool:
        """The interval excludes zero: the run resolves the effect."""
        return bool(self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class Stage:
    """One stage of an experiment.

    Attributes:
        name: how the notebook asks for it (``"runs"``, ``"search"``).
        specs: ``specs(params, done)``: the runs of the stage, from the parameters and the
            records of the stages before it (``done``, by stage name).
        listing: ``listing(params)``: the runs known before any stage has run (with
            stand-ins for what earlier stages choose); ``None`` when they cannot be known.
        pinned: whether the listing is the chapter's design (pinned by the golden listings);
            a search that other stages choose from is listed but not pinned.
        failures: whether runs of the stage may fail (a diverged search point is a result,
            not an error).
        keep: whether the stage stores every run's checkpoint (networks a page reads).
    """

    name: str
    specs: Callable[[Params, Done], list[Any]]
    listing: Callable[[Params], list[Any]] | None = None
    pinned: bool = True
    failures: bool = False
    keep: bool = False


def listed(function: Callable[[Params], list[Any]]) -> Stage:
    """A stage whose runs follow from the parameters alone (its listing is its specs)."""
    name = function.__name__
    return Stage("runs" if name == "specs" else name, lambda params, done: function(params),
                 function)


class _CachedRecords(Mapping[str, list[Any]]):
    """Stage name -> its records in the run cache, in the order of its runs, as a sweep returns
    them; read when a later stage asks for them."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.specs: dict[str, list[Any]] = {}
        self._read: dict[str, list[Any]] = {}

    def __getitem__(self, name: str) -> list[Any]:
        from ..sweep import cached_records

        if name not in self._read:
            self._read[name] = cached_records(self.specs[name], self.store)
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)


@dataclass(frozen=True)
class Experiment:
    """One chapter's experiment (see the module doc)."""

    name: str
    notebook: str
    module: str
    stages: tuple[Stage, ...]
    links: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, Callable[[Params, Done], Any]] = field(default_factory=dict)
    effects: Callable[[Callable[[str], Any], Params], list[Any]] | None = None
    coursework_files: Callable[[Path, Params], Mapping[str, str]] | None = None

    @property
    def code(self) -> ModuleType:
        """The experiment's module."""
        return importlib.import_module(self.module)

    @property
    def profiles(self) -> Mapping[str, Any]:
        """Its profiles by name (empty for an experiment without a profile file)."""
        return getattr(self.code, "PROFILES", {})

    def stage(self, name: str) -> Stage:
        """The stage ``name``; a ``ValueError`` lists the valid ones."""
        for s in self.stages:
            if s.name == name:
                return s
        raise ValueError(f"{self.notebook} has no stage {name!r}; valid: "
                         f"{', '.join(s.name for s in self.stages)}")

    def check(self, params: Params) -> dict[str, Any]:
        """The parameters with their ``overrides`` merged in, after every check (the common
        ones and the experiment's own); checked once for equal parameters."""
        from . import with_overrides

        merged = with_overrides(self.notebook, params)
        _check_all(self.notebook, self.module, merged)
        if merged.get("replicates") is not None:  # as many as the design runs of a condition
            _check_listed(self.notebook, merged)
        return merged

    def listing(self, params: Params, *, pinned_only: bool = True) -> list[Any]:
        """The runs known from the parameters alone, stage by stage (the pinned stages', or
        every listed stage's with ``pinned_only=False``); refused when they are more than
        :func:`~tlkit.experiments.plan_size.max_runs`."""
        from .plan_size import check_count

        merged = self.check(params)
        out: list[Any] = []
        for s in self.stages:
            if s.listing is not None and (s.pinned or not pinned_only):
                out += s.listing(merged)
        check_count(self.notebook, len(out))
        return out

    def known(self, params: Params, store: Any, device: str = "auto") -> list[Any]:
        """The runs known before the notebook starts, given the run cache ``store``: stage by
        stage, the runs a stage asks for given the records of the stages before it, read from
        the cache as a sweep would return them, while every one of those stages is complete
        there; from the first stage that is not, the listings (with their stand-ins for what
        is chosen later). A notebook whose known runs are all cached trains nothing."""
        from ..sweep import placed, plan

        merged = self.check(params)
        done = _CachedRecords(store)
        out: list[Any] = []
        complete = True
        for s in self.stages:
            if complete:
                specs = placed(s.specs(merged, done), device)
                complete = not plan(specs, store, s.keep)
                done.specs[s.name] = specs
            elif s.listing is not None:
                specs = s.listing(merged)
            else:
                continue
            out += specs
        return out

    def start(self, params: Params, *, device: str = "auto", executor: Any = None) -> Run:
        """A run of the experiment with ``params``, checked once (and ``device``: CUDA asked
        for where there is none is a ``ValueError``)."""
        from ..prechecks import check_device

        checked = self.check(params)
        check_device(device)
        return Run(self, checked, device, executor)


class Run:
    """One execution of an experiment: its checked parameters and its stages' records."""

    def __init__(self, experiment: Experiment, params: dict[str, Any], device: str,
                 executor: Any) -> None:
        self.experiment, self.params = experiment, params
        self.device, self.executor = device, executor
        self.done: dict[str, list[Any]] = {}
        self.failed: dict[str, Any] = {}

    def specs(self, name: str) -> list[Any]:
        """The runs of stage ``name`` given the stages already run."""
        return self.experiment.stage(name).specs(self.params, self.done)

    def stages(self, *names: str) -> list[list[Any]]:
        """Run stages that do not depend on each other in one sweep (their runs share the
        workers); their records, stage by stage."""
        if any(self.experiment.stage(name).failures for name in names):
            raise ValueError("a stage whose runs may fail runs alone: call stage(name)")
        specs = {name: self.specs(name) for name in names}
        records = self._sweep(names[0], [s for name in names for s in specs[name]])
        out, at = [], 0
        for name in names:
            self.done[name] = records[at:at + len(specs[name])]
            at += len(specs[name])
            out.append(self.done[name])
        return out

    def _sweep(self, name: str, specs: list[Any]) -> list[Any]:
        import pandas as pd

        from .. import sweep

        try:
            records = sweep.run(specs, device=self.device, executor=self.executor,
                                keep=self.experiment.stage(name).keep)
            failures: dict[str, str] = {}
        except sweep.SweepError as err:
            if not self.experiment.stage(name).failures:
                raise
            records, failures = err.records, err.failures
        self.failed[name] = pd.DataFrame(
            [dict(key=k, error=e.strip().splitlines()[-1]) for k, e in failures.items()],
            columns=["key", "error"])
        return records

    def table(self, name: str) -> Any:
        """The experiment's table ``name`` (:attr:`Experiment.tables`) of this run's records."""
        return self.experiment.tables[name](self.params, self.done)

    def effects(self) -> list[Any]:
        """The effects the page's *predict, then run* exercises turn on
        (:attr:`Experiment.effects`), measured on this run's tables: what a grading run of the
        same parameters reports."""
        if self.experiment.effects is None:
            return []
        return self.experiment.effects(self.table, self.params)

    def stage(self, name: str) -> list[Any]:
        """Run stage ``name`` (cached like any sweep) and return its records, in the order of
        its specs. A stage that tolerates failures keeps the finished records and lists the
        failed runs in ``failed[name]`` (a table: ``key``, ``error``)."""
        self.done[name] = self._sweep(name, self.specs(name))
        return self.done[name]



@checked_once
def _check_listed(notebook: str, params: Params) -> None:
    """List the runs of the pinned stages, which raises where ``replicates`` lists fewer seeds
    than the design runs of some condition."""
    from . import experiment

    for s in experiment(notebook).stages:
        if s.listing is not None and s.pinned:
            s.listing(params)


@checked_once
def _check_all(notebook: str, module: str, params: Params) -> None:
    """The common checks, the settings' against the profiles
    (:func:`~tlkit.experiments.setting_checks.check_settings`) and those of the experiment
    ``module`` (once for equal ones)."""
    from .setting_checks import check_settings

    check_settings(notebook, params)
    own = getattr(importlib.import_module(module), "check_params", None)
    if own is not None:
        own(params)
