"""The master notebook of an assignment: its exercises, and its preparation for Otter Assign.

An exercise is a ``# BEGIN QUESTION`` raw cell with its configuration (name, points, manual)
followed by its prompt, solution and tests, in the Otter Assign format
(https://otter-grader.readthedocs.io). :func:`prepare_master` copies a book notebook for Jupyter:
profile set, MyST turned into Markdown, the book's cell tags dropped.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .myst import jupyter_markdown

__all__ = ["STUDENT_PROFILE", "BOOK_TAGS", "Question", "read_notebook", "read_questions",
           "has_exercises", "set_profile", "prepare_master", "model_answers", "arrange_student"]

#: The profile the student and autograder notebooks run with.
STUDENT_PROFILE = "quick"
#: Cell tags that only mean something to the book (myst-nb); dropped from generated notebooks.
BOOK_TAGS = frozenset({"remove-cell", "remove_cell", "remove-input", "remove_input",
                       "remove-output", "remove_output", "hide-cell", "hide_cell", "hide-input",
                       "hide_input", "hide-output", "hide_output"})
_QUESTION = re.compile(r"#\s+begin\s+question\b", re.IGNORECASE)
_PROFILE_LINE = re.compile(r"^(?P<head>\s*profile\s*(?::[^=]+)?=\s*)(?P<value>(['\"]).*?\3)",
                           re.MULTILINE)


@dataclass(frozen=True)
class Question:
    """One exercise of a notebook, as declared in its ``# BEGIN QUESTION`` cell.

    Attributes:
        name: The question's name (``grader.check(name)``).
        points: Its points (Otter's default, 1, when not given).
        manual: Graded by hand (a written answer) rather than by tests.
    """

    name: str
    points: float
    manual: bool = False


def read_notebook(source: Any) -> Any:
    """An ``nbformat`` notebook from a path, or the notebook itself."""
    import nbformat

    if isinstance(source, str | os.PathLike):
        return nbformat.read(str(source), as_version=4)
    return source


def read_questions(notebook: Any) -> list[Question]:
    """The exercises of a notebook (a path or an ``nbformat`` notebook), in order.

    Raises:
        ValueError: a ``# BEGIN QUESTION`` cell whose configuration has no name.
    """
    import yaml

    out = []
    for cell in read_notebook(notebook).cells:
        if cell.cell_type != "raw" or not _QUESTION.match(cell.source.lstrip()):
            continue
        config = yaml.safe_load(cell.source.split("\n", 1)[1] if "\n" in cell.source else "")
        if not isinstance(config, dict) or not config.get("name"):
            raise ValueError(f"a '# BEGIN QUESTION' cell has no name: {cell.source!r}")
        points = config.get("points")
        out.append(Question(str(config["name"]), float(1 if points is None else points),
                            bool(config.get("manual", False))))
    return out


def has_exercises(notebook: Any) -> bool:
    """Whether a notebook (a path or an ``nbformat`` notebook) has at least one exercise."""
    return any(cell.cell_type == "raw" and _QUESTION.match(cell.source.lstrip())
               for cell in read_notebook(notebook).cells)


def set_profile(notebook: Any, profile: str) -> None:
    """Set the default of ``profile`` in the notebook's ``parameters`` cell, in place.

    The assignment keeps the rest of the line (its comment) and every other parameter.

    Raises:
        ValueError: the notebook has no ``parameters`` cell or it assigns no ``profile``.
    """
    cells = [cell for cell in notebook.cells
             if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    cell = cells[0]
    source, count = _PROFILE_LINE.subn(lambda m: f'{m["head"]}"{profile}"', cell.source, count=1)
    if not count:
        raise ValueError("the notebook's parameters cell does not set 'profile'")
    cell.source = source


def prepare_master(path: str | os.PathLike[str], profile: str = STUDENT_PROFILE,
                   values: Mapping[str, str] | None = None,
                   references: Mapping[str, tuple[str, str]] | None = None,
                   pasted: Mapping[str, str] | None = None) -> Any:
    """The notebook at ``path`` made ready for Otter Assign: profile set, Markdown for Jupyter,
    the book's tags and myst-nb cell settings removed. With ``values`` (the glued values of a
    run, :func:`tlkit.teaching.values.glued_values`), every glue reference in the prose shows its
    value (:func:`tlkit.teaching.values.fill`), and with ``pasted`` (the ``text/markdown`` of
    the run's glued ``Markdown`` objects) every ``{glue:md}`` block its Markdown; with
    ``references`` (:func:`tlkit.teaching.myst.read_references`), citations read as text. The
    file itself is not changed.

    Raises:
        ValueError: no parameters cell or no ``profile`` in it.
        tlkit.teaching.values.MissingValueError: the prose quotes a value the run did not glue.
    """
    from .values import figure_numbers, fill

    nb = copy.deepcopy(read_notebook(Path(path)))
    set_profile(nb, profile)
    figures = figure_numbers([c.source for c in nb.cells if c.cell_type == "markdown"])
    for cell in nb.cells:
        metadata = cell.setdefault("metadata", {})
        tags = [tag for tag in metadata.get("tags", []) if tag not in BOOK_TAGS]
        if tags:
            metadata["tags"] = tags
        else:
            metadata.pop("tags", None)
        metadata.pop("mystnb", None)
        if cell.cell_type == "markdown":
            text = (fill(cell.source, values, figures, pasted=pasted) if values is not None
                    else cell.source)
            cell.source = jupyter_markdown(text, dict(references or {}))
    return nb


def model_answers(notebook: Any) -> dict[str, str]:
    """The written solution of each question (the Markdown of its ``# BEGIN SOLUTION`` block):
    question name -> text, for the questions graded by hand that have one."""
    import yaml

    out: dict[str, str] = {}
    name, inside = None, False
    for cell in read_notebook(notebook).cells:
        text = cell.source.strip()
        if cell.cell_type == "raw" and _QUESTION.match(text):
            body = text.split("\n", 1)[1] if "\n" in text else ""
            config = yaml.safe_load(body) or {}
            name = str(config.get("name")) if config.get("manual") else None
        elif cell.cell_type == "raw" and re.match(r"#\s+begin\s+solution\b", text, re.I):
            inside = True
        elif cell.cell_type == "raw" and re.match(r"#\s+end\s+solution\b", text, re.I):
            inside = False
        elif inside and name and cell.cell_type == "markdown":
            out[name] = (out.get(name, "") + "\n\n" + text).strip()
    return out


_INSTALL_TEST = 'if importlib.util.find_spec("tlkit") is None:'
_INSTALL_TEST_STUDENT = ('if any(importlib.util.find_spec(name) is None '
                         'for name in ("tlkit", "otter")):')
_DO_NOT_EDIT = ("# Do not edit this cell: grading runs every submission with these values, "
                "whatever it says here.\n")


def arrange_student(notebook: Any) -> Any:
    """The student notebook made ready to hand out, in place: the book's install cell (for
    Colab and Binder) also installs the teaching tools and comes before Otter's first cell,
    which needs them; the parameters cell says it is not to be edited and cannot be. Returns
    the notebook."""
    cells = notebook.cells
    install = next((i for i, c in enumerate(cells)
                    if c.cell_type == "code" and _INSTALL_TEST in c.source), None)
    otter = next((i for i, c in enumerate(cells)
                  if c.cell_type == "code" and "otter.Notebook(" in c.source), None)
    if install is not None:
        cell = cells[install]
        cell.source = (cell.source.replace(_INSTALL_TEST, _INSTALL_TEST_STUDENT)
                       .replace("tlkit[book] @", "tlkit[book,teach] @"))
        if otter is not None and otter < install:
            cells.insert(install, cells.pop(otter))  # Otter's cell right after the install
    for cell in cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            if not cell.source.startswith(_DO_NOT_EDIT):
                cell.source = _DO_NOT_EDIT + cell.source
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    return notebook
