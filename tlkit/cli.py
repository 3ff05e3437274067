"""The ``tlkit`` command: build the book, run one notebook, list the datasets.

::

    tlkit book [--profile smoke|quick|full] [--only NAME] [--build-dir DIR] [--root DIR] [--jobs N]
    tlkit notebook NAME [-p KEY VALUE ...] [--profile P] [--output PATH] [--root DIR]
    tlkit report FOLDER [--budget MINUTES] [--profile P] [--seeds N] [-p KEY VALUE ...]
                        [--output HTML] [--root DIR]
    tlkit datasets [--root DIR]
    tlkit results export|import|verify ARCHIVE [--results DIR] [--sign KEY] [--trust KEY.pub]
    tlkit results keygen KEY
    tlkit assignments [--only NAME ...] [--profile P] [--out DIR] [--no-run-tests] [--root DIR]
                      [--variants N] [--roster FILE] [--seed S] [--pool P]
    tlkit grade NOTEBOOK SUBMISSIONS [--out DIR] [--timeout S] [--jobs N] [--assignments DIR]
    tlkit gradebook OUT
    tlkit --version

Mistakes a user can make (an unknown notebook, parameter or setting, a bad value at any depth of
``overrides``, an unknown dataset, a device this machine lacks, a bad ``$TLKIT_THREADS``, a plan
of more runs than ``$TLKIT_MAX_RUNS`` allows) print ``tlkit: error: <message>`` and exit with
status 2, before any kernel starts; a notebook or a Jupyter Book build that fails exits with
status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__

__all__ = ["main", "parser"]

EXIT_FAILED = 1
EXIT_USAGE = 2
#: Modules of the ``book`` extra that ``tlkit book``, ``notebook`` and ``report`` need.
_BOOK_MODULES = {"papermill", "nbformat", "nbclient", "nbconvert", "jupyter_book", "yaml",
                 "ipykernel"}


def _error(message: str, code: int = EXIT_USAGE) -> int:
    print(f"tlkit: error: {message}", file=sys.stderr)
    return code


def _echo(line: str) -> None:
    print(line, flush=True)


def _root(given: str | None, start: Path | None = None) -> Path:
    from .notebooks import find_root

    if given is not None:
        root = Path(given)
        if not (root / "_toc.yml").is_file():
            raise FileNotFoundError(f"no _toc.yml in {root}")
        return root
    return find_root(start)


def _dask_address(args: argparse.Namespace) -> None:
    """``--dask-address`` reaches the notebooks' kernels as ``$TLKIT_DASK_ADDRESS``."""
    if getattr(args, "dask_address", None):
        os.environ["TLKIT_DASK_ADDRESS"] = args.dask_address


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def _book(args: argparse.Namespace) -> int:
    from .book import BookBuildError, build_book
    from .notebooks import NotebookExecutionError

    root = _root(args.root)
    _dask_address(args)
    try:
        index = build_book(root, profile=args.profile, only=args.only, build_dir=args.build_dir,
                           executor=args.executor, echo=_echo, sweep_progress=sys.stderr,
                           jobs=args.jobs)
    except NotebookExecutionError as exc:
        if exc.traceback:
            print(exc.traceback, file=sys.stderr)
        return _error(str(exc), EXIT_FAILED)
    except BookBuildError as exc:
        print(exc.log, file=sys.stderr)
        return _error(str(exc), EXIT_FAILED)
    if index is None:  # --only, and another notebook has no executed copy of this profile
        return _error("the HTML was not built (see above)", EXIT_FAILED)
    return 0


def _notebook(args: argparse.Namespace) -> int:
    from .notebooks import (
        NotebookExecutionError,
        check_notebooks,
        check_parameters,
        execute,
        find_notebook,
        resolve_parameters,
    )

    _dask_address(args)

    is_path = args.name.endswith(".ipynb") or os.sep in args.name or "/" in args.name
    if is_path:
        path = find_notebook(args.name)
        try:
            root = _root(args.root, path.parent)
        except FileNotFoundError:
            root = Path.cwd()
    else:
        root = _root(args.root)
        path = find_notebook(args.name, root)
    given: dict[str, object] = {}
    for key, value in args.parameters or []:
        given[key] = value
    if args.profile is not None:
        given["profile"] = args.profile
    params = resolve_parameters(path, given)
    check_parameters(path.stem, params)
    check_notebooks([(path.stem, params)], root, echo=_echo)
    injected = {key: params[key] for key in given}
    output = Path(args.output) if args.output else root / "_build" / "notebooks" / path.name
    _echo(f"executing {path} with {_describe(injected)} ...")
    try:
        seconds = execute(path, output, injected, cwd=root, progress_bar=sys.stderr.isatty(),
                          sweep_progress=sys.stderr)
    except NotebookExecutionError as exc:
        if exc.traceback:
            print(exc.traceback, file=sys.stderr)
        return _error(str(exc), EXIT_FAILED)
    _echo(f"executed in {seconds:.1f} s -> {output}")
    return 0


def _describe(params: dict[str, object]) -> str:
    if not params:
        return "its default parameters"
    return ", ".join(f"{key}={value!r}" for key, value in params.items())


def _datasets(args: argparse.Namespace) -> int:
    from .data import datasets_table

    print(datasets_table(args.root), end="")
    return 0


def _results(args: argparse.Namespace) -> int:
    from .results_command import results

    return results(args)


def _assignments(args: argparse.Namespace) -> int:
    from .teaching.assignments import AssignmentError, TeachingToolsMissingError, generate
    from .teaching.variants import read_roster

    root = _root(args.root)
    roster = read_roster(args.roster) if args.roster else None
    try:
        generate(root, args.out, only=args.only, profile=args.profile,
                 run_tests=not args.no_run_tests, timeout=args.timeout, echo=_echo,
                 variants=args.variants, roster=roster, seed=args.seed, pool=args.pool)
    except TeachingToolsMissingError as exc:
        return _error(str(exc))
    except AssignmentError as exc:
        return _error(str(exc), EXIT_FAILED)
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .teaching.assignments import ASSIGNMENTS_DIR, TeachingToolsMissingError
    from .teaching.grading import find_package, grade

    assignments = Path(args.assignments) if args.assignments else _root(None) / ASSIGNMENTS_DIR
    try:
        package = find_package(args.notebook, assignments)
        out = Path(args.out) if args.out else Path("graded") / package.name.split("-autograder")[0]
        book = grade(package, args.submissions, out, timeout=args.timeout, jobs=args.jobs,
                     echo=_echo)
    except TeachingToolsMissingError as exc:
        return _error(str(exc))
    failed = [g for g in book.grades if g.status not in ("graded", "flagged")]
    if failed:
        _echo(f"{len(failed)} of {len(book.grades)} submissions not graded: "
              + ", ".join(f"{g.student} ({g.status})" for g in failed))
    flagged = [g.student for g in book.grades if g.status == "flagged"]
    if flagged:
        _echo(f"{len(flagged)} flagged (questions set to zero, the reasons in the gradebook): "
              + ", ".join(flagged))
    return 0


def _gradebook(args: argparse.Namespace) -> int:
    from .teaching.gradebook import collect

    try:
        path = collect(args.out)
    except (FileNotFoundError, ValueError) as exc:
        return _error(str(exc))
    _echo(f"gradebook: {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, like every other ``tlkit`` error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"tlkit: error: {self.prog}: {message} (see `{self.prog} "
                              "--help`)\n")


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tlkit`` command."""
    from .executors import EXECUTORS
    from .experiments import PROFILE_NAMES
    from .report_command import add_parser as add_report
    from .teaching.assignments import DEFAULT_TIMEOUT, STUDENT_PROFILE

    top = _Parser(
        prog="tlkit",
        description="Build the transfer learning companion book, run its notebooks, "
                    "report on a folder of images, list its datasets.")
    top.add_argument("--version", action="version", version=f"tlkit {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    book = commands.add_parser(
        "book", help="execute every notebook and build the HTML book",
        description="Execute the notebooks listed in _toc.yml with papermill, then build the "
                    "HTML with Jupyter Book (strict: any warning fails the build).")
    book.add_argument("--profile", choices=PROFILE_NAMES, default="quick",
                      help="smoke (seconds per notebook), quick (default) or full (real data)")
    book.add_argument("--only", metavar="NAME",
                      help="execute only this notebook; the others reuse their executed copies")
    book.add_argument("--build-dir", metavar="DIR",
                      help="build folder (default: _build in the root); HTML in DIR/html")
    book.add_argument("--root", metavar="DIR",
                      help="the book's root, holding _toc.yml (default: found from here up)")
    book.add_argument("--executor", choices=EXECUTORS,
                      help="where the notebooks' runs execute (default: each notebook's own)")
    book.add_argument("--dask-address", metavar="ADDRESS",
                      help="Dask scheduler for --executor dask (else $TLKIT_DASK_ADDRESS, or a "
                           "LocalCluster)")
    book.add_argument("--jobs", type=_positive, metavar="N",
                      help="notebooks with nothing to train executed at once (default: one per "
                           "core, at most 4)")
    book.set_defaults(run=_book)

    notebook = commands.add_parser(
        "notebook", help="execute one notebook with parameters",
        description="Execute one notebook with papermill. Parameters are checked (names, "
                    "types and values) before it runs.")
    notebook.add_argument("name", metavar="NAME",
                          help="file stem (00_quickstart), short name (quickstart) or path")
    notebook.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append",
                          metavar=("KEY", "VALUE"),
                          help="set a parameter; the value is converted to the default's type")
    notebook.add_argument("--profile", metavar="PROFILE",
                          help=f"shorthand for -p profile PROFILE ({', '.join(PROFILE_NAMES)})")
    notebook.add_argument("--output", metavar="PATH",
                          help="executed notebook (default: _build/notebooks/NAME.ipynb)")
    notebook.add_argument("--root", metavar="DIR",
                          help="the book's root (default: found from here up); the notebook "
                               "runs there, sharing the run cache results/")
    notebook.add_argument("--dask-address", metavar="ADDRESS",
                          help="Dask scheduler for -p executor dask (else $TLKIT_DASK_ADDRESS)")
    notebook.set_defaults(run=_notebook)
    add_report(commands, PROFILE_NAMES)

    datasets = commands.add_parser("datasets", help="list the datasets and where they are",
                                   description="List every dataset tlkit can load.")
    datasets.add_argument("--root", metavar="DIR",
                          help="data folder (default: $TLKIT_DATA or ~/.cache/tlkit/data)")
    datasets.set_defaults(run=_datasets)

    results = commands.add_parser(
        "results", help="export the run cache to an archive, import or verify one",
        description="`export` writes the records of this code in the run cache, and the "
                    "checkpoints of source runs, to one archive with checksums and the "
                    "provenance of this machine (signed with --sign KEY); `import` verifies an "
                    "archive and merges it, so the book builds without training; `verify` "
                    "checks one and writes nothing; `keygen KEY` makes a signing key (KEY) and "
                    "its public key to publish (KEY.pub). An archive of another format "
                    "version, altered or truncated, made by other code, or (with --trust) not "
                    "signed by the trusted key is refused whole.")
    results.add_argument("action", choices=("export", "import", "verify", "keygen"))
    results.add_argument("archive", metavar="ARCHIVE",
                         help="the archive (.tar.gz); for keygen, the private key's file")
    results.add_argument("--results", metavar="DIR",
                         help="the run cache (default: $TLKIT_RESULTS or ./results)")
    results.add_argument("--sign", metavar="KEY", help="export: sign with this private key")
    results.add_argument("--trust", metavar="KEY.pub",
                         help="import, verify: require a signature by this public key")
    results.set_defaults(run=_results)

    assignments = commands.add_parser(
        "assignments", help="generate student and autograder notebooks with otter-grader",
        description="Turn the Exercises section of every notebook in _toc.yml into a student "
                    "notebook (solutions removed, public tests kept) in OUT/student/ and a "
                    "grading package (hidden tests, tlkit's wheel, pinned requirements, the "
                    "grading run's records and settings) in OUT/autograder/. Needs "
                    "otter-grader: pip install 'tlkit[teach]'.")
    assignments.add_argument("--only", metavar="NAME", nargs="+",
                             help="generate only these notebooks (stem or short name)")
    assignments.add_argument("--profile", choices=PROFILE_NAMES, default=STUDENT_PROFILE,
                             help="profile the notebooks are handed out and graded in "
                                  f"(default: {STUDENT_PROFILE})")
    assignments.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                             help="seconds allowed to grade one submission "
                                  f"(default: {DEFAULT_TIMEOUT:g})")
    assignments.add_argument("--out", metavar="DIR",
                             help="output folder (default: _build/assignments in the root)")
    assignments.add_argument("--no-run-tests", action="store_true",
                             help="do not execute the solutions against every test")
    assignments.add_argument("--root", metavar="DIR",
                             help="the book's root, holding _toc.yml (default: found from here up)")
    assignments.add_argument("--variants", type=_positive, metavar="N",
                             help="N variants, each on replicate seeds of its own (default: one "
                                  "per student of --roster, else none)")
    assignments.add_argument("--roster", metavar="FILE",
                             help="the students (a CSV with a 'student' column, or one name per "
                                  "line): a notebook each, of the variant dealt to them")
    assignments.add_argument("--seed", type=int, default=0, metavar="S",
                             help="seed of the variants' draw and dealing (default: 0)")
    assignments.add_argument("--pool", type=_positive, metavar="P",
                             help="seeds the variants draw from (default: twice the replicates "
                                  "a notebook runs)")
    assignments.set_defaults(run=_assignments)

    grading = commands.add_parser(
        "grade", help="grade a folder of submissions and write a gradebook",
        description="Grade every submission (.ipynb or exported .zip, one per student, named "
                    "after the student) with otter run, no container: the assignment's "
                    "settings are enforced and each submission has a time limit. Writes "
                    "OUT/gradebook.csv, OUT/<student>/results.json and, for questions graded "
                    "by hand, OUT/manual/<question>.md.")
    grading.add_argument("notebook", metavar="NOTEBOOK",
                         help="the notebook's name (00_quickstart or quickstart) or the path "
                              "of its grading package (...-autograder.zip)")
    grading.add_argument("submissions", metavar="SUBMISSIONS", help="folder of submissions")
    grading.add_argument("--out", metavar="DIR",
                         help="output folder (default: graded/<notebook>)")
    grading.add_argument("--timeout", type=float, metavar="S",
                         help="seconds per submission (default: the package's setting)")
    grading.add_argument("--jobs", type=int, default=1, metavar="N",
                         help="submissions graded at once (default: 1)")
    grading.add_argument("--assignments", metavar="DIR",
                         help="where `tlkit assignments` wrote (default: _build/assignments "
                              "in the book's root)")
    grading.set_defaults(run=_grade)

    gradebook = commands.add_parser(
        "gradebook", help="add the hand-graded scores to a graded class's gradebook",
        description="Rewrite OUT/gradebook.csv from the grades of `tlkit grade` and the scores "
                    "filled in after `score:` in OUT/manual/<question>.md, with the totals "
                    "including them; nothing is graded again.")
    gradebook.add_argument("out", metavar="OUT", help="the output folder of `tlkit grade`")
    gradebook.set_defaults(run=_gradebook)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tlkit`` command with ``argv`` (default: ``sys.argv[1:]``); return its status."""
    from .data import DatasetUnavailableError, UnknownDatasetError
    from .preflight import PreflightError

    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, UnknownDatasetError,
            DatasetUnavailableError, PreflightError) as exc:
        return _error(str(exc).strip() or type(exc).__name__)
    except ModuleNotFoundError as exc:
        if exc.name not in _BOOK_MODULES:
            raise
        return _error(f"{exc.name} is not installed; install the book's tools with "
                      "pip install 'tlkit[book]'")
    except KeyboardInterrupt:
        import logging

        # the notebook client's pending tasks would each log their cancellation at exit
        logging.getLogger("asyncio").disabled = True
        return _error("interrupted; the finished runs are kept in the run cache, and running "
                      "the same command again resumes", 130)
