"""The teaching tools' one outside requirement, Otter-Grader, and the errors of the tools."""

from __future__ import annotations

import importlib.util

__all__ = ["INSTALL_HINT", "TeachingToolsMissingError", "AssignmentError", "require_otter"]

#: How to install what the teaching tools need.
INSTALL_HINT = "pip install 'tlkit[teach]'"


class TeachingToolsMissingError(ModuleNotFoundError):
    """Otter-Grader, which makes and grades the assignments, is not installed."""

    def __init__(self) -> None:
        super().__init__(f"otter-grader is not installed; install the teaching tools with "
                         f"{INSTALL_HINT}", name="otter")


def require_otter() -> None:
    """Raise :class:`TeachingToolsMissingError` unless Otter-Grader can be imported."""
    if importlib.util.find_spec("otter") is None:
        raise TeachingToolsMissingError()


class AssignmentError(RuntimeError):
    """Otter Assign failed on a notebook (a malformed exercise, or a solution failing its tests).

    Attributes:
        notebook: The file stem of the notebook.
        log: Otter Assign's output.
    """

    def __init__(self, notebook: str, message: str, log: str = "") -> None:
        self.notebook, self.log = notebook, log
        super().__init__(f"assignment {notebook}: {message}")
