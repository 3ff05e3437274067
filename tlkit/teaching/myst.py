"""MyST Markdown made readable in plain Jupyter: admonitions and roles become Markdown.

The functions live in :mod:`tlkit.myst`, which the standalone report (:mod:`tlkit.report`)
shares: :func:`jupyter_markdown` converts one cell's text, :func:`read_references` reads the
book's bibliography for its citations.
"""

from __future__ import annotations

from ..myst import jupyter_markdown, read_references

__all__ = ["jupyter_markdown", "read_references"]
