"""The values an executed notebook glued, read back from its outputs and written into its prose.

A page glues a value with myst-nb's ``glue`` (:mod:`tlkit.pages`): a display output whose
metadata holds ``scrapbook.name`` and whose data holds the value's representations (its
``text/plain``, a figure's ``image/png``, a ``Markdown`` object's ``text/markdown``), each under
:data:`GLUE_PREFIX` when it is glued without being displayed. :func:`glued_values` reads the
``text/plain`` of each back, :func:`glued_data` every representation, for the pieces of the book
that are built from executed notebooks (the landing page's findings, each figure's data, the
standalone report of :mod:`tlkit.report`) and for the coursework made from them.

The book's pages quote these values with myst-nb's glue roles (``{glue:text}`qs_gain:+.3f```),
which only a Jupyter Book build resolves; outside it they would show as names. :func:`fill`
writes them into Markdown, formatted as the role asks (the format specification after the last
colon, applied to the value read back as a Python literal, as myst-nb does).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["GLUE_PREFIX", "glued_values", "glued_data", "format_value", "figure_numbers",
           "fill", "MissingValueError"]

#: The prefix of the MIME types of a value glued without being displayed (myst-nb's).
GLUE_PREFIX = "application/papermill.record/"

_ROLE = re.compile(r"\{glue(?::text)?\}`(?P<name>[^`:]+)(?::(?P<spec>[^`]*))?`")
_FIGURE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:figure\}[ \t]*(?P<key>[^\s`]*)[^\n]*\n"
                     r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_PASTE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:(?:any)?\}[ \t]+(?P<name>\S+)[ \t]*\n"
                    r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_MD_PASTE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:md\}[ \t]+(?P<name>\S+)[ \t]*\n"
                       r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_MD_ROLE = re.compile(r"\{glue:md\}`(?P<name>[^`:]+)(?::[^`]*)?`")
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


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def glued_data(notebook: Any) -> dict[str, dict[str, str]]:
    """``{name: {mime type: data}}`` of every value glued in an executed ``nbformat`` notebook,
    with the MIME types as displayed (without :data:`GLUE_PREFIX`, whose data wins over the same
    type displayed); the data as stored (an image's base64, a text joined into one string)."""
    out: dict[str, dict[str, str]] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            book = output.get("metadata", {}).get("scrapbook")
            if not book or "name" not in book:
                continue
            data = output.get("data", {})
            found = {mime: _text(v) for mime, v in data.items() if not mime.startswith(GLUE_PREFIX)}
            found.update({mime.removeprefix(GLUE_PREFIX): _text(v) for mime, v in data.items()
                          if mime.startswith(GLUE_PREFIX)})
            out[book["name"]] = found
    return out


def glued_values(notebook: Any) -> dict[str, str]:
    """``{name: text/plain}`` of every value glued in an executed ``nbformat`` notebook."""
    return {name: data["text/plain"] for name, data in glued_data(notebook).items()
            if "text/plain" in data}


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
         figures: Mapping[str, int] | None = None, *,
         pasted: Mapping[str, str] | None = None,
         images: Mapping[str, str] | None = None) -> str:
    """``markdown`` with every glue role replaced by its value, every ``{glue:}`` block (a
    pasted table) by the value's text (Markdown, :func:`tlkit.pages.glue_glance`), and every
    ``{glue:figure}`` block by its caption in italics, numbered from ``figures``
    (:func:`figure_numbers`); ``{numref}`` references to those figures become "Figure k".

    With ``pasted`` (``{name: Markdown}``, the ``text/markdown`` of glued ``Markdown``
    objects), every ``{glue:md}`` block and role is replaced by its Markdown (its options, such
    as ``:format: myst``, dropped); without, they are left as they are. With ``images``
    (``{name: URL}``, such as a ``data:image/png;base64,...`` URL), a ``{glue:figure}`` block
    whose glued name has an image shows it (a Markdown image) above its caption; without (or
    for a name not in ``images``), the figure is drawn by the code cells and only the caption
    is written.

    Raises:
        MissingValueError: a role or block names a value that is not in ``values`` (or, for
            ``{glue:md}``, not in ``pasted``).
    """
    figures = figures or {}
    text = markdown
    missing: set[str] = set()
    if pasted is not None:
        named_md = {m["name"] for m in _MD_PASTE.finditer(text)}
        named_md |= {m["name"] for m in _MD_ROLE.finditer(text)}
        missing |= named_md - set(pasted)
        if not missing:
            text = _MD_PASTE.sub(lambda m: pasted[m["name"]].strip("\n"), text)
            text = _MD_ROLE.sub(lambda m: pasted[m["name"]].strip(), text)
    named = {m["name"] for m in _ROLE.finditer(text)}
    named |= {m["name"] for m in _PASTE.finditer(text)}
    missing |= named - set(values)
    if missing:
        raise MissingValueError(sorted(missing))

    def figure(match: re.Match[str]) -> str:
        caption = " ".join(_OPTION.sub("", match["body"]).split())
        name = _NAME.search(match["body"])
        number = figures.get(name[1]) if name else None
        head = f"Figure {number}" if number else "Figure"
        written = f"*{head}: {caption}*" if caption else ""
        image = (images or {}).get(match["key"])
        if image is None:
            return written
        return f"![{head}]({image})" + (f"\n\n{written}" if written else "")

    def numref(match: re.Match[str]) -> str:
        number = figures.get(match["label"].strip())
        return f"Figure {number}" if number else match[0]

    text = _PASTE.sub(lambda m: format_value(values[m["name"]], None), text)
    text = _NUMREF.sub(numref, _FIGURE.sub(figure, text))
    return _ROLE.sub(lambda m: format_value(values[m["name"]], m["spec"]), text)
