"""An executed notebook as one standalone HTML file: the report that ``tlkit report`` writes.

:func:`standalone_html` turns a notebook that papermill executed into a single HTML file that
holds everything it shows (its styles inline, its images as ``data:`` URLs, no script), so
that it opens from a USB stick on a machine without a network. It shows what the book's page
shows, without the code:

* the prose, with the MyST the book's build resolves turned into text: every glued value, table
  and Markdown answer pasted in, each ``{glue:figure}`` drawn with its numbered caption
  (:func:`tlkit.glued.fill`), ``{numref}`` references to those figures as "Figure k" (others as
  "the figure"), citations as "(Author et al., year)" from the book's bibliography
  (:func:`tlkit.myst.read_references`; the key in brackets without it), ``{doc}`` links as
  the linked chapter's title, admonitions as block quotes (:func:`tlkit.myst.jupyter_markdown`);
* the outputs of the code cells (tables, figures and printed text) without their inputs; not
  those of a cell tagged ``remove-cell`` or ``remove-output``, nor the ``parameters`` cell and
  the cell papermill injects, nor text written to stderr (warnings), nor values glued without
  being displayed (they appear where the prose pastes them);
* nothing of the page's coursework: its ``## Exercises`` section and every cell after it are
  left out;
* above it all, a short header: what the report is, when it was made, the folder it reports on
  (the injected parameter ``data_dir``) and the other parameters it was run with.

The HTML is made by nbconvert's ``HTMLExporter`` (JupyterLab's template, its styles inline),
without the scripts its template loads from the network (RequireJS, MathJax, Mermaid): formulas
show as their TeX source.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .glued import figure_numbers, fill, glued_data, glued_values
from .myst import jupyter_markdown, read_references

__all__ = ["HIDDEN_TAGS", "REFERENCES", "standalone_html"]

#: Tags of the cells that the report leaves out whole.
HIDDEN_TAGS = ("remove-cell", "parameters", "injected-parameters")
#: The book's bibliography, relative to its root.
REFERENCES = Path("book") / "references.bib"
#: The output types of code cells that the report shows (the richest is chosen), in order.
_SHOWN = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown",
          "text/plain")
_IMAGES = ("image/svg+xml", "image/png", "image/jpeg")

_DOC = re.compile(r"\{doc\}`(?P<text>[^`]+)`")
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")
_NUMREF = re.compile(r"\{numref\}`[^`]*`")
_TARGET = re.compile(r"^\([\w.:-]+\)=[ \t]*(?:\n|$)", re.MULTILINE)
_COMMENT = re.compile(r"^%.*(?:\n|$)", re.MULTILINE)
_TABLE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{table\}[ \t]*(?P<caption>[^\n]*)\n(?P<body>.*?)"
                    r"^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_OPTION = re.compile(r"^:[\w-]+:.*(?:\n|$)", re.MULTILINE)
_HEADING = re.compile(r"^#[ \t]+(?P<title>.+?)[ \t]*$", re.MULTILINE)
_NUMBER = re.compile(r"^\d+_")
#: A script or style sheet loaded from elsewhere: removed from the HTML, whatever made it.
_EXTERNAL = re.compile(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*</script>|<link\b[^>]*\bhref\s*=\s*"
                       r"[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.tlkit_css }}</style>{% endblock %}
{%- block body_header -%}{{ super() }}{{ resources.tlkit_header }}{%- endblock body_header -%}
"""
_CSS = """
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
.tlkit-report-header { border-bottom: 1px solid #bbb; margin: 0 0 1.5rem; padding: 0 0 0.5rem;
  color: #444; font-family: var(--jp-content-font-family); font-size: 0.95rem; }
.tlkit-report-header code { font-size: 0.9em; overflow-wrap: anywhere; }
.jp-RenderedMarkdown img, .jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-RenderedHTMLCommon table caption { caption-side: top; text-align: left; font-style: italic;
  padding: 0 0 0.3rem; }
"""


def _page_title(target: str, root: Path | None) -> str:
    """The title (first heading) of the book's page at ``target``, a ``{doc}`` path relative to
    the notebooks' folder; without the page, its file name in words."""
    if root is not None:
        base = (root / "notebooks" / target).resolve()
        for page in (base.with_suffix(".md"), base.with_suffix(".ipynb")):
            if not page.is_file():
                continue
            if page.suffix == ".md":
                heading = _HEADING.search(page.read_text(encoding="utf-8"))
            else:
                import nbformat

                cells = nbformat.read(str(page), as_version=4).cells
                text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
                heading = _HEADING.search(text)
            if heading:
                return heading["title"]
    return _NUMBER.sub("", Path(target).name).replace("_", " ")


def _doc(match: re.Match[str], root: Path | None) -> str:
    explicit = _EXPLICIT.match(match["text"].strip())
    if explicit and explicit["title"]:
        return explicit["title"]
    return f"the book's chapter *{_page_title(match['text'].strip(), root)}*"


def _prose(text: str, values: Mapping[str, str], figures: Mapping[str, int],
           pasted: Mapping[str, str], images: Mapping[str, str],
           references: dict[str, tuple[str, str]], root: Path | None) -> str:
    """One Markdown cell of the book as plain Markdown, every MyST construct resolved."""
    text = fill(text, values, figures, pasted=pasted, images=images)
    text = _COMMENT.sub("", _TARGET.sub("", text))
    text = _TABLE.sub(lambda m: (f"*{m['caption'].strip()}*\n\n" if m["caption"].strip()
                                 else "") + _OPTION.sub("", m["body"]).strip("\n"), text)
    text = _NUMREF.sub("the figure", _DOC.sub(lambda m: _doc(m, root), text))
    return jupyter_markdown(text, references)


def _shown_outputs(outputs: list[Any]) -> list[Any]:
    """The outputs a reader sees: stdout, and displays reduced to the types of :data:`_SHOWN`
    (a value glued without being displayed has none of them)."""
    import nbformat

    out = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout" and output.get("text"):
            out.append(output)
        elif kind in ("display_data", "execute_result"):
            data = {m: v for m, v in output.get("data", {}).items() if m in _SHOWN}
            if data:
                out.append(nbformat.v4.new_output("display_data", data=data))
    return out


def _image_urls(glued: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """``{name: data URL}`` of every glued figure (its vector form where it has one)."""
    import base64

    out = {}
    for name, data in glued.items():
        for mime in _IMAGES:
            if mime in data:
                raw = (base64.b64encode(data[mime].encode()).decode() if mime == "image/svg+xml"
                       else "".join(data[mime].split()))
                out[name] = f"data:{mime};base64,{raw}"
                break
    return out


def _book_root(executed: Path) -> Path | None:
    from .notebooks import find_root

    for start in (executed.parent, None):
        try:
            return find_root(start)
        except FileNotFoundError:
            continue
    return None


def _header(nb: Any, notebook: str, made: datetime.datetime) -> str:
    """The report's header: what it is, when it was made, on which folder, with what."""
    from . import __version__

    given = dict(nb.metadata.get("papermill", {}).get("parameters") or {})
    folder = given.pop("data_dir", None)
    profile = nb.metadata.get("tlkit", {}).get("profile")
    if profile is not None:
        given.setdefault("profile", profile)
    on = (f" on the folder <code>{html.escape(str(folder))}</code>" if folder
          else " on its example folder")
    about = (f"<p>A report of <strong>tlkit {html.escape(__version__)}</strong>: the book's "
             f"chapter <em>{html.escape(notebook)}</em>, run{on}, made on "
             f"{made:%Y-%m-%d at %H:%M} ({made:%Z}). This one file holds its text, tables and "
             "figures and opens without a network; the code that made them is in the book's "
             "notebook.</p>")
    if given:
        listed = ", ".join(f"<code>{html.escape(str(k))}={html.escape(repr(v))}</code>"
                           for k, v in sorted(given.items()))
        about += f"<p>Run with {listed}.</p>"
    return f'<header class="tlkit-report-header">{about}</header>'


def standalone_html(executed: Path, output: Path, *, title: str | None = None,
                    root: Path | None = None) -> Path:
    """Write the executed notebook at ``executed`` as one self-contained HTML file at
    ``output`` (its folder made if missing; see the module's description) and return
    ``output``.

    ``title`` is the page's ``<title>`` (default: the notebook's first heading, after the
    folder's name when it reports on one). ``root``, the book's root, is where the
    bibliography (:data:`REFERENCES`) and the pages that ``{doc}`` links to are read (default:
    found from the executed notebook's folder up, else from the current folder up; with none,
    citations show their keys and links their file names).

    Raises:
        tlkit.glued.MissingValueError: the prose quotes a value the notebook did not glue.
        ModuleNotFoundError: nbconvert is not installed (``pip install 'tlkit[book]'``).
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    executed, output = Path(executed), Path(output)
    nb = nbformat.read(str(executed), as_version=4)
    root = Path(root) if root is not None else _book_root(executed)
    glued = glued_data(nb)
    values = glued_values(nb)
    pasted = {name: data["text/markdown"] for name, data in glued.items()
              if "text/markdown" in data}
    images = _image_urls(glued)
    references = read_references(root / REFERENCES) if root is not None else {}
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    figures = figure_numbers(markdown)

    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Exercises"):
            break  # the coursework, not the reader's report
        tags = cell.get("metadata", {}).get("tags", [])
        if any(tag in HIDDEN_TAGS for tag in tags) or cell.cell_type == "raw":
            continue
        if cell.cell_type == "markdown":
            text = _prose(cell.source, values, figures, pasted, images, references, root)
            cells.append(nbformat.v4.new_markdown_cell(text))
            continue
        shown = [] if "remove-output" in tags else _shown_outputs(cell.get("outputs", []))
        if shown:
            cells.append(nbformat.v4.new_code_cell("", outputs=shown))

    source = nb.metadata.get("papermill", {}).get("input_path") or executed.name
    notebook = nb.metadata.get("tlkit", {}).get("notebook") or Path(source).stem
    folder = (nb.metadata.get("papermill", {}).get("parameters") or {}).get("data_dir")
    heading = next((m["title"] for text in markdown if (m := _HEADING.search(text))), notebook)
    title = title or (f"{Path(str(folder)).name}: {heading}" if folder else heading)
    page = nbformat.v4.new_notebook(cells=cells, metadata={"title": title})
    made = datetime.datetime.now().astimezone()
    base = root / "notebooks" if root is not None and (root / "notebooks").is_dir() else (
        executed.parent)
    exporter = HTMLExporter(template_name="lab", template_file="tlkit_report.html.j2",
                            extra_loaders=[jinja2.DictLoader({"tlkit_report.html.j2": _TEMPLATE})],
                            embed_images=True, exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(page, resources={
        "metadata": {"name": title, "path": str(base)}, "tlkit_css": _CSS,
        "tlkit_header": _header(nb, notebook, made)})
    body = _EXTERNAL.sub("", body)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(body, encoding="utf-8")
    return output
