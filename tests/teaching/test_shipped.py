"""Files an assignment ships beside the student's notebook: the image folder of the chapter on a
reader's own images, its path in the notebook's parameters, and the same files in the grading
package.

The pieces run in a second each; generating the chapter's assignment executes it once in the
smoke profile (its grading run: some twenty seconds on two cores with nothing cached) and runs Otter
Assign, without grading the solutions.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from tests.conftest import results_folder
from tlkit.data.folder import scan
from tlkit.teaching.package import PackageError, complete_package, package_contents
from tlkit.teaching.settings import AssignmentSettings, parameter_values
from tlkit.teaching.shipped import Shipped, ship

REPO = Path(__file__).resolve().parents[2]
STEM = "05_your_images"
NOTEBOOK = REPO / "notebooks" / f"{STEM}.ipynb"


def parameters_cell(nb: nbformat.NotebookNode) -> str:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    return cells[0].source


# --- the pieces ------------------------------------------------------------------------------

def test_the_chapter_ships_an_image_folder_its_data_dir_names(tmp_path: Path) -> None:
    shipped = ship(STEM, tmp_path / "files", {"profile": "smoke", "data_dir": None})
    assert shipped.names == ("images",), "the folder only, no marker file beside it"
    assert shipped.parameters == {"data_dir": '"images"'}
    found = scan(tmp_path / "files" / "images", min_per_class=3)
    assert len(found.classes) >= 2 and min(found.per_class()) >= 3
    assert all(name.startswith("images/") and name.endswith(".png") for name in shipped.files())
    ship(STEM, tmp_path / "again", {"profile": "smoke", "data_dir": None})
    assert scan(tmp_path / "again" / "images").digest == found.digest, "written the same again"


def test_the_shipped_folder_is_not_the_books_example(tmp_path: Path) -> None:
    from tlkit.experiments import own_images as oi

    for profile in ("smoke", "quick"):
        s = oi.settings_of({"profile": profile})
        assert s["coursework"] != s["example"]
        ours = set(s["coursework"]["options"]["charset"])
        assert not ours & set(s["example"]["options"]["charset"]), "other classes"


def test_a_chapter_without_files_ships_nothing(tmp_path: Path) -> None:
    shipped = ship("02_small_targets", tmp_path / "files", {"profile": "smoke"})
    assert shipped.names == () and shipped.parameters == {} and shipped.files() == {}
    assert shipped.located({"profile": '"smoke"'}) == {"profile": '"smoke"'}


def test_the_grading_run_reads_the_files_where_they_were_written(tmp_path: Path) -> None:
    shipped = Shipped(tmp_path, {"data_dir": '"images"'})
    located = shipped.located({"profile": '"smoke"', "data_dir": '"images"'})
    assert parameter_values(located)["data_dir"] == str(tmp_path / "images")
    assert located["profile"] == '"smoke"'


def test_the_notebooks_parameters_point_at_the_shipped_folder(tmp_path: Path) -> None:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    assert "data_dir = None" in parameters_cell(nb)
    Shipped(tmp_path, {"data_dir": '"images"'}).set_defaults(nb)
    cell = parameters_cell(nb)
    assert 'data_dir = "images"' in cell and "# your folder" in cell, "the comment is kept"
    assert 'profile = "quick"' in cell


def test_copying_replaces_what_an_earlier_generation_left(tmp_path: Path) -> None:
    source = tmp_path / "files"
    (source / "images" / "a").mkdir(parents=True)
    (source / "images" / "a" / "1.png").write_bytes(b"new")
    target = tmp_path / "student"
    (target / "images" / "old").mkdir(parents=True)
    Shipped(source, {"data_dir": '"images"'}).copy_to(target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "images", "images/a", "images/a/1.png"]


def test_the_package_ships_the_files_beside_its_settings(tmp_path: Path) -> None:
    package, wheel = tmp_path / "package.zip", tmp_path / "tlkit-0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("otter_config.json", "{}")
    settings = AssignmentSettings(STEM, {"data_dir": '"images"'}, 300.0)
    complete_package(package, wheel=wheel, settings=settings, records={}, requirements=[],
                     files={"images/a/1.png": b"png"})
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
        assert zf.read("files/images/a/1.png") == b"png"
    assert "tests/" in names, "Otter copies a tests folder even where every question is by hand"
    assert package_contents(package)["shipped"] == ["images/a/1.png"]
    with pytest.raises(PackageError, match="cannot be named results/x"):
        complete_package(package, wheel=wheel, settings=settings, records={}, requirements=[],
                         files={"results/x": b""})


# --- the generated assignment ----------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assignment of the chapter, generated in the smoke profile (not graded)."""
    pytest.importorskip("otter", reason="otter-grader is not installed (pip install "
                                        "'tlkit[teach]')")
    from tlkit.teaching.assignments import generate

    out = tmp_path_factory.mktemp("assignment")
    with results_folder(out / "results"):
        made = generate(REPO, out / "out", only=[STEM], profile="smoke", run_tests=False,
                        echo=lambda line: None)
    assert [a.shipped for a in made] == [("images",)]
    return out / "out"


def test_the_student_gets_the_folder_beside_the_notebook(generated: Path) -> None:
    student = generated / "student" / f"{STEM}.ipynb"
    nb = nbformat.read(str(student), as_version=4)
    data_dir = parameter_values({"data_dir": parameters_cell(nb).split("data_dir =")[1]
                                 .split("#")[0].strip()})["data_dir"]
    assert data_dir == "images" and not Path(data_dir).is_absolute()
    found = scan(student.parent / data_dir, min_per_class=3)  # as Jupyter resolves it
    assert found.digest == scan(generated / "autograder" / "images").digest
    readme = (generated / "README.md").read_text(encoding="utf-8")
    assert "`student/images`" in readme


def test_the_question_is_graded_by_hand_with_its_rubric(generated: Path) -> None:
    from tlkit.teaching.written import prompt

    package = generated / "autograder" / f"{STEM}-autograder.zip"
    about = package_contents(package)
    assert [(q["name"], q["points"], q["manual"]) for q in about["settings"].questions] == [
        ("q1_interpret", 3.0, True)]
    rubric = about["settings"].questions[0]["rubric"]
    assert "profile smoke" in rubric and "3 points" in rubric and "{glue" not in rubric
    assert about["tests"] == [], "a question graded by hand has no tests"
    student = nbformat.read(str(generated / "student" / f"{STEM}.ipynb"), as_version=4)
    assert "Exercise 1" in prompt(student, 0) and "images/" in prompt(student, 0)
    prose = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert "{glue" not in prose, "the report's answer and numbers are pasted in"
    assert "A model answer" not in json.dumps(student)


def test_grading_runs_on_the_same_folder(generated: Path) -> None:
    package = generated / "autograder" / f"{STEM}-autograder.zip"
    about = package_contents(package)
    assert parameter_values(about["settings"].parameters)["data_dir"] == "images"
    folder = generated / "student" / "images"
    with zipfile.ZipFile(package) as zf:
        shipped = {name.removeprefix("files/"): zf.read(name) for name in zf.namelist()
                   if name.startswith("files/images/")}
    assert shipped == {p.relative_to(folder.parent).as_posix(): p.read_bytes()
                       for p in folder.rglob("*") if p.is_file()}
    assert about["records"], "the grading run's records, so that grading trains nothing"


def test_the_package_holds_every_run_of_the_shipped_folder(generated: Path,
                                                           tmp_path: Path) -> None:
    from tlkit.notebooks import environment
    from tlkit.store import Store
    from tlkit.teaching.reference import stage_runs

    with zipfile.ZipFile(generated / "autograder" / f"{STEM}-autograder.zip") as zf:
        zf.extractall(tmp_path)
    settings = package_contents(generated / "autograder" / f"{STEM}-autograder.zip")["settings"]
    params = {**settings.values(), "data_dir": str(tmp_path / "files" / "images")}
    results = tmp_path / "files" / "results"
    with environment({"TLKIT_RESULTS": str(results)}):
        walked = stage_runs(STEM, params, Store(results))  # raises where a run is missing
    assert [name for name in walked] == ["sources", "selection", "runs"]
    assert all(made for _, made in walked.values())
