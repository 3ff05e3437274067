r"""How many seeds a paired comparison needs: interval half-widths and detectable effects.

For a paired design with n seeds whose per-seed differences have standard deviation
:math:`s`, the Student-t interval of the mean difference has half-width

.. math::
    h(n) = t_{(1+\text{level})/2,\; n-1}\, \frac{s}{\sqrt n},

and the minimum detectable effect of the two-sided paired t-test at level :math:`\alpha` with
power :math:`1-\beta` is, in the usual normal-approximation form with t quantiles,

.. math::
    \mathrm{MDE}(n) = \big(t_{1-\alpha/2,\, n-1} + t_{1-\beta,\, n-1}\big)\, \frac{s}{\sqrt n}

(Cohen, 1988, *Statistical power analysis for the behavioral sciences*, ch. 2; for a family
of m claims adjusted by Holm, the first test runs at :math:`\alpha/m`, the worst case, which is
what :func:`mde` uses when ``family`` > 1; it is also the first of the 2m one-sided tests of
:mod:`tlkit.verdicts`, at :math:`\alpha/(2m)` one-sided). :func:`seeds_for` inverts
:math:`h(n)`: the smallest n whose half-width is at most a target; :func:`seeds_for_mde`
inverts :math:`\mathrm{MDE}(n)` at the family's Holm level, the plan the verdicts need. The
spread :math:`s` is measured on a pilot run, on seeds no page reports, or on the run itself
(:func:`spread`). :func:`plan` makes a page's plan: per claim, the detectable effect at its
seeds against half its published size, and which claims the budget cannot power.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from .checks import is_int

__all__ = ["half_width", "mde", "seeds_for", "seeds_for_mde", "spread", "planning_sd", "plan"]


def _check(sd: float, n: int) -> None:
    if not (sd >= 0 and math.isfinite(sd)):
        raise ValueError(f"sd must be a finite number >= 0, got {sd!r}")
    if not is_int(n, exact=False) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (a paired interval needs two), got {n!r}")


def half_width(sd: float, n: int, level: float = 0.95) -> float:
    """Half-width of the Student-t interval of a mean of ``n`` paired differences."""
    _check(sd, n)
    return float(sps.t.ppf((1 + level) / 2, n - 1)) * sd / math.sqrt(n)


def mde(sd: float, n: int, alpha: float = 0.05, power: float = 0.8, family: int = 1) -> float:
    """Minimum detectable effect of a two-sided paired t-test (module docstring); ``family``
    claims adjusted by Holm test the first at ``alpha / family``."""
    _check(sd, n)
    a = alpha / max(int(family), 1)
    df = n - 1
    return (float(sps.t.ppf(1 - a / 2, df)) + float(sps.t.ppf(power, df))) * sd / math.sqrt(n)


def seeds_for(sd: float, target: float, level: float = 0.95, most: int = 1000) -> int:
    """The smallest number of seeds n >= 2 with :func:`half_width` <= ``target``.

    Raises ``ValueError`` when even ``most`` seeds are not enough.
    """
    if not target > 0:
        raise ValueError(f"target must be > 0, got {target!r}")
    for n in range(2, most + 1):
        if half_width(sd, n, level) <= target:
            return n
    raise ValueError(f"more than {most} seeds needed for a half-width of {target} at sd {sd}")


def spread(differences: Sequence[float]) -> float:
    """Sample standard deviation (n - 1) of per-seed differences."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        raise ValueError("the spread needs at least two differences")
    return float(np.std(d, ddof=1))


def seeds_for_mde(sd: float, target: float, alpha: float = 0.05, power: float = 0.8,
                  family: int = 1, most: int = 1000) -> int:
    """The smallest number of seeds n >= 2 whose :func:`mde` at the first Holm level of a
    family of ``family`` claims is at most ``target``. Raises ``ValueError`` beyond ``most``."""
    if not target > 0:
        raise ValueError(f"target must be > 0, got {target!r}")
    for n in range(2, most + 1):
        if mde(sd, n, alpha, power, family) <= target:
            return n
    raise ValueError(f"more than {most} seeds needed to detect {target} at sd {sd}")


def planning_sd(sd: float, pilot_n: int, upper: float = 0.8) -> float:
    r"""The spread a plan assumes from a pilot's spread ``sd`` on ``pilot_n`` seeds: its
    one-sided ``upper`` confidence bound,
    :math:`s \sqrt{(n-1) / \chi^2_{1-\text{upper},\, n-1}}`, so that a pilot that happened to
    come out tight does not leave the plan short of seeds (Browne, 1995, *Statistics in
    Medicine* 14(17), 1933-1940). ``pilot_n`` None: ``sd`` as it is."""
    if pilot_n is None:
        return float(sd)
    if not is_int(pilot_n, exact=False) or pilot_n < 2:
        raise ValueError(f"a pilot needs at least two seeds, got {pilot_n!r}")
    return float(sd) * math.sqrt((pilot_n - 1) / float(sps.chi2.ppf(1 - upper, pilot_n - 1)))


def plan(pilot_sd: Mapping[str, float], published: Mapping[str, float],
         seeds: Mapping[str, int], others: int = 0, alpha: float = 0.05,
         power: float = 0.8, pilot_n: int | None = None,
         untestable: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A page's plan, made before any of its results: per claim with a published size, the
    target (half the published size), the pilot's spread, the spread planned for
    (:func:`planning_sd` with ``pilot_n``, the pilot's seeds), the seeds the profile gives
    it, the detectable effect there (:func:`mde` at the first Holm level of the family), the
    seeds that would reach the target, ``powered`` (the claim is tested: the detectable effect
    reaches the target and the experiment can show the effect) and ``why`` (empty for a
    tested claim; else ``"cannot be powered"`` or the reason in ``untestable``).

    The family is the powered claims and ``others`` claims with no published size (which are
    always tested); a claim that cannot be powered leaves it, which lowers the level the rest
    are tested at, so the plan is made again until no further claim leaves. A claim named in
    ``untestable`` (claim -> reason: a precondition of its experiment failed) is out of the
    family from the start.
    """
    names = [k for k in published if published[k] > 0]
    missing = [k for k in names if k not in pilot_sd or k not in seeds]
    if missing:
        raise ValueError(f"the plan needs a pilot spread and seeds for {', '.join(missing)}")
    barred = dict(untestable or {})
    kept = [k for k in names if k not in barred]
    while True:
        family = len(kept) + others
        rows = []
        for k in names:
            target = published[k] / 2
            sd = planning_sd(pilot_sd[k], pilot_n)
            detect = mde(sd, int(seeds[k]), alpha, power, max(family, 1))
            try:
                needed = seeds_for_mde(sd, target, alpha, power, max(family, 1))
            except ValueError:
                needed = math.inf
            rows.append(dict(claim=k, published=published[k], target=target,
                             pilot_sd=pilot_sd[k], planning_sd=sd, seeds=int(seeds[k]),
                             planned_mde=detect, seeds_needed=needed,
                             powered=detect <= target, family=family))
        out = pd.DataFrame(rows, columns=["claim", "published", "target", "pilot_sd",
                                          "planning_sd", "seeds", "planned_mde",
                                          "seeds_needed", "powered", "family"])
        powered = set(out.loc[out["powered"], "claim"])
        now = [k for k in kept if k in powered]  # claims only leave: the plan terminates
        if now == kept:
            why = [barred.get(k, "" if k in kept else "cannot be powered") for k in out["claim"]]
            return out.assign(powered=out["claim"].isin(kept), why=why)
        kept = now
