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
           "set_parameter", "enforce", "read_settings", "EnforceSettings", "flagged_questions",
           "PLUGIN", "VARIANT"]

#: The settings' file name, in the grading package and in the folder a submission runs in.
SETTINGS_FILE = "tlkit-assignment.json"
#: The folder of the grading run's records, next to the submission while it is graded.
RESULTS_FOLDER = "results"
#: The word that opens the output line naming the variant a submission was graded as.
VARIANT = "VARIANT"
#: The importable name of the plugin, as listed in ``otter_config.json``.
PLUGIN = "tlkit.teaching.settings.EnforceSettings"
#: Set by ``tlkit grade``: the file in which the submission's kernel notes the cell it runs.
CELL_LOG = "TLKIT_CELL_LOG"
_NOTE_CELL = """\
def _tlkit_note(info, path={path!r}):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(info.raw_cell)


get_ipython().events.register("pre_run_cell", _tlkit_note)
del _tlkit_note
"""
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
        book_cells: Fingerprints of the student notebook's own code cells
            (:func:`tlkit.teaching.guard.book_cells`), not read for tampering when unchanged.
        variants: Per variant (:mod:`tlkit.teaching.variants`), the parameters in which it
            differs from ``parameters`` (Python source); empty when every student has the same
            notebook.
        roster: Each student's variant, where the assignment was made for a roster.
        variant: The variant these settings are, once resolved for one submission
            (:meth:`for_variant`).
    """

    notebook: str
    parameters: dict[str, str]
    timeout: float
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    questions: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: str = ""
    book_cells: list[str] = field(default_factory=list)
    variants: dict[str, dict[str, str]] = field(default_factory=dict)
    roster: dict[str, str] = field(default_factory=dict)
    variant: str = ""

    def for_variant(self, name: str) -> AssignmentSettings:
        """These settings for one submission of variant ``name``: its parameters enforced.

        Raises:
            KeyError: no such variant.
        """
        from dataclasses import replace

        return replace(self, parameters={**self.parameters, **self.variants[name]},
                       variant=name)

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
                   list(data.get("questions", [])), str(data.get("fingerprint", "")),
                   list(data.get("book_cells", [])),
                   {str(k): dict(v) for k, v in data.get("variants", {}).items()},
                   {str(k): str(v) for k, v in data.get("roster", {}).items()},
                   str(data.get("variant", "")))


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
    """Otter plugin: before a submission runs, read it for the library's own solutions and for
    tampering (:func:`tlkit.teaching.guard.scan`), enforce the assignment's settings
    (:func:`enforce`) and use the grading run's records in ``results/`` beside it as the run
    cache, with progress bars off; after its tests ran, set every flagged question to zero
    (found by the scan, or by a hidden test's :class:`~tlkit.teaching.guard.Flagged`) and write
    the reasons, one line each opening with ``FLAGGED``, in the results' output."""

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
        self._findings = _scan(nb, settings)
        from .guard import parameter_notes

        self._notes = []
        if settings.variants:  # grade against the submission's own variant
            from .assigned import resolve

            name, why = resolve(nb, settings)
            settings = settings.for_variant(name)
            (self._folder() / SETTINGS_FILE).write_text(settings.to_json(), encoding="utf-8")
            self._findings += why
            self._notes.append(f"{VARIANT}: {name}")
        self._notes += parameter_notes(nb, settings.parameters)
        enforce(nb, settings)
        log = os.environ.get(CELL_LOG)
        if log:  # note which cell runs, so that a submission out of time can name it
            nb.cells.insert(0, nbformat.v4.new_code_cell(_NOTE_CELL.format(path=log)))
        return nb

    def after_grading(self, results: Any) -> None:
        settings = read_settings(self._folder())
        if settings is None:
            return
        findings = getattr(self, "_findings", None)
        if findings is None:  # not scanned before it ran: read the submission now
            import nbformat

            findings = _scan(nbformat.read(self.submission_path, as_version=4), settings)
        flagged = flagged_questions(findings, results, settings)
        for question in flagged:
            if question in results.results:
                results.update_score(question, 0)
        notes = list(getattr(self, "_notes", []))
        if flagged or notes:
            results.set_output("\n".join([*flagged.values(), *notes]))
        results.set_plugin_data(PLUGIN, {"flagged": flagged, "notes": notes})


def _scan(nb: Any, settings: AssignmentSettings) -> list[Any]:
    from .guard import MAY_CALL, scan

    allowances = MAY_CALL.get(settings.notebook, {})
    questions = {str(q["name"]): tuple(allowances.get(str(q["name"]), ()))
                 for q in settings.questions if not q.get("manual")}
    return scan(nb, questions, settings.book_cells)


def flagged_questions(findings: list[Any], results: Any, settings: AssignmentSettings
                      ) -> dict[str, str]:
    """Each flagged question and why: the first finding of the scan that concerns it (a
    finding outside every answer concerns them all), else the first message of a hidden test
    of it that raised :class:`~tlkit.teaching.guard.Flagged`."""
    from .guard import FLAG

    autograded = [str(q["name"]) for q in settings.questions if not q.get("manual")]
    flagged: dict[str, str] = {}
    for finding in findings:
        for question in [finding.question] if finding.question else autograded:
            flagged.setdefault(question, str(finding).replace(
                "every question", question, 1) + ("" if finding.question
                                                   else " (this costs every question)"))
    for name, test_file in getattr(results, "results", {}).items():
        for case in getattr(test_file, "test_case_results", []):
            lines = [line.strip() for line in str(case.message or "").splitlines()
                     if line.strip().startswith(f"{FLAG}:")
                     or f"Flagged: {FLAG}:" in line]
            if lines:
                flagged.setdefault(name, lines[0][lines[0].index(f"{FLAG}:"):])
    return flagged
