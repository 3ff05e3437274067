"""Consistency of the book's configuration: table of contents, chapters and citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tlkit.book import toc_documents

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"

CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
BIB_ENTRY = re.compile(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)


def _toc_files() -> list[str]:
    """Every document named in _toc.yml (root included), as written there."""
    return toc_documents(ROOT)


def _source(docname: str) -> Path | None:
    for suffix in (".md", ".ipynb"):
        path = ROOT / f"{docname}{suffix}"
        if path.exists():
            return path
    return None


def _bib_keys() -> set[str]:
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    return {
        key
        for kind, key in BIB_ENTRY.findall(text)
        if kind.lower() not in {"comment", "string", "preamble"}
    }


def test_every_toc_file_exists() -> None:
    missing = []
    for docname in _toc_files():
        if _source(docname) is None and not docname.startswith("notebooks/"):
            missing.append(docname)
    assert not missing, f"in _toc.yml but not in the repository: {missing}"


def test_every_chapter_is_in_the_toc() -> None:
    listed = set(_toc_files())
    orphans = [
        p.relative_to(ROOT).with_suffix("").as_posix()
        for p in sorted(BOOK.glob("*.md"))
        if p.relative_to(ROOT).with_suffix("").as_posix() not in listed
    ]
    assert not orphans, f"chapters missing from _toc.yml (they would not be built): {orphans}"


def test_every_citation_key_is_in_the_bibliography() -> None:
    keys = _bib_keys()
    unknown = {}
    for chapter in sorted(BOOK.glob("*.md")):
        for group in CITE_ROLE.findall(chapter.read_text(encoding="utf-8")):
            for key in (k.strip() for k in group.split(",")):
                if key not in keys:
                    unknown.setdefault(chapter.name, []).append(key)
    assert not unknown, f"citation keys not in book/references.bib: {unknown}"


def test_bibliography_keys_are_unique() -> None:
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    keys = [key for kind, key in BIB_ENTRY.findall(text) if kind.lower() != "comment"]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"duplicate bibliography keys: {duplicates}"


def test_config_points_at_the_bibliography() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
