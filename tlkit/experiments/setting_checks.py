"""The settings a notebook is given, checked against its profiles before any work.

A notebook's parameters, with its ``overrides`` merged in
(:func:`~tlkit.experiments.with_overrides`; a mapping is merged into the profile's mapping key
by key, :func:`~tlkit.experiments.profile.merged`), are checked by :func:`check_settings`
before the experiment's own checks, so that those see well-formed values:

* every name is a setting of the experiment's profiles, a parameter every notebook takes
  (:data:`COMMON`) or the key of a linked notebook's overrides (checked as that notebook's);
  a name that is none of these is refused, naming the closest;
* every value given, at every depth, has a type the profiles give that setting: a whole number
  where they have whole numbers (at least 1 for counts such as ``epochs``, ``batch_size``,
  ``width``, ``size``, ``steps``, at least 0 otherwise), a number >= 0 where they have numbers
  (``lr`` above 0), true or false, text, a list (of whole numbers where they list whole
  numbers), or a mapping of the keys the profiles use there (a recipe's keys are those of any
  recipe of the experiment; dataset options are checked by the dataset);
* every count of seeds (``seeds``, ``axis_seeds``, ``recipe_search.seeds``, a value of
  ``condition_seeds``, a count of ``seed_schedule``) is at most
  :data:`~tlkit.experiments.profile.SEARCH_SEEDS_FROM`, so that no replicate is a search's
  seed and no search seed a pilot's;
* the plan is not larger than the limit of :mod:`~tlkit.experiments.plan_size`, counted before
  it is built.

Every problem is a ``ValueError`` of one line naming the setting as written
(``recipes.scratch.epochs``), the value and what is accepted.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..checks import shown
from .once import checked_once
from .profile import (
    SEARCH_SEEDS_FROM,
    SettingPath,
    check_common,
    seed_counts,
    setting_name,
)

__all__ = ["COMMON", "check_settings", "check_value", "train_recipe", "unknown_name"]

#: Parameters every notebook takes, whatever its profiles hold.
COMMON = ("profile", "seeds", "first_seed", "replicates", "device", "executor", "overrides")
#: Whole-number settings that count something, so at least 1.
COUNTS = ("epochs", "batch_size", "width", "size", "steps", "min_epochs", "distance_samples",
          "feature_size", "imagenet_size")
#: Settings that may be fractions wherever the profiles happen to write whole numbers.
FRACTIONAL = ("lr", "momentum", "weight_decay", "warmup_epochs", "alpha", "beta", "lr_ratio",
              "shift", "size_boundary", "distance_boundary", "budget_minutes")
#: Mappings whose keys are not fixed by the profiles: dataset options (the dataset checks
#: them), seeds per condition and spreads per claim (the experiment checks them), lengths per
#: architecture or method.
OPEN = ("options", "source_options", "a_options", "b_options", "condition_seeds", "sd",
        "steps", "min_epochs")
#: Keys that hold class expressions (:func:`~tlkit.experiments.profile.resolve_classes`).
CLASS_KEYS = ("a", "b", "classes")


def unknown_name(what: str, name: Any, accepted: Sequence[str]) -> ValueError:
    """The error for an unknown ``name``: the closest accepted one, and all of them."""
    close = difflib.get_close_matches(str(name), [str(a) for a in accepted], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = repr if any(", " in str(a) for a in accepted) else str  # names with commas quoted
    return ValueError(f"{name!r} is not a {what}{hint}; accepted: "
                      f"{', '.join(map(shown, accepted))}")


def _kinds(refs: Sequence[Any]) -> set[str]:
    out = set()
    for ref in refs:
        if isinstance(ref, bool):
            out.add("bool")
        elif isinstance(ref, int):
            out.add("int")
        elif isinstance(ref, float):
            out.add("float")
        elif isinstance(ref, str):
            out.add("str")
        elif isinstance(ref, list | tuple):
            out.add("list")
        elif isinstance(ref, Mapping):
            out.add("dict")
    return out


_WORDS = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "text",
          "list": "a list", "dict": "a mapping"}


def _fractional(path: SettingPath) -> bool:
    return bool(path) and str(path[-1]) in FRACTIONAL


def _low(path: SettingPath) -> int:
    last = str(path[-1]) if path else ""
    counted = last in COUNTS or last.endswith("_per_class") or last.endswith("seeds")
    return 1 if counted else 0


def _check_number(path: SettingPath, value: Any, kinds: set[str]) -> None:
    """A number given where the profiles have numbers: its kind and range."""
    name = setting_name(path)
    if isinstance(value, float) and "float" not in kinds:
        low = _low(path)
        raise ValueError(f"{name} must be a whole number >= {low}, got {shown(value)}")
    if isinstance(value, int) and "float" not in kinds:
        low = _low(path)
        if value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {shown(value)}")
        return
    positive = str(path[-1]) == "lr"
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a number {bound}, got {shown(value)}")


def _check_list(path: SettingPath, value: Sequence[Any], refs: Sequence[Any]) -> None:
    """A list given where the profiles have lists of numbers: no bool, no fraction where
    they list whole numbers, nothing negative (``lr``: nothing <= 0); other elements (``None``,
    text) are the experiment's to check."""
    listed = [x for ref in refs if isinstance(ref, list | tuple) for x in ref]
    if not listed or not all(isinstance(x, int | float) and not isinstance(x, bool)
                             for x in listed):
        return
    whole = all(isinstance(x, int) for x in listed) and not _fractional(path)
    low = 1 if whole and min(listed) >= 1 else 0  # sizes, depths, epochs: never 0
    positive = str(path[-1]) == "lr"
    for i, x in enumerate(value):
        if x is None or isinstance(x, str):
            continue
        ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and (
            x > 0 if positive else x >= low) and (isinstance(x, int) or not whole)
        if not ok:
            what = f"whole numbers >= {low}" if whole else (
                "numbers > 0" if positive else "numbers >= 0")
            raise ValueError(f"{setting_name(path)} must list {what}, got {shown(x)} at "
                             f"position {i} of {shown(list(value))}")


def _more_keys(path: SettingPath, keys: set[str]) -> set[str]:
    """The keys of a recipe (``recipes.ROLE``) or of a recipe grid (``grid.ROLE``): any
    recipe's or grid's, and every training setting (every setting a grid may vary) when they
    all are ones."""
    from ..config import TrainConfig
    from .profile import GRID_KEYS

    parent = str(path[-2]) if len(path) >= 2 else ""
    more = {"recipes": {f.name for f in dataclasses.fields(TrainConfig)},
            "grid": set(GRID_KEYS)}.get(parent, set())
    return keys | more if keys and keys <= more else keys


def _check_mapping(path: SettingPath, value: Mapping[str, Any], refs: Sequence[Any]) -> None:
    mappings = [r for r in refs if isinstance(r, Mapping)]
    keys = _more_keys(path, {k for r in mappings for k in r})
    last = str(path[-1]) if path else ""
    if keys and last not in OPEN:
        for key in value:
            if key not in keys:
                raise unknown_name(f"key of {setting_name(path)}", key, sorted(keys, key=str))
    # a mapping whose values are all mappings (recipes by role, grids by role) is a family:
    # each member's keys and types are those of any member
    family = [v for r in mappings for v in r.values()]
    is_family = bool(family) and all(isinstance(v, Mapping) for v in family)
    for key, item in value.items():
        child = [r[key] for r in mappings if key in r]
        if is_family:
            child += family
        check_value((*path, key), item, child)


def check_value(path: SettingPath, value: Any, refs: Sequence[Any]) -> None:
    """Check ``value`` given for the setting at ``path`` against ``refs``, the values the
    profiles hold there (every profile's, and a family's members')."""
    if value is None or (path and str(path[-1]) in CLASS_KEYS):
        return
    kinds = _kinds([r for r in refs if r is not None])
    if not kinds:
        return
    if isinstance(value, bool):
        ok = "bool" in kinds
    elif isinstance(value, int | float):
        ok = bool(kinds & {"int", "float"})
    elif isinstance(value, str):
        ok = "str" in kinds
    elif isinstance(value, list | tuple):
        ok = "list" in kinds
    elif isinstance(value, Mapping):
        ok = "dict" in kinds
    else:
        ok = False
    if not ok:
        words = " or ".join(f"{_WORDS[k]} >= {_low(path)}" if k == "int" else _WORDS[k]
                            for k in sorted(kinds))
        raise ValueError(f"{setting_name(path)} must be {words}, got {shown(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(path, value, kinds | ({"float"} if _fractional(path) else set()))
    elif isinstance(value, list | tuple):
        _check_list(path, value, refs)
    elif isinstance(value, Mapping):
        _check_mapping(path, value, refs)


def train_recipe(recipes: Mapping[str, Any], role: str) -> Any:
    """The :class:`~tlkit.config.TrainConfig` of the recipe ``role`` of ``recipes``, or a
    ``ValueError`` naming the recipe (``recipes.scratch: ...``)."""
    from ..config import TrainConfig

    if role not in recipes:
        raise unknown_name("recipe of the profile", role, list(recipes))
    try:
        return TrainConfig(**recipes[role])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{setting_name(('recipes', role))}: {err} (the recipe given: "
                         f"{dict(recipes[role])})") from None


def _check_seed_counts(params: Mapping[str, Any]) -> None:
    for path, value in seed_counts(params):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{setting_name(path)} must be a whole number of seeds >= 1, "
                             f"got {shown(value)}")
        if value > SEARCH_SEEDS_FROM:
            raise ValueError(f"{setting_name(path)} must be at most {SEARCH_SEEDS_FROM} seeds (the "
                             f"seeds from {SEARCH_SEEDS_FROM} on are the searches', from "
                             f"{2 * SEARCH_SEEDS_FROM} on the pilots'), got {value}")


@checked_once
def check_settings(notebook: str, params: Mapping[str, Any]) -> None:
    """Check the settings ``notebook`` is given (its parameters, with ``overrides``), as the
    module docstring says; once for equal arguments.

    Raises:
        ValueError: the first problem, in one line.
    """
    from . import EXPERIMENTS, LINKED, with_overrides
    from .plan_size import check_plan_size

    declared = EXPERIMENTS.get(notebook)
    if declared is None:  # an experiment outside the registry: the common checks only
        check_common(params)
        return
    flat = with_overrides(notebook, params) if params.get("overrides") is not None \
        else dict(params)
    check_common(flat)
    profiles = declared.profiles
    linked = LINKED.get(notebook, {})
    names = [*dict.fromkeys([*(k for p in profiles.values() for k in p), *linked, *COMMON])]
    profile = flat.get("profile", "quick")
    for key, value in flat.items():
        if key not in names:
            raise unknown_name(f"setting of {notebook}", key, names)
        if value is None or key in COMMON:
            continue
        if key in linked:
            if not isinstance(value, Mapping):
                raise ValueError(f"{key} must be a mapping of settings of {linked[key]}, "
                                 f"such as {{seeds: 2}}, got {shown(value)}")
            try:
                check_settings(linked[key], {"profile": profile, **value})
            except ValueError as err:
                raise ValueError(f"{key}: {err}") from None
            continue
        check_value((key,), value, [p[key] for p in profiles.values() if key in p])
    _check_seed_counts(flat)
    check_plan_size(notebook, flat)
