"""The teacher's gradebook: automatic scores, hand-graded scores and the totals of both.

:func:`tlkit.teaching.grading.grade` grades a class and calls :func:`write_gradebook`, which
writes, under the output folder::

    grades.json              every submission's grade, as graded (read back by :func:`collect`)
    manual/<question>.md     for each question graded by hand: its rubric, then every student's
                             answer under a ``score:`` line that the teacher fills in
    gradebook.csv            one row per student: status, a column per question (the
                             hand-graded ones from the ``score:`` lines), the automatic total,
                             the total with the hand-graded points once all of them are filled
                             in, what each is out of, the time taken and the reasons

Writing again (after grading again, or ``tlkit gradebook OUT`` once the scores are filled in)
keeps every ``score:`` already written, so a teacher's marks are never lost.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .master import Question

__all__ = ["GRADES_FILE", "Grade", "answer", "manual_scores", "write_gradebook", "collect"]

#: The grades as graded, for :func:`collect`.
GRADES_FILE = "grades.json"
_PLACEHOLDER = "_Type your answer here, replacing this text._"
_SCORE = re.compile(r"^score:\s*(?P<value>[^\s/]*)", re.IGNORECASE)


@dataclass
class Grade:
    """The grade of one submission.

    Attributes:
        student: The submission's file name without its suffix.
        status: ``graded``, ``flagged`` (graded, with questions set to zero for the reasons
            given), ``timeout``, ``crashed``, ``unreadable`` or ``missing`` (on the roster,
            with no submission).
        scores: Points per automatically graded question.
        possible: Points possible per automatically graded question.
        seconds: Time taken.
        reason: Why a submission was not graded (empty when it was).
        flags: The flagged questions and why.
        variant: The variant it was graded as (:mod:`tlkit.teaching.variants`), if any.
    """

    student: str
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""
    flags: dict[str, str] = field(default_factory=dict)
    variant: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))


def answer(notebook: Any, number: int) -> str:
    """The answer to the ``number``-th question graded by hand: the Markdown a student wrote in
    Otter's ``<!-- BEGIN QUESTION -->`` ... ``<!-- END QUESTION -->`` block (every cell but the
    prompt, which Otter makes read-only, and the untouched placeholder)."""
    blocks: list[list[str]] = []
    inside = False
    for cell in notebook.cells:
        text = cell.source.strip()
        if cell.cell_type == "markdown" and text.startswith("<!-- BEGIN QUESTION -->"):
            blocks.append([])
            inside = True
            continue
        if cell.cell_type == "markdown" and text.startswith("<!-- END QUESTION -->"):
            inside = False
            continue
        if inside and cell.cell_type == "markdown" and text and text != _PLACEHOLDER \
                and cell.get("metadata", {}).get("editable", True) is not False:
            blocks[-1].append(text)
    return "\n\n".join(blocks[number]) if number < len(blocks) else ""


def manual_scores(path: str | os.PathLike[str]) -> dict[str, float | None]:
    """The scores a teacher wrote in a ``manual/<question>.md`` file: student -> score, or
    ``None`` where the ``score:`` line is still empty.

    Raises:
        ValueError: a ``score:`` line that is not a number, naming the student and the file.
    """
    path = Path(path)
    scores: dict[str, float | None] = {}
    student = None
    if not path.is_file():
        return scores
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## ") and not line.startswith("## Rubric"):
            student = line[3:].strip()
            continue
        match = _SCORE.match(line.strip())
        if match and student is not None and student not in scores:
            value = match["value"]
            try:
                scores[student] = float(value) if value else None
            except ValueError:
                raise ValueError(f"{path}: the score of {student} is {value!r}, not a "
                                 "number") from None
    return scores


def _write_manual(out: Path, questions: Sequence[Question], notebooks: Mapping[str, Any],
                  grades: Sequence[Any], rubrics: Mapping[str, str]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    manual = [q for q in questions if q.manual]
    if not manual:
        return paths
    folder = out / "manual"
    folder.mkdir(parents=True, exist_ok=True)
    for number, q in enumerate(manual):
        path = folder / f"{q.name}.md"
        kept = manual_scores(path)
        lines = [f"# {q.name} ({q.points:g} points, graded by hand)", "",
                 f"Write each student's score after `score:` (0 to {q.points:g}), then run "
                 "`tlkit gradebook` on this folder's parent to update the gradebook.", ""]
        if rubrics.get(q.name):
            lines += ["## Rubric", "", rubrics[q.name].strip(), ""]
        for g in grades:
            if g.status == "missing":
                continue
            nb = notebooks.get(g.student)
            if nb is None:
                text = "*(the submission could not be read)*"
            else:
                text = answer(nb, number) or "*(no answer)*"
            score = kept.get(g.student)
            lines += [f"## {g.student}", "", f"score: {'' if score is None else f'{score:g}'}",
                      *([f"variant: {g.variant}"] if g.variant else []), "", text, ""]
        path.write_text("\n".join(lines), encoding="utf-8")
        paths[q.name] = path
    return paths


def _write_csv(path: Path, questions: Sequence[Question], grades: Sequence[Any],
               by_hand: Mapping[str, Mapping[str, float | None]]) -> None:
    auto = [q for q in questions if not q.manual]
    manual = [q for q in questions if q.manual]
    possible = sum(q.points for q in auto)
    possible_all = possible + sum(q.points for q in manual)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "status", "variant", *(q.name for q in auto),
                         *(f"{q.name} (by hand)" for q in manual), "total", "possible",
                         "total with hand-graded", "possible with hand-graded", "seconds",
                         "reason"])
        for g in grades:
            scores = [f"{g.scores[q.name]:g}" if q.name in g.scores else "" for q in auto]
            total = g.total if g.status in ("graded", "flagged") else 0.0
            hand = [by_hand.get(q.name, {}).get(g.student) for q in manual]
            complete = all(v is not None for v in hand)
            writer.writerow([g.student, g.status, g.variant, *scores,
                             *("" if v is None else f"{v:g}" for v in hand), f"{total:g}",
                             f"{possible:g}",
                             f"{total + sum(v or 0.0 for v in hand):g}" if complete else "",
                             f"{possible_all:g}", f"{g.seconds:.1f}", g.reason])


def write_gradebook(out: str | os.PathLike[str], questions: Sequence[Question],
                    grades: Sequence[Any], notebooks: Mapping[str, Any] | None = None,
                    rubrics: Mapping[str, str] | None = None) -> tuple[Path, dict[str, Path]]:
    """Write ``grades`` (of :func:`tlkit.teaching.grading.grade_submission`) into ``out``:
    ``grades.json``, the hand-graded answers (from ``notebooks``, student -> notebook or
    ``None`` where unreadable; without them the files keep their answers and only the scores
    are read) and ``gradebook.csv``. Returns the gradebook's path and the manual files'."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / GRADES_FILE).write_text(json.dumps({
        "questions": [asdict(q) for q in questions],
        "rubrics": dict(rubrics or {}),
        "grades": [asdict(g) for g in grades]}, indent=1) + "\n", encoding="utf-8")
    manual = ({q.name: out / "manual" / f"{q.name}.md" for q in questions if q.manual}
              if notebooks is None else
              _write_manual(out, questions, notebooks, grades, rubrics or {}))
    by_hand = {name: manual_scores(path) for name, path in manual.items()}
    _write_csv(out / "gradebook.csv", questions, grades, by_hand)
    return out / "gradebook.csv", manual


def collect(out: str | os.PathLike[str]) -> Path:
    """Rewrite ``out/gradebook.csv`` from the grades as graded (``grades.json``) and the scores
    filled into ``out/manual/`` since; nothing is graded again.

    Raises:
        FileNotFoundError: ``out`` holds no grades (grade the class first).
        ValueError: a hand-graded score that is not a number, or one above the question's
            points, named with its student.
    """
    out = Path(out)
    path = out / GRADES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {GRADES_FILE} in {out}: grade the class first "
                                "(`tlkit grade NOTEBOOK SUBMISSIONS --out ...`)")
    data = json.loads(path.read_text(encoding="utf-8"))
    questions = [Question(**q) for q in data["questions"]]
    grades = [Grade(**g) for g in data["grades"]]
    for q in questions:
        if q.manual:
            for student, score in manual_scores(out / "manual" / f"{q.name}.md").items():
                if score is not None and not 0 <= score <= q.points:
                    raise ValueError(f"{q.name}: {student} has {score:g} points of "
                                     f"{q.points:g}")
    written, _ = write_gradebook(out, questions, grades)
    return written

