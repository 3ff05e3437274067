"""``tlkit report``: an executed notebook as one standalone HTML file, and the command that runs
the chapter on a folder and writes it beside the folder. Nothing here trains or starts a kernel:
the executed notebook is made by hand."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

import tlkit.notebooks
from tlkit import report_command
from tlkit.cli import main
from tlkit.glued import GLUE_PREFIX, MissingValueError
from tlkit.report import standalone_html

pytest.importorskip("nbconvert")

#: A 1x1 PNG.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
       "rkJggg==")
PROSE = """# Your own images: will transfer help?

The folder ({glue:text}`oi_folder_name`) has {glue:text}`oi_classes:d` classes; transfer gains
{glue:text}`oi_gain:.1%` {cite}`plested2022survey`, by the rules of {doc}`../book/evidence`
and {doc}`03_pretrained`, as {numref}`fig-oi-data` shows ({cite}`nokey`).

```{glue:md} oi_answer
:format: myst
```

```{glue:figure} oi_fig_data
:name: fig-oi-data
:figwidth: 100%

Training images of the {glue:text}`oi_classes:d` classes.
```

(sec-target)=
:::{admonition} Reading the table
The intervals are Holm-adjusted.
:::
"""
ANSWER = "**Transfer helps here.** Start from ImageNet, as {cite:t}`plested2022survey` advise."
TABLE = ('<table class="tlkit-table"><caption>Training images per class</caption>'
         "<tr><td>cats</td><td>12</td></tr></table>")
#: Where the report looks for stray external resources: a script or style sheet from the web.
EXTERNAL = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
                      re.IGNORECASE)


def _glued(name: str, data: dict[str, str], displayed: bool = False) -> nbformat.NotebookNode:
    """A value glued as myst-nb's ``glue(name, value, display=displayed)`` stores it."""
    prefix = "" if displayed else GLUE_PREFIX
    return nbformat.v4.new_output(
        "display_data", data={prefix + mime: value for mime, value in data.items()},
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


def _code(source: str, outputs: list, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, outputs=outputs)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def executed_notebook(path: Path, folder: str | None = "/data/my photos") -> Path:
    """An executed ``05_your_images`` as papermill and :func:`tlkit.notebooks.execute` leave
    it: injected parameters, glued values, tables and figures."""
    stream = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(PROSE),
        _code('profile = "quick"\ndata_dir = None', [stream("stream", text="PARAMETER_OUT\n")],
              ("parameters", "hide-cell")),
        _code(f"data_dir = {folder!r}", [stream("stream", text="INJECTED_OUT\n")],
              ("injected-parameters", "remove-cell")),
        _code("HIDDEN_SOURCE = 1", [
            _glued("oi_classes", {"text/plain": "3"}),
            _glued("oi_gain", {"text/plain": "0.1234"}),
            _glued("oi_folder_name", {"text/plain": "'my photos'"}),
            _glued("oi_answer", {"text/markdown": ANSWER, "text/plain": "<Markdown>"}),
            _glued("oi_fig_data", {"image/png": PNG, "text/plain": "<Figure size 1x1>"}),
            stream("stream", text="HIDDEN_CELL_OUT\n"),
            stream("display_data", data={"text/html": "<p>HIDDEN_HTML</p>"})], ("remove-cell",)),
        _code("pages.table(SECRET_SOURCE)", [
            stream("stream", name="stderr", text="WARNING_NOISE\n"),
            stream("execute_result", data={"text/html": TABLE, "text/plain": "Styler"},
                   execution_count=5)], ("remove-input",)),
        _code("print('shown')", [stream("stream", text="PRINTED_OUT\n")]),
        nbformat.v4.new_markdown_cell("{glue:text}`oi_classes:d` classes in all."),
    ]
    nb.metadata["papermill"] = {"input_path": "notebooks/05_your_images.ipynb",
                                "parameters": {"data_dir": folder, "budget_minutes": 10.0}}
    nb.metadata["tlkit"] = {"notebook": "05_your_images", "profile": "quick"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def make_book(root: Path) -> Path:
    """A book's root: ``_toc.yml``, the bibliography, a page and a chapter ``{doc}`` links to,
    and a ``05_your_images`` notebook with the chapter's parameters."""
    (root / "book").mkdir(parents=True, exist_ok=True)
    (root / "notebooks").mkdir(exist_ok=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/index\n", encoding="utf-8")
    (root / "book" / "references.bib").write_text(
        "@misc{plested2022survey,\n  author = {Plested, Jo and Phiri, Musa and Gedeon, Tom},\n"
        "  title = {Deep transfer learning for image classification: a survey},\n"
        "  year = {2022}\n}\n", encoding="utf-8")
    (root / "book" / "evidence.md").write_text("# How the book weighs evidence\n\nText.\n",
                                               encoding="utf-8")
    chapter = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Pretrained nets")])
    nbformat.write(chapter, str(root / "notebooks" / "03_pretrained.ipynb"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell(
        'profile = "quick"\ndata_dir = None\nbudget_minutes = None\nseeds = None\n'
        'device = "auto"\nexecutor = "process"\noverrides = None\n')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(data_dir)")]
    nbformat.write(nb, str(root / "notebooks" / "05_your_images.ipynb"))
    return root


# --- standalone_html --------------------------------------------------------------------------


def test_the_report_is_one_file_with_the_values_figures_and_tables_and_no_code(
        tmp_path: Path) -> None:
    root = make_book(tmp_path / "book")
    executed = executed_notebook(tmp_path / "executed.ipynb")
    out = standalone_html(executed, tmp_path / "out" / "report.html", root=root)
    assert out == tmp_path / "out" / "report.html"
    page = out.read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", page)
    assert "{glue" not in page and "{cite" not in page and "{doc}" not in page
    assert "{numref}" not in page and "{admonition}" not in page and "(sec-target)=" not in page
    assert "(my photos) has 3 classes; transfer gains 12.3%" in text
    assert "3 classes in all." in text
    assert "(Plested et al., 2022)" in text and "([nokey])" in text
    assert "the book's chapter <em>How the book weighs evidence</em>" in text
    assert "the book's chapter <em>Pretrained nets</em>" in text
    assert "as Figure 1 shows" in text
    assert "<strong>Transfer helps here.</strong>" in text, "the Markdown answer, rendered"
    assert "Plested et al. (2022) advise" in text
    assert f"data:image/png;base64,{PNG}" in page
    assert "<em>Figure 1: Training images of the 3 classes.</em>" in text
    assert "<strong>Reading the table</strong>" in text
    assert TABLE in page and "PRINTED_OUT" in page
    for absent in ("SECRET_SOURCE", "HIDDEN_SOURCE", "print(", "HIDDEN_CELL_OUT", "HIDDEN_HTML",
                   "INJECTED_OUT", "PARAMETER_OUT", "WARNING_NOISE", "&lt;Markdown&gt;"):
        assert absent not in page, absent
    assert not re.search(r"(?:In|Out)(?:&nbsp;|\s)?\[\d", page), "no prompts"
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "<script" not in page.lower()
    header = text[text.index('class="tlkit-report-header"'):text.index("</header>")]
    assert "/data/my photos" in header and "05_your_images" in header
    assert "budget_minutes=10.0" in header and "profile='quick'" in header
    assert re.search(r"made on \d{4}-\d\d-\d\d at \d\d:\d\d", header)
    assert "<title>my photos: Your own images: will transfer help?</title>" in page


def test_the_report_leaves_the_pages_exercises_out(tmp_path: Path) -> None:
    executed = executed_notebook(tmp_path / "executed.ipynb")
    nb = nbformat.read(str(executed), as_version=4)
    nb.cells += [nbformat.v4.new_markdown_cell("## Exercises\n\nEXERCISE_INTRO"),
                 nbformat.v4.new_markdown_cell(":::{admonition} Exercise 1 · EXERCISE_PROMPT\n:::")]
    nbformat.write(nb, str(executed))
    page = standalone_html(executed, tmp_path / "r.html", title="Mine").read_text("utf-8")
    assert "PRINTED_OUT" in page and "3 classes in all." in page
    assert "EXERCISE_INTRO" not in page and "EXERCISE_PROMPT" not in page


def test_without_a_book_citations_show_their_keys_and_links_their_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    executed = executed_notebook(tmp_path / "executed.ipynb", folder=None)
    page = standalone_html(executed, tmp_path / "r.html", title="Mine").read_text("utf-8")
    assert "[plested2022survey]" in page and "the book's chapter <em>evidence</em>" in page
    assert "<title>Mine</title>" in page and "on its example folder" in page


def test_a_value_the_notebook_did_not_glue_is_named(tmp_path: Path) -> None:
    executed = executed_notebook(tmp_path / "executed.ipynb")
    nb = nbformat.read(str(executed), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("{glue:text}`oi_missing`"))
    nbformat.write(nb, str(executed))
    with pytest.raises(MissingValueError, match="oi_missing"):
        standalone_html(executed, tmp_path / "r.html")


# --- tlkit report -----------------------------------------------------------------------------


@pytest.fixture
def no_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> float:
        raise AssertionError("the notebook must not run")

    monkeypatch.setattr(tlkit.notebooks, "execute", refuse)


@pytest.fixture
def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """``execute`` replaced by a copy of a prepared executed notebook; the checks of the
    folder's images and runs (which read the images) replaced by nothing."""
    executed = executed_notebook(tmp_path / "prepared" / "executed.ipynb")
    calls: dict = {}

    def copy(path: Path, output: Path, parameters: dict, **kwargs: object) -> float:
        calls.update(path=Path(path), output=Path(output), parameters=dict(parameters),
                     cwd=kwargs.get("cwd"))
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(executed, output)
        return 1.5

    monkeypatch.setattr(tlkit.notebooks, "execute", copy)
    monkeypatch.setattr(tlkit.notebooks, "check_parameters", lambda stem, params: None)
    monkeypatch.setattr(tlkit.notebooks, "check_notebooks", lambda *a, **k: {})
    return calls


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_missing_folder_or_a_file_is_one_line_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], no_execution: None,
        kind: str) -> None:
    target = tmp_path / "photos"
    if kind == "file":
        target.write_text("not a folder", encoding="utf-8")
    # no book anywhere: the folder is checked first
    assert main(["report", str(target), "--root", str(tmp_path / "nowhere")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("tlkit: error: ") and str(target) in err[0], err
    assert ("is a file" if kind == "file" else "no folder") in err[0]


def test_without_a_book_the_message_says_where_to_run_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], no_execution: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "photos").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["report", "photos"]) == 2
    err = capsys.readouterr().err
    assert "inside the book's repository" in err and "--root" in err


def test_the_report_is_written_beside_the_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], prepared: dict) -> None:
    root = make_book(tmp_path / "book")
    folder = tmp_path / "shots" / "my photos"
    folder.mkdir(parents=True)
    code = main(["report", str(folder), "--root", str(root), "--budget", "10", "--seeds", "3",
                 "--profile", "smoke", "-p", "device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    html = tmp_path / "shots" / "my photos-tlkit-report.html"
    assert html.is_file() and str(html) in out.out
    assert prepared["path"] == root / "notebooks" / "05_your_images.ipynb"
    assert prepared["output"] == root / "_build" / "reports" / "my photos.ipynb"
    assert prepared["output"].is_file() and prepared["cwd"] == root
    assert prepared["parameters"] == {"data_dir": str(folder.resolve()), "budget_minutes": 10.0,
                                      "seeds": 3, "profile": "smoke", "device": "cpu"}
    assert "12.3%" in html.read_text(encoding="utf-8")


def test_output_is_honoured_and_an_unwritable_parent_falls_back_to_here(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], prepared: dict,
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_book(tmp_path / "book")
    folder = tmp_path / "photos"
    folder.mkdir()
    chosen = tmp_path / "elsewhere" / "mine.html"
    assert main(["report", str(folder), "--root", str(root), "--output", str(chosen)]) == 0
    assert chosen.is_file() and not (tmp_path / "photos-tlkit-report.html").exists()
    assert str(chosen) in capsys.readouterr().out

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setattr(report_command, "_writable", lambda folder: False)
    assert main(["report", str(folder), "--root", str(root)]) == 0
    assert (here / "photos-tlkit-report.html").is_file()
    assert "not writable" in capsys.readouterr().out


def test_a_data_dir_parameter_is_refused_and_a_failed_notebook_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], prepared: dict,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tlkit.notebooks import NotebookExecutionError

    root = make_book(tmp_path / "book")
    folder = tmp_path / "photos"
    folder.mkdir()
    assert main(["report", str(folder), "--root", str(root), "-p", "data_dir", "x"]) == 2
    assert "not -p data_dir" in capsys.readouterr().err

    def fail(path: Path, output: Path, parameters: dict, **kwargs: object) -> float:
        raise NotebookExecutionError("05_your_images", 3, 3, "FolderError", "no images",
                                     "FolderError: no images", Path(output))

    monkeypatch.setattr(tlkit.notebooks, "execute", fail)
    assert main(["report", str(folder), "--root", str(root)]) == 1
    assert "05_your_images" in capsys.readouterr().err
    assert not (tmp_path / "photos-tlkit-report.html").exists()
