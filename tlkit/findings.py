"""What the book found: every claim of every experiment page, on the landing page.

Each experiment page glues its result at a glance as data (``<prefix>_glance_rows``,
:func:`tlkit.pages.glue_glance`). :func:`findings_rows` reads those lines back from the
executed notebooks, and :func:`write_findings` writes them, one table for the whole book with a
link to each claim's page and a count of verdicts, into the landing page of the staged
sources, between the markers :data:`START` and :data:`END`; the repository's page keeps a
sentence there saying that a build fills it in. The table is built from the same values as
each page's own, so the landing page cannot quote a verdict the page does not give.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["PAGE", "START", "END", "findings_rows", "findings_markdown", "write_findings"]

#: The landing page, relative to the book's source folder.
PAGE = Path("book") / "index.md"
START, END = "<!-- findings: start -->", "<!-- findings: end -->"
_SUFFIX = "_glance_rows"
_KEYS = ("held", "did not hold", "inconclusive", "not tested")


def findings_rows(notebooks: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Every claim of the executed ``notebooks``, in their order: the notebook's stem and the
    claim's line of the result at a glance."""
    import ast

    import nbformat

    from .glued import glued_values

    rows = []
    for path in map(Path, notebooks):
        notebook = nbformat.read(str(path), as_version=4)
        for name, text in glued_values(notebook).items():
            if not name.endswith(_SUFFIX):
                continue
            for line in json.loads(ast.literal_eval(text)):
                rows.append({"notebook": path.stem, **line})
    return rows


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings_markdown(rows: Sequence[dict[str, Any]], folder: str = "../notebooks") -> str:
    """The table (MyST Markdown) of :func:`findings_rows`: a sentence counting the verdicts,
    then claim, verdict, effect and the page (its notebook's name, linked); a sentence
    instead when no page was executed."""
    if not rows:
        return ("No experiment page has been executed in this build, so there is nothing to "
                "summarise yet.\n")
    counts = {k: sum(r["verdict_key"] == k for r in rows) for k in _KEYS}
    told = ", ".join(f"**{n} {k}**" for k, n in counts.items() if n)
    pages = len({r["notebook"] for r in rows})
    lines = [f"The {pages} experiment pages state {len(rows)} claims of the survey: {told}. "
             "Each effect is an accuracy difference (a rank correlation for the "
             "transferability scores) with the Holm-adjusted interval its verdict was decided "
             "on, by the rules of {doc}`evidence`. Each page opens with its own lines of this "
             "table.", "",
             "```{table} Every claim the book states, its verdict and its effect, by page",
             "| claim | verdict | effect [adjusted interval] | page |",
             "| --- | --- | --- | --- |"]
    for r in rows:
        label = r["notebook"].replace("_", "\u00a0")  # "02 small targets", unbroken
        link = f"{{doc}}`{label} <{folder}/{r['notebook']}>`"
        lines.append(f"| {_cell(r['claim'])} | {_cell(r['verdict'])} | "
                     f"{_cell(r['effect [adjusted interval]'])} | {link} |")
    return "\n".join([*lines, "```"]) + "\n"


def write_findings(src: str | os.PathLike[str],
                   notebooks: Sequence[str | os.PathLike[str]]) -> Path | None:
    """Fill the landing page of the staged sources ``src`` (between :data:`START` and
    :data:`END`) with :func:`findings_markdown` of the executed ``notebooks``; return its path,
    or ``None`` (nothing written) for a book whose landing page has no such block."""
    path = Path(src) / PAGE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        return None
    existing = [p for p in map(Path, notebooks) if p.is_file()]
    block = f"{START}\n{findings_markdown(findings_rows(existing))}{END}"
    path.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    return path
