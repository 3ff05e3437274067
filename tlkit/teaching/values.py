"""The numbers of a run written into a notebook's prose: glue references replaced by values.

The book's pages quote numbers with myst-nb's glue roles (``{glue:text}`qs_gain:+.3f```), which
only a Jupyter Book build resolves; in a plain Jupyter notebook they would show as names.
:func:`glued_values` reads the values an executed notebook glued (each a display output whose
metadata holds ``scrapbook.name``), and :func:`fill` writes them into Markdown, formatted as the
role asks (the format specification after the last colon, applied to the value read back as a
Python literal, as myst-nb does).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from ..glued import GLUE_PREFIX, glued_values

__all__ = ["GLUE_PREFIX", "glued_values", "format_value", "figure_numbers", "fill",
           "MissingValueError"]

_ROLE = re.compile(r"\{glue(?::text)?\}`(?P<name>[^`:]+)(?::(?P<spec>[^`]*))?`")
_FIGURE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:figure\}[^\n]*\n(?P<body>.*?)"
                     r"^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_PASTE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:(?:any)?\}[ \t]+(?P<name>\S+)[ \t]*\n"
                    r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_OPTION = re.compile(r"^:[\w-]+:.*$", re.MULTILINE)
_NAME = re.compile(r"^:name:\s*(\S+)\s*$", re.MULTILINE)
_NUMREF = re.compile(r"\{numref\}`(?P<label>[^`<>]+)`")


class MissingValueError(KeyError):
    """A glue reference names a value that the executed notebook did not glue."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(f"values not glued by the run: {', '.join(names)}")

    def __str__(self) -> str:
        return str(self.args[0])


def format_value(text: str, spec: str | None) -> str:
    """``text`` (a glued ``text/plain``) formatted by ``spec`` as myst-nb formats it."""
    try:
        value: Any = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not spec:
        return str(value)
    kind = spec[-1]
    if kind in "eEfFgGn%":
        value = float(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind == "s":
        value = str(value)
    return format(value, spec)


def figure_numbers(texts: list[str]) -> dict[str, int]:
    """``{name: number}`` of the ``{glue:figure}`` blocks (their ``:name:``) in the Markdown
    ``texts``, numbered 1, 2, ... in order of appearance, as the book numbers them."""
    out: dict[str, int] = {}
    for text in texts:
        for match in _FIGURE.finditer(text):
            name = _NAME.search(match["body"])
            if name and name[1] not in out:
                out[name[1]] = len(out) + 1
    return out


def fill(markdown: str, values: Mapping[str, str],
         figures: Mapping[str, int] | None = None) -> str:
    """``markdown`` with every glue role replaced by its value, every ``{glue:}`` block (a
    pasted table) by the value's text (Markdown, :func:`tlkit.pages.glue_glance`), and every
    ``{glue:figure}`` block by its caption in italics (the figure itself is drawn by the code
    cells), numbered from ``figures`` (:func:`figure_numbers`); ``{numref}`` references to
    those figures become "Figure k".

    Raises:
        MissingValueError: a role names a value that is not in ``values``.
    """
    figures = figures or {}
    named = {m["name"] for m in _ROLE.finditer(markdown)}
    named |= {m["name"] for m in _PASTE.finditer(markdown)}
    missing = sorted(named - set(values))
    if missing:
        raise MissingValueError(missing)

    def figure(match: re.Match[str]) -> str:
        caption = " ".join(_OPTION.sub("", match["body"]).split())
        name = _NAME.search(match["body"])
        number = figures.get(name[1]) if name else None
        head = f"Figure {number}" if number else "Figure"
        return f"*{head}: {caption}*" if caption else ""

    def numref(match: re.Match[str]) -> str:
        number = figures.get(match["label"].strip())
        return f"Figure {number}" if number else match[0]

    text = _PASTE.sub(lambda m: format_value(values[m["name"]], None), markdown)
    text = _NUMREF.sub(numref, _FIGURE.sub(figure, text))
    return _ROLE.sub(lambda m: format_value(values[m["name"]], m["spec"]), text)
