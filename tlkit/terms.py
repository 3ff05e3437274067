"""The book's index of terms: where a reader lands who looks a method up.

``book/terms.yml`` lists each term the book defines or measures (a method's name, a measure, a
rule of evidence) with the sections a reader should land on: the one that defines it, then those
of the chapters that measure it. :func:`add_index_entries` marks each of those sections as a
*main* entry of the term in Sphinx's index, anchored at the section itself. Sphinx's search ranks
a query that equals a main index entry above every full-text match (score 100 against at most 15
for a title), so searching for "L2-SP" lists the definition in "How transfer is done" and the
chapter that measures it before the pages that only mention it; the generated index lists them
too. Everything else of the search (full-text matches, titles) is unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["TERMS_FILE", "read_terms", "add_index_entries"]

#: The file, relative to the book's root, that lists the terms.
TERMS_FILE = "book/terms.yml"

#: A term and the (page, section title) pairs where it is defined and measured.
Terms = dict[str, list[tuple[str, str]]]


def read_terms(path: str | Path) -> Terms:
    """The terms listed in ``path`` (YAML: term -> list of ``[page, section title]``), or none
    when the file is absent. Raises :class:`ValueError` naming the term whose entry is not a
    list of pairs of strings."""
    import yaml

    path = Path(path)
    if not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of terms, got {type(loaded).__name__}")
    terms: Terms = {}
    for term, places in loaded.items():
        if (not isinstance(places, list) or not places
                or not all(isinstance(p, list) and len(p) == 2
                           and all(isinstance(s, str) for s in p) for p in places)):
            raise ValueError(f"{path}: term {term!r} must list [page, section title] pairs")
        terms[str(term)] = [(page, title) for page, title in places]
    return terms


def add_index_entries(doctree: Any, docname: str, terms: Terms) -> list[str]:
    """Mark, in ``doctree`` (the page ``docname``), each section that ``terms`` lists for this
    page as a main index entry of its term, anchored at the section's id. Returns the section
    titles listed for this page that it does not have (the caller warns about them)."""
    from docutils import nodes
    from sphinx import addnodes

    wanted: dict[str, list[str]] = {}
    for term, places in terms.items():
        for page, title in places:
            if page == docname:
                wanted.setdefault(title, []).append(term)
    if not wanted:
        return []
    found: set[str] = set()
    for section in doctree.findall(nodes.section):
        title_node = next(iter(section.findall(nodes.title)), None)
        title = title_node.astext().strip() if title_node is not None else ""
        if title not in wanted or title in found or not section.get("ids"):
            continue
        found.add(title)
        anchor = section["ids"][0]
        entries = [("single", term, anchor, "main", None) for term in wanted[title]]
        position = section.index(title_node) + 1 if title_node in section.children else 0
        section.insert(position, addnodes.index(entries=entries, inline=False))
    return [title for title in wanted if title not in found]
