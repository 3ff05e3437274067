r"""The book's verdict rules, stated once, before any result is computed.

A page tests a *family* of claims. Each claim names an effect (a paired difference, a
correlation, ...), the direction the survey or a paper claims for it, and the size published
for it (:math:`\delta \ge 0`; 0 when no size is claimed). With :math:`\hat\theta` the estimate
and :math:`[L, U]` its confidence interval, both multiplied by the claimed sign so that the
claim reads :math:`\theta > 0`:

* the intervals are **adjusted for multiplicity** by Holm's step-down procedure over the
  page's family (Holm, 1979): with the m p-values in increasing order, claim j gets level
  :math:`1 - \alpha/(m - j + 1)` while every smaller p-value was rejected, and from the first
  claim that is not rejected on, every remaining claim gets that claim's level. So an adjusted
  interval excludes 0 exactly when Holm's procedure rejects the claim's null hypothesis, and the
  family-wise error rate is at most :math:`\alpha` (0.05);
* **held**: the adjusted interval lies above 0 (:math:`L > 0`), i.e. it excludes zero in the
  claimed direction;
* **did not hold**: the adjusted interval excludes the claimed effect: it lies below the
  published size (:math:`U < \delta`) when one is published, below 0 (:math:`U < 0`) when not;
* **inconclusive**: anything else. An interval that includes zero is never *held*.

A summary without an interval (a mean over cells, a count) gets no verdict: :func:`verdict`
needs an interval. The pages quote these labels and nothing else as verdicts.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics* 6(2), 65-70.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ALPHA", "VERDICTS", "Claim", "holm_levels", "verdict", "judge"]

#: The family-wise error rate of every page.
ALPHA = 0.05
#: The three verdicts.
VERDICTS = ("held", "did not hold", "inconclusive")


@dataclass(frozen=True)
class Claim:
    """One claim of a page's family.

    Attributes:
        name: a short identifier (``"bnb_dip"``).
        estimate: the effect as measured (in its natural sign).
        interval: ``level -> (low, high)``, the effect's confidence interval at any level
            (e.g. a paired Student-t interval; a bootstrap for a correlation).
        p_value: the two-sided p-value of "no effect" that matches ``interval`` (the interval
            at level ``1 - p`` just touches 0).
        sign: the claimed direction, +1 (the effect is positive) or -1.
        published: the published size of the effect in the claimed direction (0: none).
        description: what the effect is, for tables.
    """

    name: str
    estimate: float
    interval: Callable[[float], tuple[float, float]] = field(repr=False)
    p_value: float
    sign: int = 1
    published: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        if self.sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign!r}")
        if self.published < 0:
            raise ValueError("published is a size in the claimed direction, >= 0")


def holm_levels(p_values: Sequence[float], alpha: float = ALPHA) -> np.ndarray:
    r"""The confidence level of each claim's Holm-adjusted interval (see the module docstring).

    NaN p-values (an effect that could not be measured) get level :math:`1 - \alpha/m` and do
    not count in m.
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
            level = this  # the first claim not rejected: it and every later one use this level
        out[i] = this if level is None else level
    out[np.isnan(p)] = 1 - alpha / m
    return out


def verdict(low: float, high: float, sign: int = 1, published: float = 0.0) -> str:
    """The verdict of one (already adjusted) interval ``[low, high]`` of an effect claimed to
    have ``sign`` and published size ``published`` (module docstring)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    lo, hi = sorted((sign * low, sign * high))
    if lo > 0:
        return "held"
    if hi < published:  # below the published size, or below 0 when none is published
        return "did not hold"
    return "inconclusive"


def judge(claims: Sequence[Claim], alpha: float = ALPHA) -> pd.DataFrame:
    """The verdicts of a page's family of claims, one row per claim.

    Columns: ``claim``, ``description``, ``estimate``, ``ci_low``/``ci_high`` (the unadjusted
    95% interval), ``p_value``, ``level`` (of the adjusted interval), ``adj_low``/``adj_high``
    (the Holm-adjusted interval), ``sign``, ``published`` and ``verdict``.
    """
    names = [c.name for c in claims]
    if len(set(names)) != len(names):
        raise ValueError(f"claim names repeat: {names}")
    levels = holm_levels([c.p_value for c in claims], alpha)
    rows = []
    for c, level in zip(claims, levels, strict=True):
        low, high = c.interval(0.95)
        adj_low, adj_high = c.interval(float(level))
        rows.append(dict(claim=c.name, description=c.description, estimate=c.estimate,
                         ci_low=low, ci_high=high, p_value=c.p_value, level=float(level),
                         adj_low=adj_low, adj_high=adj_high, sign=c.sign,
                         published=c.published,
                         verdict=verdict(adj_low, adj_high, c.sign, c.published)))
    return pd.DataFrame(rows, columns=["claim", "description", "estimate", "ci_low", "ci_high",
                                       "p_value", "level", "adj_low", "adj_high", "sign",
                                       "published", "verdict"])
