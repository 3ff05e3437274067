"""The book's Sphinx extension: every inline script of a page once.

Jupyter Book 1 on Sphinx 7.4 writes the inline configuration scripts of sphinx-thebe and
sphinx-togglebutton into every page twice; the second ``const THEBE_JS_URL = ...`` is a
JavaScript ``SyntaxError`` in the console of every reader. Listed in ``_config.yml`` under
``sphinx.extra_extensions``, this extension drops the repeated copies from each page's scripts
before it is written, keeping the first of each and their order.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unique_scripts", "setup"]


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """``scripts`` (Sphinx's ``_JavaScript`` assets) without repeats: two assets are the same
    script when they load the same file, or when both are inline (no file name, written
    ``None`` or ``""`` by different code paths) with the same body."""
    seen: set[tuple[str, str]] = set()
    out = []
    for js in scripts:
        filename = str(getattr(js, "filename", js) or "")  # inline: None or ""
        body = "" if filename else str(getattr(js, "attributes", {}).get("body", ""))
        key = (filename, body)
        if key in seen:
            continue
        seen.add(key)
        out.append(js)
    return out


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(list(context["script_files"]))


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx."""
    app.connect("html-page-context", _page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
