"""A text table of the datasets, for the ``tlkit datasets`` command."""

from __future__ import annotations

from pathlib import Path

from .registry import SOURCES, info, resolve_root

__all__ = ["datasets_table"]

_HEADER = ("name", "kind", "classes", "examples of classes", "train", "test", "here")


def _examples(classes: tuple[str, ...], width: int = 34) -> str:
    text = ""
    for i, name in enumerate(classes):
        piece = name if i == 0 else f", {name}"
        if len(text) + len(piece) > width - 5 and i < len(classes):
            return text + ", ..."
        text += piece
    return text


def _here(name: str, root: Path) -> str:
    src = SOURCES[name]
    if src.kind == "embedded":
        return "embedded"
    if src.kind == "folder":
        return "your folder (path=...)"
    present = [s for s in ("train", "test") if src.availability(root, s) == "on disk"]
    if len(present) == 2:
        return "on disk"
    if present:
        return f"on disk ({present[0]} only)"
    return "needs download"


def datasets_table(root: str | Path | None = None) -> str:
    """A plain-text table with one row per dataset.

    Columns: name, kind (embedded or torchvision), number of classes, the first class names,
    train and test sizes (embedded datasets with their default options), and availability in
    the data folder ``root`` (default :func:`~tlkit.data.data_root`).
    """
    path = resolve_root(root)
    rows = [_HEADER]
    for name in SOURCES:
        about = info(name)
        rows.append(
            (
                name,
                about.kind,
                str(about.num_classes),
                _examples(about.classes),
                "?" if about.train_size is None else str(about.train_size),
                "?" if about.test_size is None else str(about.test_size),
                _here(name, path),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    numeric = {2, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])]) + "\n"
