"""Coursework: student and autograder versions of the book's notebooks, made with Otter-Grader.

Each experiment notebook ends with an *Exercises* section written in the Otter Assign notebook
format (https://otter-grader.readthedocs.io): a raw ``# ASSIGNMENT CONFIG`` cell, then for each
exercise a ``# BEGIN QUESTION`` block with a prompt, a solution (lines ending in ``# SOLUTION``
are replaced by ``...`` for students) and public and hidden tests. The same cells serve the book:
raw cells and tests carry the ``remove-cell`` tag, solutions the ``hide-input`` tag, so the book
shows each exercise with its solution behind a toggle, and papermill runs solutions and tests in
every profile, so a solution that stops passing its tests fails the book's build.

:func:`generate` turns every notebook listed in ``_toc.yml`` that has exercises into

``<out>/student/NN_name.ipynb``
    what students get: solutions replaced by ``...``, public tests in the notebook's metadata,
    ``grader.check`` cells, and the profile set to the assignment's (``quick`` by default, in
    which the exercised effects stand clear of the noise; it runs offline on the embedded
    datasets);
``<out>/autograder/NN_name.ipynb``
    the same notebook with its solutions, for the teacher;
``<out>/autograder/NN_name-autograder.zip``
    the grading package (:mod:`tlkit.teaching.package`): public and hidden tests, tlkit's wheel,
    pinned requirements, the grading run's records and the enforced settings, for
    ``tlkit grade`` (:mod:`tlkit.teaching.grading`), ``otter run`` or Gradescope.

First the notebook is executed as it will be graded (:mod:`tlkit.teaching.grading_run`). Then a
copy is prepared for Jupyter: the profile default is rewritten (:func:`set_profile`), every glue
reference in the prose shows the grading run's value (:mod:`tlkit.teaching.values`), MyST markup
that Jupyter does not render (admonitions, roles such as ``{cite}``) becomes plain Markdown
(:func:`tlkit.teaching.myst.jupyter_markdown`), and the book's cell tags are dropped. By default
the solutions are finally graded with the finished package, so a generated assignment is known to
grade to full marks.

>>> assignments = generate(".")                       # doctest: +SKIP
>>> [a.student.name for a in assignments]             # doctest: +SKIP
['00_quickstart.ipynb', ...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
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
    set_profile,
)
from .myst import jupyter_markdown, read_references
from .readme import readme
from .signal import Effect
from .tools import INSTALL_HINT, AssignmentError, TeachingToolsMissingError, require_otter

__all__ = [
    "ASSIGNMENTS_DIR",
    "DEFAULT_TIMEOUT",
    "STUDENT_PROFILE",
    "INSTALL_HINT",
    "TeachingToolsMissingError",
    "AssignmentError",
    "Question",
    "Assignment",
    "require_otter",
    "read_questions",
    "has_exercises",
    "set_profile",
    "jupyter_markdown",
    "prepare_master",
    "otter_assign",
    "make_assignment",
    "generate",
]

#: Where :func:`generate` writes, relative to the book's root.
ASSIGNMENTS_DIR = Path("_build") / "assignments"
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
            (:mod:`tlkit.teaching.signal`).
    """

    notebook: str
    student: Path
    solutions: Path
    autograder: Path
    questions: tuple[Question, ...]
    seconds: float = 0.0
    grade_seconds: float | None = None
    effects: tuple[Effect, ...] = ()

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


def make_assignment(path: str | os.PathLike[str], out: str | os.PathLike[str], *,
                    profile: str = STUDENT_PROFILE, run_tests: bool = True,
                    env: Mapping[str, str] | None = None,
                    root: str | os.PathLike[str] | None = None,
                    wheel: str | os.PathLike[str] | None = None,
                    timeout: float = DEFAULT_TIMEOUT) -> Assignment:
    """Generate the student notebook, the solutions and the grading package of one notebook.

    First the book's notebook is executed as it will be graded (profile ``profile``, on the
    CPU; runs already in the cache are reused): its glued values are written into the prose of
    both notebooks, and its records go into the grading package with the settings, tlkit's wheel
    and pinned requirements (:mod:`tlkit.teaching.package`). With ``run_tests`` the solutions are
    then graded with the finished package, which must give them full marks.

    Writes ``<out>/student/<stem>.ipynb``, ``<out>/autograder/<stem>.ipynb`` and
    ``<out>/autograder/<stem>-autograder.zip``, replacing earlier versions.

    Raises:
        ValueError: the notebook has no exercises, or no ``profile`` parameter.
        TeachingToolsMissingError: Otter-Grader is not installed.
        AssignmentError: the grading run, Otter Assign or the check of the solutions failed.
    """
    import nbformat

    from ..fingerprint import code_fingerprint
    from ..store import results_root
    from .guard import book_cells
    from .package import build_wheel, complete_package
    from .settings import AssignmentSettings
    from .values import MissingValueError

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
    student_dir, autograder_dir = out / "student", out / "autograder"
    with tempfile.TemporaryDirectory(prefix=f"tlkit-assign-{path.stem}-") as tmp:
        values, run_seconds = grading_run(path, root, Path(tmp) / "run" / path.name,
                                           parameters, env)
        master = Path(tmp) / path.name
        try:
            nb = prepare_master(path, profile, values,
                                read_references(root / "book" / "references.bib"))
        except MissingValueError as exc:
            raise AssignmentError(path.stem, str(exc)) from None
        except ValueError as exc:
            raise ValueError(f"notebook {path.stem}: {exc}") from None
        nbformat.write(nb, str(master))
        result = Path(tmp) / "result"
        otter_assign(master, result, run_tests=False, env=env)
        zips = sorted((result / "autograder").glob(f"{path.stem}-autograder*.zip"))
        if not zips:
            raise AssignmentError(path.stem, "otter assign wrote no autograder zip file")
        made = {}  # the student notebook and the solutions, arranged alike
        for kind in ("student", "autograder"):
            made[kind] = arrange_student(
                nbformat.read(str(result / kind / path.name), as_version=4))
            nbformat.write(made[kind], str(result / kind / path.name))
        rubrics = model_answers(nb)
        settings = AssignmentSettings(
            path.stem, parameters, float(timeout), versions(), round(run_seconds, 1),
            [{"name": q.name, "points": q.points, "manual": q.manual,
              **({"rubric": rubrics[q.name]} if q.name in rubrics else {})}
             for q in questions],
            code_fingerprint(),
            sorted({*book_cells(made["student"]), *book_cells(made["autograder"])}))
        if wheel is None:
            wheel = build_wheel(root, Path(tmp) / "wheel")
        complete_package(zips[-1], wheel=wheel, settings=settings,
                         records=record_files(path.stem, parameters, results))
        student_dir.mkdir(parents=True, exist_ok=True)
        autograder_dir.mkdir(parents=True, exist_ok=True)
        student = student_dir / path.name
        solutions = autograder_dir / path.name
        package = autograder_dir / f"{path.stem}-autograder.zip"
        shutil.copy2(result / "student" / path.name, student)
        shutil.copy2(result / "autograder" / path.name, solutions)
        shutil.copy2(zips[-1], package)
    grade_seconds = None
    if run_tests:
        grade_seconds = check_solutions(package, solutions, timeout)
    effects = measured_effects(path.stem, parameters, results)
    return Assignment(path.stem, student, solutions, package, questions,
                      time.perf_counter() - start, grade_seconds, effects)


def generate(
    root: str | os.PathLike[str] = ".",
    out: str | os.PathLike[str] | None = None,
    *,
    only: Iterable[str] | None = None,
    profile: str = STUDENT_PROFILE,
    run_tests: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    echo: Callable[[str], Any] = print,
) -> list[Assignment]:
    """Generate the assignments of every notebook in ``_toc.yml`` that has exercises.

    Args:
        root: The book's root (holding ``_toc.yml``).
        out: The output folder (default ``<root>/_build/assignments``). Its ``student/`` and
            ``autograder/`` folders are replaced unless ``only`` is given.
        only: Generate only these notebooks (file stems or short names).
        profile: The profile the notebooks are handed out and graded in (default
            :data:`STUDENT_PROFILE`). The grading run shares the run cache ``$TLKIT_RESULTS``
            (default ``<root>/results``), so runs already made for the book are reused.
        run_tests: Grade each solution notebook with its finished package and fail unless it
            gets full marks.
        timeout: Seconds allowed per submission when grading (stored in each package).
        echo: Receives one line per notebook.

    Raises:
        TeachingToolsMissingError: Otter-Grader is not installed.
        ValueError: a bad profile, an unknown name in ``only``, or no notebook with exercises.
        AssignmentError: Otter Assign failed on a notebook.
    """
    from ..book import toc_notebooks
    from ..experiments import PROFILE_NAMES
    from ..notebooks import short_name

    require_otter()
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_NAMES)}, got {profile!r}")
    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else root / ASSIGNMENTS_DIR
    notebooks = toc_notebooks(root)
    if only is not None:
        wanted = list(only)
        unknown = [name for name in wanted
                   if not any(name in (p.stem, short_name(p.stem), p.name) for p in notebooks)]
        if unknown:
            listed = ", ".join(p.stem for p in notebooks) or "none"
            raise ValueError(f"not a notebook of _toc.yml: {', '.join(unknown)}; "
                             f"the book's notebooks: {listed}")
        notebooks = [p for p in notebooks
                     if any(name in (p.stem, short_name(p.stem), p.name) for name in wanted)]
    selected = [p for p in notebooks if has_exercises(p)]
    for p in notebooks:
        if p not in selected:
            echo(f"skipping {p.stem}: no exercises")
    if not selected:
        raise ValueError("no notebook with exercises ('# BEGIN QUESTION' cells) to generate")
    if only is None:
        for folder in ("student", "autograder"):
            shutil.rmtree(out / folder, ignore_errors=True)
    if timeout <= 0:
        raise ValueError(f"the time limit per submission must be positive, got {timeout:g}")
    from .package import build_wheel

    env = {"TLKIT_RESULTS": os.environ.get("TLKIT_RESULTS", str(root / "results"))}
    made = []
    with tempfile.TemporaryDirectory(prefix="tlkit-wheel-") as tmp:
        wheel = build_wheel(root, tmp)
        for number, path in enumerate(selected, start=1):
            check = ", checking the solutions" if run_tests else ""
            echo(f"[{number}/{len(selected)}] {path.stem} (profile {profile}{check}) ...")
            made.append(make_assignment(path, out, profile=profile, run_tests=run_tests,
                                        env=env, root=root, wheel=wheel, timeout=timeout))
            graded = (f", the solutions graded in {made[-1].grade_seconds:.1f} s"
                      if made[-1].grade_seconds is not None else "")
            echo(f"      {len(made[-1].questions)} exercises, {made[-1].points:g} points, "
                 f"{made[-1].seconds:.1f} s{graded}")
            for e in made[-1].effects:
                state = "resolved" if e.clear else "NOT resolved: the exercise reads noise"
                echo(f"      {e.exercise}: {e.effect}: {e.estimate:+.3f} "
                     f"[{e.low:+.3f}, {e.high:+.3f}], {state}")
    existing = made
    if only is not None:
        names = {a.notebook for a in made}
        existing = made + [_existing(p, out) for p in toc_notebooks(root)
                           if p.stem not in names and (out / "student" / p.name).is_file()]
        existing.sort(key=lambda a: a.notebook)
    (out / "README.md").write_text(readme(existing, profile), encoding="utf-8")
    echo(f"student notebooks: {out / 'student'}")
    echo(f"solutions and grading packages: {out / 'autograder'}")
    return made


def _existing(path: Path, out: Path) -> Assignment:
    """An assignment generated earlier (for the README when only some are regenerated)."""
    return Assignment(path.stem, out / "student" / path.name, out / "autograder" / path.name,
                      out / "autograder" / f"{path.stem}-autograder.zip",
                      tuple(read_questions(path)))
