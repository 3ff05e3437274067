r"""The book's verdict rules, stated once, before any result is computed.

A page tests a *family* of claims, fixed before any run. Each claim names an effect
:math:`\theta` (a paired difference, a correlation, ...), the direction claimed for it, the size
published for it (:math:`\delta \ge 0`; 0 when no size is claimed), and a **margin**
:math:`\Delta \ge 0`: the smallest effect that would still count as the claim reproducing
(stated with the claim; by default half the published size, :func:`default_margin`). Write
:math:`\theta_c` for the effect multiplied by the claimed sign, so that the claim reads
:math:`\theta_c > 0`. Each claim is then **two one-sided tests** (Schuirmann, 1987):

* *held*: the test of :math:`H_0: \theta_c \le 0` against :math:`\theta_c > 0`;
* *did not hold*: the test of :math:`H_0: \theta_c \ge \Delta` against
  :math:`\theta_c < \Delta` -- the effect is shown to be smaller than the margin (the upper
  test of an equivalence test; an effect shown to go the other way also counts).

The :math:`2m` one-sided p-values of a family of m claims are adjusted together by Holm's
step-down procedure (Holm, 1979): in increasing order, hypothesis j gets the one-sided level
:math:`\alpha/(2m - j + 1)` while every smaller p-value was rejected, and from the first one
not rejected on, every remaining hypothesis gets that one's level. Each claim's **adjusted
interval** :math:`[L, U]` is its one-sided lower bound at the level of its *held* test and its
one-sided upper bound at the level of its *did not hold* test, so that

* **held** when :math:`L > 0`, exactly when Holm rejects the first null;
* **did not hold** when :math:`U < \Delta` (and not held), exactly when Holm rejects the second;
* **inconclusive** otherwise. An interval that includes zero is never *held*.

The chance of any wrong *held* or wrong *did not hold* on a page is at most :math:`\alpha`
(0.05). A claim both held and below its margin is *held* (its direction holds; the table gives
its size). A summary without an interval (a mean over cells, a count) gets no verdict.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics* 6(2), 65-70.
Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
approach for assessing the equivalence of average bioavailability. *Journal of
Pharmacokinetics and Biopharmaceutics* 15(6), 657-680.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ALPHA", "VERDICTS", "Claim", "default_margin", "holm_levels", "verdict", "judge"]

#: The family-wise error rate of every page.
ALPHA = 0.05
#: The three verdicts.
VERDICTS = ("held", "did not hold", "inconclusive")


def default_margin(published: float) -> float:
    """The margin of a claim that states none: half its published size (0 when none is
    published: then only an effect shown to go the other way makes it *did not hold*)."""
    return published / 2


@dataclass(frozen=True)
class Claim:
    """One claim of a page's family.

    Attributes:
        name: a short identifier (``"bnb_dip"``).
        estimate: the effect as measured (in its natural sign).
        interval: ``level -> (low, high)``, the effect's two-sided confidence interval at any
            level (e.g. a paired Student-t interval; a bootstrap for a correlation).
        p_value: the two-sided p-value of "no effect" that matches ``interval`` (the interval
            at level ``1 - p`` just touches 0).
        sign: the claimed direction, +1 (the effect is positive) or -1.
        published: the published size of the effect in the claimed direction (0: none).
        description: what the effect is, for tables.
        margin: the smallest size, in the claimed direction, that still counts as the claim
            reproducing (``None``: :func:`default_margin` of ``published``).
        below: ``value -> p``, the one-sided p-value of :math:`\\theta \\ge` value in the
            natural sign (small when the effect is clearly below ``value``); ``None``: found
            from ``interval`` by bisection.
    """

    name: str
    estimate: float
    interval: Callable[[float], tuple[float, float]] = field(repr=False)
    p_value: float
    sign: int = 1
    published: float = 0.0
    description: str = ""
    margin: float | None = None
    below: Callable[[float], float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign!r}")
        if self.published < 0:
            raise ValueError("published is a size in the claimed direction, >= 0")
        if self.margin is not None and not self.margin >= 0:
            raise ValueError(f"margin is a size in the claimed direction, >= 0, got "
                             f"{self.margin!r}")

    @property
    def delta(self) -> float:
        """The margin in use (``margin``, or :func:`default_margin` of ``published``)."""
        return default_margin(self.published) if self.margin is None else float(self.margin)

    def p_below(self, value: float) -> float:
        """One-sided p-value of :math:`\\theta \\ge` ``value`` (natural sign)."""
        if not math.isfinite(self.estimate):
            return math.nan
        if self.below is not None:
            return float(self.below(value))
        return _bisect_below(self.interval, self.estimate, value)

    def p_held(self) -> float:
        """One-sided p-value of :math:`\\theta_c \\le 0` (rejected: *held*)."""
        p = self.p_below(0.0)
        return 1 - p if self.sign == 1 else p

    def p_not(self) -> float:
        """One-sided p-value of :math:`\\theta_c \\ge \\Delta` (rejected: *did not hold*)."""
        if self.sign == 1:
            return self.p_below(self.delta)
        return 1 - self.p_below(-self.delta)

    def bounds(self, held_level: float, not_level: float) -> tuple[float, float]:
        """``(L, U)`` in the claimed direction: the one-sided lower bound at ``held_level`` and
        the one-sided upper bound at ``not_level``."""
        low = _sided(self.interval(2 * held_level - 1), self.sign)[0]
        high = _sided(self.interval(2 * not_level - 1), self.sign)[1]
        return low, high


def _sided(interval: tuple[float, float], sign: int) -> tuple[float, float]:
    lo, hi = sorted((sign * interval[0], sign * interval[1]))
    return lo, hi


def _bisect_below(interval: Callable[[float], tuple[float, float]], estimate: float,
                  value: float, steps: int = 50) -> float:
    """p of :math:`\\theta \\ge` value from a two-sided interval: the one-sided level at which
    the upper bound (the lower bound, when the estimate is above ``value``) touches it."""
    above = estimate >= value
    bound = (lambda lv: interval(lv)[0]) if above else (lambda lv: interval(lv)[1])
    lo, hi = 1e-9, 1 - 1e-12  # two-sided levels; the bound moves away from the estimate

    def beyond(level: float) -> bool:
        b = bound(level)
        return (b > value) if above else (b < value)

    if not math.isfinite(bound(hi)):
        return math.nan
    if beyond(hi):
        return 1.0 if above else 0.0
    if not beyond(lo):
        return 0.5
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if beyond(mid) else (lo, mid)
    p = (1 - lo) / 2  # one-sided tail beyond the value
    return 1 - p if above else p


def holm_levels(p_values: Sequence[float], alpha: float = ALPHA) -> np.ndarray:
    r"""The confidence level of each hypothesis's Holm-adjusted bound (module docstring):
    :math:`1 - \alpha/(k - j + 1)` for the j-th smallest of k p-values while every smaller one
    was rejected, and the first unrejected one's level from there on.

    NaN p-values (an effect that could not be measured) get level :math:`1 - \alpha/k` and do
    not count in k.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return np.full(p.shape, 1 - alpha)
    order = ok[np.argsort(p[ok], kind="stable")]
    level = None
    for rank, i in enumerate(order):
        this = 1 - alpha / (m - rank)
        if level is None and p[i] > alpha / (m - rank):
            level = this  # the first one not rejected: it and every later one use this level
        out[i] = this if level is None else level
    out[np.isnan(p)] = 1 - alpha / m
    return out


def verdict(low: float, high: float, sign: int = 1, margin: float = 0.0) -> str:
    """The verdict of one claim from its adjusted bounds ``[low, high]`` (natural sign) of an
    effect claimed to have ``sign``, with margin ``margin`` (module docstring)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    lo, hi = sorted((sign * low, sign * high))
    if lo > 0:
        return "held"
    if hi < margin:
        return "did not hold"
    return "inconclusive"


COLUMNS = ["claim", "description", "estimate", "ci_low", "ci_high", "p_value", "p_held",
           "p_not", "level", "level_not", "adj_low", "adj_high", "sign", "published", "margin",
           "verdict"]


def judge(claims: Sequence[Claim], alpha: float = ALPHA) -> pd.DataFrame:
    """The verdicts of a page's family of claims, one row per claim.

    Columns: ``claim``, ``description``, ``estimate``, ``ci_low``/``ci_high`` (the unadjusted
    two-sided 95% interval), ``p_value`` (two-sided, of no effect), ``p_held``/``p_not`` (the
    two one-sided tests), ``level``/``level_not`` (their Holm-adjusted one-sided levels),
    ``adj_low``/``adj_high`` (the adjusted bounds, natural sign), ``sign``, ``published``,
    ``margin`` and ``verdict``.
    """
    names = [c.name for c in claims]
    if len(set(names)) != len(names):
        raise ValueError(f"claim names repeat: {names}")
    m = len(claims)
    levels = holm_levels([c.p_held() for c in claims] + [c.p_not() for c in claims], alpha)
    rows = []
    for i, c in enumerate(claims):
        low, high = c.interval(0.95)
        lv_held, lv_not = float(levels[i]), float(levels[m + i])
        lo_c, hi_c = c.bounds(lv_held, lv_not) if math.isfinite(c.estimate) else (
            math.nan, math.nan)
        adj_low, adj_high = (lo_c, hi_c) if c.sign == 1 else (-hi_c, -lo_c)
        rows.append(dict(claim=c.name, description=c.description, estimate=c.estimate,
                         ci_low=low, ci_high=high, p_value=c.p_value, p_held=c.p_held(),
                         p_not=c.p_not(), level=lv_held, level_not=lv_not, adj_low=adj_low,
                         adj_high=adj_high, sign=c.sign, published=c.published,
                         margin=c.delta,
                         verdict=verdict(adj_low, adj_high, c.sign, c.delta)))
    return pd.DataFrame(rows, columns=COLUMNS)
