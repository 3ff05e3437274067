"""The book's notebooks: finding them and executing one with papermill.

A notebook ``notebooks/NN_name.ipynb`` has one cell tagged ``parameters`` (papermill's
convention); reading, converting and checking its parameters is :mod:`tlkit.parameters`, whose
functions are re-exported here. :func:`execute` runs one notebook with papermill and records the
profile in its metadata.

>>> path = find_notebook("quickstart", root=".")
>>> params = resolve_parameters(path, {"profile": "smoke", "seeds": "2"})
>>> check_parameters(path.stem, params)
>>> execute(path, "_build/notebooks/00_quickstart.ipynb", {"profile": "smoke"}, cwd=".")
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .parameters import (
    Parameter,
    check_parameters,
    convert_value,
    read_parameters,
    resolve_parameters,
)

__all__ = [
    "NOTEBOOK_DIR",
    "Parameter",
    "NotebookNotFoundError",
    "NotebookExecutionError",
    "KernelDiedError",
    "find_root",
    "list_notebooks",
    "short_name",
    "find_notebook",
    "read_parameters",
    "convert_value",
    "resolve_parameters",
    "check_parameters",
    "check_notebooks",
    "execute",
]

#: The folder, relative to the book's root, that holds the experiment notebooks.
NOTEBOOK_DIR = "notebooks"
#: The kernel every notebook runs on (the current interpreter's ipykernel).
KERNEL = "python3"
#: Kernel options: keep ipykernel's own log (start-up notices, shutdown interrupts) off the
#: terminal; errors in cells arrive through the outputs.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: Environment set while a notebook runs: no progress bars in the saved outputs.
#: Environment of every notebook executed by tlkit: no progress bars, and figures glued for the
#: book rather than shown where they are drawn (:func:`tlkit.pages.figure`).
EXECUTION_ENV = {"TLKIT_PROGRESS": "0", "TLKIT_GLUE_ONLY": "1", "TLKIT_BATCH_KERNEL": "1"}

_PREFIX = re.compile(r"^\d+_")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookNotFoundError(ValueError):
    """No notebook matches the name given."""


class NotebookExecutionError(RuntimeError):
    """A cell of a notebook raised while papermill executed it.

    Attributes:
        notebook: The file stem of the notebook (``00_quickstart``).
        cell_index: Index (from 0) of the failing cell in the source notebook.
        execution_count: The cell's ``In [n]`` number in the executed copy.
        ename: The exception's class name, e.g. ``ValueError``.
        evalue: The exception's message.
        traceback: The kernel's traceback, without colour codes.
        output: Where the partially executed copy was written.
    """

    def __init__(self, notebook: str, cell_index: int, execution_count: int | None, ename: str,
                 evalue: str, traceback: str, output: Path) -> None:
        self.notebook, self.cell_index, self.execution_count = notebook, cell_index, execution_count
        self.ename, self.evalue, self.traceback, self.output = ename, evalue, traceback, output
        where = f"cell {cell_index}" + (f" (In [{execution_count}])" if execution_count else "")
        error = f"{ename}: {evalue}" if evalue else ename
        super().__init__(f"notebook {notebook} failed in {where}: {error}\n"
                         f"the partially executed copy is kept at {output}")

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        """Pickled by its fields, so that it crosses from a process that executed a notebook."""
        return (type(self), (self.notebook, self.cell_index, self.execution_count, self.ename,
                             self.evalue, self.traceback, self.output))


class KernelDiedError(NotebookExecutionError):
    """The kernel of a notebook died while a cell ran: killed (``kill -9``), or by the system
    when out of memory. Its message is one line; :attr:`traceback` is empty (the kernel left
    none), :attr:`cell_index` is ``None`` when no cell had started, and :attr:`first_line` is
    the first line of the cell's source."""

    def __init__(self, notebook: str, cell_index: int | None, execution_count: int | None,
                 first_line: str, output: Path) -> None:
        self.notebook, self.cell_index, self.execution_count = notebook, cell_index, execution_count
        self.first_line, self.output = first_line, output
        self.ename, self.evalue, self.traceback = "DeadKernelError", "the kernel died", ""
        where = "before any cell ran"
        if cell_index is not None:
            where = f"in cell {cell_index}" + (f" (In [{execution_count}])"
                                               if execution_count else "")
            where += f" `{first_line}`" if first_line else ""
        RuntimeError.__init__(
            self, f"notebook {notebook}: its kernel died {where}; it was killed (kill -9, or by "
                  "the system when out of memory); the runs it finished are kept in the run "
                  f"cache, and the partially executed copy at {output}")

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        """Pickled by its fields, so that it crosses from a process that executed a notebook."""
        return (type(self), (self.notebook, self.cell_index, self.execution_count,
                             self.first_line, self.output))


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The book's root: the first of ``start`` (default: the current directory) and its parents
    that holds a ``_toc.yml``.

    Raises:
        FileNotFoundError: no folder up to the file system's root holds one.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _toc.yml in {here} or any folder above it; pass --root")


def list_notebooks(root: str | os.PathLike[str]) -> list[Path]:
    """Every notebook under ``<root>/notebooks``, sorted by name."""
    return sorted((Path(root) / NOTEBOOK_DIR).glob("*.ipynb"))


def short_name(stem: str) -> str:
    """The name without its number prefix: ``00_quickstart`` -> ``quickstart``."""
    return _PREFIX.sub("", stem)


def find_notebook(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The notebook called ``name``: a path, a file stem (``00_quickstart``) or a short name
    (``quickstart``) of a notebook under ``<root>/notebooks``.

    Raises:
        NotebookNotFoundError: nothing matches, or a short name matches several notebooks.
    """
    as_path = Path(name)
    if as_path.suffix == ".ipynb" or len(as_path.parts) > 1:
        for candidate in (as_path, as_path.with_name(f"{as_path.name}.ipynb")):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate
        raise NotebookNotFoundError(f"no notebook at {name}")
    root = Path(root if root is not None else ".")
    available = list_notebooks(root)
    matches = [p for p in available if p.stem == name]
    if not matches:
        matches = [p for p in available if short_name(p.stem) == name]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(p.stem for p in available) or "none"
    if matches:
        raise NotebookNotFoundError(f"{name!r} matches several notebooks: "
                                    f"{', '.join(p.stem for p in matches)}")
    raise NotebookNotFoundError(
        f"unknown notebook {name!r}; notebooks in {root / NOTEBOOK_DIR}: {names}")


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables within the block (kernels started there inherit them),
    restoring the previous values after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _source_index(path: Path, executed_index: int, injected: bool) -> int:
    """Index in the source notebook of cell ``executed_index`` of the executed copy.

    When parameters are given, papermill inserts its ``injected-parameters`` cell after the
    ``parameters`` cell (at the top when there is none), which shifts every later cell by one.
    """
    import nbformat

    if not injected:
        return executed_index
    cells = nbformat.read(str(path), as_version=4).cells
    tagged = [i for i, cell in enumerate(cells)
              if "parameters" in cell.get("metadata", {}).get("tags", [])]
    position = tagged[0] + 1 if tagged else 0
    return executed_index - 1 if executed_index > position else executed_index


def _relative(path: str, start: Path) -> str:
    try:
        return Path(path).resolve().relative_to(start.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _kernel_died(path: Path, output: Path, injected: bool) -> KernelDiedError:
    """The error for a kernel that died: the cell that ran is the last one papermill started in
    the kept copy, where it is marked failed with an error output saying so."""
    import nbformat

    try:
        nb = nbformat.read(str(output), as_version=4)
    except (OSError, ValueError):
        return KernelDiedError(path.stem, None, None, "", output)
    started = [i for i, cell in enumerate(nb.cells)
               if cell.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return KernelDiedError(path.stem, None, None, "", output)
    cell = nb.cells[started[-1]]
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    cell.metadata["papermill"].update(status="failed", exception=True)
    cell.setdefault("outputs", []).append(nbformat.v4.new_output(
        "error", ename="DeadKernelError", traceback=[],
        evalue="the kernel died while this cell ran (killed, or out of memory)"))
    with contextlib.suppress(OSError):
        nbformat.write(nb, str(output))
    return KernelDiedError(path.stem, _source_index(path, started[-1], injected),
                           cell.get("execution_count"),
                           first if len(first) <= 60 else f"{first[:57]}...", output)


def _not_kernel_died(record: logging.LogRecord) -> bool:
    """A logging filter: papermill's notice of a dead kernel is left to :class:`KernelDiedError`."""
    return not record.getMessage().startswith("Kernel died")


def environment_summary() -> dict[str, Any]:
    """The library versions and the machine of this interpreter (the kernels run on it)."""
    import datetime
    import platform

    import torch

    from .runner import library_versions

    return {"versions": library_versions(),
            "machine": {"system": f"{platform.system()} {platform.machine()}",
                        "cpus": os.cpu_count(),
                        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available()
                        else None},
            "executed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds")}


def _record_metadata(output: Path, stem: str, profile: Any, parameters: Mapping[str, Any],
                     seconds: float, cwd: Path, sweeps: Mapping[str, Any]) -> None:
    """Add ``metadata.tlkit``; papermill's paths become relative, so that the published
    notebook does not show the folders of the machine that built it; the cell papermill injects
    is removed from the page (the parameters of the run are recorded in ``metadata.tlkit``, and
    each page states its profile in its prose) and the ``parameters`` cell folded. ``sweeps``
    (:meth:`tlkit.progress.ProgressMonitor.summary`) and :func:`environment_summary` are kept
    for the book's page of execution statistics."""
    import nbformat

    from . import __version__

    nb = nbformat.read(str(output), as_version=4)
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        elif "parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = _relative(record[key], cwd)
    nb.metadata["tlkit"] = {
        "notebook": stem,
        "profile": profile,
        "parameters": dict(parameters),
        "seconds": round(seconds, 1),
        "tlkit_version": __version__,
        "sweeps": dict(sweeps),
        **environment_summary(),
    }
    nbformat.write(nb, str(output))


def execute(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    *,
    cwd: str | os.PathLike[str] | None = None,
    progress_bar: bool = False,
    sweep_progress: Any = None,
) -> float:
    """Execute the notebook at ``path`` with papermill into ``output``; return the seconds taken.

    The kernel is ``python3`` on the current interpreter, started in ``cwd`` (so every notebook
    of a book shares the run cache ``results/`` there) with ``TLKIT_PROGRESS=0``. Only
    ``parameters`` are injected; the notebook's other defaults stay as written. The executed
    copy records under ``metadata.tlkit`` the injected parameters, the profile (the notebook's
    default when not given), the seconds taken, the runs its sweeps trained and took from the
    cache, the library versions and the machine. The source notebook is never modified.

    ``sweep_progress``, a text stream such as ``sys.stderr``, shows there the progress of the
    notebook's sweeps (:class:`tlkit.progress.ProgressMonitor`); ``None`` shows nothing.

    Raises:
        NotebookExecutionError: a cell raised; the partially executed copy stays at ``output``.
        KernelDiedError: the kernel died (killed, out of memory); the copy stays likewise.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    path, output = Path(path), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            from .progress import ProgressMonitor

            monitor = stack.enter_context(ProgressMonitor(sweep_progress))
            stack.enter_context(environment({**EXECUTION_ENV, **monitor.env}))
            logging.getLogger("papermill").addFilter(_not_kernel_died)
            stack.callback(logging.getLogger("papermill").removeFilter, _not_kernel_died)
            papermill.execute_notebook(
                str(path), str(output), parameters=dict(parameters), kernel_name=KERNEL,
                cwd=None if cwd is None else str(cwd), progress_bar=progress_bar,
                log_output=False, extra_arguments=KERNEL_ARGUMENTS)
    except PapermillExecutionError as exc:
        traceback = _ANSI.sub("", "\n".join(exc.traceback or []))
        raise NotebookExecutionError(
            notebook=path.stem, cell_index=_source_index(path, exc.cell_index, bool(parameters)),
            execution_count=exc.exec_count, ename=exc.ename, evalue=exc.evalue,
            traceback=traceback, output=output) from None
    except DeadKernelError:
        raise _kernel_died(path, output, bool(parameters)) from None
    seconds = time.perf_counter() - start
    profile = parameters.get("profile")
    if "profile" not in parameters:
        declared = read_parameters(path).get("profile")
        profile = declared.default if declared is not None else None
    _record_metadata(output, path.stem, profile, parameters, seconds,
                     Path(cwd) if cwd is not None else Path.cwd(), monitor.summary())
    return seconds


def check_notebooks(notebooks: Sequence[tuple[str, Mapping[str, Any]]],
                    cwd: str | os.PathLike[str],
                    echo: Callable[[str], Any] | None = None) -> dict[str, int]:
    """Check, before any kernel starts, what the runs of ``notebooks`` (``(stem, parameters)``
    pairs, to be executed in ``cwd``) need and the run cache there lacks: the device, threads
    and runs that can start (:mod:`tlkit.prechecks`, a ``ValueError``), the results folder, the
    datasets and the pretrained weights (:func:`tlkit.preflight.check`, every problem of every
    notebook in one message). ``echo`` hears of a large sweep being planned. Returns how many
    of each notebook's known runs (:func:`tlkit.experiments.known_specs`) are missing.

    Raises:
        tlkit.preflight.PreflightError: the problems found.
    """
    from . import prechecks, preflight
    from .experiments import known_specs
    from .progress import LARGE_SWEEP
    from .store import Store, results_root
    from .sweep import placed, plan

    store = Store(Path(cwd) / results_root())
    missing: list[Any] = []
    counts: dict[str, int] = {}
    prechecks.check_threads()
    for stem, params in notebooks:
        prechecks.check_device(params.get("device"))
        device = params.get("device") or "auto"
        listed = placed(known_specs(stem, params, store, device), device)
        if echo is not None and len(listed) >= LARGE_SWEEP:
            echo(f"planning {len(listed):,} runs of {stem} ...")
        lacking = [run for level in plan(listed, store) for run in level]
        counts[stem] = len(lacking)
        missing += lacking
    if missing:
        prechecks.check_specs(spec for spec, _ in missing)
        preflight.check([spec for spec, _ in missing], store,
                        [spec for spec, ckpt in missing if ckpt])
    return counts
