"""What pages hand to readers: tables, claims, sample images, and the book's Sphinx extension."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from tlkit import pages
from tlkit.experiments import layer_transfer as lt
from tlkit.experiments import small_targets as st
from tlkit.runner import load_data
from tlkit.sphinxext import unique_scripts
from tlkit.verdicts import judge


def test_table_rounds_for_readers_and_hides_the_index() -> None:
    df = pd.DataFrame({"target": ["letters, shift 1", "a very long name that must not be cut"],
                       "otdd": [4.2012, 12.345], "gain": [0.12345, -0.0315],
                       "p": [0.00012, 0.5], "epochs": [40.0, math.nan], "seeds": [3, 8]})
    styled = pages.table(df, "A caption", signed=("gain",))
    shown = styled.data
    assert list(shown["otdd"]) == ["4.20", "12.3"]
    assert list(shown["gain"]) == ["+0.123", "-0.032"]
    assert list(shown["p"]) == ["< 0.001", "0.500"], "one p-value style"
    assert list(shown["epochs"]) == ["40", "–"], "a column of counts stays whole"
    assert list(shown["seeds"]) == ["3", "8"]
    html = styled.to_html()
    assert "A caption" in html and "a very long name that must not be cut" in html
    assert "<th class=\"row_heading" not in html and "tlkit-table" in html


def test_table_keeps_an_interval_on_one_line() -> None:
    shown = pages.table(pd.DataFrame({"gain": ["+0.012 [-0.003, +0.028]"]}), "c").data
    assert shown["gain"].iloc[0] == "+0.012 [-0.003,\u00a0+0.028]"


def _judged() -> tuple[pd.DataFrame, pd.DataFrame]:
    from tlkit.analysis import mean_claim, power_table

    found = {"gain": dict(values=pd.Series([0.10, 0.12, 0.11, 0.13]), sign=1, published=0.1,
                          description="a gain"),
             "loss": dict(values=pd.Series([-0.01, 0.02, 0.0, 0.01]), sign=-1, published=0.0,
                          description="a loss")}
    claims = [mean_claim(k, e["values"], sign=e["sign"], published=e["published"],
                         description=e["description"]) for k, e in found.items()]
    return judge(claims), power_table(found)


def test_claims_table_splits_into_results_and_design() -> None:
    judged, power = _judged()
    result = pages.claims_table(judged, power, part="result")
    design = pages.claims_table(judged, power, part="design")
    assert list(result.columns) == list(pages.CLAIM_COLUMNS["result"])
    assert list(design.columns) == list(pages.CLAIM_COLUMNS["design"])
    assert list(result["claim"]) == ["gain", "loss"], "no statements given: the names"
    assert result["verdict"].iloc[0] == "held", "four seeds around +0.115: held"
    assert result["verdict"].iloc[1] == judged["verdict"].iloc[1]
    assert "\u00a0" in result["adjusted CI"].iloc[0]
    # the published size with the margin the verdict used (half of it), in the claim's sign
    assert list(result["published (margin)"]) == ["+0.100\u00a0(+0.050)", "–\u00a0(0)"]
    both = pages.claims_table(judged, power)
    assert set(result.columns) | set(design.columns) == set(both.columns)
    with pytest.raises(ValueError, match="part"):
        pages.claims_table(judged, power, part="everything")


def test_samples_are_exactly_the_images_a_run_trains_on() -> None:
    params = {"profile": "smoke"}
    shown = lt.sample_specs(params)
    assert set(shown) == {"splits", "axis"}
    split_list = lt.splits(params)
    assert len(shown["splits"]) == 1 + len(split_list), "target B and every source half A"
    assert list(shown["axis"]) == [t.name for ax in lt.axes(params) for t in ax.targets]
    label, spec = next(iter(shown["splits"].items()))
    images = pages.samples({label: spec})[label]
    expected = load_data(spec, "train")
    assert torch.equal(images.images, expected.images)
    assert images.classes == tuple(split_list[0].b)
    targets = st.sample_specs(params)
    assert any(k.startswith("target") for k in targets)
    assert any(k.startswith("near source") for k in targets)
    assert any(k.startswith("far source") for k in targets)


def test_trend_text_says_when_no_correlation_exists() -> None:
    from tlkit.analysis import correlation_claim

    distances = np.array([1.0, 2.0, 3.0, 4.0])
    found = {"trend": dict(pairs=(distances, np.array([7, 7, 7, 7]))),
             "trend_plus": dict(pairs=(distances, np.array([7, 5, 3, 1])))}
    judged = judge([correlation_claim(k, *e["pairs"], sign=-1, description=k)
                    for k, e in found.items()])
    assert lt.trend_text(judged, found, "trend") == (
        "undefined, for the best depth was 7 for every target")
    text = lt.trend_text(judged, found, "trend_plus")
    assert text.startswith("ρ = -1.00 [")


class _Script:
    def __init__(self, filename, body=""):
        self.filename = filename
        self.attributes = {"body": body} if body else {}


def test_each_inline_script_of_a_page_is_written_once() -> None:
    scripts = [_Script("_static/a.js"), _Script(None, "const X = 1"), _Script("_static/a.js"),
               _Script("", "const X = 1"), _Script(None, "const Y = 2")]
    kept = unique_scripts(scripts)
    assert [(s.filename, s.attributes.get("body")) for s in kept] == [
        ("_static/a.js", None), (None, "const X = 1"), (None, "const Y = 2")]


def test_an_untested_claim_glues_every_value_its_page_quotes(monkeypatch) -> None:
    """A claim the plan leaves out (it cannot be powered, or its experiment cannot show it)
    still has every number its page's prose quotes: the sentence stays, the verdict says why."""
    import json
    import re
    from pathlib import Path

    from tlkit.power import plan

    glued: dict[str, object] = {}
    monkeypatch.setattr(pages, "glue_values",
                        lambda prefix, values: glued.update(
                            {f"{prefix}_{k}": v for k, v in values.items()}))
    names = list(lt.CLAIM_CONDITIONS)
    table = plan({k: 0.01 for k in names}, {k: 0.03 for k in names}, {k: 4 for k in names},
                 untestable={k: "precondition failed: headroom" for k in names})
    rng = np.random.default_rng(0)
    found = {k: dict(values=pd.Series(rng.normal(0, 0.01, 4))) for k in names}
    assert pages.glue_untested("lt", found, table) == dict.fromkeys(
        names, "precondition failed: headroom")
    assert glued["lt_boost_verdict"] == "not tested (precondition failed: headroom)"
    nb = json.loads(Path("notebooks/01_layer_transfer.ipynb").read_text())
    prose = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    claim = "|".join(sorted(names, key=len, reverse=True))
    quoted = set(re.findall(rf"`(lt_(?:{claim})(?:_(?:low|high|verdict|seeds))?)[:`]", prose))
    assert quoted and quoted <= set(glued), sorted(quoted - set(glued))


def test_a_figure_is_described_by_its_caption_and_opens_full_size() -> None:
    from docutils import nodes

    from tlkit.sphinxext import alt_text, describe_figures

    assert alt_text("Gains, as Fig. 3 shows (e.g. at 1). The rest.") == (
        "Gains, as Fig. 3 shows (e.g. at 1).")
    assert len(alt_text("word " * 200)) <= 300
    doctree = nodes.section()
    fig = nodes.figure()
    fig += nodes.image(uri="build/abc.svg", alt="build/abc.svg")
    fig += nodes.caption(text="Test accuracy against size. Each point is a mean.")
    doctree += fig
    kept = nodes.figure()
    kept += nodes.image(uri="x.svg", alt="A map of the taxonomy.", width="80%")
    kept += nodes.caption(text="Another caption.")
    doctree += kept
    assert describe_figures(doctree) == 1
    image = next(iter(fig.findall(nodes.image)))
    assert image["alt"] == "Test accuracy against size." and image["width"] == "100%"
    other = next(iter(kept.findall(nodes.image)))
    assert other["alt"] == "A map of the taxonomy." and other["width"] == "80%"
