"""One assignment: the student notebooks, the solutions and the grading package of one notebook.

:func:`make_assignment` executes the book's notebook as it will be graded (one *grading run*,
:mod:`tlkit.teaching.grading_run`, per variant), prepares the result for Jupyter
(:func:`~tlkit.teaching.master.prepare_master`), runs Otter Assign on it
(:func:`otter_assign`), arranges the student notebook
(:func:`~tlkit.teaching.master.arrange_student`), completes Otter's grading package with tlkit's
wheel, the settings and the grading runs' records (:mod:`tlkit.teaching.package`) and, by
default, grades the solutions with it. A chapter whose exercise needs files of its own ships
them beside the notebooks and in the package (:mod:`tlkit.teaching.shipped`).
:func:`tlkit.teaching.assignments.generate` does this for every notebook of the book.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .grading_run import (
    DEFAULT_TIMEOUT,
    check_solutions,
    grading_parameters,
    grading_run,
    measured_effects,
    record_files,
    versions,
)
from .master import (
    STUDENT_PROFILE,
    Question,
    arrange_student,
    has_exercises,
    model_answers,
    prepare_master,
    read_questions,
)
from .myst import read_references
from .shipped import Shipped, ship
from .signal import Effect
from .tools import AssignmentError, require_otter
from .variants import Variant

__all__ = ["RUN_ENV", "Assignment", "otter_assign", "make_assignment"]

#: Environment of the notebook runs made while checking the solutions.
RUN_ENV = {"TLKIT_PROGRESS": "0"}


@dataclass(frozen=True)
class Assignment:
    """The generated files of one notebook.

    Attributes:
        notebook: The file stem, e.g. ``00_quickstart``.
        student: The student notebook.
        solutions: The notebook with solutions (the autograder's copy).
        autograder: The grading package (zip) with public and hidden tests.
        questions: The exercises, in order.
        seconds: Time taken, including the check of the solutions.
        grade_seconds: Time the finished package took to grade the solutions (when checked).
        effects: The effects its exercises turn on, measured on the grading run
            (:mod:`tlkit.teaching.signal`); of the first variant where there are variants.
        variants: The names of its variants (:mod:`tlkit.teaching.variants`); empty when every
            student has the same notebook. ``student`` and ``solutions`` are then the folder
            of student notebooks and the first variant's solutions.
        variant_effects: The effects measured on each variant's grading run, with its name.
        shipped: The files and folders shipped beside the student notebooks (and in the
            grading package), by name; empty for most chapters.
    """

    notebook: str
    student: Path
    solutions: Path
    autograder: Path
    questions: tuple[Question, ...]
    seconds: float = 0.0
    grade_seconds: float | None = None
    effects: tuple[Effect, ...] = ()
    variants: tuple[str, ...] = ()
    variant_effects: tuple[tuple[str, Effect], ...] = ()
    shipped: tuple[str, ...] = ()

    @property
    def points(self) -> float:
        """Points of all exercises."""
        return sum(q.points for q in self.questions)

    @property
    def manual_points(self) -> float:
        """Points of the exercises graded by hand."""
        return sum(q.points for q in self.questions if q.manual)


def _otter_command() -> list[str]:
    return [sys.executable, "-m", "otter"]


def otter_assign(master: str | os.PathLike[str], result: str | os.PathLike[str], *,
                 run_tests: bool = True, env: Mapping[str, str] | None = None) -> str:
    """Run ``otter assign`` on ``master`` into ``result``; return its output.

    With ``run_tests``, Otter executes the solution notebook and fails unless every public and
    hidden test passes.

    Raises:
        TeachingToolsMissingError: Otter-Grader is not installed.
        AssignmentError: Otter Assign failed; the message ends with its last lines.
    """
    require_otter()
    master = Path(master)
    command = [*_otter_command(), "assign", "--no-pdfs"]
    if not run_tests:
        command.append("--no-run-tests")
    command += [str(master), str(result)]
    done = subprocess.run(command, cwd=master.parent, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False,
                          env={**os.environ, **RUN_ENV, **(env or {})})
    log = done.stdout
    if done.returncode != 0:
        lines = [line for line in log.splitlines()
                 if line.strip() and "Kernel is running over TCP" not in line]
        tail = "\n".join(f"  {line}" for line in lines[-25:])
        raise AssignmentError(master.stem, f"otter assign failed (exit code {done.returncode}):"
                                           f"\n{tail}", log)
    return log


def _assign_once(path: Path, root: Path, tmp: Path, parameters: Mapping[str, str],
                 env: Mapping[str, str], profile: str, variant: str = "",
                 shipped: Shipped | None = None) -> dict[str, Any]:
    """One grading run of the notebook (on the ``shipped`` files) and Otter Assign on its
    result: the glued values, the student and solution notebooks (arranged alike), Otter's zip
    and the run's seconds."""
    import nbformat

    from ..glued import glued_data
    from .values import MissingValueError

    tmp.mkdir(parents=True, exist_ok=True)
    run = tmp / "run" / path.name
    values, run_seconds = grading_run(path, root, run,
                                      shipped.located(parameters) if shipped else parameters, env)
    pasted = {name: data["text/markdown"]  # glued Markdown, such as a page's written answer
              for name, data in glued_data(nbformat.read(str(run), as_version=4)).items()
              if "text/markdown" in data}
    master = tmp / path.name
    try:
        nb = prepare_master(path, profile, values,
                            read_references(root / "book" / "references.bib"), pasted)
        if shipped is not None:
            shipped.set_defaults(nb)
    except MissingValueError as exc:
        raise AssignmentError(path.stem, str(exc)) from None
    except ValueError as exc:
        raise ValueError(f"notebook {path.stem}: {exc}") from None
    if variant:  # its replicates, in the cell students read
        cell = next(c for c in nb.cells
                    if "parameters" in c.get("metadata", {}).get("tags", []))
        line = (f"overrides = {parameters['overrides']}  # variant {variant}: the seeds of "
                f"your runs")
        cell.source = re.sub(r"^overrides\s*=.*$", lambda _: line, cell.source, count=1,
                             flags=re.MULTILINE)
    nbformat.write(nb, str(master))
    result = tmp / "result"
    otter_assign(master, result, run_tests=False, env=env)
    zips = sorted((result / "autograder").glob(f"{path.stem}-autograder*.zip"))
    if not zips:
        raise AssignmentError(path.stem, "otter assign wrote no autograder zip file")
    made = {kind: arrange_student(nbformat.read(str(result / kind / path.name), as_version=4))
            for kind in ("student", "autograder")}
    return {"values": values, "seconds": run_seconds, "master": nb, "made": made,
            "zip": zips[-1]}


def make_assignment(path: str | os.PathLike[str], out: str | os.PathLike[str], *,
                    profile: str = STUDENT_PROFILE, run_tests: bool = True,
                    env: Mapping[str, str] | None = None,
                    root: str | os.PathLike[str] | None = None,
                    wheel: str | os.PathLike[str] | None = None,
                    timeout: float = DEFAULT_TIMEOUT,
                    variants: Sequence[Variant] = (),
                    roster: Mapping[str, str] | None = None) -> Assignment:
    """Generate the student notebook, the solutions and the grading package of one notebook.

    First the book's notebook is executed as it will be graded (profile ``profile``, on the
    CPU; runs already in the cache are reused): its glued values are written into the prose of
    both notebooks, and its records go into the grading package with the settings, tlkit's wheel
    and pinned requirements (:mod:`tlkit.teaching.package`). With ``run_tests`` the solutions are
    then graded with the finished package, which must give them full marks.

    Writes ``<out>/student/<stem>.ipynb``, ``<out>/autograder/<stem>.ipynb`` and
    ``<out>/autograder/<stem>-autograder.zip``, replacing earlier versions. With ``variants``
    (:mod:`tlkit.teaching.variants`) each variant has its own grading run, and the notebooks go
    to ``<out>/student/<stem>/<name>.ipynb`` (one per student of ``roster``, a mapping from
    student to variant name, else one per variant) and ``<out>/autograder/<stem>/<variant>
    .ipynb``; ``<out>/autograder/<stem>-variants.csv`` lists who has which; one grading
    package grades them all, each submission against its own variant
    (:mod:`tlkit.teaching.assigned`). Files the chapter ships (:mod:`tlkit.teaching.shipped`)
    are written beside the student notebooks and the solutions, and into the package, and the
    notebooks' parameters point at them.

    Raises:
        ValueError: the notebook has no exercises, or no ``profile`` parameter.
        TeachingToolsMissingError: Otter-Grader is not installed.
        AssignmentError: the grading run, Otter Assign or the check of the solutions failed.
    """
    import nbformat

    from ..fingerprint import code_fingerprint
    from ..store import results_root
    from .assigned import mark
    from .guard import book_cells
    from .package import build_wheel, complete_package
    from .settings import AssignmentSettings, parameter_values

    start = time.perf_counter()
    path, out = Path(path), Path(out)
    root = Path(root) if root is not None else path.parent.parent
    if not has_exercises(path):
        raise ValueError(f"notebook {path.stem} has no exercises ('# BEGIN QUESTION' cells)")
    questions = tuple(read_questions(path))
    require_otter()
    env = {**RUN_ENV, **(env or {})}
    results = Path(env.get("TLKIT_RESULTS") or results_root())
    if not results.is_absolute():
        results = root / results
    env["TLKIT_RESULTS"] = str(results)
    parameters = grading_parameters(path, profile)
    if variants and "overrides" not in parameters:
        raise ValueError(f"notebook {path.stem} has no 'overrides' parameter to set a "
                         f"variant's replicates with")
    student_dir, autograder_dir = out / "student", out / "autograder"
    records: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix=f"tlkit-assign-{path.stem}-") as tmp:
        shipped = ship(path.stem, Path(tmp) / "shipped", parameter_values(parameters))
        parameters.update(shipped.parameters)  # relative paths, as students and graders see them
        runs: dict[str, dict[str, str]] = {"": parameters}
        if variants:
            base = parameter_values({"overrides": parameters["overrides"]})["overrides"]
            runs = {v.name: {**parameters, "overrides": repr(v.overrides(base))}
                    for v in variants}
        done = {name: _assign_once(path, root, Path(tmp) / (name or "book"), params, env,
                                   profile, name, shipped) for name, params in runs.items()}
        for params in runs.values():
            records.update(record_files(path.stem, shipped.located(params), results))
        measured = {name: measured_effects(path.stem, shipped.located(params), results)
                    for name, params in runs.items()}
        first = next(iter(done.values()))
        rubrics = model_answers(first["master"])
        if variants:  # the model answer quotes numbers, which differ between variants
            rubrics = {q: f"*The model answer quotes the numbers of variant {variants[0].name}; "
                          f"each variant's are in its solutions, `autograder/{path.stem}/"
                          f"<variant>.ipynb`.*\n\n{text}" for q, text in rubrics.items()}
        cells = {f for d in done.values() for nb in d["made"].values() for f in book_cells(nb)}
        differ = {name: {k: v for k, v in params.items() if parameters.get(k) != v}
                  for name, params in runs.items() if name}
        settings = AssignmentSettings(
            path.stem, runs[next(iter(runs))], float(timeout), versions(),
            round(sum(d["seconds"] for d in done.values()), 1),
            [{"name": q.name, "points": q.points, "manual": q.manual,
              **({"rubric": rubrics[q.name]} if q.name in rubrics else {})}
             for q in questions],
            code_fingerprint(), sorted(cells), differ, dict(roster or {}))
        if wheel is None:
            wheel = build_wheel(root, Path(tmp) / "wheel")
        complete_package(first["zip"], wheel=wheel, settings=settings, records=records,
                         files=shipped.files())
        package = autograder_dir / f"{path.stem}-autograder.zip"
        solutions = {}
        if not variants:
            student = student_dir / path.name
            solutions[""] = autograder_dir / path.name
            _write(first["made"]["student"], student)
            _write(first["made"]["autograder"], solutions[""])
        else:
            student = student_dir / path.stem
            for folder in (student, autograder_dir / path.stem):
                shutil.rmtree(folder, ignore_errors=True)
            for name, d in done.items():
                solutions[name] = autograder_dir / path.stem / f"{name}.ipynb"
                _write(mark(d["made"]["autograder"], path.stem, name), solutions[name])
                if roster is None:
                    _write(mark(d["made"]["student"], path.stem, name), student / f"{name}.ipynb")
            for who, name in (roster or {}).items():
                nb = nbformat.from_dict(json.loads(json.dumps(done[name]["made"]["student"])))
                _write(mark(nb, path.stem, name, who), student / f"{who}.ipynb")
            _write_variants(autograder_dir / f"{path.stem}-variants.csv", variants, roster)
        beside = {student if variants else student.parent,
                  solutions[next(iter(solutions))].parent}
        for folder in beside:  # the shipped files, where the notebooks' relative paths lead
            shipped.copy_to(folder)
        ships = shipped.names
        package.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(first["zip"], package)
    grade_seconds = None
    if run_tests:
        grade_seconds = max(check_solutions(package, s, timeout) for s in solutions.values())
    return Assignment(path.stem, student, solutions[next(iter(solutions))], package, questions,
                      time.perf_counter() - start, grade_seconds, next(iter(measured.values())),
                      tuple(v.name for v in variants),
                      tuple((name, e) for name, found in measured.items() if name
                            for e in found), ships)


def _write(notebook: Any, target: Path) -> None:
    import nbformat

    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))


def _write_variants(target: Path, variants: Sequence[Variant],
                    roster: Mapping[str, str] | None) -> None:
    """The teacher's list of who has which variant (and each variant's replicate seeds)."""
    import csv

    seeds = {v.name: " ".join(map(str, v.replicates)) for v in variants}
    rows = ([(who, name, seeds[name]) for who, name in roster.items()] if roster
            else [("", v.name, seeds[v.name]) for v in variants])
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "variant", "replicates"])
        writer.writerows(rows)
