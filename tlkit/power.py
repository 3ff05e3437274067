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
what :func:`mde` uses when ``family`` > 1). :func:`seeds_for` inverts :math:`h(n)`: the smallest
n whose half-width is at most a target, e.g. half the published size of the effect. The
spread :math:`s` is measured, on a pilot run or on the run itself (:func:`spread`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from .checks import is_int

__all__ = ["half_width", "mde", "seeds_for", "spread"]


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
