"""Grading a class: `tlkit grade`, the enforced settings, the time limit, the gradebook, the cheats
that must fail, and the grading package's own environment.

The packages are the smoke profile's (``smoke_assignments``); their records come from the smoke
book's run cache.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from tlkit.cli import main
from tlkit.teaching.grading import GradingError, find_package, grade
from tlkit.teaching.package import package_contents

pytest.importorskip("otter", reason="otter-grader is not installed (pip install 'tlkit[teach]')")

QS = "00_quickstart"


def _edit(src: Path, dst: Path, find: str, change) -> None:
    nb = nbformat.read(str(src), as_version=4)
    cells = [c for c in nb.cells if find in c.source]
    assert len(cells) == 1, f"one cell holds {find!r}"
    change(cells[0])
    nbformat.write(nb, str(dst))


def _gradebook(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def class_folder(smoke_assignments: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Submissions of one class for the quickstart: each a thing students do."""
    folder = tmp_path_factory.mktemp("submissions")
    solutions = smoke_assignments / "autograder" / f"{QS}.ipynb"
    shutil.copy2(solutions, folder / "correct.ipynb")
    with zipfile.ZipFile(folder / "exported.zip", "w") as zf:  # what grader.export() hands in
        zf.write(solutions, f"{QS}.ipynb")
    shutil.copy2(smoke_assignments / "student" / f"{QS}.ipynb", folder / "blank.ipynb")
    _edit(solutions, folder / "wrong.ipynb", "alpha / 2 * kept + beta / 2 * new",
          lambda c: setattr(c, "source", c.source.replace("alpha / 2 * kept + beta / 2 * new",
                                                          "alpha * kept + beta * new")))
    _edit(solutions, folder / "calls_the_library.ipynb", "def copy_and_freeze",
          lambda c: setattr(c, "source", (
              "from tlkit.transfer import copy_layers as cp, freeze_layers as fr\n\n"
              "def copy_and_freeze(source, target, n):\n"
              "    cp(source, target, n)\n    fr(target, n)\n")))
    _edit(solutions, folder / "overwrites_the_table.ipynb", 'prediction = "fine-tuned"',
          lambda c: setattr(c, "source", (
              'df = df.assign(test_acc=(df["condition"] == "frozen features") * 1.0)\n'
              + c.source)))
    _edit(solutions, folder / "cheaper_profile.ipynb", 'profile = "smoke"',
          lambda c: setattr(c, "source", c.source.replace('profile = "smoke"',
                                                          'profile = "nonsense"')))
    _edit(solutions, folder / "sleeps.ipynb", 'prediction = "fine-tuned"',
          lambda c: setattr(c, "source", "import time\ntime.sleep(10**6)\n" + c.source))
    (folder / "truncated.ipynb").write_text('{"cells": [', encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def graded(smoke_assignments: Path, class_folder: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("graded") / "quickstart"
    assert main(["grade", QS, str(class_folder), "--assignments", str(smoke_assignments),
                 "--out", str(out), "--timeout", "40", "--jobs", "2"]) == 0
    return out


def test_every_submission_is_a_row_with_its_reason(graded: Path, class_folder: Path) -> None:
    book = _gradebook(graded / "gradebook.csv")
    students = {p.stem for p in class_folder.iterdir()}
    assert set(book) == students, "one row per submission, none lost"
    full = {"q1_predict": "2", "q2_copy_freeze": "3", "q3_l2sp": "3"}
    for student in ("correct", "exported"):
        assert {q: book[student][q] for q in full} == full, student
        assert book[student]["total"] == book[student]["possible"] == "8"
    assert book["blank"]["status"] == "graded" and book["blank"]["total"] == "0"
    assert float(book["wrong"]["q3_l2sp"]) < 3 and book["wrong"]["q1_predict"] == "2"
    assert book["sleeps"]["status"] == "timeout" and "40 s" in book["sleeps"]["reason"]
    assert book["truncated"]["status"] == "unreadable" and "JSON" in book["truncated"]["reason"]
    assert book["correct"]["q4_interpret (by hand)"] == "", "hand-graded columns stay empty"


def test_the_library_answer_and_an_overwritten_table_lose_points(graded: Path) -> None:
    book = _gradebook(graded / "gradebook.csv")
    assert float(book["calls_the_library"]["q2_copy_freeze"]) < 3, (
        "calling tlkit's copy_layers and freeze_layers is not an answer")
    assert float(book["overwrites_the_table"]["q1_predict"]) < 2, (
        "the hidden test reads the runs from the cache, not the student's df")
    results = json.loads((graded / "calls_the_library" / "results.json").read_text())
    output = next(t["output"] for t in results["tests"] if t["name"] == "q2_copy_freeze")
    assert "library's own solution" in output


def test_the_assignments_settings_override_the_students(graded: Path) -> None:
    book = _gradebook(graded / "gradebook.csv")
    assert book["cheaper_profile"]["status"] == "graded"
    assert book["cheaper_profile"]["total"] == "8", (
        "an unknown profile in the student's parameters cell is replaced by the assignment's")


def test_hand_graded_answers_are_collected_per_question(graded: Path,
                                                        class_folder: Path) -> None:
    text = (graded / "manual" / "q4_interpret.md").read_text(encoding="utf-8")
    for student in ("correct", "blank", "wrong"):
        assert f"## {student}" in text
    correct = text.split("## correct", 1)[1].split("\n## ", 1)[0]
    assert "A model answer" in correct, "the solutions' written answer is collected"
    blank = text.split("## blank", 1)[1].split("\n## ", 1)[0]
    assert "(no answer)" in blank


def test_grading_stops_before_any_work_on_bad_input(smoke_assignments: Path,
                                                    tmp_path: Path) -> None:
    package = find_package(QS, smoke_assignments)
    assert find_package("quickstart", smoke_assignments) == package
    with pytest.raises(GradingError, match="no grading package for 'nope'"):
        find_package("nope", smoke_assignments)
    with pytest.raises(GradingError, match="no folder of submissions"):
        grade(package, tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GradingError, match="no submissions"):
        grade(package, tmp_path / "empty", tmp_path / "out")
    (tmp_path / "twice").mkdir()
    for name in ("ada.ipynb", "ada.zip"):
        (tmp_path / "twice" / name).write_text("{}")
    with pytest.raises(GradingError, match="same name: ada"):
        grade(package, tmp_path / "twice", tmp_path / "out")
    fake = tmp_path / "plain.zip"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr("otter_config.json", "{}")
    with pytest.raises(GradingError, match="not a tlkit grading package"):
        grade(fake, tmp_path / "twice", tmp_path / "out")
    with pytest.raises(GradingError, match="must be positive"):
        grade(package, tmp_path / "twice", tmp_path / "out", timeout=0)
    with pytest.raises(GradingError, match="jobs must be a whole number of at least 1"):
        grade(package, tmp_path / "twice", tmp_path / "out", jobs=0)
    other = tmp_path / "other-code.zip"  # a package whose records other code computed
    with zipfile.ZipFile(package) as zin, zipfile.ZipFile(other, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("tlkit-assignment.json"):
                about = json.loads(data)
                about["fingerprint"] = "0" * 64
                data = json.dumps(about).encode()
            zout.writestr(info, data)
    (tmp_path / "one").mkdir()
    shutil.copy2(smoke_assignments / "student" / f"{QS}.ipynb", tmp_path / "one" / "ada.ipynb")
    with pytest.raises(GradingError, match="would train its runs again"):
        grade(other, tmp_path / "one", tmp_path / "out")
    assert not (tmp_path / "out" / "gradebook.csv").exists()


@pytest.mark.parametrize("stem", ["00_quickstart", "01_layer_transfer", "02_small_targets"])
def test_the_package_holds_every_run_so_grading_trains_nothing(smoke_assignments: Path,
                                                               stem: str,
                                                               tmp_path: Path) -> None:
    from tlkit.store import Store
    from tlkit.sweep import plan
    from tlkit.teaching.reference import specs

    package = smoke_assignments / "autograder" / f"{stem}-autograder.zip"
    about = package_contents(package)
    assert about["wheel"] and about["wheel"].startswith("tlkit-")
    assert "tlkit.teaching.settings.EnforceSettings" in about["plugins"]
    names = {r.split("==")[0].split("[")[0] for r in about["requirements"]}
    assert {"torch", "torchvision", "pot", "otter-grader", "pyyaml"} <= names
    assert all("+" not in r for r in about["requirements"]), "no local version labels"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(tmp_path)
    values = about["settings"].values()
    assert values["profile"] == "smoke" and values["device"] == "cpu"
    todo = plan(specs(stem, values, pinned_only=False), Store(tmp_path / "files" / "results"))
    assert todo == [], "every run of the grading run is in the package"


def _clean_environment(requirements: list[str], wheel: Path) -> Path:
    """A virtual environment of its own for the package: tlkit from the package's wheel, every
    other requirement resolved by pip against the packages of the project's environment, which
    the new one sees after its own (a ``.pth`` line, so none of the project's ``.pth`` hooks,
    such as its editable tlkit, apply). pip installs nothing more when the pinned versions are
    the ones installed here, so no fresh machine downloads gigabytes for this test; what it no
    longer proves is that the requirements download from the index (the package's own
    machine does that). Cached by the requirements' hash; the wheel is reinstalled every
    time."""
    import sysconfig

    project = sysconfig.get_paths()["purelib"]
    digest = hashlib.sha256("\n".join([project, *requirements]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    env = cache / "tlkit-tests" / f"grading-env-{sys.version_info.major}." \
        f"{sys.version_info.minor}-{digest}"
    python = env / "bin" / "python"
    if not (env / ".complete").is_file():
        shutil.rmtree(env, ignore_errors=True)
        venv.create(env, with_pip=True)
        own = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        Path(own, "_tlkit_project_env.pth").write_text(project + "\n")
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                       check=True, timeout=1800)
        (env / ".complete").write_text("\n".join(requirements))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--force-reinstall", str(wheel)], check=True, timeout=600)
    return python


def test_the_package_installs_and_grades_in_a_clean_environment(smoke_assignments: Path,
                                                                tmp_path: Path) -> None:
    package = smoke_assignments / "autograder" / f"{QS}-autograder.zip"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(tmp_path / "package")
    lines = (tmp_path / "package" / "requirements.txt").read_text().split()
    wheel = tmp_path / "package" / lines[-1]
    assert wheel.is_file(), "requirements.txt names the wheel shipped in the package"
    python = _clean_environment(lines[:-1], wheel)
    probe = subprocess.run([str(python), "-c", "import tlkit, sys; print(tlkit.__file__)"],
                           capture_output=True, text=True, check=True)
    assert str(Path(sys.prefix)) not in probe.stdout, "tlkit comes from the clean environment"
    out = tmp_path / "graded"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("TLKIT_RESULTS", "PYTHONPATH")}
    done = subprocess.run([str(python), "-m", "otter", "run", "--no-logo", "-a", str(package),
                           "-o", str(out), str(smoke_assignments / "autograder" / f"{QS}.ipynb")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    scores = {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]
              if "max_score" in t and t["name"] != "Public Tests"}
    assert scores and all(score == most for score, most in scores.values()), scores
