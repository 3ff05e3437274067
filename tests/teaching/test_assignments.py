"""Coursework made from the notebooks' exercises: the book's markup, the student notebooks, grading.

The generated student and autograder notebooks are made once per session (without Otter's own run
of the tests); the tests that execute notebooks share one run cache, so each notebook's runs are
trained once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tlkit.book import toc_notebooks
from tlkit.cli import main
from tlkit.teaching import assignments, master, tools
from tlkit.teaching.assignments import (
    TeachingToolsMissingError,
    has_exercises,
    jupyter_markdown,
    prepare_master,
    read_questions,
    set_profile,
)

pytest.importorskip("otter", reason="otter-grader is not installed (pip install 'tlkit[teach]')")

REPO = Path(__file__).resolve().parents[2]
SOLUTION_MARK = re.compile(r"\s*#\s*SOLUTION(\s+NO\s+PROMPT)?\s*$")
BLOCK = re.compile(r"#\s+(begin|end)\s+(question|solution|tests|prompt)\b", re.IGNORECASE)

#: A wrong answer per notebook: (question, text in its solution, replacement). Each passes the
#: public tests and fails a hidden one: the L2-SP penalty without its factor 1/2, the domain
#: similarity with every class weighted equally, and a paired interval with the normal quantile.
WRONG_ANSWERS = {
    "00_quickstart": ("q3_l2sp", "alpha / 2 * kept + beta / 2 * new", "alpha * kept + beta * new"),
    "01_layer_transfer": ("q2_similarity", "counts / counts.sum()",
                          "np.full(len(counts), 1 / len(counts))"),
    "02_small_targets": ("q2_paired_interval", "student_t.ppf((1 + level) / 2, n - 1)", "1.96"),
}

GRADE = """\
import json, sys
from otter.api import grade_submission
r = grade_submission(sys.argv[1], sys.argv[2], quiet=True)
out = {"total": r.total, "possible": r.possible, "questions": {
    name: {"score": tf.score, "possible": tf.possible,
           "cases": [{"hidden": c.test_case.hidden, "passed": c.passed, "message": c.message}
                     for c in tf.test_case_results]}
    for name, tf in r.results.items()}}
print("RESULT " + json.dumps(out))
"""


def exercise_notebooks() -> list[Path]:
    """The notebooks of the book that have exercises."""
    try:
        return [p for p in toc_notebooks(REPO) if has_exercises(p)]
    except FileNotFoundError:
        return []


NOTEBOOKS = exercise_notebooks()


def autograded(path: Path) -> bool:
    """Whether the notebook has exercises graded by tests (a chapter may have only a written
    one: reading its report)."""
    return any(not q.manual for q in read_questions(path))


def blocks(nb: nbformat.NotebookNode) -> list[tuple[str, nbformat.NotebookNode]]:
    """Each cell of an exercise section with the innermost block it lies in ('' outside)."""
    out, stack = [], []
    for cell in nb.cells:
        match = BLOCK.match(cell.source.lstrip()) if cell.cell_type == "raw" else None
        if match and match[1].lower() == "begin":
            stack.append(match[2].lower())
            continue
        if match:
            stack.pop()
            continue
        out.append((stack[-1] if stack else "", cell))
    return out


def solution_lines(nb: nbformat.NotebookNode) -> set[str]:
    """The code lines that only a solution contains (markers stripped)."""
    lines = set()
    for block, cell in blocks(nb):
        if block == "solution" and cell.cell_type == "code":
            lines |= {SOLUTION_MARK.sub("", line).strip() for line in cell.source.splitlines()
                      if SOLUTION_MARK.search(line)}
    elsewhere = {line.strip() for block, cell in blocks(nb)
                 if block != "solution" and cell.cell_type == "code"
                 for line in cell.source.splitlines()}
    return {line for line in lines if line and line not in elsewhere}


def grade(submission: Path, package: Path, cache: Path) -> dict:
    """Grade ``submission`` with Otter in a separate process; scores per question and test."""
    env = {**os.environ, "TLKIT_RESULTS": str(cache), "TLKIT_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-c", GRADE, str(submission), str(package)],
                          capture_output=True, text=True, env=env, check=False, timeout=600)
    found = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert found, f"grading failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(found[-1][len("RESULT "):])


@pytest.fixture(scope="session")
def cache(smoke_results: Path) -> Path:
    """The run cache of the smoke book, which holds every run of the grading runs."""
    return smoke_results


@pytest.fixture(scope="session")
def generated(smoke_assignments: Path) -> Path:
    """``tlkit assignments --profile smoke`` into a temporary folder."""
    if not NOTEBOOKS:
        pytest.skip("no notebook of the book has exercises")
    return smoke_assignments


# --- the exercises in the book ---------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_are_an_otter_section_at_the_end(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    questions = read_questions(nb)
    assert len({q.name for q in questions}) == len(questions), "question names must be unique"
    assert any(q.manual for q in questions), "one exercise is graded by hand"
    if autograded(path):
        assert len(questions) >= 3, "at least three exercises per notebook with tests"
    heading = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "markdown" and c.source.startswith("## Exercises")]
    assert len(heading) == 1, "one '## Exercises' heading"
    otter = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "raw" and (BLOCK.match(c.source) or "ASSIGNMENT CONFIG" in c.source)]
    assert min(otter) > heading[0], "the exercises come after the narrative"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_render_as_exercises_with_hidden_solutions(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "raw":
            assert "remove-cell" in cell.metadata.get("tags", []), cell.source[:40]
    for block, cell in blocks(nb):
        tags = cell.metadata.get("tags", [])
        if block == "question" and cell.cell_type == "markdown":
            assert "{admonition} Exercise" in cell.source, "the prompt is an exercise admonition"
        elif block == "solution" and cell.cell_type == "code" and "def " in cell.source:
            assert "remove-input" in tags, "an implementation's solution is not published"
        elif block == "solution" and cell.cell_type == "code":
            assert "hide-input" in tags, "a prediction's solution is folded behind a toggle"
        elif block == "solution":
            assert ":class: dropdown" in cell.source, "a written solution is a dropdown"
        elif block == "tests":
            assert "remove-cell" in tags, "tests are not shown in the book"


# --- generation ------------------------------------------------------------------------------

def test_generated_layout(generated: Path) -> None:
    for path in NOTEBOOKS:
        assert (generated / "student" / path.name).is_file()
        assert (generated / "autograder" / path.name).is_file()
        assert (generated / "autograder" / f"{path.stem}-autograder.zip").is_file()
    readme = (generated / "README.md").read_text(encoding="utf-8")
    assert all(path.stem in readme for path in NOTEBOOKS) and "tlkit grade" in readme
    assert "resolved" in readme, "the README says whether each exercise reads signal"
    measured = [line.split("|")[1:3] for line in readme.splitlines()
                if line.startswith("| ") and line.split("|")[2].strip() == "q1_predict"]
    assert sorted(n.strip() for n, _ in measured) == [  # each experiment's declared effect
        "00_quickstart", "01_layer_transfer", "02_small_targets"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_notebook_has_no_solution_code_and_no_hidden_tests(generated: Path,
                                                                    path: Path) -> None:
    master = nbformat.read(str(path), as_version=4)
    student = nbformat.read(str(generated / "student" / path.name), as_version=4)
    text = json.dumps(student)
    code = {line.strip() for cell in student.cells if cell.cell_type == "code"
            for line in cell.source.splitlines()}
    secret = solution_lines(master)
    assert secret or not autograded(path), "the solutions have lines marked '# SOLUTION'"
    assert not secret & code, f"solution code in the student notebook: {secret & code}"
    assert "# SOLUTION" not in text and "BEGIN SOLUTION" not in text
    assert "A model answer" not in text, "written solutions are removed"
    assert not any(c.cell_type == "raw" for c in student.cells)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    tests = student.metadata["otter"]["tests"]
    for q in read_questions(master):
        if not q.manual:
            assert q.name in tests, f"public tests of {q.name} are in the notebook"
            assert any(c.source == f'grader.check("{q.name}")' for c in student.cells)
    assert "hidden: true" not in text and "hidden=True" not in text, "no hidden test leaks"
    parameters = [c for c in student.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    assert re.search(r'^profile = "smoke"', parameters[0].source, re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_pass_every_public_and_hidden_test(generated: Path, path: Path,
                                                     cache: Path) -> None:
    result = grade(generated / "autograder" / path.name,
                   generated / "autograder" / f"{path.stem}-autograder.zip", cache)
    failed = [(name, case["message"]) for name, q in result["questions"].items()
              for case in q["cases"] if not case["passed"]]
    assert not failed, failed
    hidden = sum(case["hidden"] for q in result["questions"].values() for case in q["cases"])
    assert hidden >= 1 or not autograded(path), "the package holds the hidden tests"
    graded = [q for q in read_questions(path) if not q.manual]
    assert set(result["questions"]) == {q.name for q in graded}
    assert result["total"] == result["possible"] == sum(q.points for q in graded)


@pytest.mark.parametrize("stem", sorted(WRONG_ANSWERS))
def test_a_wrong_answer_fails_a_hidden_test(generated: Path, stem: str, cache: Path,
                                            tmp_path: Path) -> None:
    if not (generated / "autograder" / f"{stem}.ipynb").is_file():
        pytest.skip(f"{stem} has no exercises")
    question, right, wrong = WRONG_ANSWERS[stem]
    nb = nbformat.read(str(generated / "autograder" / f"{stem}.ipynb"), as_version=4)
    edited = [c for c in nb.cells if c.cell_type == "code" and right in c.source]
    assert len(edited) == 1, f"the solution of {question} contains {right!r}"
    edited[0].source = edited[0].source.replace(right, wrong)
    submission = tmp_path / f"{stem}.ipynb"
    nbformat.write(nb, str(submission))
    result = grade(submission, generated / "autograder" / f"{stem}-autograder.zip", cache)
    cases = result["questions"][question]["cases"]
    assert all(c["passed"] for c in cases if not c["hidden"]), "the public tests still pass"
    assert any(not c["passed"] for c in cases if c["hidden"]), "a hidden test catches it"
    assert result["questions"][question]["score"] < result["questions"][question]["possible"]
    assert result["total"] < result["possible"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_notebook_runs_in_smoke_up_to_the_first_unanswered_question(
        generated: Path, path: Path, cache: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("TLKIT_RESULTS", str(cache))
    work = tmp_path / "student"
    work.mkdir()
    shutil.copy2(generated / "student" / path.name, work / path.name)
    for shipped in (generated / "student").iterdir():  # what the assignments ship beside them
        if shipped.is_dir():
            shutil.copytree(shipped, work / shipped.name)
    nb = nbformat.read(str(work / path.name), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(work)}}).execute()
    first_answer = next(i for i, c in enumerate(nb.cells)
                        if "otter_answer_cell" in c.metadata.get("tags", []))
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not [e for e in errors if e[0] < first_answer], errors
    assert nb.cells[first_answer - 1].cell_type == "markdown", "the question precedes the answer"
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    assert all(c.get("outputs") for c in checks), "the public tests ran"
    assert checks or not autograded(path), "each exercise graded by tests has its check"


# --- the pieces ------------------------------------------------------------------------------

def test_set_profile_rewrites_only_the_default() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('profile = "quick"   # smoke | quick | full\nseeds = None\n')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell('profile = "full"'), cell]
    set_profile(nb, "smoke")
    assert nb.cells[1].source == 'profile = "smoke"   # smoke | quick | full\nseeds = None\n'
    assert nb.cells[0].source == 'profile = "full"'
    cell.source = "seeds = 2\n"
    with pytest.raises(ValueError, match="does not set 'profile'"):
        set_profile(nb, "smoke")


def test_jupyter_markdown_turns_admonitions_and_roles_into_plain_markdown() -> None:
    text = (":::{admonition} Exercise 1 · Try it\n:class: dropdown\nSee {cite}`a2020,b2021` and "
            "{doc}`Teaching <../book/teaching>`; n = {glue:text}`qs_n:.2f`.\n:::\nafter")
    assert jupyter_markdown(text) == (
        "> **Exercise 1 · Try it**\n>\n> See [a2020, b2021] and Teaching; n = `qs_n`.\nafter")


def test_prepared_master_has_no_book_markup() -> None:
    if not NOTEBOOKS:
        pytest.skip("no notebook of the book has exercises")
    before = NOTEBOOKS[0].read_bytes()
    nb = prepare_master(NOTEBOOKS[0])
    for cell in nb.cells:
        assert not set(cell.metadata.get("tags", [])) & master.BOOK_TAGS
        assert "mystnb" not in cell.metadata
        if cell.cell_type == "markdown":
            assert "{admonition}" not in cell.source and "{cite}" not in cell.source
    assert NOTEBOOKS[0].read_bytes() == before, "the source notebook is left unchanged"


def test_missing_otter_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    real = tools.importlib.util.find_spec
    monkeypatch.setattr(tools.importlib.util, "find_spec",
                        lambda name, *a: None if name == "otter" else real(name, *a))
    with pytest.raises(TeachingToolsMissingError, match=r"pip install 'tlkit\[teach\]'"):
        assignments.generate(REPO, tmp_path)
    assert main(["assignments", "--root", str(REPO), "--out", str(tmp_path)]) == 2
    assert "tlkit: error: otter-grader is not installed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_unknown_notebook_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a notebook of _toc.yml: nope"):
        assignments.generate(REPO, tmp_path, only=["nope"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_shows_the_grading_runs_numbers_not_glue_names(generated: Path,
                                                             path: Path) -> None:
    master = nbformat.read(str(path), as_version=4)
    glued = set(re.findall(r"\{glue(?::text|:figure)?\}`?\s*([A-Za-z]\w*)",
                           "\n".join(c.source for c in master.cells
                                     if c.cell_type == "markdown")))
    assert glued, "the book's prose quotes glued values"
    for folder in ("student", "autograder"):
        nb = nbformat.read(str(generated / folder / path.name), as_version=4)
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "{glue" not in prose, f"{folder}: a glue role is left"
        named = {name for name in glued if re.search(rf"`{name}(:[^`]*)?`", prose)}
        assert not named, f"{folder}: glue names instead of values: {sorted(named)}"
    solutions = nbformat.read(str(generated / "autograder" / path.name), as_version=4)
    answers = [c.source for c in solutions.cells if "A model answer" in c.source]
    assert answers and all("profile smoke" in a and re.search(r"\d\.\d{3}", a)
                           for a in answers), "model answers quote the grading run"


def _commands(path: Path) -> list[str]:
    """The command lines of the ```bash blocks of a Markdown file (comments dropped)."""
    text = path.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            lines += [part.strip() for part in line.split("&&") if part.strip()]
    return lines


@pytest.mark.parametrize("document", ["book/teaching.md", "README.md"])
def test_every_documented_command_exists(document: str) -> None:
    import shlex

    from tlkit.cli import parser

    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    otter_help = subprocess.run([sys.executable, "-m", "otter", "run", "--help"],
                                capture_output=True, text=True, check=True).stdout
    checked = 0
    for line in _commands(REPO / document):
        words = shlex.split(line)
        if words[0].endswith("tlkit"):
            try:
                parser().parse_args(words[1:])
            except SystemExit:
                pytest.fail(f"{document}: `{line}` is not a valid tlkit command")
            checked += 1
        elif words[0] == "make" or words[0].endswith("=smoke") or words[0].startswith("PROFILE"):
            target = words[-1]
            assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), line
            checked += 1
        elif words[0].endswith("otter") and words[1] == "run":
            for option in (w for w in words[2:] if w.startswith("-")):
                assert re.search(rf"(^|\s){re.escape(option)}[,\s]", otter_help), (
                    f"{document}: otter run has no option {option}")
            checked += 1
    assert checked >= 3, f"{document}: no command found to check"
