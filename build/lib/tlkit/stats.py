r"""Spread and significance of results over seeds.

- :func:`mean_ci`: mean with a Student-t confidence interval.
- :func:`summarize`: :func:`mean_ci` per group of a tidy results table.
- :func:`paired_difference`: paired (by seed) t-test and Wilcoxon signed-rank test.
- :func:`bootstrap_ci`: percentile bootstrap interval for any statistic.
- :func:`holm`: Holm's step-down adjustment of a family of p-values.

Student (1908). The probable error of a mean. Biometrika 6(1).
Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1(6).
Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6(2).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["PairedResult", "Values", "bootstrap_ci", "holm", "mean_ci", "paired_difference",
           "summarize"]

Values = Sequence[float] | np.ndarray | pd.Series
"""One-dimensional numbers: a list, a numpy array or a pandas Series."""


def _as_values(values: Values, name: str = "values") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1; got {level}")


def _sem(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan


def mean_ci(values: Values, level: float = 0.95) -> tuple[float, float, float]:
    r"""Mean and Student-t confidence interval ``(mean, low, high)``.

    .. math::
        \bar x \pm t_{(1+\text{level})/2,\; n-1}\; \frac{s}{\sqrt n},
        \qquad s^2 = \frac{1}{n-1}\sum_i (x_i - \bar x)^2 .

    With a single value the interval is undefined and ``(x, nan, nan)`` is returned.
    Example: ``[1, 2, 3, 4]`` gives mean 2.5, standard error 0.6455, :math:`t_{0.975,3} = 3.1824`,
    interval [0.4457, 4.5543].
    """
    _check_level(level)
    x = _as_values(values)
    mean = float(np.mean(x))
    if len(x) == 1:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf((1.0 + level) / 2.0, len(x) - 1)) * _sem(x)
    return mean, mean - half, mean + half


def summarize(df: pd.DataFrame, by: list[str], value: str, level: float = 0.95) -> pd.DataFrame:
    r"""One row per group of ``df`` with the :func:`mean_ci` of column ``value``.

    Columns are ``by + ["mean", "ci_low", "ci_high", "sem", "n"]``; ``sem`` is
    :math:`s/\sqrt n` (NaN, like the interval, for a group of one). Rows are sorted by the
    ``by`` columns; ``by=[]`` summarises the whole table in one row.
    """
    _check_level(level)
    missing = [c for c in [*by, value] if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}; available: {list(df.columns)}")
    if df.empty:
        raise ValueError("cannot summarise an empty table")
    groups = [((), df)] if not by else df.groupby(by, sort=True, dropna=False, observed=True)
    rows = []
    for key, group in groups:
        keys = key if isinstance(key, tuple) else (key,)
        try:
            x = _as_values(group[value], name=f"{value!r}")
        except ValueError as err:
            raise ValueError(f"group {dict(zip(by, keys, strict=True))}: {err}") from err
        mean, low, high = mean_ci(x, level)
        rows.append((*keys, mean, low, high, _sem(x), len(x)))
    out = pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "sem", "n"])
    return out.astype({"n": "int64"})


@dataclass(frozen=True)
class PairedResult:
    """Result of :func:`paired_difference` (differences are ``a - b``)."""

    mean_diff: float
    ci_low: float
    ci_high: float
    t: float
    p_value: float
    n: int
    wilcoxon_p: float = math.nan


def _paired_arrays(a: Values, b: Values) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        if not a.index.is_unique or not b.index.is_unique:
            raise ValueError("paired series must have unique index labels (one per seed)")
        if set(a.index) != set(b.index):
            only_a = sorted(set(a.index) - set(b.index), key=str)
            only_b = sorted(set(b.index) - set(a.index), key=str)
            raise ValueError(f"unpaired seeds: only in a {only_a}, only in b {only_b}")
        b = b.loc[a.index]
    x, y = _as_values(a, "a"), _as_values(b, "b")
    if len(x) != len(y):
        raise ValueError(f"a and b must be paired: got {len(x)} and {len(y)} values")
    if len(x) < 2:
        raise ValueError(f"a paired test needs at least 2 pairs; got {len(x)}")
    return x, y


def paired_difference(
    a: Values,
    b: Values,
    level: float = 0.95,
) -> PairedResult:
    r"""Paired comparison of two conditions run with the same seeds.

    With differences :math:`d_i = a_i - b_i` (pairs matched by position, or by index label when
    both are pandas Series, e.g. indexed by seed):

    .. math::
        \bar d = \frac1n \sum_i d_i, \quad s_d^2 = \frac{1}{n-1}\sum_i (d_i - \bar d)^2, \quad
        t = \frac{\bar d}{s_d/\sqrt n},

    two-sided :math:`p = 2\,P(T_{n-1} > |t|)` (``scipy.stats.ttest_rel``), and the interval
    :math:`\bar d \pm t_{(1+\text{level})/2,\,n-1}\, s_d/\sqrt n`. ``wilcoxon_p`` is the two-sided
    Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``; exact for small n), NaN when every
    difference is zero. With n = 5 its smallest possible value is 2/2^5 = 0.0625, so at least
    6 pairs are needed for it to reach 0.05. If all differences are equal and nonzero,
    :math:`s_d = 0` and ``t`` is infinite.

    Raises ``ValueError`` if the lengths differ or there are fewer than 2 pairs.
    """
    _check_level(level)
    x, y = _paired_arrays(a, b)
    d = x - y
    mean_diff, low, high = mean_ci(d, level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_rel(x, y)
    t, p = float(res.statistic), float(res.pvalue)
    if np.all(d == d[0]) and d[0] != 0:
        t, p = math.copysign(math.inf, d[0]), 0.0
    wilcoxon_p = math.nan
    if np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            wilcoxon_p = float(sps.wilcoxon(x, y).pvalue)
    return PairedResult(mean_diff, low, high, t, p, len(d), wilcoxon_p)


def bootstrap_ci(
    values: Values,
    stat: Callable[[np.ndarray], float] = np.mean,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    r"""Percentile bootstrap interval ``(stat(values), low, high)``.

    Draw ``n_boot`` resamples :math:`x^{*b}` of size n with replacement (seeded), compute
    :math:`\theta^{*b} = \text{stat}(x^{*b})`, and return the :math:`(1-\text{level})/2` and
    :math:`(1+\text{level})/2` empirical quantiles of :math:`\theta^{*}` (Efron & Tibshirani,
    1993, ch. 13). Unlike :func:`mean_ci` it makes no normality assumption, but with the few
    seeds typical of deep-learning runs it is too narrow: it cannot see beyond the observed range.
    """
    _check_level(level)
    x = _as_values(values)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1; got {n_boot}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    boot = np.array([float(stat(x[i])) for i in idx])
    low, high = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(stat(x)), float(low), float(high)


def holm(p_values: Values) -> np.ndarray:
    r"""Holm's step-down adjusted p-values (Holm, 1979).

    With the m p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted value of
    :math:`p_{(i)}` is :math:`\max_{j \le i} \min(1, (m - j + 1)\, p_{(j)})`; NaN stays NaN and
    does not count in m. Rejecting where the adjusted value is below 0.05 controls the
    family-wise error rate at 5%.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
