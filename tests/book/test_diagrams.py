"""The book's diagrams are drawn from code: render_all must write every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlkit.diagrams import TAXONOMY, render_all, taxonomy_diagram, transfer_diagram


def test_render_all_writes_non_empty_svg(tmp_path: Path) -> None:
    paths = render_all(tmp_path / "_generated")
    assert [p.name for p in paths] == ["taxonomy.svg", "transfer.svg"]
    for path in paths:
        assert path.parent == tmp_path / "_generated"
        text = path.read_text(encoding="utf-8")
        assert len(text) > 1000
        assert "<svg" in text and text.rstrip().endswith("</svg>")


def test_taxonomy_is_deterministic(tmp_path: Path) -> None:
    first = taxonomy_diagram(tmp_path / "a.svg").read_bytes()
    second = taxonomy_diagram(tmp_path / "b.svg").read_bytes()
    assert first == second


def test_taxonomy_covers_the_four_regions() -> None:
    cells = {(q.column, q.row) for q in TAXONOMY}
    assert cells == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert all(q.behaviour and q.examples for q in TAXONOMY)


def test_the_transfer_diagram_is_deterministic_and_refuses_a_depth_it_cannot_draw(
        tmp_path: Path) -> None:
    first = transfer_diagram(tmp_path / "a.svg").read_bytes()
    assert first == transfer_diagram(tmp_path / "b.svg").read_bytes()
    assert transfer_diagram(tmp_path / "c.svg", n=3).read_bytes() != first
    with pytest.raises(ValueError, match="n must be 1 to 7"):
        transfer_diagram(tmp_path / "d.svg", n=8)
    assert "_generated/transfer.svg" in Path("book/methods.md").read_text(encoding="utf-8")
