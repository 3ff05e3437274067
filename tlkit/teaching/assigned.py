"""Whose submission this is and which variant it is graded as.

Every notebook :func:`tlkit.teaching.assignments.generate` hands out carries, in its metadata
``tlkit``, the assignment, its variant and (for a roster) the student it was made for
(:func:`mark`). When a submission is graded, :func:`resolve` picks the variant it is graded
against:

1. the roster's variant of the student who submitted it, where the grader knows who that is
   (:func:`submitter`: ``tlkit grade`` passes the file's name, or the notebook's ``student``
   when the file's name is not on the roster; Gradescope writes the submitter's e-mail and
   student id in ``submission_metadata.json``);
2. else the variant the notebook names in its metadata;
3. else the variant whose replicates its parameters cell sets (metadata lost in an editor).

A notebook that names another variant than the roster gives its student (a classmate's copy)
is graded as the roster's variant and flagged, every question; one that names no variant of the
assignment is graded as the first and flagged likewise.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["METADATA", "STUDENT", "mark", "marked", "submitter", "resolve"]

#: The notebook metadata key of :func:`mark`.
METADATA = "tlkit"
#: Set by ``tlkit grade``: the student a submission is graded for.
STUDENT = "TLKIT_STUDENT"
#: Where Gradescope describes a submission (its submitters among them).
_GRADESCOPE = Path("/autograder/submission_metadata.json")


def mark(notebook: Any, assignment: str, variant: str, student: str | None = None) -> Any:
    """Write the assignment, variant and student into the notebook's metadata, in place;
    return the notebook."""
    notebook.metadata[METADATA] = {"assignment": assignment, "variant": variant,
                                   **({"student": student} if student else {})}
    return notebook


def marked(notebook: Any) -> dict[str, str]:
    """What :func:`mark` wrote (empty where nothing readable was)."""
    data = notebook.get("metadata", {}).get(METADATA)
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int)}


def submitter(roster: dict[str, str], gradescope: Path = _GRADESCOPE) -> str | None:
    """The roster's name of whoever submitted: ``$TLKIT_STUDENT`` (``tlkit grade``), else the
    first submitter in Gradescope's metadata whose e-mail, student id or name is on the roster;
    ``None`` when the grader does not know."""
    named = os.environ.get(STUDENT)
    if named:
        return named
    try:
        users = json.loads(gradescope.read_text(encoding="utf-8")).get("users") or []
    except (OSError, ValueError, AttributeError):
        return None
    for user in users:
        for key in ("email", "sid", "name"):
            value = str((user or {}).get(key) or "")
            if value in roster:
                return value
    return None


def _parameters_variant(notebook: Any, variants: dict[str, dict[str, str]]) -> str | None:
    """The variant whose replicates the notebook's parameters cell sets, if any."""
    for cell in notebook.cells:
        if cell.cell_type != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            return None
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == "overrides"):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    return None
                for name, params in variants.items():
                    if "overrides" in params and ast.literal_eval(params["overrides"]) == value:
                        return name
    return None


def resolve(notebook: Any, settings: Any) -> tuple[str, list[Any]]:
    """The variant a submission is graded as, and the findings (:class:`~tlkit.teaching.guard.
    Finding`, every question) that flag it: a variant other than the roster's, or none."""
    from .guard import Finding

    variants = settings.variants
    first = next(iter(variants))
    named = marked(notebook).get("variant")
    if named not in variants:
        named = _parameters_variant(notebook, variants)
    student = submitter(settings.roster) if settings.roster else None
    if student is not None and student in settings.roster:
        own = settings.roster[student]
        if named is not None and named != own:
            return own, [Finding(None, 0, 0, f"the notebook is variant {named}, but the roster "
                                             f"gives {student} variant {own}: graded as {own}")]
        return own, []
    if named is None:
        return first, [Finding(None, 0, 0, f"the notebook names no variant of this assignment: "
                                           f"graded as {first}")]
    return named, []
