"""The values an executed notebook glued, read back from its outputs.

A page glues a value with myst-nb's ``glue`` (:mod:`tlkit.pages`): a display output whose
metadata holds ``scrapbook.name`` and whose data holds the value's ``text/plain`` under
:data:`GLUE_PREFIX`. :func:`glued_values` reads them all back, for the pieces of the book that
are built from executed notebooks (the landing page's findings, each figure's data) and for the
coursework made from them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GLUE_PREFIX", "glued_values"]

#: The prefix of the MIME types of a value glued without being displayed (myst-nb's).
GLUE_PREFIX = "application/papermill.record/"


def glued_values(notebook: Any) -> dict[str, str]:
    """``{name: text/plain}`` of every value glued in an executed ``nbformat`` notebook."""
    out: dict[str, str] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            book = output.get("metadata", {}).get("scrapbook")
            if not book or "name" not in book:
                continue
            data = output.get("data", {})
            text = data.get(GLUE_PREFIX + "text/plain", data.get("text/plain"))
            if text is not None:
                out[book["name"]] = "".join(text) if isinstance(text, list) else str(text)
    return out
