"""Every figure's numbers, one click away: the CSV the build writes and the line under the
figure that links it, with the command that redraws the figure."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
from docutils import nodes  # noqa: E402

from tlkit.figure_data import INDEX, figure_ids, read_index, write_figure_data  # noqa: E402
from tlkit.sphinxext import add_figure_data  # noqa: E402
from tlkit.teaching.values import GLUE_PREFIX  # noqa: E402

MARKDOWN = """Text.

```{glue:figure} st_fig_curves
:name: fig-st-curves
:figwidth: 100%

A caption.
```

```{glue:figure} st_fig_unnamed
:figwidth: 100%

No name, no link.
```
"""


def _glued(name: str, value: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output(
        "display_data", data={GLUE_PREFIX + "text/plain": repr(value)},
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})


def test_the_figures_of_a_page_are_found_by_their_names() -> None:
    assert figure_ids(MARKDOWN) == {"st_fig_curves": "fig-st-curves"}


def test_the_build_writes_each_figures_numbers_and_how_to_redraw_it(tmp_path) -> None:
    csv = pd.DataFrame({"size": [1, 5], "mean": [0.2, 0.5]}).to_csv(index=False)
    cell = nbformat.v4.new_code_cell("", outputs=[_glued("st_fig_curves_data", csv)])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(MARKDOWN), cell],
                                  metadata={"tlkit": {"profile": "smoke"}})
    path = tmp_path / "02_small_targets.ipynb"
    nbformat.write(nb, str(path))
    index = write_figure_data(tmp_path / "src", [path, tmp_path / "absent.ipynb"])
    assert index == {"fig-st-curves": {
        "csv": "_static/figure-data/fig-st-curves.csv",
        "command": "tlkit notebook 02_small_targets --profile smoke"}}
    written = pd.read_csv(tmp_path / "src" / "_static" / "figure-data" / "fig-st-curves.csv")
    assert written["mean"].tolist() == [0.2, 0.5]
    assert read_index(tmp_path / "src") == json.loads((tmp_path / "src" / INDEX).read_text())
    assert read_index(tmp_path / "nowhere") == {}


def test_the_line_under_a_figure_links_its_numbers_relative_to_the_page() -> None:
    doctree = nodes.section()
    fig = nodes.figure(ids=["fig-st-curves"])
    fig += nodes.caption(text="A caption.")
    doctree += fig
    other = nodes.figure(ids=["fig-other"])
    doctree += other
    index = {"fig-st-curves": {"csv": "_static/figure-data/fig-st-curves.csv",
                               "command": "tlkit notebook 02_small_targets --profile quick"}}
    assert add_figure_data(doctree, "notebooks/02_small_targets", index) == 1
    assert add_figure_data(doctree, "notebooks/02_small_targets", index) == 0, "once only"
    link = next(iter(fig.findall(nodes.reference)))
    assert link["refuri"] == "../_static/figure-data/fig-st-curves.csv"
    assert "tlkit notebook 02_small_targets --profile quick" in fig.astext()
    assert not list(other.findall(nodes.reference))
