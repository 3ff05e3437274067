"""The numbers of a run written into a notebook's prose: glue references replaced by values.

The book's pages quote numbers with myst-nb's glue roles (``{glue:text}`qs_gain:+.3f```), which
only a Jupyter Book build resolves; in a plain Jupyter notebook they would show as names.
:func:`glued_values` reads the values an executed notebook glued (each a display output whose
metadata holds ``scrapbook.name``), and :func:`fill` writes them into Markdown, formatted as the
role asks (the format specification after the last colon, applied to the value read back as a
Python literal, as myst-nb does). The functions live in :mod:`tlkit.glued`, which the standalone
report (:mod:`tlkit.report`) shares.
"""

from __future__ import annotations

from ..glued import (
    GLUE_PREFIX,
    MissingValueError,
    figure_numbers,
    fill,
    format_value,
    glued_values,
)

__all__ = ["GLUE_PREFIX", "glued_values", "format_value", "figure_numbers", "fill",
           "MissingValueError"]
