"""The pieces of the coursework tools that need no notebook run: values written into prose,
settings enforced on a submission, tables read from the run cache in a fresh interpreter,
pinned requirements, citations as text, the student notebook's order and the gradebook's
hand-graded scores."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from tlkit.teaching import reference, settings, values
from tlkit.teaching.package import installed_version, pinned_requirements

# --- values -----------------------------------------------------------------------------------


def test_glue_roles_become_the_runs_values() -> None:
    glued = {"qs_gain": "0.06912", "qs_profile": "'quick'", "qs_n": "5", "qs_ok": "True"}
    text = ("gain {glue:text}`qs_gain:+.3f` in {glue:text}`qs_profile` with {glue}`qs_n` "
            "examples ({glue:text}`qs_gain:.1%`), {glue:text}`qs_ok`")
    assert values.fill(text, glued) == "gain +0.069 in quick with 5 examples (6.9%), True"


def test_a_missing_value_is_named() -> None:
    with pytest.raises(values.MissingValueError, match="qs_missing"):
        values.fill("{glue:text}`qs_missing:.2f`", {})


def test_glue_figures_become_numbered_captions_and_references_their_numbers() -> None:
    first = "```{glue:figure} qs_data\n:name: fig-qs-data\n\nThe data.\n```"
    text = ("before\n\n```{glue:figure} qs_fig\n:name: fig-qs\n:figwidth: 100%\n\nTest accuracy "
            "over {glue:text}`qs_n` seeds.\n```\n\nafter, in {numref}`fig-qs`; {numref}`other`")
    figures = values.figure_numbers([first, text])
    assert figures == {"fig-qs-data": 1, "fig-qs": 2}
    assert values.fill(text, {"qs_n": "5"}, figures) == (
        "before\n\n*Figure 2: Test accuracy over 5 seeds.*\n\nafter, in Figure 2; "
        "{numref}`other`")


def test_glued_values_are_read_from_an_executed_notebook() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={values.GLUE_PREFIX + "text/plain": "0.5"},
        metadata={"scrapbook": {"name": "x", "mime_prefix": values.GLUE_PREFIX}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "'shown'"},
                               metadata={"scrapbook": {"name": "y", "mime_prefix": ""}}),
        nbformat.v4.new_output("stream", text="not glued")]
    nb.cells = [cell]
    assert values.glued_values(nb) == {"x": "0.5", "y": "'shown'"}


# --- settings ---------------------------------------------------------------------------------

SETTINGS = settings.AssignmentSettings(
    "00_quickstart", {"profile": '"quick"', "seeds": "None", "device": '"cpu"'}, 60.0,
    questions=[{"name": "q1", "points": 2.0, "manual": False}])


def _notebook(*sources: str, tag: int | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")]
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if i == tag:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    return nb


def test_enforce_replaces_the_students_parameters() -> None:
    nb = _notebook('profile = "smoke"  # cheaper\nseeds = 1\n', "print(profile)", tag=0)
    settings.enforce(nb, SETTINGS)
    code = nb.cells[1].source
    assert 'profile = "quick"' in code and "seeds = None" in code and 'device = "cpu"' in code
    assert "smoke" not in code and "seeds = 1" not in code
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[2].source == "print(profile)"


def test_enforce_finds_an_untagged_cell_or_inserts_one() -> None:
    nb = _notebook("import os", 'profile = "smoke"', tag=None)
    settings.enforce(nb, SETTINGS)
    assert 'profile = "quick"' in nb.cells[2].source
    assert "parameters" in nb.cells[2].metadata["tags"]
    nb = _notebook("print(1)")
    settings.enforce(nb, SETTINGS)
    assert 'profile = "quick"' in nb.cells[1].source and nb.cells[2].source == "print(1)"


def test_settings_round_trip_and_read_from_a_folder(tmp_path: Path) -> None:
    assert settings.read_settings(tmp_path) is None
    (tmp_path / settings.SETTINGS_FILE).write_text(SETTINGS.to_json())
    back = settings.read_settings(tmp_path)
    assert back == SETTINGS
    assert back.values() == {"profile": "quick", "seeds": None, "device": "cpu"}


def test_set_parameter_keeps_the_comment() -> None:
    source = 'profile = "quick"   # smoke | quick | full\nseeds = None\n'
    assert settings.set_parameter(source, "seeds", "3") == (
        'profile = "quick"   # smoke | quick | full\nseeds = 3\n')
    with pytest.raises(ValueError, match="does not set 'device'"):
        settings.set_parameter(source, "device", '"cpu"')


# --- reference --------------------------------------------------------------------------------


def test_reference_tables_come_from_the_cache_and_the_assignments_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tlkit import sweep
    from tlkit.experiments import quickstart

    params = {"profile": "smoke", "seeds": None, "device": "cpu", "executor": "serial",
              "sizes": None, "source": None, "target": None}
    monkeypatch.chdir(tmp_path)
    with pytest.raises(reference.MissingRunError, match="not in the run cache"):
        reference.table("00_quickstart", "df", params)
    sweep.run(quickstart.specs(params), device="cpu", executor="serial")
    df = reference.table("00_quickstart", "df", params)
    assert len(df) == len(quickstart.specs(params))
    other = {**params, "sizes": [3]}
    (tmp_path / settings.SETTINGS_FILE).write_text(settings.AssignmentSettings(
        "00_quickstart", {k: json.dumps(v) if v is not None else "None"
                          for k, v in params.items()}, 60.0).to_json())
    again = reference.table("00_quickstart", "df", other)  # the settings win over the notebook
    assert again.equals(df)
    with pytest.raises(ValueError, match="no reference table"):
        reference.table("00_quickstart", "nope", params)
    # a run noted as diverged has no record, and is not missing: its divergence is its result
    from tlkit.store import Store

    store, spec = Store(), reference.specs("00_quickstart", params)[-1]
    store.record_path(spec.key()).unlink()
    with pytest.raises(reference.MissingRunError, match="1 of the"):
        reference.records("00_quickstart", params, store)
    store.put_failure(spec, "boom")  # another failure is retried: still missing
    with pytest.raises(reference.MissingRunError, match="1 of the"):
        reference.records("00_quickstart", params, store)
    store.put_failure(spec, "training diverged: the loss is not finite", diverged=True)
    found = reference.records("00_quickstart", params, store)
    assert len(found) == len(reference.specs("00_quickstart", params)) - 1


# --- package ----------------------------------------------------------------------------------


def test_requirements_are_pinned_to_the_installed_versions(tmp_path: Path) -> None:
    pins = pinned_requirements(extra=("otter-grader[grading]",))
    names = [p.split("==")[0] for p in pins]
    assert "torch" in names and "pot" in names and "otter-grader[grading]" in names
    for pin in pins:
        name, version = pin.split("==")
        assert version == installed_version(name.split("[")[0]) and "+" not in version
    wheel = tmp_path / "fake-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fake-0.1.dist-info/METADATA", "Name: fake\nRequires-Dist: numpy>=1\n"
                    "Requires-Dist: pytest; extra == 'dev'\n")
    assert pinned_requirements(extra=(), wheel=wheel) == [
        f"numpy=={installed_version('numpy')}"]


def test_the_wheel_holds_the_package_and_leaves_the_source_tree_alone(tmp_path: Path) -> None:
    from tlkit.teaching.package import build_wheel

    repo = Path(__file__).resolve().parents[2]
    before = sorted(p.name for p in repo.iterdir())
    wheel = build_wheel(repo, tmp_path)
    assert sorted(p.name for p in repo.iterdir()) == before, "no build/ folder in the source"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert "tlkit/teaching/settings.py" in names and "tlkit/models/efficientnet.py" in names
    assert any(n.startswith("tlkit/experiments/profiles/") for n in names), "package data"


# --- the student notebook, citations and the gradebook ------------------------------------------


def test_citations_read_as_text_from_the_books_bibliography() -> None:
    from tlkit.teaching.myst import jupyter_markdown, read_references

    refs = read_references(Path(__file__).resolve().parents[2] / "book" / "references.bib")
    assert refs["yosinski2014transferable"] == ("Yosinski et al.", "2014")
    text = "{cite:t}`li2018explicit` and {cite}`plested2022survey,he2019rethinking`, {cite}`zz`"
    assert jupyter_markdown(text, refs) == (
        "Li et al. (2018) and (Plested et al., 2022; He et al., 2019), [zz]")


def test_the_student_notebook_installs_before_otter_and_keeps_its_parameters() -> None:
    from tlkit.teaching.master import arrange_student

    otter = nbformat.v4.new_code_cell('import otter\ngrader = otter.Notebook("x.ipynb")')
    install = nbformat.v4.new_code_cell(
        'import importlib.util\nif importlib.util.find_spec("tlkit") is None:\n'
        '    pip("tlkit[book] @ git+https://example.org/tlkit")')
    params = nbformat.v4.new_code_cell('profile = "quick"')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[otter, nbformat.v4.new_markdown_cell("# T"), install,
                                         params])
    arrange_student(nb)
    sources = [c.source for c in nb.cells]
    assert sources.index(install.source) < sources.index(otter.source), "install, then Otter"
    assert '"otter"' in install.source and "tlkit[book,teach] @" in install.source
    assert params.source.startswith("# Do not edit") and params.metadata["editable"] is False
    arrange_student(nb)
    assert params.source.count("# Do not edit") == 1, "arranging twice changes nothing"


def test_hand_graded_scores_are_kept_and_added_to_the_totals(tmp_path: Path) -> None:
    from tlkit.teaching.gradebook import collect, manual_scores, write_gradebook
    from tlkit.teaching.grading import Grade
    from tlkit.teaching.master import Question

    questions = [Question("q1", 2.0), Question("q2", 2.0, manual=True)]
    grades = [Grade("ada", "graded", {"q1": 2.0}, {"q1": 2.0}, 1.0),
              Grade("bob", "flagged", {"q1": 0.0}, {"q1": 2.0}, 1.0, "FLAGGED: q1: x",
                    {"q1": "FLAGGED: q1: x"}),
              Grade("cy", "unreadable", reason="not a notebook")]
    answer = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("<!-- BEGIN QUESTION -->\n\nPrompt"),
        nbformat.v4.new_markdown_cell("My answer."),
        nbformat.v4.new_markdown_cell("<!-- END QUESTION -->")])
    answer.cells[0].metadata["editable"] = False
    _, manual = write_gradebook(tmp_path, questions, grades, {"ada": answer, "bob": answer,
                                                              "cy": None},
                                {"q2": "Two points: a reading with its uncertainty."})
    text = manual["q2"].read_text()
    assert "## Rubric" in text and "a reading with its uncertainty" in text
    assert "My answer." in text and "(the submission could not be read)" in text
    assert manual_scores(manual["q2"]) == {"ada": None, "bob": None, "cy": None}
    manual["q2"].write_text(text.replace("## ada\n\nscore: ", "## ada\n\nscore: 1.5")
                            .replace("## bob\n\nscore: ", "## bob\n\nscore: 2"))
    import csv

    rows = {r["student"]: r for r in
            csv.DictReader(collect(tmp_path).read_text().splitlines())}
    assert rows["ada"]["q2 (by hand)"] == "1.5" and rows["ada"]["total"] == "2"
    assert rows["ada"]["total with hand-graded"] == "3.5"
    assert rows["ada"]["possible with hand-graded"] == "4"
    assert rows["bob"]["status"] == "flagged" and rows["bob"]["total with hand-graded"] == "2"
    assert rows["cy"]["total with hand-graded"] == "", "a missing hand-graded score: no total"
    write_gradebook(tmp_path, questions, grades, {"ada": answer, "bob": answer, "cy": None})
    assert manual_scores(manual["q2"])["ada"] == 1.5, "grading again keeps the teacher's marks"
    manual["q2"].write_text(manual["q2"].read_text().replace("score: 1.5", "score: 5"))
    with pytest.raises(ValueError, match="ada has 5 points of 2"):
        collect(tmp_path)
    manual["q2"].write_text(manual["q2"].read_text().replace("score: 5", "score: good"))
    with pytest.raises(ValueError, match="score of ada is 'good'"):
        collect(tmp_path)
    with pytest.raises(FileNotFoundError, match="grade the class first"):
        collect(tmp_path / "nothing")
