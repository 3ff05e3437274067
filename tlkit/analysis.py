r"""What the experiments share when they read a results table: baselines, paired differences,
their direction and intervals as text.

Every experiment compares conditions *paired by seed*: runs of one seed share what the design
says they share (the target subsample, the test set), so the difference of two conditions is
taken seed by seed, :math:`d_s = a_s - b_s`, and summarised by its mean and a Student-t
interval over seeds (:func:`tlkit.stats.paired_difference`).

- :func:`with_baseline`: join each run with the baseline run (scratch, baseB, ...) of the same
  cell and seed;
- :func:`paired_by_seed` and :func:`paired_tests`: one paired difference, or one per group;
- :func:`mean_claim`: a :class:`~tlkit.verdicts.Claim` about the mean of per-seed values, with
  its Student-t interval at any level (for the verdict rules of :mod:`tlkit.verdicts`);
- :func:`choose_on_validation` and :func:`cross_fit` (from :mod:`tlkit.choices`): an argmax
  over validation accuracy, never test, and the same made for each seed on the other seeds;
- :func:`direction`: ``positive`` / ``negative`` / ``no clear difference`` from an interval;
- :func:`format_interval`: ``+0.012 [-0.003, +0.027]``.

Distances between the datasets of runs are :mod:`tlkit.measures.pairs`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .choices import choose_on_validation, cross_fit
from .stats import PairedResult, holm, paired_difference

__all__ = [
    "DIRECTIONS",
    "direction",
    "format_interval",
    "format_mean",
    "format_intervals",
    "with_baseline",
    "paired_by_seed",
    "paired_tests",
    "mean_claim",
    "welch_claim",
    "correlation_claim",
    "t_interval",
    "welch_interval",
    "power_table",
    "choose_on_validation",
    "cross_fit",
]

#: The labels of :func:`direction`.
DIRECTIONS = ("positive", "negative", "no clear difference")


def direction(low: float, high: float) -> str:
    """``positive`` when the interval lies above 0, ``negative`` below 0, else
    ``no clear difference`` (also when the interval is undefined)."""
    if low > 0:
        return "positive"
    if high < 0:
        return "negative"
    return "no clear difference"


def format_interval(mean: float, low: float, high: float, *, signed: bool = True,
                    digits: int = 3) -> str:
    """``mean [low, high]`` with ``digits`` decimals (``+`` signs when ``signed``); the mean alone
    when the interval is undefined (a single seed)."""
    f = f"+.{digits}f" if signed else f".{digits}f"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:{f}}"
    return f"{mean:{f}} [{low:{f}}, {high:{f}}]"


def format_mean(values: Sequence[float] | pd.Series, level: float = 0.95,
                missing: str = "not measured") -> str:
    """The mean of per-seed ``values`` with its Student-t interval (:func:`t_interval`), as
    :func:`format_interval` writes it; ``missing`` for fewer than two values (a description,
    no verdict)."""
    v = pd.Series(values, dtype=float).dropna()
    if len(v) < 2:
        return missing
    low, high = t_interval(v, level)
    return format_interval(float(v.mean()), low, high)


def format_intervals(frame: pd.DataFrame, mean: str, low: str, high: str, *,
                     signed: bool = True, digits: int = 3) -> list[str]:
    """:func:`format_interval` of every row of ``frame`` (columns ``mean``, ``low``,
    ``high``), for a table's column."""
    return [format_interval(m, lo, hi, signed=signed, digits=digits)
            for m, lo, hi in zip(frame[mean], frame[low], frame[high], strict=True)]


def with_baseline(runs: pd.DataFrame, baseline: pd.DataFrame, on: Sequence[str],
                  value: str = "test_acc", name: str = "baseline") -> pd.DataFrame:
    """``runs`` with a column ``name``: the ``value`` of the ``baseline`` row with the same
    ``on`` columns (which include ``seed`` for a paired design).

    Raises ``ValueError`` when a cell has more than one baseline row, or a run has none.
    """
    on = list(on)
    base = baseline.set_index(on)[value].rename(name)
    if not base.index.is_unique:
        raise ValueError(f"more than one baseline run per {', '.join(on)}")
    out = runs.join(base, on=on)
    if out[name].isna().any():
        missing = out.loc[out[name].isna(), on].drop_duplicates().head(3)
        raise ValueError(f"runs without their baseline run: {missing.to_dict('records')}")
    return out


def paired_by_seed(a: pd.DataFrame, b: pd.DataFrame, value: str = "test_acc",
                   level: float = 0.95) -> PairedResult:
    """The paired difference ``a - b`` of ``value`` between two sets of runs, matched by their
    ``seed`` column (each seed once in each)."""
    return paired_difference(a.set_index("seed")[value], b.set_index("seed")[value], level)


def paired_tests(table: pd.DataFrame, keys: Sequence[str], a: str, b: str,
                 level: float = 0.95) -> pd.DataFrame:
    """One paired test per group of ``keys``: column ``a`` minus column ``b``, seed by seed.

    ``table`` has one row per group and seed (column ``seed``). Columns of the result: the
    ``keys``, ``mean_a``, ``mean_b``, ``diff`` (the mean difference), ``ci_low``, ``ci_high``,
    ``p_value`` (paired t-test), ``wilcoxon_p``, ``p_holm`` (Holm-adjusted over every row),
    ``seeds`` and ``direction`` (:func:`direction` of the interval). Groups with fewer than two
    seeds are left out.
    """
    keys = list(keys)
    rows = []
    for key, part in table.groupby(keys, sort=True):
        if len(part) < 2:
            continue
        r = paired_difference(part.set_index("seed")[a], part.set_index("seed")[b], level)
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(keys, key, strict=True), mean_a=float(part[a].mean()),
                         mean_b=float(part[b].mean()), diff=r.mean_diff, ci_low=r.ci_low,
                         ci_high=r.ci_high, p_value=r.p_value, wilcoxon_p=r.wilcoxon_p,
                         seeds=r.n, direction=direction(r.ci_low, r.ci_high)))
    columns = [*keys, "mean_a", "mean_b", "diff", "ci_low", "ci_high", "p_value",
               "wilcoxon_p", "seeds", "direction"]
    out = pd.DataFrame(rows, columns=columns)
    out["p_holm"] = holm(out["p_value"]) if len(out) else []
    return out


def t_interval(values: Sequence[float] | pd.Series, level: float) -> tuple[float, float]:
    """Student-t interval of the mean of ``values`` at ``level`` (NaN with fewer than two)."""
    from scipy import stats as sps

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return math.nan, math.nan
    half = float(sps.t.ppf((1 + level) / 2, len(v) - 1)) * float(np.std(v, ddof=1)) / math.sqrt(
        len(v))
    return float(v.mean()) - half, float(v.mean()) + half


def _t_below(mean: float, se: float, df: float) -> Any:
    """``value -> p`` of :math:`\\theta \\ge` value for a Student-t estimate ``mean`` with
    standard error ``se`` on ``df`` degrees of freedom (a point mass when ``se`` is 0)."""
    from scipy import stats as sps

    def below(value: float) -> float:
        if not (math.isfinite(mean) and math.isfinite(se)) or df < 1:
            return math.nan
        if se == 0:
            return 0.0 if mean < value else 1.0 if mean > value else 0.5
        return float(sps.t.cdf((mean - value) / se, df))

    return below


def mean_claim(name: str, values: Sequence[float] | pd.Series, *, sign: int = 1,
               published: float = 0.0, description: str = "",
               margin: float | None = None) -> Any:
    r"""A :class:`tlkit.verdicts.Claim` that the mean of ``values`` (one per seed: a paired
    difference, a per-seed correlation, ...) has the sign ``sign``.

    The interval at level :math:`\ell` is :math:`\bar d \pm t_{(1+\ell)/2,\,n-1}\, s/\sqrt n`
    and the p-values those of the one-sample t-tests, so the two agree.
    """
    from scipy import stats as sps

    from .verdicts import Claim

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        p = math.nan
    elif np.all(v == v[0]):
        p = 0.0 if v[0] != 0 else 1.0
    else:
        p = float(sps.ttest_1samp(v, 0.0).pvalue)
    mean = float(v.mean()) if len(v) else math.nan
    se = float(np.std(v, ddof=1)) / math.sqrt(len(v)) if len(v) > 1 else math.nan
    return Claim(name, mean, lambda level, v=v: t_interval(v, level), p, sign, published,
                 description, margin, _t_below(mean, se, len(v) - 1))


def welch_interval(a: Sequence[float], b: Sequence[float], level: float) -> tuple[float, float]:
    """Welch's interval for the difference of the means of two independent samples."""
    from scipy import stats as sps

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return math.nan, math.nan
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        d = float(x.mean() - y.mean())
        return d, d
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = float(sps.t.ppf((1 + level) / 2, df)) * se
    d = float(x.mean() - y.mean())
    return d - half, d + half


def welch_claim(name: str, a: Sequence[float] | pd.Series, b: Sequence[float] | pd.Series, *,
                sign: int = 1, published: float = 0.0, description: str = "",
                margin: float | None = None) -> Any:
    """A :class:`tlkit.verdicts.Claim` that mean(a) - mean(b) has the sign ``sign``, for two
    independent samples (Welch's t-tests and interval, which agree)."""
    from scipy import stats as sps

    from .verdicts import Claim

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = len(x) > 1 and len(y) > 1
    p = float(sps.ttest_ind(x, y, equal_var=False).pvalue) if ok else math.nan
    se, df = math.nan, 0.0
    if ok:
        vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
        se = math.sqrt(vx + vy)
        df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)) if se else 1.0
    d = float(x.mean() - y.mean())
    return Claim(name, d, lambda level, x=x, y=y: welch_interval(x, y, level), p, sign,
                 published, description, margin, _t_below(d, se, df))


def _spearman_z(rho: float, n: int) -> float:
    """Bonett & Wright's standard error of atanh of a Spearman correlation on n pairs."""
    return math.sqrt((1 + rho ** 2 / 2) / (n - 3))


def correlation_claim(name: str, x: Sequence[float], y: Sequence[float], *, sign: int = 1,
                      description: str = "") -> Any:
    r"""A :class:`tlkit.verdicts.Claim` that the Spearman rank correlation of ``x`` and ``y``
    has the sign ``sign``.

    The interval is :math:`\tanh(\operatorname{atanh} r \pm z_{(1+\ell)/2}\,\sigma)` with
    :math:`\sigma^2 = (1 + r^2/2)/(n - 3)` (Bonett & Wright, 2000, *Psychometrika* 65(1)), and
    the p-value that of the same normal statistic, so the two agree. Needs at least 4 pairs.
    """
    from scipy import stats as sps

    from .verdicts import Claim

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xs)
    rho = float(sps.spearmanr(xs, ys).statistic) if n >= 4 and np.ptp(ys) > 0 else math.nan
    if not math.isfinite(rho):
        return Claim(name, math.nan, lambda level: (math.nan, math.nan), math.nan, sign, 0.0,
                     description)
    r = max(min(rho, 0.999999), -0.999999)
    se = _spearman_z(r, n)
    z0 = math.atanh(r) / se
    p = float(2 * sps.norm.sf(abs(z0)))

    def interval(level: float, r: float = r, se: float = se) -> tuple[float, float]:
        q = float(sps.norm.ppf((1 + level) / 2))
        return math.tanh(math.atanh(r) - q * se), math.tanh(math.atanh(r) + q * se)

    def below(value: float, r: float = r, se: float = se) -> float:
        if value >= 1:
            return 0.0
        if value <= -1:
            return 1.0
        return float(sps.norm.cdf((math.atanh(r) - math.atanh(value)) / se))

    return Claim(name, rho, interval, p, sign, 0.0, description, None, below)


def power_table(effects: Mapping[str, Mapping[str, Any]], alpha: float = 0.05) -> pd.DataFrame:
    """Per claim of a page: seeds, the spread of its per-seed values, the 95% half-width
    reached and the one aimed at (half the published size; NaN when no size is published),
    and the minimum detectable effect of its test at the first Holm level of the family (80%
    power; :func:`tlkit.power.mde`).

    ``effects`` maps a claim to a dict with ``published`` and either ``values`` (one value per
    seed), ``groups`` (two independent samples, compared by Welch's test, whose spread is
    that of their difference of means times sqrt(n) for the smaller n) or ``pairs`` (x and y
    of a rank correlation: its half-width is that of the Fisher-z interval at its estimate, and
    its detectable effect the smallest correlation significant at the first Holm level).
    """
    from scipy import stats as sps

    from .power import half_width, mde

    rows = []
    family = len(effects)
    for name, e in effects.items():
        if "pairs" in e:
            x, y = e["pairs"]
            c = correlation_claim(name, x, y)
            n = len(x)
            low, high = c.interval(0.95)
            q = float(sps.norm.ppf(1 - alpha / family / 2))
            rows.append(dict(claim=name, seeds=f"{n} targets", sd=math.nan,
                             half_width=(high - low) / 2 if math.isfinite(low) else math.nan,
                             target=math.nan, mde=math.tanh(q / math.sqrt(n - 3)) if n > 3
                             else math.nan, published=0.0))
            continue
        if "groups" in e:
            a, b = (np.asarray(g, dtype=float) for g in e["groups"])
            n = min(len(a), len(b))
            se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b)) \
                if n > 1 else math.nan
            sd = se * math.sqrt(n) if n > 1 else math.nan
            seeds = f"{len(a)} + {len(b)}"
        else:
            v = pd.Series(e["values"], dtype=float).dropna()
            n = len(v)
            sd = float(np.std(v, ddof=1)) if n > 1 else math.nan
            seeds = str(n)
        hw = half_width(sd, n) if n > 1 else math.nan
        rows.append(dict(claim=name, seeds=seeds, sd=sd, half_width=hw,
                         target=e["published"] / 2 if e["published"] else math.nan,
                         mde=mde(sd, n, alpha, family=family) if n > 1 else math.nan,
                         published=e["published"]))
    out = pd.DataFrame(rows, columns=["claim", "seeds", "sd", "half_width", "target", "mde",
                                      "published"])
    out["reached"] = out["half_width"] <= out["target"]
    return out
