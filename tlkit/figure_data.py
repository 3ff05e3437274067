"""Every figure's numbers, one click away: a CSV of what it plots, and the command that redraws it.

A figure drawn by :mod:`tlkit.plots` keeps the tables it plots (means, intervals, n:
:func:`tlkit.plots.base.figure_data`), and :func:`tlkit.pages.figure` glues them beside the
figure as CSV text (``<name>_data``). After the book's notebooks have run, :func:`write_figure_data`
writes each as ``_static/figure-data/<figure id>.csv`` into the staged sources (the id is the
``:name:`` of the ``{glue:figure}`` that shows it) with an index, :data:`INDEX`, that gives, per
figure, its file and the command that redraws it from the run cache (``tlkit notebook <stem>
--profile <profile>``: every run cached, the notebook only re-plots). The book's Sphinx extension
(:mod:`tlkit.sphinxext`) reads the index and puts both under each figure's caption.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "INDEX", "SUFFIX", "figure_ids", "write_figure_data", "read_index"]

#: Where the CSV files go, relative to the book's source (and HTML) folder.
FOLDER = Path("_static") / "figure-data"
#: The index the Sphinx extension reads: figure id -> {"csv", "command"}.
INDEX = FOLDER / "index.json"
#: The suffix of a figure's glued data: ``<glue name of the figure>_data``.
SUFFIX = "_data"
_FIGURE = re.compile(r"^(`{3,}|:{3,})\{glue:figure\}[ \t]+(?P<key>\S+)[ \t]*\n"
                     r"(?P<options>(?:[ \t]*:[\w-]+:.*\n)*)", re.MULTILINE)
_NAME = re.compile(r":name:[ \t]*(\S+)")


def figure_ids(markdown: str) -> dict[str, str]:
    """``{glue name: figure id}`` of every ``{glue:figure}`` in ``markdown`` that has a
    ``:name:``."""
    out = {}
    for match in _FIGURE.finditer(markdown):
        name = _NAME.search(match.group("options"))
        if name:
            out[match.group("key")] = name.group(1)
    return out


def write_figure_data(src: str | os.PathLike[str],
                      notebooks: Sequence[str | os.PathLike[str]]) -> dict[str, dict[str, str]]:
    """Write the CSV of every figure of the executed ``notebooks`` that glued its data into
    ``<src>/_static/figure-data/`` with the index :data:`INDEX`; return the index."""
    import nbformat

    from .glued import glued_values

    folder = Path(src) / FOLDER
    index: dict[str, dict[str, str]] = {}
    for path in map(Path, notebooks):
        if not path.is_file():
            continue
        notebook = nbformat.read(str(path), as_version=4)
        glued = glued_values(notebook)
        markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        profile = notebook.metadata.get("tlkit", {}).get("profile") or notebook.metadata.get(
            "papermill", {}).get("parameters", {}).get("profile", "quick")
        for key, figure in figure_ids(markdown).items():
            text = glued.get(key + SUFFIX)
            if text is None:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{figure}.csv").write_text(ast.literal_eval(text), encoding="utf-8")
            index[figure] = {"csv": (FOLDER / f"{figure}.csv").as_posix(),
                             "command": f"tlkit notebook {path.stem} --profile {profile}"}
    if index:
        (Path(src) / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True),
                                       encoding="utf-8")
    return index


def read_index(src: str | os.PathLike[str]) -> dict[str, Any]:
    """The index :func:`write_figure_data` wrote into ``src`` (empty when there is none)."""
    path = Path(src) / INDEX
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
