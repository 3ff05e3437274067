"""Building the book: a failing notebook stops it, and the real book builds cleanly end to end."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from tlkit.book import BookBuildError, build_book, toc_documents
from tlkit.cli import main
from tlkit.notebooks import NotebookExecutionError

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
title: A tiny book
only_build_toc_files: true
execute:
  execute_notebooks: "off"
"""


def write_notebook(path: Path, cells: tuple[str, ...], parameters: str = 'profile = "quick"\n'
                   ) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    tagged = nbformat.v4.new_code_cell(parameters)
    tagged.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), tagged,
                *(nbformat.v4.new_code_cell(source) for source in cells)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def make_book(root: Path, notebooks: dict[str, tuple[str, ...]], index: str = "Hello.\n"
              ) -> Path:
    """A project with its own _toc.yml, _config.yml, book/index.md and ``notebooks``."""
    (root / "book").mkdir(parents=True)
    (root / "book" / "index.md").write_text(f"# A tiny book\n\n{index}", encoding="utf-8")
    (root / "_config.yml").write_text(CONFIG, encoding="utf-8")
    chapters = "".join(f"  - file: notebooks/{stem}\n" for stem in notebooks)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: book/index\nchapters:\n{chapters}",
                                   encoding="utf-8")
    for stem, cells in notebooks.items():
        write_notebook(root / "notebooks" / f"{stem}.ipynb", cells)
    return root


# --- a tiny project ---------------------------------------------------------------------

def test_failing_notebook_stops_the_build_and_keeps_its_partial_copy(tmp_path: Path) -> None:
    root = make_book(tmp_path / "project", {
        "01_ok": ("print(profile)",),
        "02_fail": ("x = 1", "raise ValueError('boom')", "print('never')"),
        "03_after": ("print('after')",),
    })
    tracked = {p: p.read_bytes() for p in (root / "notebooks").iterdir()}
    build = tmp_path / "build"
    with pytest.raises(NotebookExecutionError) as info:
        build_book(root, "smoke", build_dir=build, echo=lambda line: None, jobs=1)
    error = info.value
    assert (error.notebook, error.cell_index, error.ename, error.evalue) == (
        "02_fail", 3, "ValueError", "boom")
    assert "notebook 02_fail failed in cell 3" in str(error)
    partial = build / "src" / "notebooks" / "02_fail.ipynb"
    assert error.output == partial and str(partial) in str(error)
    executed = nbformat.read(str(partial), as_version=4)
    assert any(o.output_type == "error" for c in executed.cells for o in c.get("outputs", []))
    assert (build / "src" / "notebooks" / "01_ok.ipynb").is_file()
    assert not (build / "src" / "notebooks" / "03_after.ipynb").exists()
    assert not (build / "html").exists()
    assert {p: p.read_bytes() for p in (root / "notebooks").iterdir()} == tracked


def test_notebooks_with_nothing_to_train_execute_together(tmp_path: Path) -> None:
    """Two notebooks that wait for each other to start finish only when they run at once."""
    meet = tmp_path / "meet"
    meet.mkdir()

    def waits_for(me: str, other: str) -> tuple[str, ...]:
        return (f"import pathlib, time\nhere = pathlib.Path({str(meet)!r})\n"
                f"(here / {me!r}).touch()\n"
                f"deadline = time.monotonic() + 120\n"
                f"while not (here / {other!r}).exists():\n"
                f"    assert time.monotonic() < deadline, 'ran alone'\n"
                f"    time.sleep(0.1)",)

    root = make_book(tmp_path / "project", {"01_a": waits_for("a", "b"),
                                            "02_b": waits_for("b", "a")})
    lines: list[str] = []
    assert build_book(root, "smoke", echo=lines.append, jobs=2).is_file()
    assert any("2 at a time" in line for line in lines)
    assert sum("executed in" in line for line in lines) == 2


def test_notebooks_that_share_the_cores_start_longest_first(tmp_path: Path) -> None:
    """By the seconds each copy took last time with the same profile; a notebook with no such
    copy starts first, since it may be the longest."""
    from tlkit.book import longest_first

    staged = tmp_path / "staged"
    staged.mkdir()
    for name, record in {"01_a": {"profile": "quick", "seconds": 5.0},
                         "02_b": {"profile": "quick", "seconds": 20.0},
                         "03_c": {"profile": "smoke", "seconds": 90.0},
                         "05_e": {"profile": "quick", "seconds": 12.5}}.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["tlkit"] = record
        nbformat.write(nb, str(staged / f"{name}.ipynb"))
    paths = [Path(f"{n}.ipynb") for n in ("01_a", "02_b", "03_c", "04_d", "05_e")]
    assert [p.stem for p in longest_first(paths, staged, "quick")] == [
        "03_c", "04_d", "02_b", "05_e", "01_a"]


def test_a_notebook_failing_beside_others_is_reported_whole(tmp_path: Path) -> None:
    root = make_book(tmp_path / "project", {"01_ok": ("print(profile)",),
                                            "02_fail": ("raise ValueError('boom')",)})
    build = tmp_path / "build"
    with pytest.raises(NotebookExecutionError) as info:
        build_book(root, "smoke", build_dir=build, echo=lambda line: None, jobs=2)
    error = info.value  # raised in another process and carried back with every field
    assert (error.notebook, error.cell_index, error.ename, error.evalue) == (
        "02_fail", 2, "ValueError", "boom")
    assert error.output == build / "src" / "notebooks" / "02_fail.ipynb"
    assert (build / "src" / "notebooks" / "01_ok.ipynb").is_file()
    assert not (build / "html").exists()


def test_failing_notebook_on_the_command_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = make_book(tmp_path, {"01_fail": ("raise RuntimeError('no data')",)})
    assert main(["book", "--root", str(root), "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "tlkit: error: notebook 01_fail failed in cell 2 (In [" in err
    assert "RuntimeError: no data" in err
    assert str(root / "_build" / "src" / "notebooks" / "01_fail.ipynb") in err
    assert 'File "' not in err


def test_bad_parameters_fail_before_any_notebook_runs(tmp_path: Path) -> None:
    root = make_book(tmp_path, {"01_ok": ("print(1)",), "02_bad": ("print(2)",)})
    write_notebook(root / "notebooks" / "02_bad.ipynb", ("print(2)",),
                   parameters='profile = "quick"\nseeds = 0\n')
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        build_book(root, "smoke", echo=lambda line: None)
    write_notebook(root / "notebooks" / "02_bad.ipynb", ("print(2)",), parameters="seeds = 1\n")
    with pytest.raises(ValueError, match="unknown parameter profile for notebook 02_bad"):
        build_book(root, "smoke", echo=lambda line: None)
    assert not (root / "_build").exists()


def test_tiny_book_builds_and_only_reuses_the_other_notebooks(tmp_path: Path) -> None:
    root = make_book(tmp_path, {"01_one": ("print('one', profile)",),
                                "02_two": ("print('two', profile)",)})
    lines: list[str] = []
    index = build_book(root, "smoke", echo=lines.append)
    assert index == root / "_build" / "html" / "index.html" and index.is_file()
    for stem in ("01_one", "02_two"):
        page = root / "_build" / "html" / "notebooks" / f"{stem}.html"
        assert f"{stem[3:]} smoke" in page.read_text(encoding="utf-8")
    assert any(line.startswith("total time") and "01_one" in line for line in lines)
    assert lines[-1] == f"book: {index}"

    staged_two = root / "_build" / "src" / "notebooks" / "02_two.ipynb"
    before = staged_two.stat().st_mtime_ns
    lines.clear()
    assert build_book(root, "smoke", only="one", echo=lines.append) == index
    assert staged_two.stat().st_mtime_ns == before
    assert sum("executed in" in line for line in lines) == 1

    lines.clear()
    assert build_book(root, "quick", only="01_one", echo=lines.append) is None
    assert "02_two" in lines[-1] and "tlkit book --profile quick" in lines[-1]


def test_only_without_an_earlier_build_fails_on_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_book(tmp_path, {"01_one": ("print('one', profile)",),
                                "02_two": ("print('two', profile)",)})
    assert main(["book", "--root", str(root), "--profile", "smoke", "--only", "one"]) == 1
    captured = capsys.readouterr()
    assert "02_two" in captured.out and "HTML was not built" in captured.err


def test_sphinx_warning_fails_the_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    root = make_book(tmp_path / "project", {"01_one": ("print(1)",)},
                     index="See {doc}`no-such-page`.\n")
    with pytest.raises(BookBuildError, match="unknown document") as info:
        build_book(root, "smoke", build_dir=tmp_path / "out", echo=lambda line: None)
    assert "book/index.md:3" in str(info.value) and "WARNING" in info.value.log
    assert main(["book", "--root", str(root), "--build-dir", str(tmp_path / "out"),
                 "--profile", "smoke"]) == 1
    assert "tlkit: error: jupyter-book build failed" in capsys.readouterr().err


# --- the real book, end to end ----------------------------------------------------------

#: An exception line in an output, such as ``ValueError: bad value``.
ERROR_LINE = re.compile(r"^\s*[A-Za-z_][\w.]*(?:Error|Exception): ", re.MULTILINE)


def _pages(html: Path) -> list[Path]:
    return [p for p in html.rglob("*.html") if not {"_static", "_sources"} & set(p.parts)]


def _local_target(page: Path, url: str) -> Path | None:
    """The file a link or image on ``page`` points at, or ``None`` for other sites/anchors."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def html_problems(html: Path) -> dict[str, list[tuple[str, str]]]:
    """Broken images, broken internal links and shown errors on every page under ``html``."""
    from bs4 import BeautifulSoup

    problems: dict[str, list[tuple[str, str]]] = {"images": [], "links": [], "errors": []}
    for page in _pages(html):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        name = page.relative_to(html).as_posix()
        for img in soup.find_all("img"):
            src = img.get("src", "")
            target = _local_target(page, src)
            if not src or (target is not None and not target.is_file()):
                problems["images"].append((name, src or "<img> without src"))
        for link in soup.find_all("a", href=True):
            target = _local_target(page, link["href"])
            if target is not None and not target.exists():
                problems["links"].append((name, link["href"]))
        text = soup.get_text()
        if "Traceback (most recent call last)" in text or "An Exception was encountered" in text:
            problems["errors"].append((name, "traceback"))
        for element in soup.select(".traceback, .output.error"):
            problems["errors"].append((name, element.get_text()[:200]))
        for output in soup.select(".cell_output"):
            match = ERROR_LINE.search(output.get_text())
            if match:
                problems["errors"].append((name, match.group(0)))
    return problems


def test_html_check_finds_broken_images_links_and_errors(tmp_path: Path) -> None:
    pytest.importorskip("bs4")
    (tmp_path / "img.png").write_bytes(b"")
    (tmp_path / "good.html").write_text(
        '<img src="img.png"><img src="data:image/png;base64,AA=="><a href="good.html#x">a</a>'
        '<a href="#top">b</a><a href="https://example.org/missing">c</a>'
        '<div class="cell_output">Error bars: 95% intervals</div>', encoding="utf-8")
    assert html_problems(tmp_path) == {"images": [], "links": [], "errors": []}
    (tmp_path / "bad.html").write_text(
        '<img src="missing.png"><a href="nowhere.html">a</a>'
        '<div class="cell_output"><div class="output traceback">ValueError: boom</div></div>',
        encoding="utf-8")
    problems = html_problems(tmp_path)
    assert problems["images"] == [("bad.html", "missing.png")]
    assert problems["links"] == [("bad.html", "nowhere.html")]
    assert len(problems["errors"]) == 2


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_real_book_builds_in_smoke_profile(smoke_book: Path) -> None:
    pytest.importorskip("bs4")
    html = smoke_book
    assert (html / "index.html").is_file()
    missing_pages = [doc for doc in toc_documents(REPO) if not (html / f"{doc}.html").is_file()]
    assert not missing_pages, f"documents in _toc.yml without a page: {missing_pages}"
    problems = html_problems(html)
    assert not problems["images"], f"images that do not resolve: {problems['images']}"
    assert not problems["links"], f"broken internal links: {problems['links']}"
    assert not problems["errors"], f"pages showing errors: {problems['errors']}"
    remote = {p.relative_to(html).as_posix(): re.findall(
        r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+\.(?:js|css)[^"]*)"',
        p.read_text(encoding="utf-8")) for p in _pages(html)}
    assert not any(remote.values()), f"assets loaded from other sites: {remote}"
    assert any("_static/mathjax/" in p.read_text(encoding="utf-8") for p in _pages(html)), (
        "MathJax is served from the book")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_guidelines_recommend_from_the_built_verdicts(smoke_book: Path) -> None:
    # the build filled the guidelines' table from the executed pages' verdicts: one row per
    # recommendation of book/guidance.yml, made exactly where every claim it rests on held
    from tlkit.findings import findings_rows
    from tlkit.guidance import END, GUIDANCE_FILE, START, read_guidance

    src = smoke_book.parent / "src"
    page = (src / "book" / "guidelines.md").read_text(encoding="utf-8")
    block = page[page.index(START):page.index(END)]
    recs = read_guidance(REPO / GUIDANCE_FILE)
    rows = {f"{r['notebook']}:{r['id']}": r["verdict_key"]
            for r in findings_rows(sorted((src / "notebooks").glob("*.ipynb")))}
    assert all(c in rows for rec in recs for c in rec["rests_on"]), "every claim is stated"
    made = [rec for rec in recs if rec["rests_on"]
            and all(rows[c] == "held" for c in rec["rests_on"])]
    assert block.count("\n| ") == len(recs) + 2  # the header, its rule and one row each
    assert f"this build makes **{len(made)}**" in " ".join(block.split())
    for rec in made:
        assert f"**{' '.join(rec['advice'].split())}**" in " ".join(block.split())
