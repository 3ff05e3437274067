"""Variants of an assignment: their draw, the roster, and which variant a submission is."""

from __future__ import annotations

import math

import nbformat
import pytest

from tlkit.experiments.profile import COURSEWORK_SEEDS_FROM
from tlkit.teaching.assigned import mark, marked, resolve
from tlkit.teaching.settings import AssignmentSettings
from tlkit.teaching.variants import Variant, assign, plan, read_roster, replicates_needed


def test_variants_are_distinct_orders_of_pool_seeds_drawn_again_from_the_seed():
    drawn = plan(12, needed=3, seed=7, pool=5)
    assert len({v.replicates for v in drawn}) == 12, "every variant is its own"
    pool = set(range(COURSEWORK_SEEDS_FROM, COURSEWORK_SEEDS_FROM + 5))
    for v in drawn:
        assert len(set(v.replicates)) == 3 and set(v.replicates) <= pool
    assert [v.name for v in drawn[:2]] == ["v01", "v02"]
    assert plan(12, needed=3, seed=7, pool=5) == drawn
    assert plan(12, needed=3, seed=8, pool=5) != drawn
    assert all(len(set(v.replicates)) == 4 for v in plan(3, needed=4, seed=0)), "pool 2 x 4"


def test_a_pool_too_small_for_the_variants_is_refused_before_anything_runs():
    assert len(plan(math.perm(4, 2), needed=2, seed=0, pool=4)) == 12
    with pytest.raises(ValueError, match="gives 12 variants .* fewer than the 13"):
        plan(13, needed=2, seed=0, pool=4)
    with pytest.raises(ValueError, match="at least the 3 replicates"):
        plan(2, needed=3, seed=0, pool=2)
    with pytest.raises(ValueError, match="variants must be a whole number"):
        plan(0, needed=3, seed=0)


def test_the_replicates_needed_are_the_most_a_condition_runs():
    assert replicates_needed("00_quickstart", {"profile": "smoke"}) == 2
    assert replicates_needed("01_layer_transfer", {"profile": "quick"}) >= 5


def test_a_variant_sets_its_replicates_in_the_notebooks_overrides():
    v = Variant("v03", (10004, 10001))
    assert v.overrides(None) == {"replicates": [10004, 10001]}
    assert v.overrides({"validation": 2}) == {"validation": 2, "replicates": [10004, 10001]}


def test_rosters_are_read_from_a_csv_column_or_one_name_a_line(tmp_path):
    csv = tmp_path / "class.csv"
    csv.write_text("email,student\na@x,ada\n\ng@x,grace\n", encoding="utf-8")
    assert read_roster(csv) == ["ada", "grace"]
    plain = tmp_path / "class.txt"
    plain.write_text("# autumn\nada\nalan.turing\n", encoding="utf-8")
    assert read_roster(plain) == ["ada", "alan.turing"]


@pytest.mark.parametrize(("text", "message"), [
    ("ada\ngrace\nada\n", "line 3: 'ada' is listed twice"),
    ("ada\n../x\n", "line 2: '../x' cannot name"),
    ("student\nada\n,\n", "line 3: '' cannot name"),
    ("# nobody\n", "names no students")])
def test_a_bad_roster_is_refused_naming_the_line(tmp_path, text, message):
    path = tmp_path / "roster.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_roster(path)
    with pytest.raises(ValueError, match="no roster file"):
        read_roster(tmp_path / "missing.csv")


def test_variants_are_dealt_evenly_and_the_same_way_again():
    students = [f"s{i}" for i in range(10)]
    variants = plan(3, needed=2, seed=0)
    dealt = assign(students, variants, seed=1)
    assert list(dealt) == students
    counts = sorted(list(dealt.values()).count(v.name) for v in variants)
    assert counts == [3, 3, 4]
    assert assign(students, variants, seed=1) == dealt
    assert assign(students, variants, seed=2) != dealt


def _settings(roster=None):
    variants = {"v01": {"overrides": "{'replicates': [10001, 10000]}"},
                "v02": {"overrides": "{'replicates': [10002, 10003]}"}}
    return AssignmentSettings("00_quickstart", {"profile": '"smoke"', "overrides": "None"}, 60.0,
                              variants=variants, roster=dict(roster or {}))


def _notebook(overrides="None"):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f'profile = "smoke"\noverrides = {overrides}\n')
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    return nb


def test_settings_for_a_variant_enforce_its_parameters_and_survive_json():
    s = _settings({"ada": "v02"})
    again = AssignmentSettings.from_json(s.to_json())
    assert again == s
    v = again.for_variant("v02")
    assert v.variant == "v02" and v.values()["overrides"] == {"replicates": [10002, 10003]}
    assert v.values()["profile"] == "smoke"


def test_a_submission_is_graded_as_its_rosters_variant_and_flagged_when_it_is_another(
        monkeypatch):
    monkeypatch.setenv("TLKIT_STUDENT", "ada")
    nb = mark(_notebook(), "00_quickstart", "v01", "grace")  # a classmate's notebook
    assert marked(nb)["variant"] == "v01"
    name, findings = resolve(nb, _settings({"ada": "v02", "grace": "v01"}))
    assert name == "v02"
    assert len(findings) == 1 and findings[0].question is None
    assert "is variant v01, but the roster gives ada variant v02" in str(findings[0])
    name, findings = resolve(mark(_notebook(), "00_quickstart", "v02"), _settings({"ada": "v02"}))
    assert (name, findings) == ("v02", [])


def test_without_a_roster_the_notebook_names_its_variant(monkeypatch):
    monkeypatch.delenv("TLKIT_STUDENT", raising=False)
    nb = mark(_notebook(), "00_quickstart", "v02")
    assert resolve(nb, _settings()) == ("v02", [])
    # metadata lost in an editor: the parameters cell still sets the variant's replicates
    assert resolve(_notebook("{'replicates': [10002, 10003]}"), _settings()) == ("v02", [])
    name, findings = resolve(_notebook(), _settings())
    assert name == "v01" and "names no variant" in str(findings[0])


def test_gradescope_submitters_are_found_on_the_roster(monkeypatch, tmp_path):
    import json

    from tlkit.teaching.assigned import submitter

    monkeypatch.delenv("TLKIT_STUDENT", raising=False)
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"users": [{"email": "x@y", "sid": "s123", "name": "Ada"}]}))
    assert submitter({"s123": "v01"}, meta) == "s123"
    assert submitter({"ada": "v01"}, meta) is None
    assert submitter({"ada": "v01"}, tmp_path / "absent.json") is None


def _pdf_text(path) -> tuple[int, str]:
    """Pages and text of a PDF written by matplotlib: its drawn strings, joined (its ASCII
    characters are literal strings, one or more per kerned group)."""
    import re
    import zlib

    data = path.read_bytes()
    text = ""
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass
        for part in re.findall(rb"\(((?:\\.|[^\\()])*)\)", stream):
            text += re.sub(rb"\\(.)", rb"\1", part).decode("latin-1")
    return len(re.findall(rb"/Type\s*/Page\b", data)), text


def test_written_answers_are_a_pdf_a_page_per_question(tmp_path):
    from tlkit.teaching.master import Question
    from tlkit.teaching.written import write_pdf

    nb = nbformat.v4.new_notebook()
    for prompt_text, said in (("Interpret the figure.", "Fine-tuning helps at 5 per class."),
                              ("Say why.", "word " * 1500)):
        head = nbformat.v4.new_markdown_cell(f"<!-- BEGIN QUESTION -->\n\n{prompt_text}")
        head.metadata["editable"] = False
        nb.cells += [head, nbformat.v4.new_markdown_cell(said),
                     nbformat.v4.new_markdown_cell("<!-- END QUESTION -->")]
    questions = [Question("q1", 2.0), Question("q4", 2.0, True), Question("q5", 1.0, True)]
    path = write_pdf(tmp_path / "ada.pdf", nb, questions, "ada", "v02")
    pages, text = _pdf_text(path)
    assert path.read_bytes().startswith(b"%PDF")
    assert pages == 3, "one page for the short answer, two for the long one"
    for expected in ("ada (variant v02): q4", "Interpret the figure.",
                     "Fine-tuning helps at 5 per class.", "q5, 1 points"):
        assert expected in text
    assert write_pdf(tmp_path / "none.pdf", nb, questions[:1], "ada") is None
