r"""Whether the transferability scores' claims can be powered: the plan, from a pilot.

A score's claim (:func:`~.selection.agreement_claims`) is that its mean weighted :math:`\tau`
over the page's *tasks* (a target at a size) is positive. TLlib's model-selection benchmark
published a size for four of them (:data:`~.published.TLLIB_WEIGHTED_TAU`: 0.29 to 0.67). As
every claim with a published size (:func:`tlkit.power.plan`), such a claim is tested only when
the design can detect half that size with 80% power at the first Holm level of the page's
family; here the replicates are the tasks, not the seeds:

.. math::
    \mathrm{MDE}(n) = \big(t_{1-\alpha/(2m),\, n-1} + t_{0.8,\, n-1}\big)\,
    \frac{s_\tau}{\sqrt n},

with :math:`n` tasks, :math:`m` claims in the family and :math:`s_\tau` the standard deviation
over tasks of the per-task weighted :math:`\tau` (its 80% upper confidence bound from the
pilot's tasks, :func:`tlkit.power.planning_sd`). The spread is measured once, on a pilot of the
page's design on seeds no page reports (:data:`~tlkit.experiments.profile.PILOT_SEEDS_FROM`,
:func:`pilot`), and recorded in the profile (``power``); the plan (:func:`tau_plan`) is made
from the profile alone, before any result of the page, so the family is fixed before its data.
The distances (OTDD, domain similarity) have no published size: they are always tested.

This is a planning approximation: the page's interval is a bootstrap over seeds and tasks
(:func:`~.selection.bootstrap_agreement`), which the t interval over tasks approximates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .published import TLLIB_WEIGHTED_TAU, check_power
from .selection import SCORES, agreement_name

__all__ = ["pilot", "plan_shown", "tau_plan", "unpowered"]


def pilot(params: Mapping[str, Any], executor: Any = None) -> dict[str, Any]:
    """Run the page's design on its pilot seeds (from
    :data:`~tlkit.experiments.profile.PILOT_SEEDS_FROM`, as many as the profile's replicates;
    the search and plateau stages are the page's own, on their selection seeds) and return
    what ``power`` of the profile records: ``pilot`` (``first_seed``, ``seeds``, ``tasks``) and
    ``sd``, each score's standard deviation over tasks of its per-task weighted τ."""
    from ... import results
    from ...power import spread
    from .. import start
    from ..profile import PILOT_SEEDS_FROM
    from .claims import chosen_methods, curves
    from .selection import rank_agreement, score_table, selection_runs

    run = start("03_pretrained", {**params, "first_seed": PILOT_SEEDS_FROM},
                executor=executor)
    run.stage("search")
    run.stage("plateau")
    records = run.stage("runs")
    df = curves(results.frame(records))
    scores = score_table(selection_runs(records, chosen_methods(df)),
                         distance_samples=_settings(params)["distance_samples"])
    agree = rank_agreement(scores)
    sd = {name: round(spread(part["weighted_tau"].dropna()), 4)
          for name, part in agree.groupby("score", sort=False) if name in TLLIB_WEIGHTED_TAU}
    tasks = int(agree[["target", "size"]].drop_duplicates().shape[0])
    return dict(pilot=dict(first_seed=PILOT_SEEDS_FROM, seeds=int(scores["seed"].nunique()),
                           tasks=tasks), sd=sd)


def _settings(params: Mapping[str, Any]) -> Mapping[str, Any]:
    from ..profile import settings
    from .design import PROFILES

    return settings(PROFILES, params)


def tau_plan(params: Mapping[str, Any], method_claims: int) -> pd.DataFrame:
    """The plan of the scores' claims, from the profile alone (:func:`tlkit.power.plan` with
    the tasks as replicates, in its ``seeds`` and ``seeds_needed`` columns): per score with a
    published size, the pilot's spread, the tasks the page runs, the detectable effect, the
    tasks that would reach half the published size, ``powered`` and ``why``. The family also
    holds ``method_claims`` claims about the methods and the distances' claims, which have no
    published size and are always tested. Empty when the profile has no pilot."""
    from ...power import plan
    from .design import sizes_of, targets

    s = _settings(params)
    block = s.get("power") or {}
    check_power(block)
    if not block:
        return pd.DataFrame(columns=["claim", "published", "target", "pilot_sd", "planning_sd",
                                     "seeds", "planned_mde", "seeds_needed", "powered",
                                     "family", "why"])
    tasks = len(targets(params)) * len(sizes_of(s))
    names = {agreement_name(score): score for score in TLLIB_WEIGHTED_TAU if score in SCORES}
    return plan({k: block["sd"][score] for k, score in names.items()},
                {k: TLLIB_WEIGHTED_TAU[score] for k, score in names.items()},
                {k: tasks for k in names},
                others=method_claims + sum(score not in TLLIB_WEIGHTED_TAU for score in SCORES),
                pilot_n=int(block["pilot"]["tasks"]))


def plan_shown(plan: pd.DataFrame) -> pd.DataFrame:
    """:func:`tau_plan` for readers (:func:`tlkit.pages.plan_table`), its replicates named
    tasks and its claims by their score; one line saying so when the profile has no pilot."""
    from ...pages import plan_table

    if plan.empty:
        return pd.DataFrame({"plan": ["this profile has no pilot: every score's claim is "
                                      "tested"]})
    names = {agreement_name(s): s for s in SCORES}
    return plan_table(plan.assign(claim=plan["claim"].map(names))).rename(
        columns={"seeds": "tasks", "seeds needed": "tasks needed"})


def unpowered(plan: pd.DataFrame) -> dict[str, str]:
    """The scores' claims the plan leaves out of the family, each with why, in the page's
    words."""
    out = {}
    for r in plan.itertuples(index=False):
        if not r.powered:
            need = (f"{int(r.seeds_needed)}" if r.seeds_needed != float("inf")
                    else "over 1000")
            out[r.claim] = (f"cannot be powered within the budget: {r.seeds} tasks detect a "
                            f"weighted τ of {r.planned_mde:.2f}, above {r.target:.2f}, half the "
                            f"published {r.published:.2f}; it would need {need} tasks")
    return out
