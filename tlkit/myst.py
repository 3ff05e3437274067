"""MyST Markdown made readable in plain Jupyter: admonitions and roles become Markdown.

The book's notebooks are written in MyST (admonitions such as ``:::{admonition}``, roles such as
``{cite}`` and ``{glue:text}``), which Jupyter does not render. Student notebooks
(:mod:`tlkit.teaching`) and the standalone report (:mod:`tlkit.report`) need plain Markdown;
:func:`jupyter_markdown` converts one cell's text, with the citations read from the book's
bibliography (:func:`read_references`).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["jupyter_markdown", "read_references"]

_ADMONITIONS = ("admonition", "note", "tip", "hint", "important", "warning", "caution",
                "attention", "danger", "error", "seealso", "dropdown", "exercise", "solution")
_FENCE_OPEN = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:[\w-]+:")
_ROLE = re.compile(r"\{(?P<name>[\w:+-]+)\}`(?P<text>[^`]*)`")
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


_ENTRY = re.compile(r"@\w+\s*\{\s*(?P<key>[^,\s]+)\s*,(?P<body>.*?)\n\}", re.DOTALL)
_FIELD = r"\b{}\s*=\s*\{{(?P<value>(?:[^{{}}]|\{{[^{{}}]*\}})*)\}}"


def _plain(tex: str) -> str:
    """TeX of a bibliography field as plain text: accents and braces dropped."""
    tex = re.sub(r"\\['`^\"~=.uvHc]\s*\{?(\w)\}?", r"\1", tex)
    return re.sub(r"[{}]", "", tex).strip()


def read_references(path: str | Path) -> dict[str, tuple[str, str]]:
    """The book's bibliography (BibTeX) as ``key -> (authors as cited, year)``: one author's
    surname, two joined by "and", or the first's followed by "et al."."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else ""
    out = {}
    for entry in _ENTRY.finditer(text):
        body = entry["body"]
        author = re.search(_FIELD.format("author"), body)
        year = re.search(_FIELD.format("year"), body)
        if not author:
            continue
        names = [_plain(a).split(",")[0].strip() for a in
                 re.split(r"\s+and\s+", " ".join(author["value"].split()))]
        cited = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}"
                 if len(names) == 2 else f"{names[0]} et al.")
        out[entry["key"]] = (cited, _plain(year["value"]) if year else "n.d.")
    return out


def _cite(name: str, text: str, references: dict[str, tuple[str, str]]) -> str:
    keys = [key.strip() for key in text.split(",")]
    if not all(key in references for key in keys):
        return "[" + ", ".join(keys) + "]"
    if name in ("cite:t", "cite:ts"):
        return "; ".join(f"{references[k][0]} ({references[k][1]})" for k in keys)
    return "(" + "; ".join(f"{references[k][0]}, {references[k][1]}" for k in keys) + ")"


def _role(match: re.Match[str], references: dict[str, tuple[str, str]] | None = None) -> str:
    name, text = match["name"], match["text"]
    if name.startswith("cite"):
        return _cite(name, text, references or {})
    if name == "math":
        return f"${text}$"
    if name.startswith("glue"):
        return f"`{text.split(':')[0]}`"
    explicit = _EXPLICIT.match(text)
    if explicit and explicit["title"]:
        return explicit["title"]
    return f"`{text}`" if name in ("doc", "ref", "numref", "eq") else text


def jupyter_markdown(text: str, references: dict[str, tuple[str, str]] | None = None) -> str:
    """MyST Markdown turned into Markdown that Jupyter renders.

    Admonitions (``:::{admonition} Title`` ... ``:::``, also ``note``, ``tip``, ``dropdown`` ...,
    with colon or backtick fences) become block quotes headed by their title in bold; their
    options (``:class: dropdown``) are dropped. Roles become text: ``{cite}`a,b``` gives
    "(Author, year; Author and Other, year)" and ``{cite:t}`a``` "Author et al. (year)" from
    ``references`` (:func:`read_references`; the keys in brackets without them),
    ``{doc}`Title <path>``` gives ``Title``, ``{glue:text}`name``` gives ```name```
    (the value is in the book). Other directives are left as they are.
    """
    out: list[str] = []
    stack: list[str] = []  # closing fences of the open admonitions
    skipping_options = False
    for line in text.split("\n"):
        stripped = line.strip()
        opened = _FENCE_OPEN.match(stripped)
        if opened and opened["name"] in _ADMONITIONS:
            title = opened["arg"].strip() or opened["name"].capitalize()
            out.append("> " * len(stack) + f"> **{title}**")
            out.append(("> " * (len(stack) + 1)).rstrip())
            stack.append(opened["fence"])
            skipping_options = True
            continue
        if stack and stripped == stack[-1]:
            stack.pop()
            skipping_options = False
            continue
        if skipping_options and _OPTION.match(stripped):
            continue
        skipping_options = False
        prefix = "> " * len(stack)
        out.append((prefix + line).rstrip() if stack else line)
    return _ROLE.sub(lambda m: _role(m, references), "\n".join(out))
