"""Building the book: execute every notebook with papermill, then Jupyter Book 1, strictly.

:func:`build_book` turns the repository into ``<build>/html`` in four steps:

1. read ``_toc.yml`` and collect the notebooks it lists (``notebooks/...``), in order, and check
   every notebook's parameters before anything runs;
2. execute each notebook (parameter ``profile``) into the staging folder
   ``<build>/src/notebooks/``; the kernel runs in the book's root, so all notebooks share the
   run cache ``results/`` and a rebuild only re-executes the notebooks, not the runs. The
   notebooks that have runs to train execute first, one at a time (each sweep uses every core);
   those whose known runs are all cached then execute together, one per core;
3. copy ``_config.yml``, ``_toc.yml`` and ``book/`` into ``<build>/src/``, fill in the
   landing page's findings and the guidelines' recommendations from the executed pages
   (:mod:`tlkit.findings`, :mod:`tlkit.guidance`), and render the
   diagrams (:func:`tlkit.diagrams.render_all`) into ``<build>/src/book/_generated``;
4. run ``jupyter-book build <build>/src -n -W --keep-going --all``: any Sphinx warning (a broken
   reference, a missing image, a bad citation) fails the build.

The tracked notebooks are never modified. A notebook that fails stops the build with
:class:`~tlkit.notebooks.NotebookExecutionError`; its partially executed copy stays in staging.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .execution import write_page
from .experiments import PROFILE_NAMES
from .figure_data import write_figure_data
from .findings import findings_rows, write_findings
from .guidance import write_guidance
from .notebooks import (
    NOTEBOOK_DIR,
    check_notebooks,
    check_parameters,
    execute,
    resolve_parameters,
    short_name,
)
from .processes import run_group

__all__ = [
    "BookBuildError",
    "toc_documents",
    "toc_notebooks",
    "staged_profile",
    "jupyter_book_command",
    "build_book",
    "default_jobs",
]

#: What is copied from the book's root into the staging folder besides the notebooks.
STAGED_FILES = ("_config.yml", "_toc.yml")
STAGED_FOLDERS = ("book", "_static")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class BookBuildError(RuntimeError):
    """Jupyter Book (Sphinx) failed, or produced no ``index.html``; ``log`` holds its output."""

    def __init__(self, message: str, log: str = "") -> None:
        self.log = log
        super().__init__(message)


def toc_documents(root: str | os.PathLike[str]) -> list[str]:
    """Every document named in ``<root>/_toc.yml`` (its root first), as written there."""
    import yaml

    path = Path(root) / "_toc.yml"
    if not path.is_file():
        raise FileNotFoundError(f"no _toc.yml in {Path(root).resolve()}")
    toc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    documents = [toc["root"]] if "root" in toc else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                documents.append(node["file"])
            for key, value in node.items():
                if key != "file":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return documents


def toc_notebooks(root: str | os.PathLike[str]) -> list[Path]:
    """The notebooks ``_toc.yml`` lists (entries under ``notebooks/``), in the book's order.

    Raises:
        FileNotFoundError: an entry has no ``.ipynb`` file.
    """
    root = Path(root)
    out: list[Path] = []
    for document in toc_documents(root):
        if not document.startswith(f"{NOTEBOOK_DIR}/"):
            continue
        path = root / (document if document.endswith(".ipynb") else f"{document}.ipynb")
        if not path.is_file():
            raise FileNotFoundError(f"_toc.yml lists {document} but {path} does not exist")
        if path not in out:
            out.append(path)
    return out


def _staged_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return {}
    return dict(nb.metadata.get("tlkit", {}))


def staged_profile(path: str | os.PathLike[str]) -> str | None:
    """The profile an executed notebook was run with (``metadata.tlkit.profile``), or ``None``
    when the file is missing or has no such record."""
    return _staged_record(path).get("profile")


def longest_first(paths: Sequence[Path], staged: Path, profile: str) -> list[Path]:
    """``paths`` in the order to start them when they share the cores: the longest first, by
    the seconds their copies executed with ``profile`` took last time (a notebook without
    one first of all, in the book's order), so that no long one starts last."""
    def last(path: Path) -> float:
        record = _staged_record(staged / path.name)
        seconds = record.get("seconds") if record.get("profile") == profile else None
        return float("inf") if seconds is None else float(seconds)

    return sorted(paths, key=last, reverse=True)


def jupyter_book_command() -> list[str]:
    """The ``jupyter-book`` of the current interpreter: its sibling script, else the module."""
    script = Path(sys.executable).with_name("jupyter-book")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; "
            "sys.exit(main())"]


def _pick(notebooks: Sequence[Path], name: str) -> Path:
    for match in (lambda p: p.stem == name, lambda p: short_name(p.stem) == name,
                  lambda p: Path(name).name in (p.name, p.stem)):
        found = [p for p in notebooks if match(p)]
        if len(found) == 1:
            return found[0]
    listed = ", ".join(p.stem for p in notebooks) or "none"
    raise ValueError(f"notebook {name!r} is not in _toc.yml; the book's notebooks: {listed}")


def _stage_sources(root: Path, src: Path) -> list[Path]:
    """Copy the configuration and the prose into ``src`` and render the diagrams there."""
    from .diagrams import render_all

    src.mkdir(parents=True, exist_ok=True)
    for name in STAGED_FILES:
        shutil.copy2(root / name, src / name)
    for name in STAGED_FOLDERS:
        if (src / name).exists():
            shutil.rmtree(src / name)
        if (root / name).is_dir():
            shutil.copytree(root / name, src / name, ignore=shutil.ignore_patterns(
                "_generated", ".ipynb_checkpoints", "__pycache__"))
    return render_all(src / "book" / "_generated")


def _run_jupyter_book(build: Path) -> Path:
    """Build ``<build>/src`` into ``<build>/html``; return the path of ``index.html``.

    Jupyter Book writes into ``<path-output>/_build/html``: for a build folder named ``_build``
    that is ``<build>/html`` directly; otherwise the HTML is built under ``<build>/_jb`` and
    moved into place. Jupyter Book runs in a process group of its own, which SIGTERM or Ctrl-C
    of this process ends too (:func:`tlkit.processes.run_group`).
    """
    src, html = build / "src", build / "html"
    output = build.parent if build.name == "_build" else build / "_jb"
    built = output / "_build" / "html"
    command = [*jupyter_book_command(), "build", str(src), "--path-output", str(output),
               "-n", "-W", "--keep-going", "--all"]
    done = run_group(command, cwd=src, env={**os.environ, "NO_COLOR": "1"})
    log = _ANSI.sub("", done.stdout)
    if done.returncode != 0:
        problems = [line.replace(f"{src}{os.sep}", "") for line in log.splitlines()
                    if "WARNING:" in line or "ERROR:" in line]
        listed = "".join(f"\n  {line}" for line in problems)
        raise BookBuildError(f"jupyter-book build failed (exit code {done.returncode}); "
                             f"{len(problems)} warning(s) or error(s){':' if problems else ''}"
                             f"{listed}", log)
    if built != html:
        if html.exists():
            shutil.rmtree(html)
        shutil.move(str(built), str(html))
    index = html / "index.html"
    if not index.is_file():
        raise BookBuildError(f"jupyter-book build produced no {index}", log)
    return index


def default_jobs() -> int:
    """How many notebooks with nothing to train execute at once: one per core, at most four
    (each kernel holds its imports and plots, about half a gigabyte)."""
    return max(1, min(4, os.cpu_count() or 1))


def _execute_in_process(path: str, target: str, given: dict[str, Any], root: str,
                        progress: bool, threads: int | None = None) -> float:
    if threads is not None:  # the kernel's math libraries, unless the environment says
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    return execute(Path(path), Path(target), given, cwd=Path(root),
                   sweep_progress=sys.stderr if progress else None)


def _execute_together(paths: Sequence[Path], staged: Path, given: dict[str, Any], root: Path,
                      jobs: int, progress: bool) -> Iterator[tuple[Path, float]]:
    """Execute ``paths`` at most ``jobs`` at a time; yield each with its seconds as it finishes.
    Each runs in a process of its own, since a notebook's execution sets environment variables
    that its kernel inherits; each kernel's math libraries get the cores shared out
    (``OMP_NUM_THREADS``, unless set), for threads that wait for a core held by another kernel
    spin on it; they start longest first (:func:`longest_first`). After a failure no other
    notebook starts; those already running finish (nothing executed is lost) and the failure
    first in the book's order is raised."""
    if jobs <= 1 or len(paths) == 1:
        for path in paths:
            yield path, _execute_in_process(str(path), str(staged / path.name), given,
                                            str(root), progress)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    failed: dict[Path, BaseException] = {}
    context = multiprocessing.get_context("spawn")
    workers = min(jobs, len(paths))
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_execute_in_process, str(p), str(staged / p.name), given,
                               str(root), progress, threads): p
                   for p in longest_first(paths, staged, given.get("profile", ""))}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:  # noqa: BLE001 - raised below, after the others finish
                failed[futures[future]] = exc
                for other in futures:
                    other.cancel()  # those not started yet
    if failed:
        raise failed[min(failed, key=list(paths).index)]


def build_book(
    root: str | os.PathLike[str] = ".",
    profile: str = "quick",
    only: str | None = None,
    build_dir: str | os.PathLike[str] | None = None,
    *,
    executor: str | None = None,
    echo: Callable[[str], Any] = print,
    sweep_progress: Any = None,
    jobs: int | None = None,
) -> Path | None:
    """Execute the book's notebooks and build its HTML; return the path of ``index.html``.

    Args:
        root: The folder holding ``_toc.yml``, ``_config.yml``, ``book/`` and ``notebooks/``.
        profile: ``smoke``, ``quick`` or ``full``, passed to every notebook as ``profile``.
        only: Execute only this notebook (stem or short name); the others reuse their copies
            executed with the same profile by an earlier build. When one is missing, the HTML
            step is skipped and ``None`` is returned.
        build_dir: The build folder (default ``<root>/_build``); the HTML lands in
            ``<build_dir>/html`` and the executed notebooks in ``<build_dir>/src/notebooks``.
        executor: Passed to every notebook as its ``executor`` parameter (``serial``,
            ``process``, ``dask``); ``None`` keeps each notebook's default.
        echo: Receives one line per step (notebook executed, HTML built, total time).
        sweep_progress: A text stream (``sys.stderr``) that shows the progress of each
            notebook's sweeps, or ``None``.
        jobs: How many notebooks whose known runs are all in the run cache execute at once,
            each in a process and a kernel of its own (default :func:`default_jobs`); the
            notebooks that train execute one at a time, before them.

    Raises:
        ValueError: a bad profile, an unknown ``only`` or a bad notebook parameter (raised
            before anything runs).
        tlkit.preflight.PreflightError: a dataset, pretrained weights or the results folder
            that the notebooks to run need is not usable (every problem listed, before any
            notebook runs).
        FileNotFoundError: ``_toc.yml`` or a notebook it lists is missing.
        tlkit.notebooks.NotebookExecutionError: a notebook failed.
        BookBuildError: Jupyter Book failed.
    """
    start = time.perf_counter()
    root = Path(root).resolve()
    build = Path(build_dir).resolve() if build_dir is not None else root / "_build"
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_NAMES)}, got {profile!r}")
    given: dict[str, Any] = {"profile": profile}
    if executor is not None:
        given["executor"] = executor
    notebooks = toc_notebooks(root)
    selected = [_pick(notebooks, only)] if only is not None else notebooks
    params = {path: resolve_parameters(path, given) for path in notebooks}
    for path in notebooks:
        check_parameters(path.stem, params[path])
    # datasets, weights and the results folder, for every notebook to run, in one message

    lacking = check_notebooks([(path.stem, params[path]) for path in selected], root, echo=echo)

    staged = build / "src" / NOTEBOOK_DIR
    times: dict[str, float] = {}
    number = {path: n for n, path in enumerate(selected, start=1)}
    # a notebook that trains runs alone (its sweep uses every core); the others together
    together = [p for p in selected if not lacking.get(p.stem)]
    for path in (p for p in selected if p not in together):
        target = staged / path.name
        echo(f"[{number[path]}/{len(selected)}] {NOTEBOOK_DIR}/{path.name} "
             f"(profile {profile}) ...")
        times[path.stem] = execute(path, target, given, cwd=root,
                                   sweep_progress=sweep_progress)
        echo(f"      executed in {times[path.stem]:.1f} s -> {target}")
    if together:
        jobs = default_jobs() if jobs is None else jobs
        names = ", ".join(f"[{number[p]}/{len(selected)}] {p.stem}" for p in together)
        echo(f"{names}: every known run cached, {min(jobs, len(together))} at a time "
             f"(profile {profile}) ...")
        for path, seconds in _execute_together(together, staged, given, root, jobs,
                                               sweep_progress is not None):
            times[path.stem] = seconds
            echo(f"      {path.stem} executed in {seconds:.1f} s -> {staged / path.name}")

    if only is not None:
        missing = [p for p in notebooks if staged_profile(staged / p.name) != profile]
        if missing:
            names = ", ".join(p.stem for p in missing)
            again = f"tlkit book --profile {profile}"
            if build_dir is not None:
                again += f" --build-dir {build}"
            echo(f"no executed copy with profile {profile} in {staged} for: {names}\n"
                 f"HTML not built; run `{again}` once first")
            return None

    html_start = time.perf_counter()
    _stage_sources(root, build / "src")
    write_page(build / "src", [staged / p.name for p in notebooks])
    write_findings(build / "src", [staged / p.name for p in notebooks])
    write_guidance(build / "src", findings_rows(
        [staged / p.name for p in notebooks if (staged / p.name).is_file()]))
    write_figure_data(build / "src", [staged / p.name for p in notebooks])
    echo(f"building HTML with jupyter-book (strict) into {build / 'html'} ...")
    index = _run_jupyter_book(build)
    now = time.perf_counter()
    echo(f"      built in {now - html_start:.1f} s")
    each = ", ".join(f"{stem} {seconds:.1f} s" for stem, seconds in times.items())
    echo(f"total time {now - start:.1f} s (notebooks: {each or 'none'}; "
         f"HTML {now - html_start:.1f} s)")
    echo(f"book: {index}")
    return index
