"""The execution-statistics page: each executed notebook records what its sweeps trained and
took from the cache, and the book's page is written from those records."""

import textwrap

import nbformat
import pytest

from tlkit.execution import notebook_rows, page, wall_time
from tlkit.notebooks import execute

_TWO_SWEEPS = textwrap.dedent("""
    from tests.core.test_sweep import tiny, transfer
    from tlkit import sweep
    sweep.run([transfer(2), transfer(3)], executor="serial")  # a source and two targets
    sweep.run([transfer(3), tiny(7)], executor="serial")  # one shared run, one new
""")


def _notebook(tmp_path, code):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    path = tmp_path / "sweeps.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_an_executed_notebook_counts_distinct_runs_trained_and_cached(tmp_path):
    from tests.conftest import REPO

    path = _notebook(tmp_path, _TWO_SWEEPS)
    first = tmp_path / "first.ipynb"
    execute(path, first, {}, cwd=REPO)
    sweeps = nbformat.read(str(first), as_version=4).metadata["tlkit"]["sweeps"]
    # 4 distinct runs (source, two targets, one more); the shared one trained once
    busy = sweeps.pop("busy")
    assert sweeps == {"sweeps": 2, "runs": 4, "runs_trained": 4, "runs_cached": 0,
                      "runs_failed": 0, "computes": ["cpu-fp32"]}
    assert 0 < busy <= 1, "the serial sweep's one worker spent part of its time in runs"
    second = tmp_path / "second.ipynb"
    execute(path, second, {}, cwd=REPO)
    again = nbformat.read(str(second), as_version=4).metadata["tlkit"]
    assert again["sweeps"]["runs_trained"] == 0 and again["sweeps"]["runs_cached"] == 4
    assert "busy" not in again["sweeps"], "nothing trained, no busy fraction"
    assert again["versions"]["torch"] and again["machine"]["cpus"] >= 1

    rows = notebook_rows([first, second])
    text = page(rows)
    cpu = "CPU,\u00a0float32"
    assert f"| 4 | 0 | {cpu} |" in text and f"| 0 | 4 | {cpu} |" in text
    assert "Every notebook ran with tlkit " in text
    assert "| **all notebooks** |" in text and "**4** | **4**" in text
    assert f"starting up and waiting for work): first {busy:.0%}." in text


def test_a_notebook_without_statistics_shows_dashes(tmp_path):
    path = tmp_path / "old.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(path))
    text = page(notebook_rows([path]))
    assert "{doc}`old <../notebooks/old>` | – | – | – | – | – |" in text


@pytest.mark.parametrize("seconds, shown", [(None, "–"), (4.24, "4.2 s"), (185, "3 min 05 s"),
                                            (3725, "1 h 02 min")])
def test_wall_time(seconds, shown):
    assert wall_time(seconds) == shown.replace(" ", "\u00a0")


def test_the_book_has_a_page_of_execution_statistics(smoke_book):
    from tests.conftest import REPO
    from tlkit.book import toc_notebooks

    html = (smoke_book / "book" / "execution_statistics.html").read_text()
    assert "Execution statistics" in html and "runs from the cache" in html
    for path in toc_notebooks(REPO):
        assert f"notebooks/{path.stem}.html" in html
    staged = smoke_book.parent / "src" / "notebooks"
    rows = notebook_rows(sorted(staged.glob("*.ipynb")))
    assert all(r["profile"] == "smoke" and r["seconds"] > 0 for r in rows)
    assert sum(r["trained"] for r in rows) > 0


def test_each_chapter_counts_its_runs_as_the_execution_statistics_do(smoke_book):
    import nbformat

    from tlkit.teaching.values import glued_values

    staged = smoke_book.parent / "src" / "notebooks"
    checked = []
    for path in sorted(staged.glob("*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        glued = glued_values(notebook)
        sweeps = notebook.metadata["tlkit"]["sweeps"]
        for name in [k for k in glued if k.endswith("_runs_trained")]:
            prefix = name[:-len("_runs_trained")]
            said = {k: int(glued[f"{prefix}_{k}"]) for k in ("runs", "runs_trained",
                                                             "runs_cached")}
            assert said == {k: sweeps[k] for k in said}, (path.stem, said, sweeps)
            checked.append(path.stem)
    assert len(checked) >= 4, checked
