"""The settings an assignment is graded with, and their enforcement on a submission.

A student may edit the notebook's ``parameters`` cell (a cheaper profile, fewer seeds, another
device); grading must not follow. :class:`AssignmentSettings` holds what the grading run used (the
parameter values, the time allowed per submission, the versions), is stored as
``tlkit-assignment.json`` in the grading package, and :func:`enforce` rewrites a submission's
parameters cell to those values before it runs. :class:`EnforceSettings` is the Otter plugin that
applies it on every grader (``otter run``, ``tlkit grade``, Gradescope) and points the run cache
at the grading run's records shipped in the package, so that a correct submission trains nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SETTINGS_FILE", "RESULTS_FOLDER", "AssignmentSettings", "parameter_values",
           "set_parameter",
           "enforce", "read_settings", "EnforceSettings", "PLUGIN"]

#: The settings' file name, in the grading package and in the folder a submission runs in.
SETTINGS_FILE = "tlkit-assignment.json"
#: The folder of the grading run's records, next to the submission while it is graded.
RESULTS_FOLDER = "results"
#: The importable name of the plugin, as listed in ``otter_config.json``.
PLUGIN = "tlkit.teaching.settings.EnforceSettings"
_MARK = "# parameters set by the grader (tlkit grade); the submission's values are ignored\n"


@dataclass(frozen=True)
class AssignmentSettings:
    """What an assignment is graded with.

    Attributes:
        notebook: The notebook's file stem.
        parameters: The enforced value of each parameter, as Python source (``'"quick"'``).
        timeout: Seconds allowed to grade one submission (``tlkit grade``).
        versions: The versions of tlkit and its main dependencies that made the grading run.
        seconds: Time the grading run of the solutions took when the package was made.
        questions: The exercises: ``{"name", "points", "manual"}`` each, in order.
        fingerprint: The fingerprint of the code that computed the shipped records
            (:func:`tlkit.fingerprint.code_fingerprint`); other code would not find them.
    """

    notebook: str
    parameters: dict[str, str]
    timeout: float
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    questions: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: str = ""

    def values(self) -> dict[str, Any]:
        """The parameters as Python values."""
        return parameter_values(self.parameters)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AssignmentSettings:
        data = json.loads(text)
        return cls(data["notebook"], dict(data["parameters"]), float(data["timeout"]),
                   dict(data.get("versions", {})), float(data.get("seconds", 0.0)),
                   list(data.get("questions", [])), str(data.get("fingerprint", "")))


def parameter_values(parameters: Mapping[str, str]) -> dict[str, Any]:
    """Parameters written as Python source (``{"profile": '"quick"'}``) as Python values."""
    import ast

    return {name: ast.literal_eval(source) for name, source in parameters.items()}


def read_settings(folder: str | os.PathLike[str] = ".") -> AssignmentSettings | None:
    """The settings in ``folder/tlkit-assignment.json``, or ``None`` where there are none."""
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        return None
    return AssignmentSettings.from_json(path.read_text(encoding="utf-8"))


def _assignment(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(?P<head>{re.escape(name)}\s*(?::[^=\n]+)?=\s*)(?P<value>[^#\n]*?)"
                      rf"(?P<tail>\s*(#.*)?)$", re.MULTILINE)


def set_parameter(source: str, name: str, value: str) -> str:
    """``source`` (a parameters cell) with the top-level assignment of ``name`` set to ``value``
    (Python source); the line's comment is kept.

    Raises:
        ValueError: the cell does not assign ``name``.
    """
    new, count = _assignment(name).subn(lambda m: f"{m['head']}{value}{m['tail']}", source,
                                        count=1)
    if not count:
        raise ValueError(f"the parameters cell does not set {name!r}")
    return new


def _parameter_cell(nb: Any) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and _assignment("profile").search(cell.source):
            return i
    return None


def enforce(nb: Any, settings: AssignmentSettings) -> Any:
    """Rewrite the submission ``nb`` (an ``nbformat`` notebook, in place) so that it runs with
    ``settings``: its parameters cell (found by its tag, else the first cell assigning
    ``profile``) is replaced by one assigning exactly the enforced values, tagged ``parameters``;
    where there is none, that cell is inserted before the first code cell. Returns ``nb``."""
    import nbformat

    lines = "".join(f"{name} = {value}\n" for name, value in settings.parameters.items())
    source = _MARK + lines
    index = _parameter_cell(nb)
    if index is None:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["parameters"]
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first, cell)
        return nb
    cell = nb.cells[index]
    cell.source = source
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if "parameters" not in tags:
        tags.append("parameters")
    return nb


try:
    from otter.plugins import AbstractOtterPlugin as _Plugin
except ImportError:  # the teaching tools are not installed: the plugin is not needed either
    _Plugin = object  # type: ignore[assignment,misc]


class EnforceSettings(_Plugin):  # type: ignore[misc,valid-type]
    """Otter plugin: before a submission runs, enforce the assignment's settings
    (:func:`enforce`) and use the grading run's records in ``results/`` beside it as the run
    cache, with progress bars off."""

    def _folder(self) -> Path:
        return Path(self.submission_path).resolve().parent

    def before_grading(self, config: Any) -> None:
        folder = self._folder()
        os.environ["TLKIT_RESULTS"] = str(folder / RESULTS_FOLDER)
        os.environ["TLKIT_PROGRESS"] = "0"
        os.environ["TLKIT_GLUE_ONLY"] = "1"

    def before_execution(self, submission: Any) -> Any:
        settings = read_settings(self._folder())
        if settings is None or isinstance(submission, str):
            return submission
        import nbformat

        nb = nbformat.from_dict(submission) if isinstance(submission, dict) else submission
        return enforce(nb, settings)
