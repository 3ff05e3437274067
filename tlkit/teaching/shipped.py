"""Files an assignment ships beside the student's notebook: data of a chapter's own.

A chapter whose exercise needs files besides the notebook (the chapter on a reader's own images
asks students to run it on an image folder) declares them on its experiment
(:attr:`tlkit.experiments.experiment.Experiment.coursework_files`): a function that writes them
into an empty folder and returns the notebook parameters that point at them, as paths relative
to that folder (``{"data_dir": "images"}``). :func:`ship` calls it once per assignment, and the
same files then go

- beside every student notebook and every solutions notebook (:meth:`Shipped.copy_to`), where
  Jupyter runs a notebook in its own folder, so the relative path finds them wherever the
  student opens the assignment;
- into the grading package's ``files/`` (:meth:`Shipped.files`,
  :func:`tlkit.teaching.package.complete_package`), which Otter copies beside the submission it
  grades, so grading runs on the very files the student had.

The parameters are written, relative, into the student notebook's parameters cell
(:meth:`Shipped.set_defaults`) and into the settings every submission is graded with; the
grading run made while generating, which runs elsewhere, gets them as absolute paths
(:meth:`Shipped.located`). A chapter without such files ships nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Shipped", "ship"]


@dataclass(frozen=True)
class Shipped:
    """The files one assignment ships.

    Attributes:
        folder: Where they were written (the files are everything in it).
        parameters: The parameters pointing the notebook at them, as Python source
            (``{"data_dir": '"images"'}``), with paths relative to ``folder``.
    """

    folder: Path
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """The files and folders at the top of :attr:`folder`, sorted."""
        if not self.folder.is_dir():
            return ()
        return tuple(sorted(p.name for p in self.folder.iterdir()))

    def files(self) -> dict[str, bytes]:
        """Every file shipped, ``{path relative to the folder (POSIX): bytes}``."""
        if not self.folder.is_dir():
            return {}
        return {p.relative_to(self.folder).as_posix(): p.read_bytes()
                for p in sorted(self.folder.rglob("*")) if p.is_file()}

    def located(self, parameters: Mapping[str, str]) -> dict[str, str]:
        """``parameters`` (Python source) with each shipped one as the absolute path of its
        file here, for a run made outside the folder the notebook will lie in."""
        from .settings import parameter_values

        out = dict(parameters)
        for name, source in self.parameters.items():
            if parameters.get(name) == source:
                out[name] = json.dumps(str(self.folder / parameter_values({name: source})[name]))
        return out

    def copy_to(self, target: Path) -> None:
        """Copy the files into ``target`` (the folder of the notebooks that use them),
        replacing what is there under the same names."""
        target.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            source, there = self.folder / name, target / name
            if there.is_dir() and not there.is_symlink():
                shutil.rmtree(there)
            elif there.exists() or there.is_symlink():
                there.unlink()
            if source.is_dir():
                shutil.copytree(source, there)
            else:
                shutil.copy2(source, there)

    def set_defaults(self, notebook: Any) -> None:
        """Set the shipped parameters in the notebook's ``parameters`` cell, in place (each
        line's comment kept).

        Raises:
            ValueError: the notebook has no ``parameters`` cell or it does not set one of them.
        """
        from .settings import set_parameter

        if not self.parameters:
            return
        cells = [c for c in notebook.cells
                 if "parameters" in c.get("metadata", {}).get("tags", [])]
        if not cells:
            raise ValueError("the notebook has no cell tagged 'parameters'")
        for name, source in self.parameters.items():
            cells[0].source = set_parameter(cells[0].source, name, source)


def ship(notebook: str, folder: Path, params: Mapping[str, Any]) -> Shipped:
    """Write the files the assignment of ``notebook`` (a file stem) ships into ``folder``, for
    the parameters ``params`` (Python values), and return them; nothing where its experiment
    declares none (or it has no experiment).

    Raises:
        ValueError: a returned parameter is not a relative path to a file or folder written.
    """
    from ..experiments import EXPERIMENTS

    declared = EXPERIMENTS.get(notebook)
    hook = getattr(declared, "coursework_files", None)
    if hook is None:
        return Shipped(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pointed = dict(hook(folder, params))
    for name, value in pointed.items():
        path = Path(str(value))
        if path.is_absolute() or ".." in path.parts or not (folder / path).exists():
            raise ValueError(f"notebook {notebook}: the shipped parameter {name}={value!r} is not "
                             f"a relative path to a file it wrote")
    return Shipped(folder, {name: json.dumps(str(value)) for name, value in pointed.items()})
