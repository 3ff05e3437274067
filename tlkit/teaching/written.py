"""The written answers of a submission as a PDF, for grading by hand away from the gradebook.

Gradescope grades written answers in an assignment of their own, to which each student's answers
are uploaded as a PDF. Otter makes that PDF with LaTeX or a browser; :func:`write_pdf` needs
neither: it sets, with matplotlib's PDF backend in DejaVu Sans Mono (Greek letters and
mathematical signs included; a script the font lacks, such as Chinese, shows as empty boxes, and
the answer stays whole in ``manual/<question>.md``), one page (more where an answer is long)
per question graded by hand, each with the student, the variant, the question's prompt and the
student's answer as plain text, so that ``tlkit grade`` can write one PDF per student, offline,
ready to upload.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .gradebook import answer
from .master import Question

__all__ = ["prompt", "write_pdf"]

#: Characters per line and lines per page of the text (A4, 10-point monospace).
_WIDTH, _LINES = 88, 62


def prompt(notebook: Any, number: int) -> str:
    """The prompt of the ``number``-th question graded by hand: the read-only Markdown cell
    that opens its ``<!-- BEGIN QUESTION -->`` block (empty where there is none)."""
    blocks = [cell.source.strip() for cell in notebook.cells if cell.cell_type == "markdown"
              and cell.source.strip().startswith("<!-- BEGIN QUESTION -->")]
    if number >= len(blocks):
        return ""
    return blocks[number].removeprefix("<!-- BEGIN QUESTION -->").strip()


def _plain(markdown: str) -> str:
    """Markdown as it reads in plain text: no HTML comments, emphasis or code marks."""
    text = re.sub(r"<!--.*?-->", "", markdown, flags=re.DOTALL)
    text = re.sub(r"(\*\*|__|`)", "", text)
    return re.sub(r"(?<!\w)\*(?!\s)([^*\n]+)\*", r"\1", text).strip()


def _wrapped(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, _WIDTH, replace_whitespace=False) or [""]
    return lines


def write_pdf(path: str | os.PathLike[str], notebook: Any, questions: Sequence[Question],
              student: str, variant: str = "") -> Path | None:
    """Write the answers of ``notebook`` to the questions of ``questions`` graded by hand into
    the PDF ``path``; ``None`` (nothing written) where there is no such question."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    manual = [q for q in questions if q.manual]
    if not manual:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path, metadata={"Title": f"{student}: written answers"}) as pdf:
        for number, q in enumerate(manual):
            given = answer(notebook, number).strip() if notebook is not None else ""
            head = f"{student}{f' (variant {variant})' if variant else ''}: {q.name}, " \
                   f"{q.points:g} points, graded by hand"
            body = (_wrapped(head) + [""] + _wrapped(_plain(prompt(notebook, number)))
                    + ["", "Answer:", ""] + _wrapped(_plain(given) or "(no answer)"))
            for start in range(0, len(body), _LINES):
                fig = plt.figure(figsize=(8.27, 11.69))
                fig.text(0.07, 0.95, "\n".join(body[start:start + _LINES]), va="top",
                         family="DejaVu Sans Mono", fontsize=9.5)
                pdf.savefig(fig)
                plt.close(fig)
    return path
