"""The grading run: a book notebook executed as its assignment will be graded.

Before an assignment is made, its notebook runs once with the parameters every submission will
be graded with (:func:`grading_parameters`: the assignment's profile, on the CPU). That run
supplies the numbers quoted in the student and teacher notebooks, the records shipped in the
grading package (:func:`record_files`), and, once the package is made, the check that it grades
the solutions to full marks (:func:`check_solutions`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .settings import parameter_values
from .tools import AssignmentError

__all__ = ["DEFAULT_TIMEOUT", "GRADING_OVERRIDES", "RECORDED_VERSIONS", "grading_parameters",
           "versions", "grading_run", "record_files", "measured_effects", "check_solutions"]

#: Seconds allowed to grade one submission, unless ``generate`` is told otherwise.
DEFAULT_TIMEOUT = 300.0
#: Parameters the grading run fixes whatever the notebook's defaults: the CPU (its records are
#: the ones shipped, and every grader has one) in this process.
GRADING_OVERRIDES = {"device": '"cpu"', "executor": '"serial"'}
#: Versions recorded in the settings of a package.
RECORDED_VERSIONS = ("tlkit", "torch", "torchvision", "numpy", "pot", "otter-grader")


def grading_parameters(path: str | os.PathLike[str], profile: str) -> dict[str, str]:
    """The parameters a submission of the notebook at ``path`` is graded with, as Python source:
    the notebook's defaults, with ``profile`` and :data:`GRADING_OVERRIDES`."""
    import json

    from ..parameters import read_parameters

    declared = read_parameters(path)
    out = {name: p.source for name, p in declared.items()}
    out["profile"] = json.dumps(profile)
    out.update({k: v for k, v in GRADING_OVERRIDES.items() if k in out})
    return out


def versions() -> dict[str, str]:
    import importlib.metadata

    out = {}
    for name in RECORDED_VERSIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def grading_run(path: Path, root: Path, run: Path, parameters: Mapping[str, str],
                 env: Mapping[str, str]) -> tuple[dict[str, str], float]:
    """Execute the book's notebook as the assignment is graded (in ``root``, so that it shares
    the run cache) and return its glued values and the seconds it took."""
    import nbformat

    from ..notebooks import NotebookExecutionError, environment, execute
    from .values import glued_values

    values = parameter_values(parameters)
    if "executor" in values:  # one worker per core while the grading run trains
        values["executor"] = "process"
    try:
        with environment(env):
            seconds = execute(path, run, values, cwd=root)
    except NotebookExecutionError as exc:
        raise AssignmentError(path.stem, f"the grading run failed: {exc}") from None

    return glued_values(nbformat.read(str(run), as_version=4)), seconds


def record_files(stem: str, parameters: Mapping[str, str], results: Path) -> dict[str, bytes]:
    """The grading run's files in the run cache, ``{runs/ab/abc....json: bytes, ...}``: the
    record of every run known in advance (the pinned stages' and the checks of the page's
    preconditions; a diverged run's failure note instead), and the record and checkpoint
    of every source (a sweep retrains a source whose checkpoint is missing). A page without
    reference tables, whose later runs follow from earlier results (a search's choices, the
    nearest source), ships the runs its stages made (:func:`~tlkit.teaching.reference.
    stage_runs`), with the checkpoints of the stages that keep them.

    Raises:
        AssignmentError: a run or a source's checkpoint is not in the cache.
    """
    from ..experiments import experiment
    from ..notebooks import environment
    from ..store import Store
    from .reference import MissingRunError, records, specs, stage_runs

    store = Store(results)
    values = parameter_values(parameters)
    declared = experiment(stem)
    kept: set[str] = set()
    try:
        if declared.tables:
            found = records(stem, values, store, sources=True, pinned_only=False)
            every = specs(stem, values, pinned_only=False)  # the preconditions' checks too
        else:
            with environment({"TLKIT_RESULTS": str(results)}):  # what the stages read
                walked = stage_runs(stem, values, store)
            every = [spec for wanted, _ in walked.values() for spec in wanted]
            found = [record for _, made in walked.values() for record in made]
            kept = {r.key for name, (_, made) in walked.items() if declared.stage(name).keep
                    for r in made}
            made_keys = {r.key for r in found}
            upstream = {src.key(): src for spec in every for src in spec.sources()}
            found += [r for key, src in upstream.items() if key not in made_keys
                      for r in [store.get(src)] if r is not None]
    except MissingRunError as exc:
        raise AssignmentError(stem, str(exc)) from None
    out = {}
    for record in found:
        path = store.record_path(record.key)
        out[path.relative_to(store.root).as_posix()] = path.read_bytes()
    have = {record.key for record in found}
    for spec in every:  # a diverged run's note stands for its record
        if spec.key() not in have and store.diverged(spec) is not None:
            note = store.failure_path(spec.key())
            out[note.relative_to(store.root).as_posix()] = note.read_bytes()
    sources = {src.key() for spec in every for src in spec.sources()} | kept
    for key in sorted(sources):
        path = store.checkpoint_path(key)
        if not path.is_file():
            raise AssignmentError(stem, f"the checkpoint of source run {key} is not in the run "
                                        f"cache {store.root}")
        out[path.relative_to(store.root).as_posix()] = path.read_bytes()
    return out


def measured_effects(stem: str, parameters: Mapping[str, str], results: Path) -> tuple:
    """The effects the exercises of ``stem`` turn on (:func:`tlkit.teaching.signal.
    exercise_effects`), measured on the grading run's records in ``results``."""
    from ..notebooks import environment
    from .signal import exercise_effects

    with environment({"TLKIT_RESULTS": str(results)}):
        return tuple(exercise_effects(stem, parameter_values(parameters)))


def check_solutions(package: Path, solutions: Path, timeout: float) -> float:
    """Grade the solutions with the finished package; return the seconds it took.

    Raises:
        AssignmentError: they do not get full marks.
    """
    from .grading import grade_submission

    with tempfile.TemporaryDirectory(prefix="tlkit-check-") as tmp:
        g = grade_submission(package, solutions, Path(tmp), timeout=timeout)
    if g.status != "graded":
        raise AssignmentError(solutions.stem, f"grading the solutions: {g.status}: {g.reason}")
    short = {q: (g.scores[q], g.possible[q]) for q in g.scores if g.scores[q] < g.possible[q]}
    if short:
        listed = ", ".join(f"{q} {a:g}/{b:g}" for q, (a, b) in short.items())
        raise AssignmentError(solutions.stem, f"the solutions lose points: {listed}")
    return g.seconds
