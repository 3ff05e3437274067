"""``tlkit report FOLDER``: will transfer help on a folder of images, as one HTML file.

::

    tlkit report FOLDER [--budget MINUTES] [--profile P] [--seeds N] [-p KEY VALUE ...]
                        [--output HTML] [--root DIR]

The book's chapter :data:`NOTEBOOK` is executed with ``data_dir`` set to ``FOLDER`` (one
subfolder of images per class, optionally a ``test/`` folder), the parameters checked and the
runs' needs checked before any kernel starts, as ``tlkit notebook`` does; the executed notebook
is kept at ``ROOT/_build/reports/<folder's name>.ipynb`` and written as one standalone HTML file
(:func:`tlkit.report.standalone_html`) beside the folder, ``<folder's name>-tlkit-report.html``
(in the current folder when the folder's parent is not writable), or at ``--output``. A folder
that does not exist or is a file is one ``tlkit: error:`` line and exit status 2, before
anything else; a notebook that fails is exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["NOTEBOOK", "REPORTS_DIR", "add_parser", "report", "report_path"]

#: The chapter that a report executes (its file stem).
NOTEBOOK = "05_your_images"
#: Where the executed notebooks of reports are kept, relative to the book's root.
REPORTS_DIR = Path("_build") / "reports"
#: The parameters that options of their own set: option -> parameter.
_OPTIONS = {"budget": "budget_minutes", "profile": "profile", "seeds": "seeds"}


def _echo(line: str) -> None:
    print(line, flush=True)


def _error(message: str, code: int) -> int:
    print(f"tlkit: error: {message}", file=sys.stderr)
    return code


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def report_path(folder: Path) -> tuple[Path, bool]:
    """Where the report on ``folder`` goes by default, and whether that is beside it:
    ``<parent>/<name>-tlkit-report.html``, or the same name in the current folder when the
    parent is not writable."""
    folder = folder.resolve()
    name = f"{folder.name}-tlkit-report.html"
    if _writable(folder.parent):
        return folder.parent / name, True
    return Path.cwd() / name, False


def _checked_folder(given: str) -> Path:
    folder = Path(given).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"no folder {given}: give a folder of images, one subfolder "
                                "per class")
    if not folder.is_dir():
        raise ValueError(f"{given} is a file, not a folder: give a folder of images, one "
                         "subfolder per class")
    return folder.resolve()


def _book_root(given: str | None) -> Path:
    from .notebooks import find_root

    if given is not None:
        if not (Path(given) / "_toc.yml").is_file():
            raise FileNotFoundError(f"no _toc.yml in {given}: --root names the book's root")
        return Path(given)
    try:
        return find_root()
    except FileNotFoundError:
        raise FileNotFoundError(f"no book found in {Path.cwd()} or above it (no _toc.yml): run "
                                "tlkit report inside the book's repository, or give --root DIR"
                                ) from None


def report(args: argparse.Namespace) -> int:
    """Run ``tlkit report FOLDER``: the exit status.

    Raises:
        FileNotFoundError: the folder or the book's root does not exist.
        ValueError: the folder is a file, or a parameter is unknown or out of range.
    """
    folder = _checked_folder(args.folder)
    from .glued import MissingValueError
    from .notebooks import (
        NotebookExecutionError,
        check_notebooks,
        check_parameters,
        execute,
        find_notebook,
        resolve_parameters,
    )
    from .report import standalone_html

    root = _book_root(args.root)
    path = find_notebook(NOTEBOOK, root)
    given: dict[str, object] = dict(args.parameters or [])
    if "data_dir" in given:
        raise ValueError("the folder is FOLDER, not -p data_dir")
    for option, name in _OPTIONS.items():
        if getattr(args, option) is not None:
            given[name] = getattr(args, option)
    params = resolve_parameters(path, {**given, "data_dir": None})
    params["data_dir"] = str(folder)  # as given: a folder named "1" or "true" stays a name
    check_parameters(path.stem, params)
    check_notebooks([(path.stem, params)], root, echo=_echo)
    injected = {"data_dir": str(folder), **{key: params[key] for key in given}}
    if args.output:
        html = Path(args.output)
    else:
        html, beside = report_path(folder)
        if not beside:
            _echo(f"{folder.parent} is not writable: the report goes to the current folder")
    executed = root / REPORTS_DIR / f"{folder.name}.ipynb"
    listed = ", ".join(f"{key}={value!r}" for key, value in injected.items())
    _echo(f"executing {path} with {listed} ...")
    try:
        seconds = execute(path, executed, injected, cwd=root, progress_bar=sys.stderr.isatty(),
                          sweep_progress=sys.stderr)
    except NotebookExecutionError as exc:
        if exc.traceback:
            print(exc.traceback, file=sys.stderr)
        return _error(str(exc), 1)
    _echo(f"executed in {seconds:.1f} s -> {executed}")
    try:
        standalone_html(executed, html, root=root)
    except MissingValueError as exc:
        return _error(f"the report of {executed} quotes {exc}", 1)
    _echo(f"report: {html}")
    return 0


def add_parser(commands: argparse._SubParsersAction, profiles: tuple[str, ...]) -> None:
    """Add the ``report`` command to ``commands`` (the subparsers of ``tlkit``); ``profiles``
    are the names ``--profile`` accepts."""
    command = commands.add_parser(
        "report", help="answer 'will transfer help?' for a folder of images, as one HTML file",
        description=f"Execute the chapter {NOTEBOOK} on FOLDER (one subfolder of images per "
                    "class, optionally a test/ folder) within a time budget and write the page, "
                    "its tables and figures without the code, as one HTML file that opens "
                    "without a network: FOLDER-tlkit-report.html beside the folder. The "
                    f"executed notebook is kept in {REPORTS_DIR.as_posix()}/ of the book's root; "
                    "runs are cached like the book's, so a second report on the same images "
                    "trains nothing.")
    command.add_argument("folder", metavar="FOLDER", help="the folder of images")
    command.add_argument("--budget", type=float, metavar="MINUTES",
                         help="the time the report may take here (default: the profile's, "
                              "10 in quick)")
    command.add_argument("--profile", choices=profiles,
                         help="the profile: smoke, quick (default) or full")
    command.add_argument("--seeds", type=int, metavar="N",
                         help="replicate seeds, at least 2 (default: as many as the budget "
                              "allows)")
    command.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append",
                         metavar=("KEY", "VALUE"),
                         help="set another parameter of the notebook (device, executor, "
                              "overrides)")
    command.add_argument("--output", metavar="HTML",
                         help="the report's file (default: FOLDER-tlkit-report.html beside "
                              "the folder)")
    command.add_argument("--root", metavar="DIR",
                         help="the book's root (default: found from here up); the notebook "
                              "runs there, sharing the run cache results/")
    command.set_defaults(run=report)
