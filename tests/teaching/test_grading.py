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


def _rewrite(src: Path, dst: Path, find: str, new) -> None:
    """``src`` written to ``dst`` with the one cell holding ``find`` replaced by ``new`` (its
    source, or a function of the old source)."""
    nb = nbformat.read(str(src), as_version=4)
    cells = [c for c in nb.cells if find in c.source]
    assert len(cells) == 1, f"one cell holds {find!r}"
    cells[0].source = new(cells[0].source) if callable(new) else new
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
    _rewrite(solutions, folder / "wrong.ipynb", "alpha / 2 * kept + beta / 2 * new",
             lambda old: old.replace("alpha / 2 * kept + beta / 2 * new",
                                     "alpha * kept + beta * new"))
    _rewrite(solutions, folder / "calls_the_library.ipynb", "def copy_and_freeze",
             "from tlkit.transfer import copy_layers as cp, freeze_layers as fr\n\n"
             "def copy_and_freeze(source, target, n):\n"
             "    cp(source, target, n)\n    fr(target, n)\n")
    _rewrite(solutions, folder / "overwrites_the_table.ipynb", 'prediction = "fine-tuned"',
             lambda old: 'df = df.assign(test_acc=(df["condition"] == "frozen features") * 1.0)'
                         "\n" + old)
    _rewrite(solutions, folder / "cheaper_profile.ipynb", 'profile = "smoke"',
             lambda old: old.replace('profile = "smoke"', 'profile = "nonsense"'))
    _rewrite(solutions, folder / "sleeps.ipynb", 'prediction = "fine-tuned"',
             lambda old: "import time\ntime.sleep(10**6)\n" + old)
    # right types, wrong values: the public tests pass, and carry no points
    _rewrite(solutions, folder / "wrong_values.ipynb", 'prediction = "fine-tuned"',
             'prediction = "fine-tuned"\n'
             'gaps = {"fine-tuned": 0.5, "frozen features": 0.9}\n'
             'ahead = "frozen features"\n')
    # a wrong q2 made to pass by patching what the tests compare with: costs every question
    _rewrite(solutions, folder / "patches_torch.ipynb", "def copy_and_freeze",
             "import torch as t\nt.equal = lambda a, b: True\n\n"
             "def copy_and_freeze(source, target, n):\n"
             "    for i, block in enumerate(target.layers):\n"
             "        block.requires_grad_(i >= n)\n")
    _rewrite(solutions, folder / "reloads.ipynb", "def copy_and_freeze",
             "import importlib\nimport tlkit.transfer\nimportlib.reload(tlkit.transfer)\n\n"
             "def copy_and_freeze(source, target, n):\n"
             "    tlkit.transfer.copy_layers(source, target, n)\n"
             "    tlkit.transfer.freeze_layers(target, n)\n")
    # the library kept in a list by a book cell: no name to read, the profiler sees the calls
    nb = nbformat.read(str(solutions), as_version=4)
    [setup] = [c for c in nb.cells if c.source.startswith("import torch")
               and "penalised_weights" in c.source]
    setup.source += ("\nfrom tlkit.transfer import copy_layers, freeze_layers\n\n"
                     "tools = [copy_layers, freeze_layers]\n")
    [answer] = [c for c in nb.cells if "def copy_and_freeze" in c.source]
    answer.source = ("def copy_and_freeze(source, target, n):\n"
                     "    tools[0](source, target, n)\n    tools[1](target, n)\n")
    nbformat.write(nb, str(folder / "library_in_a_list.ipynb"))
    # half an implementation (it freezes, it does not copy): one hidden test of two passes
    _rewrite(solutions, folder / "freezes_only.ipynb", "def copy_and_freeze",
             "def copy_and_freeze(source, target, n):\n"
             "    for i, block in enumerate(target.layers):\n"
             "        block.requires_grad_(i >= n)\n")
    _rewrite(solutions, folder / "profile_in_an_answer.ipynb", 'prediction = "fine-tuned"',
             lambda old: 'profile = "smoke"\n' + old)
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
        assert book[student]["possible with hand-graded"] == "10"
        assert book[student]["total with hand-graded"] == "", "until the teacher's score"
    assert book["blank"]["status"] == "graded" and book["blank"]["total"] == "0"
    assert book["sleeps"]["status"] == "timeout" and "40 s" in book["sleeps"]["reason"]
    assert "time.sleep" in book["sleeps"]["reason"] or "import time" in book["sleeps"]["reason"], (
        "a time-out names the cell that hung")
    assert book["truncated"]["status"] == "unreadable" and "JSON" in book["truncated"]["reason"]
    assert book["correct"]["q4_interpret (by hand)"] == "", "hand-graded columns stay empty"


def test_points_only_where_the_answer_is_checked(graded: Path) -> None:
    # the public tests (types and shapes) pass for these answers and carry no points
    book = _gradebook(graded / "gradebook.csv")
    assert book["wrong"]["q3_l2sp"] == "0" and book["wrong"]["q1_predict"] == "2"
    assert book["wrong_values"]["q1_predict"] == "0" and book["wrong_values"]["total"] == "6"
    assert book["overwrites_the_table"]["q1_predict"] == "0", (
        "the hidden test reads the runs from the cache, not the student's df")
    assert book["freezes_only"]["q2_copy_freeze"] == "0", "an implementation: all or nothing"
    assert book["freezes_only"]["total"] == "5"


@pytest.mark.parametrize("student, zero, kept, why", [
    ("calls_the_library", ["q2_copy_freeze"], ["q1_predict", "q3_l2sp"],
     "tlkit.transfer.copy_layers"),
    ("reloads", ["q2_copy_freeze"], ["q1_predict", "q3_l2sp"], "importlib"),
    ("library_in_a_list", ["q2_copy_freeze"], ["q1_predict", "q3_l2sp"],
     "calls tlkit.transfer.copy_layers"),
    ("patches_torch", ["q1_predict", "q2_copy_freeze", "q3_l2sp"], [], "changes t.equal"),
])
def test_a_cheat_costs_its_question_and_shows_in_the_gradebook(graded: Path, student: str,
                                                               zero: list[str], kept: list[str],
                                                               why: str) -> None:
    row = _gradebook(graded / "gradebook.csv")[student]
    assert row["status"] == "flagged" and why in row["reason"], row
    assert all(row[q] == "0" for q in zero), row
    assert all(float(row[q]) > 0 for q in kept), row
    results = json.loads((graded / student / "results.json").read_text())
    assert "FLAGGED" in results.get("output", ""), "Gradescope shows the reason too"


def test_the_assignments_settings_override_the_students(graded: Path) -> None:
    book = _gradebook(graded / "gradebook.csv")
    assert book["cheaper_profile"]["status"] == "graded"
    assert book["cheaper_profile"]["total"] == "8", (
        "an unknown profile in the student's parameters cell is replaced by the assignment's")
    row = book["profile_in_an_answer"]
    assert row["status"] == "graded" and row["total"] == "8", row
    assert "NOTE" in row["reason"] and "sets profile" in row["reason"], "said, not charged"


def test_hand_graded_answers_are_collected_per_question(graded: Path,
                                                        class_folder: Path) -> None:
    text = (graded / "manual" / "q4_interpret.md").read_text(encoding="utf-8")
    for student in ("correct", "blank", "wrong"):
        assert f"## {student}" in text
    assert "## Rubric" in text and "2 points" in text, "the rubric, with its example answers"
    correct = text.split("## correct", 1)[1].split("\n## ", 1)[0]
    assert "A model answer" in correct, "the solutions' written answer is collected"
    assert "score:" in correct
    blank = text.split("## blank", 1)[1].split("\n## ", 1)[0]
    assert "(no answer)" in blank
    truncated = text.split("## truncated", 1)[1].split("\n## ", 1)[0]
    assert "could not be read" in truncated


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
    with pytest.raises(GradingError, match="two submissions of ada: ada.ipynb and ada.zip"):
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
    config = json.loads((tmp_path / "otter_config.json").read_text())
    assert config["show_hidden"] is True, "hidden results shown once grades are published"
    lock = (tmp_path / "requirements-lock.txt").read_text().split()
    assert {"torch", "otter-grader", "numpy", "ipykernel"} <= {r.split("==")[0] for r in lock}
    assert "download.pytorch.org/whl/cpu" in (tmp_path / "environment.yml").read_text()
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
