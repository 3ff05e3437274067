"""How many runs a notebook's parameters plan, counted before the plan is built.

A plan grows with its counts of seeds (``seeds``, ``axis_seeds``, ``recipe_search.seeds``, ...,
:func:`~tlkit.experiments.profile.seed_counts`): past the profile's own counts (and those of
the notebooks it shares runs with), every seed adds the same runs. So the runs of a plan whose
largest count of seeds given is ``S`` are counted from two small plans, each count given capped
at ``c`` (the largest count of those profiles) and at ``c + 1``:
``runs(c) + (S - c) * (runs(c + 1) - runs(c))``. That is exact when the counts given above
``c`` are all ``S`` (``seeds`` alone, say), and an upper bound otherwise. It takes the time and
memory of two plans of the profile's size, whatever ``S``.

A notebook that would plan more than :data:`MAX_RUNS` runs is refused with the count, before
anything is built; ``$TLKIT_MAX_RUNS`` raises (or lowers) the limit, to confirm a plan that
large. :meth:`~tlkit.experiments.experiment.Experiment.listing` checks the count of the plan
it built against the same limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_RUNS", "ENV", "PlanTooLargeError", "max_runs", "plan_size", "check_plan_size",
           "check_count"]

#: The most runs a notebook plans unless ``$TLKIT_MAX_RUNS`` says otherwise.
MAX_RUNS = 20_000
#: The environment variable that sets another limit (a whole number of runs).
ENV = "TLKIT_MAX_RUNS"


class PlanTooLargeError(ValueError):
    """A notebook's parameters plan more runs than the limit (:func:`max_runs`)."""


def max_runs() -> int:
    """The most runs a notebook may plan: ``$TLKIT_MAX_RUNS``, else :data:`MAX_RUNS`.

    Raises:
        ValueError: ``$TLKIT_MAX_RUNS`` is not a whole number of at least 1.
    """
    text = os.environ.get(ENV, "").strip()
    if not text:
        return MAX_RUNS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{ENV} must be a whole number of runs >= 1 (the most a notebook may "
                         f"plan; default {MAX_RUNS}), got {text!r}")
    return value


def _capped(node: Any, paths: set[tuple[Any, ...]], cap: int, path: tuple[Any, ...] = ()
            ) -> Any:
    """``node`` with the counts of seeds at ``paths`` capped at ``cap`` (copied, not changed)."""
    if path in paths and isinstance(node, int):
        return min(node, cap)
    if isinstance(node, Mapping):
        return {k: _capped(v, paths, cap, (*path, k)) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_capped(v, paths, cap, (*path, i)) for i, v in enumerate(node)]
    return node


def _profile_seeds(notebook: str, profile: Any) -> int:
    """The largest count of seeds in ``profile`` of ``notebook`` and of the notebooks it
    shares runs with (at least 2)."""
    from . import EXPERIMENTS, LINKED
    from .profile import seed_counts

    names, todo, most = set(), [notebook], 2
    while todo:
        name = todo.pop()
        if name not in names:
            names.add(name)
            todo += list(LINKED.get(name, {}).values())
            own = EXPERIMENTS[name].profiles.get(profile, {})
            most = max([most, *(v for _, v in seed_counts(own) if _is_count(v))])
    return most


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plan_size(notebook: str, params: Mapping[str, Any]) -> tuple[int, bool] | None:
    """``(runs, exact)``: how many runs ``notebook`` lists with ``params`` (every listed stage,
    as :func:`~tlkit.experiments.known_specs`), counted without building the plan: the counts
    of seeds given above ``c``, the largest of the profile's (and at least 2), are capped at
    ``c`` and at ``c + 1``, and the difference of the two small plans is the runs each seed
    adds. ``exact`` when the counts capped are all equal (else the count is an upper bound).
    ``None`` when no count given is above ``c + 1`` (the plan is then built, not counted)."""
    from . import EXPERIMENTS
    from .profile import seed_counts

    base = _profile_seeds(notebook, params.get("profile", "quick"))
    counts = {path: value for path, value in seed_counts(params) if _is_count(value)}
    large = {path: value for path, value in counts.items() if value > base}
    most = max(large.values(), default=0)
    if most <= base + 1:
        return None
    first, then = (len(EXPERIMENTS[notebook].listing(_capped(dict(params), set(large), cap),
                                                    pinned_only=False))
                   for cap in (base, base + 1))
    return first + (most - base) * (then - first), len(set(large.values())) == 1


def _refusal(notebook: str, runs: int, exact: bool, limit: int, why: str) -> PlanTooLargeError:
    amount = f"{runs:,} runs" if exact else f"up to {runs:,} runs"
    return PlanTooLargeError(
        f"{notebook} would plan {amount}{why}, more than the limit of {limit:,}: give fewer "
        f"seeds or sizes, or confirm with {ENV}={runs} in the environment")


def check_plan_size(notebook: str, params: Mapping[str, Any]) -> None:
    """Refuse ``params`` when ``notebook`` would plan more than :func:`max_runs` runs,
    counted without building the plan (:func:`plan_size`).

    Raises:
        PlanTooLargeError: the count, and how to confirm it.
    """
    limit = max_runs()
    counted = plan_size(notebook, params)
    if counted is not None and counted[0] > limit:
        from .profile import seed_counts, setting_name

        counts = [(path, v) for path, v in seed_counts(params) if _is_count(v)]
        largest = sorted(counts, key=lambda item: -item[1])[:3]
        given = ", ".join(f"{setting_name(path)}={value}" for path, value in largest)
        raise _refusal(notebook, counted[0], counted[1], limit, f" ({given})")


def check_count(notebook: str, runs: int) -> None:
    """Refuse a plan of ``runs`` runs, built, above :func:`max_runs`."""
    limit = max_runs()
    if runs > limit:
        raise _refusal(notebook, runs, True, limit, "")
