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
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .assignment import RUN_ENV, Assignment, make_assignment, otter_assign
from .grading_run import DEFAULT_TIMEOUT, grading_parameters
from .master import (
    STUDENT_PROFILE,
    Question,
    has_exercises,
    prepare_master,
    read_questions,
    set_profile,
)
from .myst import jupyter_markdown
from .readme import readme
from .tools import INSTALL_HINT, AssignmentError, TeachingToolsMissingError, require_otter
from .variants import Variant, assign

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
    "RUN_ENV",
]

#: Where :func:`generate` writes, relative to the book's root.
ASSIGNMENTS_DIR = Path("_build") / "assignments"


def generate(
    root: str | os.PathLike[str] = ".",
    out: str | os.PathLike[str] | None = None,
    *,
    only: Iterable[str] | None = None,
    profile: str = STUDENT_PROFILE,
    run_tests: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    echo: Callable[[str], Any] = print,
    variants: int | None = None,
    roster: Sequence[str] | None = None,
    seed: int = 0,
    pool: int | None = None,
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
        variants: Give students notebooks of this many variants, each on replicate seeds of
            its own (:mod:`tlkit.teaching.variants`); default: one per student of ``roster``,
            else none (every student gets the book's notebook).
        roster: The students (:func:`tlkit.teaching.variants.read_roster`): each gets a
            notebook of their own, named after them, of the variant dealt to them.
        seed: Seeds the draw of the variants and their dealing to the roster.
        pool: Seeds each notebook's variants draw from (default: twice the replicates it runs).

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
    if roster is not None and variants is None:
        variants = len(roster)
    plans = {p.stem: _plan(p, profile, variants, seed, pool) for p in selected}
    from .package import build_wheel

    env = {"TLKIT_RESULTS": os.environ.get("TLKIT_RESULTS", str(root / "results"))}
    made = []
    with tempfile.TemporaryDirectory(prefix="tlkit-wheel-") as tmp:
        wheel = build_wheel(root, tmp)
        for number, path in enumerate(selected, start=1):
            check = ", checking the solutions" if run_tests else ""
            echo(f"[{number}/{len(selected)}] {path.stem} (profile {profile}{check}) ...")
            drawn = plans[path.stem]
            if drawn:
                echo(f"      {len(drawn)} variants of {len(drawn[0].replicates)} replicate "
                     f"seeds each" + (f", dealt to {len(roster)} students" if roster else ""))
            made.append(make_assignment(
                path, out, profile=profile, run_tests=run_tests, env=env, root=root,
                wheel=wheel, timeout=timeout, variants=drawn,
                roster=assign(roster, drawn, seed) if roster and drawn else None))
            graded = (f", the solutions graded in {made[-1].grade_seconds:.1f} s"
                      if made[-1].grade_seconds is not None else "")
            echo(f"      {len(made[-1].questions)} exercises, {made[-1].points:g} points, "
                 f"{made[-1].seconds:.1f} s{graded}")
            if made[-1].shipped:
                echo(f"      ships {', '.join(made[-1].shipped)} beside the notebook")
            for name, e in (made[-1].variant_effects
                            or tuple(("", e) for e in made[-1].effects)):
                state = "resolved" if e.clear else "NOT resolved: the exercise reads noise"
                echo(f"      {e.exercise}{f' ({name})' if name else ''}: {e.effect}: "
                     f"{e.estimate:+.3f} [{e.low:+.3f}, {e.high:+.3f}], {state}")
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


def _plan(path: Path, profile: str, count: int | None, seed: int, pool: int | None
          ) -> list[Variant]:
    """The variants of the notebook at ``path`` (none when ``count`` is ``None``); checked
    before anything runs, on the files the assignment ships (whose size may set the design)."""
    if count is None:
        return []
    from .settings import parameter_values
    from .shipped import ship
    from .variants import plan, replicates_needed

    parameters = grading_parameters(path, profile)
    with tempfile.TemporaryDirectory(prefix=f"tlkit-plan-{path.stem}-") as tmp:
        shipped = ship(path.stem, Path(tmp), parameter_values(parameters))
        params = parameter_values(shipped.located({**parameters, **shipped.parameters}))
        params.update(params.pop("overrides", None) or {})
        try:
            return plan(count, needed=replicates_needed(path.stem, params), seed=seed,
                        pool=pool)
        except ValueError as exc:
            raise ValueError(f"notebook {path.stem}: {exc}") from None


def _existing(path: Path, out: Path) -> Assignment:
    """An assignment generated earlier (for the README when only some are regenerated)."""
    package = out / "autograder" / f"{path.stem}-autograder.zip"
    shipped: tuple[str, ...] = ()
    if package.is_file():
        from .package import package_contents

        try:
            shipped = tuple(sorted({name.split("/")[0]
                                    for name in package_contents(package)["shipped"]}))
        except (OSError, KeyError, ValueError):  # an older or damaged package
            shipped = ()
    return Assignment(path.stem, out / "student" / path.name, out / "autograder" / path.name,
                      package, tuple(read_questions(path)), shipped=shipped)
