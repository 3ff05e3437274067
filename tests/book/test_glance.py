"""The answer first: each page's result at a glance, the book's findings, and one number per
claim wherever a page quotes it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from tlkit import glance, pages
from tlkit.analysis import mean_claim
from tlkit.findings import END, START, findings_markdown, findings_rows, write_findings
from tlkit.teaching.values import GLUE_PREFIX
from tlkit.verdicts import judge

EXPERIMENTS = {"00_quickstart": "qs", "01_layer_transfer": "lt", "02_small_targets": "st",
               "03_pretrained": "pt", "04_hyperparameters": "hp"}
_REF = re.compile(r"\{glue(?::text)?\}`(?:[^`:]*::)?([A-Za-z0-9_]+)(?::[^`]*)?`")


def _found() -> dict[str, dict]:
    rng = np.random.default_rng(1)
    return {
        "up": dict(values=pd.Series(0.10 + rng.normal(0, 0.01, 6)), sign=1, published=0.0,
                   description="a - b", statement="A beats B"),
        "down": dict(values=pd.Series(0.05 + rng.normal(0, 0.01, 6)), sign=-1, published=0.0,
                     description="c - d", statement="C falls below D"),
        "small": dict(values=pd.Series(rng.normal(0, 0.002, 6)), sign=1, published=0.2,
                      description="e - f", statement="E beats F by about 0.2"),
        "noisy": dict(values=pd.Series(rng.normal(0, 0.2, 6)), sign=1, published=0.0,
                      description="g - h"),
        "barred": dict(values=pd.Series([0.01, 0.02, 0.03]), sign=1, published=0.0,
                       description="i - j", statement="I beats J"),
    }


def _judged(found: dict) -> pd.DataFrame:
    return judge([mean_claim(k, e["values"], sign=e["sign"], published=e["published"],
                             description=e["description"])
                  for k, e in found.items() if k != "barred"])


def test_glance_words_every_verdict_and_quotes_the_adjusted_interval() -> None:
    found = _found()
    judged = _judged(found)
    rows = glance.glance(judged, found, {"barred": "precondition failed: headroom"})
    by = rows.set_index("id")
    assert list(rows["id"]) == ["up", "down", "small", "noisy", "barred"]
    assert by.loc["up", "verdict"] == "held"
    # claimed negative, measured clearly positive: the other way
    assert by.loc["down", "verdict"] == "did not hold: the other way"
    # no effect against a published +0.2 (margin +0.1): smaller than the margin
    assert by.loc["small", "verdict"] == "did not hold: smaller than +0.100"
    assert by.loc["noisy", "verdict"] == "inconclusive"
    assert by.loc["barred", "verdict"] == "not tested (precondition failed: headroom)"
    assert by.loc["barred", "effect [adjusted interval]"] == "–"
    # the sentence, else what is measured
    assert by.loc["up", "claim"] == "A beats B" and by.loc["noisy", "claim"] == "g - h"
    # the effect is the verdict's own interval, not the plain 95% one
    r = judged.set_index("claim").loc["up"]
    assert by.loc["up", "effect [adjusted interval]"] == (
        f"{r.estimate:+.3f} [{r.adj_low:+.3f},\u00a0{r.adj_high:+.3f}]")
    assert (r.adj_low, r.adj_high) != (r.ci_low, r.ci_high)
    with pytest.raises(ValueError, match="both judged and not tested"):
        glance.glance(judged, found, {"up": "no reason"})


def test_tables_and_prose_quote_the_interval_the_verdict_was_decided_on(monkeypatch) -> None:
    found = _found()
    judged = _judged(found)
    glued: dict[str, object] = {}
    monkeypatch.setattr(pages, "glue_values", lambda prefix, values: glued.update(
        {f"{prefix}_{k}": v for k, v in values.items()}))
    pages.glue_claims("x", judged)
    pages.glue_left_out("x", found, {"barred": "precondition failed: headroom"})
    rows = glance.glance(judged, found, {"barred": "precondition failed: headroom"})
    table = pages.claims_table(judged, part="result", found=found)
    for _, r in rows.iterrows():
        if r["verdict_key"] != "not tested":
            assert glued[f"x_{r['id']}_quote"] == r["effect [adjusted interval]"], r["id"]
            assert pages.quote(judged, found, r["id"]) == glued[f"x_{r['id']}_quote"]
    assert list(table["verdict"]) == list(rows["verdict"][:4])
    assert list(table["claim"]) == list(rows["claim"][:4])
    assert glued["x_barred_quote"].endswith("(95%, not adjusted)")
    assert pages.quote(judged, found, "barred") == glued["x_barred_quote"]


def _prose() -> dict[str, str]:
    texts = {p.name: p.read_text(encoding="utf-8") for p in Path("book").glob("*.md")}
    for stem in [*EXPERIMENTS, "90_recipes"]:
        nb = json.loads(Path(f"notebooks/{stem}.ipynb").read_text(encoding="utf-8"))
        texts[stem] = "\n".join("".join(c["source"]) for c in nb["cells"]
                                if c["cell_type"] == "markdown")
    return texts


def test_no_page_quotes_a_plain_interval_beside_a_verdict() -> None:
    """A claim with a verdict is quoted by its ``_quote`` (the adjusted interval, or the plain
    one said to be so when it is not tested), never by its plain ``_low``/``_high``."""
    texts = _prose()
    judged = {ref[:-len("_verdict")] for text in texts.values() for ref in _REF.findall(text)
              if ref.endswith("_verdict")}
    assert {"st_small_gain", "lt_dip", "pt_wtau_logme", "hp_gain_glyph_ls"} <= judged
    bad = [(name, ref) for name, text in texts.items() for ref in _REF.findall(text)
           if ref.endswith(("_low", "_high")) and ref.rsplit("_", 1)[0] in judged]
    assert not bad, bad


def test_every_experiment_page_opens_with_its_result_at_a_glance() -> None:
    for stem, prefix in EXPERIMENTS.items():
        nb = json.loads(Path(f"notebooks/{stem}.ipynb").read_text(encoding="utf-8"))
        first = "".join(nb["cells"][0]["source"])
        assert f"```{{glue:}} {prefix}_glance\n```" in first, stem
        assert first.index("The survey's claim") < first.index(f"{prefix}_glance"), stem
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert f'pages.glue_glance("{prefix}"' in code, stem


def _executed(path: Path, rows: list[dict]) -> Path:
    record = nbformat.v4.new_output(
        "display_data", data={GLUE_PREFIX + "text/plain": repr(json.dumps(rows))},
        metadata={"scrapbook": {"name": "st_glance_rows", "mime_prefix": GLUE_PREFIX}})
    cell = nbformat.v4.new_code_cell("glued", outputs=[record])
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))
    return path


def test_the_landing_page_lists_every_claim_of_the_executed_pages(tmp_path) -> None:
    found = _found()
    rows = glance.glance(_judged(found), found, {"barred": "why"}).to_dict("records")
    nb = _executed(tmp_path / "02_small_targets.ipynb", rows)
    read = findings_rows([nb])
    assert [r["id"] for r in read] == [r["id"] for r in rows]
    text = findings_markdown(read)
    assert "5 claims" in text and "**1 held**" in text and "**1 not tested**" in text
    assert text.count("{doc}`02\u00a0small\u00a0targets <../notebooks/02_small_targets>`") == 5
    assert "| C falls below D | did not hold: the other way |" in text
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "book" / "index.md").write_text(f"# Title\n\n{START}\nplaceholder\n{END}\n\nrest\n")
    page = write_findings(src, [nb, tmp_path / "missing.ipynb"]).read_text()
    assert "placeholder" not in page and "| A beats B | held |" in page
    assert page.startswith("# Title") and page.rstrip().endswith("rest")
    assert "nothing to summarise" in findings_markdown([])
    (src / "book" / "index.md").write_text("# Title\n")
    assert write_findings(src, [nb]) is None, "a landing page without the block is left alone"
    assert (src / "book" / "index.md").read_text() == "# Title\n"
    book = Path("book/index.md").read_text(encoding="utf-8")
    assert book.index(START) < book.index(END), "the book's landing page has the block"


def test_a_guideline_recommends_only_what_every_claim_it_rests_on_held(tmp_path) -> None:
    from tlkit import guidance

    found = _found()
    rows = glance.glance(_judged(found), found, {"barred": "why"}).to_dict("records")
    nb = _executed(tmp_path / "02_small_targets.ipynb", rows)
    read = findings_rows([nb])
    verdict = {r["id"]: r["verdict_key"] for r in read}
    assert verdict["up"] == "held" and verdict["noisy"] == "inconclusive"
    recs = [{"guideline": 1, "advice": "Use A.", "rests_on": ["02_small_targets:up"]},
            {"guideline": 2, "advice": "Use E.", "rests_on": ["02_small_targets:up",
                                                            "02_small_targets:noisy"]},
            {"guideline": 3, "advice": "Avoid C.", "rests_on": ["02_small_targets:down"]},
            {"guideline": 4, "advice": "Use I.", "rests_on": ["03_pretrained:x"]},
            {"guideline": 5, "advice": "Train well.", "rests_on": []}]
    text = guidance.guidance_markdown(recs, read)
    assert "| {ref}`1 <guideline-1>` | **Use A.** |" in text
    assert ("| {ref}`2 <guideline-2>` | *Not made: not every claim held.* The survey: Use E. |"
            in text)
    assert "*inconclusive*" in text.split("<guideline-2>` |")[1].split("\n")[0]
    assert "| {ref}`3 <guideline-3>` | *Not made: the effect went the other way.*" in text
    assert "| {ref}`4 <guideline-4>` | *Not made: not every claim held.*" in text
    assert "not executed" in text
    assert "(a rule of this book's method, not a finding)" in text
    assert "could make from a measured claim, this build makes **1**" in " ".join(text.split())
    with pytest.raises(ValueError, match="02_small_targets:gone"):
        guidance.guidance_markdown(
            [{"guideline": 9, "advice": "x", "rests_on": ["02_small_targets:gone"]}], read)
    bad = tmp_path / "bad.yml"
    bad.write_text("- guideline: one\n  advice: x\n")
    with pytest.raises(ValueError, match="entry 1"):
        guidance.read_guidance(bad)


def test_every_recommendation_of_the_book_rests_on_claims_its_pages_state() -> None:
    from tlkit import guidance

    recs = guidance.read_guidance(guidance.GUIDANCE_FILE)
    # that each claim is stated is checked on the built book (test_book_build)
    assert all(c.split(":")[0] in EXPERIMENTS for rec in recs for c in rec["rests_on"])
    page = Path(guidance.PAGE).read_text(encoding="utf-8")
    assert page.index(guidance.START) < page.index(guidance.END)
    assert {r["guideline"] for r in recs} == set(range(1, 11))
