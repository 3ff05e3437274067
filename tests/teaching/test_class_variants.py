"""A class with variants, tried as a teacher: a notebook per student of the roster, each on seeds
of its own, graded by one package against each submission's own variant.

The variants' runs are trained into the smoke book's run cache (two variants of the smoke
quickstart: a few seconds each).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from tlkit.cli import main

from ..conftest import REPO, results_folder

pytest.importorskip("otter", reason="otter-grader is not installed (pip install 'tlkit[teach]')")

QS = "00_quickstart"
ROSTER = ["ada", "grace", "alan", "lin", "mo"]


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _parameters(nb) -> str:
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


@pytest.fixture(scope="module")
def handed_out(smoke_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("variants")
    roster = out / "roster.csv"
    roster.write_text("student,email\n" + "".join(f"{s},{s}@uni\n" for s in ROSTER))
    with results_folder(smoke_results):
        code = main(["assignments", "--root", str(REPO), "--out", str(out / "made"), "--only", QS,
                     "--profile", "smoke", "--roster", str(roster), "--variants", "2",
                     "--seed", "3"])
    assert code == 0, "the solutions of every variant grade to full marks"
    return out / "made"


@pytest.fixture(scope="module")
def dealt(handed_out: Path) -> dict[str, tuple[str, list[int]]]:
    rows = _rows(handed_out / "autograder" / f"{QS}-variants.csv")
    return {s: (r["variant"], [int(x) for x in r["replicates"].split()]) for s, r in rows.items()}


def test_every_student_gets_a_notebook_of_the_variant_dealt_to_them(handed_out, dealt):
    assert sorted(dealt) == sorted(ROSTER)
    assert {v for v, _ in dealt.values()} == {"v01", "v02"}
    for student, (variant, seeds) in dealt.items():
        nb = nbformat.read(str(handed_out / "student" / QS / f"{student}.ipynb"), as_version=4)
        assert nb.metadata["tlkit"] == {"assignment": QS, "variant": variant,
                                        "student": student}
        line = next(x for x in _parameters(nb).splitlines() if x.startswith("overrides ="))
        assert ast.literal_eval(line.split("=", 1)[1].split("#")[0].strip()) == {
            "replicates": seeds}
        assert all(s >= 10_000 for s in seeds), "no variant runs the book's seeds"
    assert sorted(p.name for p in (handed_out / "autograder" / QS).iterdir()) == [
        "v01.ipynb", "v02.ipynb"]
    readme = (handed_out / "README.md").read_text(encoding="utf-8")
    assert "q1_predict (v01)" in readme and "q1_predict (v02)" in readme


def _gaps(smoke_results: Path, seeds: list[int]) -> dict[str, float]:
    """Exercise 1's answer for a variant, from its runs in the cache."""
    code = (
        "import json, sys\nfrom tlkit.teaching.reference import table\n"
        "df = table('00_quickstart', 'df', {'profile': 'smoke', 'device': 'cpu', "
        "'replicates': json.loads(sys.argv[1])})\n"
        "m = df[df.n_per_class == df.n_per_class.min()].groupby('condition').test_acc.mean()\n"
        "print(json.dumps({c: float(m[c] - m['scratch']) "
        "for c in ('fine-tuned', 'frozen features')}))\n")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(seeds)], capture_output=True,
                          text=True, check=True, env={**os.environ,
                                                      "TLKIT_RESULTS": str(smoke_results)})
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def graded(handed_out, dealt, smoke_results, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    solutions = handed_out / "autograder" / QS
    own = {s: v for s, (v, _) in dealt.items()}
    other = {"v01": "v02", "v02": "v01"}
    shutil.copy2(solutions / f"{own['ada']}.ipynb", folder / "ada.ipynb")
    # grace hands in a classmate's notebook, solved for the classmate's variant
    shutil.copy2(solutions / f"{other[own['grace']]}.ipynb", folder / "grace.ipynb")
    # alan copies exercise 1's numbers from a classmate of the other variant into his own
    theirs = _gaps(smoke_results, dealt[next(s for s in ROSTER if own[s] != own["alan"])][1])
    nb = nbformat.read(str(solutions / f"{own['alan']}.ipynb"), as_version=4)
    [cell] = [c for c in nb.cells if c.source.startswith("# your guess")]
    ahead = max(theirs, key=theirs.get)
    cell.source = f"prediction = {ahead!r}\ngaps = {theirs!r}\nahead = {ahead!r}\n"
    nbformat.write(nb, str(folder / "alan.ipynb"))
    # lin's export under another file name: the notebook's metadata names her
    nb = nbformat.read(str(solutions / f"{own['lin']}.ipynb"), as_version=4)
    nb.metadata["tlkit"]["student"] = "lin"
    with zipfile.ZipFile(folder / "00_quickstart_2026_12_06T10_00_00.zip", "w") as zf:
        zf.writestr(f"{QS}.ipynb", nbformat.writes(nb))
    shutil.copy2(solutions / "v01.ipynb", folder / "visitor.ipynb")  # not on the roster
    out = tmp_path_factory.mktemp("graded") / "quickstart"
    assert main(["grade", str(handed_out / "autograder" / f"{QS}-autograder.zip"), str(folder),
                 "--out", str(out), "--timeout", "120", "--jobs", "2"]) == 0
    return out


def test_each_submission_is_graded_against_its_own_variant(graded, dealt):
    rows = _rows(graded / "gradebook.csv")
    assert set(rows) == {*ROSTER, "visitor"}
    assert (rows["ada"]["status"], rows["ada"]["total"]) == ("graded", "8")
    assert rows["ada"]["variant"] == dealt["ada"][0]
    assert (rows["lin"]["status"], rows["lin"]["total"]) == ("graded", "8"), "matched by metadata"
    assert rows["mo"]["status"] == "missing" and rows["mo"]["variant"] == dealt["mo"][0]
    visitor = rows["visitor"]
    assert visitor["status"] == "graded" and "not on the roster" in visitor["reason"]
    assert rows["visitor"]["variant"] == "v01", "graded as the variant its notebook names"


def test_a_classmates_numbers_score_nothing(graded):
    alan = _rows(graded / "gradebook.csv")["alan"]
    assert alan["status"] == "graded", "copying numbers is not detectable as such"
    assert (alan["q1_predict"], alan["q2_copy_freeze"], alan["q3_l2sp"]) == ("0", "3", "3")


def test_a_classmates_notebook_is_flagged_and_graded_as_the_rosters_variant(graded, dealt):
    grace = _rows(graded / "gradebook.csv")["grace"]
    assert grace["status"] == "flagged" and grace["total"] == "0"
    assert grace["variant"] == dealt["grace"][0]
    assert f"but the roster gives grace variant {dealt['grace'][0]}" in grace["reason"]
    manual = (graded / "manual" / "q4_interpret.md").read_text(encoding="utf-8")
    assert f"variant: {dealt['grace'][0]}" in manual and "## mo" not in manual
    written = sorted(p.name for p in (graded / "written").iterdir())
    assert written == ["ada.pdf", "alan.pdf", "grace.pdf", "lin.pdf", "visitor.pdf"], (
        "a PDF of the written answers for every submission, none for the missing")


@pytest.mark.parametrize("stem", ["01_layer_transfer", "02_small_targets"])
def test_every_exercised_notebook_runs_on_a_variants_seeds(smoke_results, tmp_path, stem):
    """Nothing on the page assumes the book's seed 0 (a run read from the cache by hand)."""
    with results_folder(smoke_results):
        code = main(["notebook", stem, "--profile", "smoke", "-p", "executor", "serial",
                     "-p", "overrides", json.dumps({"replicates": [10_005, 10_002]}),
                     "--output", str(tmp_path / f"{stem}.ipynb")])
    assert code == 0
