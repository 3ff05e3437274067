"""Grading a class: every submission through Otter, a time limit each, one gradebook.

:func:`grade` runs ``otter run`` (no container) on every notebook or exported zip in a folder,
each in its own process group with a time limit, with the assignment's settings enforced by the
package's plugin (:mod:`tlkit.teaching.settings`). It writes, under the output folder::

    gradebook.csv                one row per student: a column per question, the totals
    <student>/results.json       Otter's results of that submission (tests and their output)
    manual/<question>.md         every student's answer to a question graded by hand, with a
                                 ``score:`` line for each, which the teacher fills in
    written/<student>.pdf        the same answers, a PDF per student, for grading by hand
                                 elsewhere (Gradescope's manual grading)

A submission that crashes, runs out of time or cannot be read is a row with its status and the
reason, never the end of the class's grading. A submission whose answer called the library's
own solution or changed what grading relies on (:mod:`tlkit.teaching.guard`) has each such
question at zero, the status ``flagged`` and the reasons in its row. The gradebook gives the
automatic total and, once every hand-graded score of a student is filled in, the total with
them; grading again (or ``tlkit gradebook OUT``) keeps the scores already written
(:mod:`tlkit.teaching.gradebook`). ``jobs`` submissions are graded at once (each in its own
process; the gradebook keeps the submissions' order whatever order they finish in).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .gradebook import Grade, write_gradebook
from .master import Question

__all__ = ["GradingError", "Grade", "Gradebook", "find_package", "read_submission",
           "grade_submission", "grade", "SUBMISSION_SUFFIXES"]

SUBMISSION_SUFFIXES = (".ipynb", ".zip")


class GradingError(ValueError):
    """Grading cannot start: no package, no submissions, an unusable output folder."""


@dataclass
class Gradebook:
    """The grades of a class and where they were written."""

    grades: list[Grade]
    questions: tuple[Question, ...]
    csv: Path
    manual: dict[str, Path]


def find_package(name: str | os.PathLike[str],
                 assignments: str | os.PathLike[str] = Path("_build") / "assignments") -> Path:
    """The grading package for ``name``: a path to a zip, or a notebook's name (``00_quickstart``
    or ``quickstart``) looked up in ``assignments/autograder/``.

    Raises:
        GradingError: no such package.
    """
    path = Path(name)
    if path.suffix == ".zip":
        if not path.is_file():
            raise GradingError(f"no grading package at {path}")
        return path
    from ..notebooks import short_name

    folder = Path(assignments) / "autograder"
    stems = {p: p.name.split("-autograder")[0] for p in folder.glob("*-autograder.zip")}
    found = sorted(p for p, stem in stems.items() if str(name) in (stem, short_name(stem)))
    if not found:
        listed = ", ".join(sorted(stems.values())) or "none"
        raise GradingError(f"no grading package for {name!r} in {folder} (found: {listed}); "
                           f"generate them with `tlkit assignments`")
    return found[0]


def _questions(settings: Any) -> tuple[Question, ...]:
    """The exercises of the package's notebook, as its settings list them."""
    return tuple(Question(str(q["name"]), float(q["points"]), bool(q["manual"]))
                 for q in settings.questions)


def read_submission(path: Path) -> Any:
    """The notebook of a submission (an ``.ipynb``, or an exported zip holding one).

    Raises:
        ValueError: the file is not a readable notebook, or the zip holds none or several.
    """
    import nbformat

    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                inner = [n for n in zf.namelist() if n.endswith(".ipynb")
                         and not n.startswith("__MACOSX")]
                if len(inner) != 1:
                    raise LookupError(f"the zip holds {len(inner)} notebooks, not one")
                return nbformat.reads(zf.read(inner[0]).decode("utf-8"), as_version=4)
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat, json, zipfile and unicode errors alike
        raise ValueError(f"not a readable notebook ({type(exc).__name__}: {exc})") from None


#: The environment variables that set the threads of numpy's BLAS, OpenMP and torch.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: The ``otter run`` processes being waited on (each in its own session, out of reach of the
#: terminal's Ctrl-C): :func:`grade` ends them when it is interrupted.
_LIVE: set[subprocess.Popen[Any]] = set()


def _kill(process: subprocess.Popen[Any]) -> None:
    """End the process group of ``process`` (Otter, its kernel and any workers)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def grade_submission(package: str | os.PathLike[str], submission: str | os.PathLike[str],
                     out: str | os.PathLike[str], *, timeout: float,
                     student: str | None = None, threads: int | None = None) -> Grade:
    """Grade one submission with ``otter run`` in its own process group, within ``timeout``
    seconds; Otter's ``results.json`` goes to ``out``. ``threads``: the threads its numerical
    libraries (BLAS, OpenMP, torch) may use, where several submissions share the cores. Never
    raises for a bad submission."""
    package, submission, out = Path(package), Path(submission), Path(out)
    student = student or submission.stem
    start = time.perf_counter()
    try:
        read_submission(submission)
    except ValueError as exc:
        return Grade(student, "unreadable", reason=str(exc))
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.unlink(missing_ok=True)
    from .settings import CELL_LOG

    running = out / "running-cell.txt"
    running.unlink(missing_ok=True)
    from .assigned import STUDENT

    env = {**os.environ, "TLKIT_PROGRESS": "0", CELL_LOG: str(running.resolve()),
           STUDENT: student}
    if threads is not None:  # side by side, a thread per core in each would thrash
        env.update({name: str(threads) for name in _THREAD_VARIABLES})
    env.pop("TLKIT_RESULTS", None)  # the package's plugin points the cache at its records
    command = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(package.resolve()),
               "-o", str(out.resolve()), str(submission.resolve())]
    log = out / "otter.log"
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True, cwd=out)
        _LIVE.add(process)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            return Grade(student, "timeout", seconds=time.perf_counter() - start,
                         reason=f"not finished after {timeout:g} s (the time limit)"
                                + _hung(submission, running))
        finally:
            _LIVE.discard(process)
    seconds = time.perf_counter() - start
    if code != 0 or not results.is_file():
        tail = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                if line.strip()][-1:]
        return Grade(student, "crashed", seconds=seconds,
                     reason=f"otter run exited with status {code}: {' '.join(tail)}"[:300])
    data = json.loads(results.read_text(encoding="utf-8"))
    failed = [t for t in data.get("tests", [])
              if t.get("name") in ("Autograder Failed", "Autograder Exception")]
    if failed:
        text = str(failed[0].get("output", "")).strip().splitlines()
        return Grade(student, "crashed", seconds=seconds,
                     reason=(text[-1] if text else failed[0]["name"])[:300])
    scores = {t["name"]: float(t["score"]) for t in data.get("tests", [])
              if "max_score" in t and t.get("name") != "Public Tests"}
    possible = {t["name"]: float(t["max_score"]) for t in data.get("tests", [])
                if "max_score" in t and t.get("name") != "Public Tests"}
    output = str(data.get("output") or "")
    flags = _flags(output)
    notes = [line for line in output.splitlines() if line.startswith("NOTE: ")]
    reason = "; ".join([*flags.values(), *notes])[:500]
    from .settings import VARIANT

    variant = next((line.split(":", 1)[1].strip() for line in output.splitlines()
                    if line.startswith(f"{VARIANT}: ")), "")
    return Grade(student, "flagged" if flags else "graded", scores, possible, seconds, reason,
                 flags, variant)


def _flags(output: str) -> dict[str, str]:
    """The flagged questions of a results' output (:class:`~tlkit.teaching.settings.
    EnforceSettings` writes one line each, ``FLAGGED: <question>: <why>``)."""
    from .guard import FLAG

    flags: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith(f"{FLAG}: "):
            question = line[len(FLAG) + 2:].split(":", 1)[0].split(" ", 1)[0]
            flags.setdefault(question, line)
    return flags


def _hung(submission: Path, running: Path) -> str:
    """Where a submission out of time was: the cell its kernel was running (its number among
    the submission's cells, counted from 1, and its first line)."""
    if not running.is_file():
        return ""
    text = running.read_text(encoding="utf-8", errors="replace").strip()
    first = next((line for line in text.splitlines() if line.strip()), "")[:60]
    try:
        cells = read_submission(submission).cells
    except ValueError:
        cells = []
    number = next((i + 1 for i, c in enumerate(cells) if c.source.strip() == text), None)
    where = f"cell {number}" if number else "a cell"
    return f"; it was running {where}, which starts `{first}`"


def _submissions(folder: Path, roster: Mapping[str, str] | None = None
                 ) -> dict[str, Path]:
    """The submissions in ``folder`` by student: the file's name, or, where that is not on the
    ``roster`` and the notebook names a student who is (:func:`tlkit.teaching.assigned.mark`),
    that student."""
    if not folder.is_dir():
        raise GradingError(f"no folder of submissions at {folder}")
    found = sorted(p for p in folder.iterdir() if p.is_file()
                   and p.suffix in SUBMISSION_SUFFIXES and not p.name.startswith("."))
    if not found:
        raise GradingError(f"no submissions (.ipynb or .zip files) in {folder}")
    from .assigned import marked

    out: dict[str, Path] = {}
    for path in found:
        who = path.stem
        if roster and who not in roster:
            try:
                named = marked(read_submission(path)).get("student")
            except ValueError:
                named = None
            who = named if named in roster else who
        if who in out:
            raise GradingError(f"two submissions of {who}: {out[who].name} and {path.name} "
                               f"(keep one file per student)")
        out[who] = path
    return out


def grade(package: str | os.PathLike[str], submissions: str | os.PathLike[str],
          out: str | os.PathLike[str], *, timeout: float | None = None, jobs: int = 1,
          echo: Callable[[str], Any] = print) -> Gradebook:
    """Grade every submission in the folder ``submissions`` with the grading package ``package``.

    Args:
        package: The grading zip (:func:`find_package`).
        submissions: A folder of ``.ipynb`` files or exported zips, one per student, named
            after the student.
        out: The output folder (created; earlier results of the same students are replaced).
        timeout: Seconds per submission (default: the package's setting).
        jobs: Submissions graded at once (each ``otter run`` is its own process; on a
            machine with few cores, more jobs than cores makes each slower, so keep the time
            limit generous).
        echo: Receives one line per submission.

    Raises:
        GradingError: before any grading, when the package, the submissions or the output
            folder cannot be used.
    """
    from .settings import SETTINGS_FILE, AssignmentSettings
    from .tools import require_otter

    require_otter()
    package, folder, out = Path(package), Path(submissions), Path(out)
    if not zipfile.is_zipfile(package):
        raise GradingError(f"{package} is not a zip file")
    with zipfile.ZipFile(package) as zf:
        if f"files/{SETTINGS_FILE}" not in zf.namelist():
            raise GradingError(f"{package} is not a tlkit grading package (no {SETTINGS_FILE}); "
                               f"regenerate it with `tlkit assignments`")
        settings = AssignmentSettings.from_json(zf.read(f"files/{SETTINGS_FILE}").decode())
    from ..fingerprint import code_fingerprint

    if settings.fingerprint and settings.fingerprint != code_fingerprint():
        raise GradingError(
            f"{package.name} was made by tlkit code with fingerprint "
            f"{settings.fingerprint[:12]}, but the tlkit installed here computes "
            f"{code_fingerprint()[:12]}: its records would not be found and every submission "
            f"would train its runs again. Regenerate the assignments with this tlkit "
            f"(`tlkit assignments`), or grade where the package's own requirements.txt is "
            f"installed")
    limit = float(timeout if timeout is not None else settings.timeout)
    if limit <= 0:
        raise GradingError(f"the time limit must be positive, got {limit:g} s")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise GradingError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    found = _submissions(folder, settings.roster)
    questions = _questions(settings)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".tlkit-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GradingError(f"cannot write to the output folder {out}: {exc}") from None
    done: dict[int, Grade] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)  # each job waits on its own process
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    futures = {pool.submit(grade_submission, package, path, out / who, timeout=limit,
                           student=who, threads=threads): i
               for i, (who, path) in enumerate(found.items())}
    try:
        for future in as_completed(futures):
            g = done[futures[future]] = future.result()
            shown = (f"{g.total:g}/{sum(g.possible.values()):g}" if g.status == "graded"
                     else f"{g.status}: {g.reason}")
            echo(f"[{len(done)}/{len(found)}] {g.student}: {shown} ({g.seconds:.1f} s)")
            write_gradebook(out, questions,  # kept current after each one
                            [done[i] for i in sorted(done)])
    except BaseException:  # Ctrl-C: end the running submissions; the gradebook so far stays
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list(_LIVE):
            _kill(process)
        raise
    pool.shutdown()
    grades = [done[i] for i in range(len(found))]
    for g in grades:
        if settings.roster and g.student not in settings.roster:
            g.reason = "; ".join(filter(None, [g.reason, "not on the roster"]))
    grades += [Grade(who, "missing", variant=variant, reason=f"no submission in {folder}")
               for who, variant in settings.roster.items() if who not in found]
    notebooks: dict[str, Any] = {}
    for who, path in found.items():
        try:
            notebooks[who] = read_submission(path)
        except ValueError:
            notebooks[who] = None
    rubrics = {str(q["name"]): str(q.get("rubric", "")) for q in settings.questions}
    _, manual = write_gradebook(out, questions, grades, notebooks, rubrics)
    echo(f"gradebook: {out / 'gradebook.csv'}")
    for name, path in manual.items():
        echo(f"answers to grade by hand ({name}): {path}")
    if manual:
        from .written import write_pdf

        for g in grades:
            if notebooks.get(g.student) is not None:
                write_pdf(out / "written" / f"{g.student}.pdf", notebooks[g.student], questions,
                          g.student, g.variant)
        echo(f"the same answers, a PDF per student (to upload for grading by hand): "
             f"{out / 'written'}")
    return Gradebook(grades, questions, out / "gradebook.csv", manual)
