"""MyST Markdown made readable in plain Jupyter: admonitions and roles become Markdown.

The book's notebooks are written in MyST (admonitions such as ``:::{admonition}``, roles such as
``{cite}`` and ``{glue:text}``), which Jupyter does not render. Student notebooks need plain
Markdown; :func:`jupyter_markdown` converts one cell's text.
"""

from __future__ import annotations

import re

__all__ = ["jupyter_markdown"]

_ADMONITIONS = ("admonition", "note", "tip", "hint", "important", "warning", "caution",
                "attention", "danger", "error", "seealso", "dropdown", "exercise", "solution")
_FENCE_OPEN = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:[\w-]+:")
_ROLE = re.compile(r"\{(?P<name>[\w:+-]+)\}`(?P<text>[^`]*)`")
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


def _role(match: re.Match[str]) -> str:
    name, text = match["name"], match["text"]
    if name.startswith("cite"):
        return "[" + ", ".join(key.strip() for key in text.split(",")) + "]"
    if name == "math":
        return f"${text}$"
    if name.startswith("glue"):
        return f"`{text.split(':')[0]}`"
    explicit = _EXPLICIT.match(text)
    if explicit and explicit["title"]:
        return explicit["title"]
    return f"`{text}`" if name in ("doc", "ref", "numref", "eq") else text


def jupyter_markdown(text: str) -> str:
    """MyST Markdown turned into Markdown that Jupyter renders.

    Admonitions (``:::{admonition} Title`` ... ``:::``, also ``note``, ``tip``, ``dropdown`` ...,
    with colon or backtick fences) become block quotes headed by their title in bold; their
    options (``:class: dropdown``) are dropped. Roles become text: ``{cite}`a,b``` gives
    ``[a, b]``, ``{doc}`Title <path>``` gives ``Title``, ``{glue:text}`name``` gives ```name```
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
    return _ROLE.sub(_role, "\n".join(out))
