"""The experiments whose profiles declare training recipes, and the parameters the recipes
appendix gives each of them.

An experiment module with ``recipe_tasks(params)`` declares its recipes in its profile file
(``recipes``) and the search that chose them (``recipe_search``); the appendix
(``notebooks/90_recipes``) searches, checks and shows them all, each with the same profile and
the overrides the appendix was given for that notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import NOTEBOOKS, module_for

__all__ = ["experiment_params", "searched_experiments"]


def experiment_params(params: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    """The parameters of ``notebook`` whose recipes the appendix searches: the same profile,
    with the overrides it was given for that notebook (``{"01_layer_transfer": {...}}``)."""
    return {"profile": params.get("profile", "quick"), **(params.get(notebook) or {})}


def searched_experiments(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(notebook, module)`` of every experiment that declares recipes, in notebook order."""
    out = []
    for notebook in NOTEBOOKS:
        module = module_for(notebook)
        if hasattr(module, "recipe_tasks"):
            out.append((notebook, module))
    return out
