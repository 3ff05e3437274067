"""The claims the layer-transfer chapter tests, and the numbers its page glues.

:func:`claims` builds the page's family of claims from one run's table, each a
:class:`tlkit.verdicts.Claim` about the mean over seeds of a paired, per-seed quantity, with the
size published for it (Yosinski et al., 2014). Their verdicts follow the rules of
:mod:`tlkit.verdicts` (Holm-adjusted over this family). :func:`power_table` states, for each
claim, the interval half-width reached, the half-width the design aimed at (half the published
size) and the minimum detectable effect. The sentences are the notebook's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...analysis import correlation_claim, mean_claim
from ...verdicts import Claim
from .axis import axis_gains, target_best_depths
from .protocol import (
    PUBLISHED,
    boost,
    dip,
    dip_depths,
    repair,
    sanity,
    top_layer_drop,
)

__all__ = ["PUBLISHED", "CLAIM_CONDITIONS", "effects", "claims", "power_plan", "sanity_check",
           "trend_text"]

#: The protocol conditions whose seeds each claim with a published size is measured over.
CLAIM_CONDITIONS: dict[str, tuple[str, ...]] = {
    "dip": ("BnB",), "repair": ("BnB", "BnB+"), "drop": ("AnB",), "drop_2": ("AnB",),
    "boost": ("AnB+",)}


def power_plan(params: Mapping[str, Any],
               untestable: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The page's plan, from the profile alone, before any result (:func:`tlkit.power.plan`):
    per claim with a published size, the spread its pilot measured (``power.sd``; the pilot's
    seeds in ``power.pilot``), the seeds the profile gives it, the detectable effect at the
    Holm level of the family (the trends included), and whether that reaches half the
    published size. ``untestable`` (:func:`~.preconditions.untestable`): the claims whose
    experiment cannot show their effect, out of the family with their reason. Empty when the
    profile has no pilot: then every claim is tested."""
    from ...power import plan
    from .design import design_settings, seeds_of

    s = design_settings(params)
    block = s.get("power") or {}
    sd = dict(block.get("sd") or {})
    if not sd:
        return pd.DataFrame(columns=["claim", "published", "target", "pilot_sd", "planning_sd",
                                     "seeds", "planned_mde", "seeds_needed", "powered",
                                     "family", "why"])
    middle_run = bool(set(s["middle"]) & set(s["depths"]))
    names = [k for k in CLAIM_CONDITIONS if (middle_run or k not in ("dip", "repair"))
             and (k != "drop_2" or len(s["pairs"]) > 1)]
    seeds = {k: min(seeds_of(params, c) for c in CLAIM_CONDITIONS[k]) for k in names}
    published = {k: PUBLISHED[k.split("_")[0]] for k in names}
    pilot_n = (block.get("pilot") or {}).get("seeds")
    return plan(sd, published, seeds, others=2 if s.get("axes") else 0, pilot_n=pilot_n,
                untestable={k: v for k, v in (untestable or {}).items() if k in names})


def pilot(params: Mapping[str, Any], seeds: int = 4, store: Any = None,
          executor: Any = None) -> dict[str, Any]:
    """Runs the page's protocol on ``seeds`` pilot seeds (from
    :data:`~tlkit.experiments.profile.PILOT_SEEDS_FROM`, which no page reports; every condition
    gets ``seeds``; the distance axis, whose claims have no published size, is left out) and
    returns ``sd``, the spread over seeds of each claim with a published size (what
    ``power.sd`` of the profile records, :func:`power_plan`), and the values of the
    preconditions it measures on validation accuracy, ``base_b`` and ``random_relative``
    (what ``power.pilot`` records, :func:`~.preconditions.preconditions`)."""
    from ... import results, sweep
    from ...power import spread
    from ..profile import PILOT_SEEDS_FROM
    from .design import design_settings, specs
    from .preconditions import pilot_values

    run = {**params, "first_seed": PILOT_SEEDS_FROM, "seeds": seeds, "axes": []}
    s = design_settings(run)
    df = results.frame(sweep.run(specs(run), store=store, executor=executor))
    found, _ = effects(df, None, s["pairs"], s["middle"])
    sd = {k: round(spread(e["values"].dropna()), 4) for k, e in found.items()
          if k.split("_")[0] in PUBLISHED and PUBLISHED[k.split("_")[0]] > 0}
    return dict(sd=sd, **pilot_values(df, s["pairs"][0][0]))


def sanity_check(df: pd.DataFrame, split: str, within: float = 0.01) -> dict[str, Any]:
    """BnB(1) - baseB on ``split``: its mean, 95% interval and number of seeds, and ``within``:
    whether the whole interval lies within ``±within`` of zero (judged on the interval, not
    on the mean)."""
    from ...analysis import t_interval

    d = sanity(df, split)
    low, high = t_interval(d, 0.95)
    return dict(mean=float(d.mean()), low=low, high=high, seeds=len(d),
                within=bool(-within <= low and high <= within))


def effects(df: pd.DataFrame, distances: pd.DataFrame | None, pairs: Sequence[Sequence[str]],
            middle: Sequence[int]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The per-seed values behind every claim, and the values the page glues with them.

    ``pairs[0]`` is the primary (near, far) pair; the BnB and AnB+ claims are read on its near
    split. Effects: ``dip`` (BnB - baseB at the middle depth chosen on validation, claimed
    negative), ``repair`` (BnB+ - BnB there, positive), ``drop``, ``drop_2``, ... (AnB/baseB at
    the top depth, near minus far, one per pair, positive), ``boost`` (AnB+ - baseB averaged
    over depths, positive) and, with a distance axis, ``trend`` and ``trend_plus`` (the rank
    correlation, over the targets, of distance and best frozen or fine-tuned depth, negative).
    Each is a dict with ``values`` (a Series by seed; for the trends ``pairs``, the distances
    and best depths), ``sign``, ``published``, ``description`` and ``statement`` (the claim in
    words).
    """
    near = pairs[0][0]
    out: dict[str, dict[str, Any]] = {}
    glue: dict[str, Any] = {}

    def add(name: str, values: pd.Series, description: str, statement: str,
            sign: int = 1) -> None:
        out[name] = dict(values=values, sign=sign, published=PUBLISHED[name.split("_")[0]],
                         description=description, statement=statement)

    try:
        depth, d = dip(df, near, middle)
    except ValueError:  # no middle depth was run
        depth = None
    if depth is not None:
        per_seed = dip_depths(df, near, middle)
        glue["dip_depth"] = depth
        glue["dip_depths"] = ", ".join(str(n) for n in sorted(set(per_seed)))
        add("dip", d, "BnB - baseB at the middle depth chosen on the other seeds' validation",
            "Freezing a network's own middle layers and retraining the rest (BnB) falls "
            "below baseB: fragile co-adaptation", sign=-1)
        add("repair", repair(df, near, per_seed), "BnB+ - BnB at that depth",
            "Fine-tuning the copied layers too (BnB+) repairs that dip")
    for i, (n_name, f_name) in enumerate(pairs):
        top, d = top_layer_drop(df, n_name, f_name)
        name = "drop" if i == 0 else f"drop_{i + 1}"
        glue[f"{name}_depth"] = top
        add(name, d, f"AnB/baseB at n = {top}: {n_name} - {f_name}",
            f"Frozen top layers from the near source ({n_name}) keep more of baseB than "
            f"from the far one ({f_name})")
    add("boost", boost(df, near), "AnB+ - baseB, mean over depths",
        "Copying layers and fine-tuning them (AnB+) beats baseB: a lasting boost")
    if distances is not None and "part" in df and (df["part"] == "axis").any():
        best = target_best_depths(axis_gains(df), distances)
        for condition, name in (("AnB", "trend"), ("AnB+", "trend_plus")):
            part = best[best["condition"] == condition]
            out[name] = dict(pairs=(part["otdd_pixels"].to_numpy(), part["best_depth"].to_numpy()),
                             sign=-1, published=0.0,
                             description=f"rank correlation of distance and best {condition} "
                                         f"depth over {len(part)} targets",
                             statement=f"The farther the target, the fewer "
                                       f"{'frozen' if condition == 'AnB' else 'fine-tuned'} "
                                       "layers it is best to copy")
    return out, glue


def claims(found: dict[str, dict[str, Any]], plan: pd.DataFrame | None = None) -> list[Claim]:
    """The family of claims on :func:`effects`: a mean over seeds
    (:func:`tlkit.analysis.mean_claim`) or a rank correlation over targets
    (:func:`tlkit.analysis.correlation_claim`); with a ``plan`` (:func:`power_plan`), without
    the claims it could not power, which are not tested."""
    untested = set() if plan is None else set(plan.loc[~plan["powered"].astype(bool), "claim"])
    out = []
    for name, e in found.items():
        if name in untested:
            continue
        if "pairs" in e:
            out.append(correlation_claim(name, *e["pairs"], sign=e["sign"],
                                         description=e["description"]))
        else:
            out.append(mean_claim(name, e["values"], sign=e["sign"], published=e["published"],
                                  description=e["description"]))
    return out


def trend_text(judged: pd.DataFrame, found: dict[str, dict[str, Any]], name: str) -> str:
    """A trend claim (``trend`` or ``trend_plus`` of :func:`effects`) for the page's prose:
    ``"ρ = -0.43 [-0.90, +0.45]"`` (Spearman's rank correlation with its 95% interval); when
    every target had the same best depth no rank correlation exists, and the text says so."""
    _, depths = found[name]["pairs"]
    if len(set(depths.tolist())) <= 1:
        depth = int(depths[0]) if len(depths) else 0
        return f"undefined, for the best depth was {depth} for every target"
    r = judged.set_index("claim").loc[name]
    return f"ρ = {r.estimate:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]"
