"""The book's Sphinx extension: every inline script of a page once, and figures for everyone.

Listed in ``_config.yml`` under ``sphinx.extra_extensions``, it does two things:

* Jupyter Book 1 on Sphinx 7.4 writes the inline configuration scripts of sphinx-thebe and
  sphinx-togglebutton into every page twice; the second ``const THEBE_JS_URL = ...`` is a
  JavaScript ``SyntaxError`` in the console of every reader. The extension drops the repeated
  copies from each page's scripts before it is written, keeping the first of each and their
  order (:func:`unique_scripts`).
* A figure glued by a notebook gets, as its image's alternative text, the file's path; the
  extension gives it the first sentence of the figure's caption instead (:func:`alt_text`), so
  that a screen reader says what the figure shows; and it sets the image's width to its
  figure's, so that Sphinx links it to the image itself: a click opens it full size
  (:func:`describe_figures`);
* under the caption of every figure whose numbers the build wrote out
  (:func:`tlkit.figure_data.write_figure_data`), a line with a link to their CSV file and the
  command that redraws the figure from the run cache (:func:`add_figure_data`);
* the sections that ``book/terms.yml`` lists for a term become main entries of the book's index,
  so that searching for a method's name finds its definition and its chapter first
  (:func:`tlkit.terms.add_index_entries`); a listed section that a page lacks is a warning.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["unique_scripts", "alt_text", "describe_figures", "add_figure_data", "setup"]

#: The longest alternative text, in characters (a screen reader reads all of it).
ALT_MAX = 300
#: The end of a sentence: a full stop, question or exclamation mark before a capital or the end.
_END = re.compile(r"[.!?](?=\s+[A-Z(]|\s*$)")
#: Words whose full stop ends no sentence.
_ABBREVIATIONS = ("Fig", "e.g", "i.e", "al", "cf", "vs", "approx")


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


def alt_text(caption: str) -> str:
    """The first sentence of ``caption`` (whitespace collapsed), at most :data:`ALT_MAX`
    characters."""
    text = " ".join(caption.split())
    first = text
    for match in _END.finditer(text):
        word = text[:match.start()].rsplit(" ", 1)[-1]
        if word not in _ABBREVIATIONS:
            first = text[:match.end()]
            break
    return first if len(first) <= ALT_MAX else first[:ALT_MAX - 1].rstrip() + "\u2026"


def _path_like(alt: str, uri: str) -> bool:
    return not alt or alt == uri or alt.lower().endswith((".svg", ".png", ".jpg", ".jpeg"))


def describe_figures(doctree: Any) -> int:
    """Give every image of a captioned figure in ``doctree`` the caption's first sentence as
    its alternative text where it has none or a file path, and the width of its figure where it
    has no size (Sphinx then links it to the full-size image). Returns the images changed."""
    from docutils import nodes

    changed = 0
    for fig in doctree.findall(nodes.figure):
        captions = list(fig.findall(nodes.caption))
        text = alt_text(captions[0].astext()) if captions else ""
        for image in fig.findall(nodes.image):
            before = (image.get("alt"), image.get("width"))
            if text and _path_like(str(image.get("alt") or ""), str(image.get("uri", ""))):
                image["alt"] = text
            if not any(key in image for key in ("scale", "width", "height")):
                image["width"] = "100%"
            changed += before != (image.get("alt"), image.get("width"))
    return changed


def add_figure_data(doctree: Any, docname: str, index: dict[str, Any]) -> int:
    """Under the caption of each figure of ``doctree`` (the page ``docname``) whose id
    ``index`` lists (:func:`tlkit.figure_data.read_index`), a line: a link to its CSV file
    (relative to the page) and the command that redraws it. Returns the figures given one."""
    import posixpath

    from docutils import nodes

    added = 0
    for fig in doctree.findall(nodes.figure):
        entry = next((index[i] for i in fig.get("ids", []) if i in index), None)
        if entry is None or any("figure-data" in n.get("classes", [])
                                for n in fig.findall(nodes.paragraph)):
            continue
        href = posixpath.relpath(entry["csv"], posixpath.dirname(docname) or ".")
        line = nodes.paragraph(classes=["figure-data"])
        line += nodes.Text("The numbers it plots: ")
        line += nodes.reference("", posixpath.basename(entry["csv"]), refuri=href,
                                internal=False)
        line += nodes.Text("; redrawn from the run cache by ")
        line += nodes.literal(entry["command"], entry["command"])
        line += nodes.Text(".")
        fig += nodes.legend("", line)
        added += 1
    return added


def _doctree_resolved(app: Any, doctree: Any, docname: str) -> None:
    from .figure_data import read_index

    describe_figures(doctree)
    if not hasattr(app, "_tlkit_figure_data"):
        app._tlkit_figure_data = read_index(app.srcdir)
    add_figure_data(doctree, docname, app._tlkit_figure_data)


def _index_terms_transform() -> type:
    """The transform that applies :func:`tlkit.terms.add_index_entries` to each page as it is
    read, before Sphinx's domains collect the page's index entries (their transform runs at
    850), so that both the search index and the generated index see them."""
    from pathlib import Path

    from sphinx.transforms import SphinxTransform
    from sphinx.util import logging

    from .terms import TERMS_FILE, add_index_entries, read_terms

    class IndexTerms(SphinxTransform):
        default_priority = 800

        def apply(self, **kwargs: Any) -> None:
            app = self.app
            if not hasattr(app, "_tlkit_terms"):
                app._tlkit_terms = read_terms(Path(app.srcdir) / TERMS_FILE)
            docname = self.env.docname
            for title in add_index_entries(self.document, docname, app._tlkit_terms):
                logging.getLogger(__name__).warning(
                    "%s lists the section %r of %s, which the page does not have",
                    TERMS_FILE, title, docname, location=docname)

    return IndexTerms


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(list(context["script_files"]))


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx."""
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("doctree-resolved", _doctree_resolved)
    app.add_transform(_index_terms_transform())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
