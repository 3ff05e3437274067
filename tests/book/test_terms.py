"""The book's index of terms (``book/terms.yml``): every listed section exists, and a listed
section becomes a main index entry anchored at it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tlkit.terms import TERMS_FILE, add_index_entries, read_terms

REPO = Path(__file__).resolve().parents[2]


def _headings(page: str) -> set[str]:
    """The section titles written in ``page``'s source (Markdown or a notebook's Markdown)."""
    md, nb = REPO / f"{page}.md", REPO / f"{page}.ipynb"
    if md.is_file():
        text = md.read_text(encoding="utf-8")
    else:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return {m.group(1).strip() for m in re.finditer(r"^#+\s+(.+)$", text, re.M)}


def test_every_listed_section_is_a_section_of_a_page_of_the_book() -> None:
    toc = (REPO / "_toc.yml").read_text(encoding="utf-8")
    terms = read_terms(REPO / TERMS_FILE)
    assert {"L2-SP", "DELTA", "BSS", "LogME", "LEEP", "OTDD", "Holm"} <= set(terms)
    for term, places in terms.items():
        for page, title in places:
            assert f"file: {page}\n" in toc, (term, page)
            assert title in _headings(page), (term, page, title)


def test_a_listed_section_becomes_a_main_entry_anchored_at_it() -> None:
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.utils import new_document
    from sphinx import addnodes

    doc = new_document("page", get_default_settings())
    for ident, title in (("run", "Run"), ("result", "Result")):
        section = nodes.section(ids=[ident])
        section += nodes.title(title, title)
        section += nodes.paragraph("", "text")
        doc += section
    terms = {"L2-SP": [("notebooks/02", "Run"), ("book/methods", "Run")],
             "DELTA": [("notebooks/02", "Run"), ("notebooks/02", "Missing")]}
    assert add_index_entries(doc, "notebooks/02", terms) == ["Missing"]
    entries = [e for n in doc.findall(addnodes.index) for e in n["entries"]]
    assert entries == [("single", "L2-SP", "run", "main", None),
                       ("single", "DELTA", "run", "main", None)]
    # the entry sits in the listed section, not in another
    assert next(doc.findall(addnodes.index)).parent["ids"] == ["run"]
    assert add_index_entries(doc, "book/other", terms) == []


@pytest.mark.parametrize("text", ["- just a list", "L2-SP: [book/methods]",
                                  "L2-SP: [[book/methods, 3]]", "L2-SP: []"])
def test_a_malformed_terms_file_names_the_problem(tmp_path: Path, text: str) -> None:
    path = tmp_path / "terms.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="terms.yml"):
        read_terms(path)
    assert read_terms(tmp_path / "absent.yml") == {}
