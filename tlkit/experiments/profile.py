"""Profiles as data: every notebook's ``smoke``, ``quick`` and ``full`` settings in one file.

``tlkit/experiments/profiles/<experiment>.yaml`` holds one mapping per profile. Values are plain
YAML, except class lists, which may be written as expressions resolved when the file is read
(:func:`resolve_classes`), so that no file lists 100 CIFAR class names by hand:

* a list of names, or ``null`` (every class of the dataset);
* ``letters`` or ``digits``: the glyph charsets ``A``-``Z`` and ``0``-``9``;
* ``{random_half: 0 | 1, of: POOL, seed: S}``: one half of :func:`tlkit.data.random_halves`
  of ``POOL`` (``letters``, ``digits`` or a dataset name, meaning all its classes), with
  optional ``take: K`` (its first K classes) and ``sort: true``;
* ``{semantic_half: 0 | 1, dataset: D, split: NAME}``: one half of
  :func:`tlkit.data.semantic_split`.

Any mapping key named ``a``, ``b`` or ``classes`` is resolved this way. :func:`settings` reads
one profile overridden by a notebook's parameters (a mapping given is merged into the
profile's key by key, :func:`merged`; what a notebook may be given is checked by
:mod:`tlkit.experiments.setting_checks`, and how many runs it may plan by
:mod:`tlkit.experiments.plan_size`); :func:`profile_table` shows the scalar settings of every
profile side by side.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..checks import positive_int, shown

__all__ = ["PROFILE_DIR", "PROFILE_NAMES", "SEARCH_SEEDS_FROM", "PILOT_SEEDS_FROM",
           "COURSEWORK_SEEDS_FROM", "seed_params", "load_profiles", "resolve_classes",
           "search_seeds", "at_seed", "at_source_seed",
           "replicate_seeds", "merged", "settings", "profile_table", "check_common",
           "GRID_KEYS", "SettingPath", "setting_name", "seed_counts"]

PROFILE_DIR = Path(__file__).with_name("profiles")
#: The first seed of every search (recipes, learning rates). An experiment's replicates are
#: seeds 0, 1, ... below it, so a search run is never a replicate whose accuracy is reported,
#: and never shares a target subsample, initial weights or batch order with one.
SEARCH_SEEDS_FROM = 1000


#: The first seed of a pilot run (``first_seed``): the runs a design's spreads are measured on
#: before it is planned, never reported.
PILOT_SEEDS_FROM = 2000
#: The first seed of coursework variants (``replicates``, :mod:`tlkit.teaching.variants`): a
#: student's replicates, never the book's, so that the book's numbers answer no variant.
COURSEWORK_SEEDS_FROM = 10_000


def replicate_seeds(s: Mapping[str, Any], n: int | None = None) -> Sequence[int]:
    """The seeds of ``n`` replicates (default ``s["seeds"]``) of settings ``s``: 0, 1, ... for
    the book, from ``first_seed`` on (a pilot, :data:`PILOT_SEEDS_FROM`), or the first ``n`` of
    the list ``replicates`` (a coursework variant, :data:`COURSEWORK_SEEDS_FROM`). A design
    that runs k seeds of one condition and more of another runs the first k of the same list
    for both, so that every paired comparison pairs the same seeds.

    Raises:
        ValueError: ``replicates`` lists fewer than ``n`` seeds.
    """
    count = int(s["seeds"] if n is None else n)
    listed = s.get("replicates")
    if listed is not None:
        if count > len(listed):
            raise ValueError(f"replicates lists {len(listed)} seed{'s' * (len(listed) != 1)}, "
                             f"but the design runs {count} replicates of a condition")
        return tuple(int(seed) for seed in listed[:count])
    first = int(s.get("first_seed") or 0)
    return range(first, first + count)


def seed_params(s: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that place a design's replicates (``first_seed`` or ``replicates``, when
    set), for a chapter that shares another's runs on the same seeds."""
    return {k: s[k] for k in ("first_seed", "replicates") if s.get(k)}


def search_seeds(n: int) -> range:
    """The ``n`` seeds of a search: :data:`SEARCH_SEEDS_FROM`, ... (disjoint from every
    experiment's replicates)."""
    return range(SEARCH_SEEDS_FROM, SEARCH_SEEDS_FROM + int(n))


def at_seed(template: Any, seed: int) -> Any:
    """``template`` (a :class:`~tlkit.spec.RunSpec`) as replicate ``seed`` of a search or a
    check: the target subsample, initial weights and batch order of ``seed``, and the source
    network it copies (if any) trained from ``seed`` too, so that a choice made on search
    seeds reads no network that a reported replicate copies."""
    from dataclasses import replace

    transfer = template.transfer
    if transfer.source is not None:
        transfer = replace(transfer, source=at_source_seed(transfer.source, seed))
    return replace(template, data=replace(template.data, subsample_seed=seed),
                   transfer=transfer, seed=seed)


def at_source_seed(source: Any, seed: int) -> Any:
    """A source run trained from ``seed`` (its own initial weights and batch order; its data
    as the experiment defines them), and its own source likewise."""
    from dataclasses import replace

    if source.transfer.source is not None:
        source = replace(source, transfer=replace(
            source.transfer, source=at_source_seed(source.transfer.source, seed)))
    return replace(source, seed=seed)


_CLASS_KEYS = ("a", "b", "classes")


def _pool(name: str) -> tuple[str, ...]:
    from .. import data
    from ..data.glyphs import DIGITS, LETTERS

    if name == "letters":
        return tuple(LETTERS)
    if name == "digits":
        return tuple(DIGITS)
    return tuple(data.info(name).classes)


def resolve_classes(expr: Any) -> list[str] | None:
    """The class list an expression of the module docstring stands for."""
    from .. import data

    if expr is None:
        return None
    if isinstance(expr, str):
        if expr not in ("letters", "digits"):
            raise ValueError(f"unknown class set {shown(expr)}; use letters, digits, a list or a "
                             "{random_half: ...} / {semantic_half: ...} mapping")
        return list(_pool(expr))
    if isinstance(expr, list | tuple):
        return [str(c) for c in expr]
    if isinstance(expr, Mapping):
        if "random_half" in expr:
            half = data.random_halves(_pool(expr["of"]), int(expr.get("seed", 0)))
            out = list(half[int(expr["random_half"])])
        elif "semantic_half" in expr:
            half = data.semantic_split(expr["dataset"], expr["split"])
            out = list(half[int(expr["semantic_half"])])
        else:
            raise ValueError("a class expression needs random_half or semantic_half: "
                             f"{shown(expr)}")
        if "take" in expr:
            out = out[: int(expr["take"])]
        return sorted(out) if expr.get("sort") else out
    raise ValueError(f"cannot read a class list from {shown(expr)}")


def _resolve(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: resolve_classes(v) if k in _CLASS_KEYS else _resolve(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    return node


@functools.cache
def _read(name: str) -> dict[str, Any]:
    import yaml

    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"no profiles for experiment {shown(name)} in {PROFILE_DIR}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {profile: _resolve(values) for profile, values in raw.items()
            if not str(profile).startswith("_")}


def load_profiles(name: str) -> dict[str, dict[str, Any]]:
    """The profiles of experiment ``name`` (a fresh copy: callers may change it).

    Top-level keys starting with ``_`` are YAML anchors shared by the profiles, not profiles.
    """
    import copy

    return copy.deepcopy(_read(name))


def merged(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``given`` merged in: a mapping given where ``base`` has a mapping is merged
    into it key by key (at every depth), so that ``{recipes: {scratch: {lr: 0.1}}}`` changes
    one learning rate and keeps the rest of the recipes; any other value replaces the one in
    ``base`` (a list is replaced whole). Neither argument is changed."""
    out = dict(base)
    for key, value in given.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merged(old, value)
        else:
            out[key] = value
    return out


def settings(profiles: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]
             ) -> dict[str, Any]:
    """The profile's settings, overridden by any parameter that is not ``None`` and then by
    the mapping ``overrides``, if given (each merged into the profile's mappings,
    :func:`merged`)."""
    profile = params.get("profile", "quick")
    if profile not in profiles:
        raise ValueError(f"profile must be one of {', '.join(profiles)}, got {shown(profile)}")
    given = {k: v for k, v in params.items()
             if v is not None and k not in ("profile", "overrides")}
    out = merged(profiles[profile], given)
    if isinstance(params.get("overrides"), Mapping):
        out = merged(out, params["overrides"])
    out["profile"] = profile
    return out


def profile_table(profiles: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The scalar settings (numbers, text, short lists) of every profile: one row per setting,
    one column per profile; nested settings (splits, studies) are left out."""
    def shown(value: Any) -> bool:
        if isinstance(value, list):
            return all(isinstance(v, int | float | str) or v is None for v in value)
        return isinstance(value, int | float | str | bool) or value is None

    names = list(profiles)
    keys: list[str] = []
    for p in names:
        keys += [k for k, v in profiles[p].items() if k not in keys and shown(v)]
    rows = {k: [profiles[p].get(k, "") for p in names] for k in keys}
    return pd.DataFrame.from_dict(rows, orient="index", columns=names).rename_axis("setting")


#: A setting's place in the settings: its keys (and list positions), outermost first.
SettingPath = tuple[Any, ...]
#: The recipe settings a grid may vary: the optimisation's, and the strength ``alpha`` of a
#: method's regulariser (``TransferSpec.alpha``: DELTA's, BSS's).
GRID_KEYS = ("lr", "epochs", "warmup_epochs", "batch_size", "weight_decay", "alpha")


def setting_name(path: SettingPath) -> str:
    """A setting's path as written: ``recipes.scratch.epochs``, ``grid['fine-tune']``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).isidentifier():
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def seed_counts(params: Mapping[str, Any], path: SettingPath = ()
                ) -> Iterator[tuple[SettingPath, Any]]:
    """Every count of seeds in ``params``, at any depth, with its path: a value of a key
    ending in ``seeds``, of ``condition_seeds``, and the counts of ``seed_schedule``."""
    for key, value in params.items():
        here = (*path, key)
        if isinstance(value, Mapping):
            if key == "condition_seeds":
                yield from (((*here, k), v) for k, v in value.items())
            else:
                yield from seed_counts(value, here)
        elif key == "seed_schedule" and isinstance(value, list | tuple):
            for i, rule in enumerate(value):
                if isinstance(rule, list | tuple) and len(rule) == 2:
                    yield (*here, i, 1), rule[1]
        elif str(key).endswith("seeds") and value is not None:
            yield here, value


#: The profiles every notebook takes.
PROFILE_NAMES = ("smoke", "quick", "full")


def check_common(params: Mapping[str, Any]) -> None:
    """Checks shared by every notebook: ``profile``, ``seeds``, ``first_seed``, ``replicates``,
    ``device``, ``executor``."""
    if "profile" in params and params["profile"] not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_NAMES)}, "
                         f"got {params['profile']!r}")
    seeds = params.get("seeds")
    if seeds is not None:
        positive_int("seeds", seeds, why="the number of seeds")
        if seeds > SEARCH_SEEDS_FROM:
            raise ValueError(f"seeds must be at most {SEARCH_SEEDS_FROM}: seeds from "
                             f"{SEARCH_SEEDS_FROM} on are the searches', got {seeds}")
    first = params.get("first_seed")
    if first is not None:
        positive_int("first_seed", first, 0)
        if first != 0 and first < PILOT_SEEDS_FROM:
            raise ValueError(f"first_seed must be 0 (the book's replicates) or at least "
                             f"{PILOT_SEEDS_FROM} (a pilot's); seeds {SEARCH_SEEDS_FROM} to "
                             f"{PILOT_SEEDS_FROM - 1} are the searches', got {first}")
    listed = params.get("replicates")
    if listed is not None:
        _check_replicates(listed, first)
    device = params.get("device")
    if device is not None:
        ok = isinstance(device, str) and (
            device in ("auto", "cpu", "cuda") or device.startswith("cuda:"))
        if not ok:
            raise ValueError("device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got "
                             f"{shown(device)}")
    executor = params.get("executor")
    if executor is not None:
        from ..executors import EXECUTORS

        if executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got "
                             f"{shown(executor)}")


def _check_replicates(listed: Any, first: Any) -> None:
    if first:
        raise ValueError("give first_seed or replicates, not both")
    ok = (isinstance(listed, list | tuple) and len(listed) > 0
          and all(isinstance(x, int) and not isinstance(x, bool) for x in listed))
    if not ok:
        raise ValueError(f"replicates must be a non-empty list of whole seeds, got {shown(listed)}")
    if len(set(listed)) != len(listed):
        twice = sorted({x for x in listed if list(listed).count(x) > 1})
        raise ValueError(f"replicates lists a seed twice: {twice}")
    bad = [x for x in listed if x < 0 or SEARCH_SEEDS_FROM <= x < PILOT_SEEDS_FROM]
    if bad:
        raise ValueError(f"replicates must be seeds >= 0 outside the searches' "
                         f"{SEARCH_SEEDS_FROM}-{PILOT_SEEDS_FROM - 1}, got {bad}")
