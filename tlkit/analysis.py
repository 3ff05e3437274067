r"""What the experiments share when they read a results table: baselines, paired differences,
their direction, intervals as text, and distances between the datasets of a run.

Every experiment compares conditions *paired by seed*: runs of one seed share what the design
says they share (the target subsample, the test set), so the difference of two conditions is
taken seed by seed, :math:`d_s = a_s - b_s`, and summarised by its mean and a Student-t
interval over seeds (:func:`tlkit.stats.paired_difference`).

- :func:`with_baseline`: join each run with the baseline run (scratch, baseB, ...) of the same
  cell and seed;
- :func:`paired_by_seed` and :func:`paired_tests`: one paired difference, or one per group;
- :func:`direction`: ``positive`` / ``negative`` / ``no clear difference`` from an interval;
- :func:`format_interval`: ``+0.012 [-0.003, +0.027]``;
- :func:`distance_table`: OTDD, EMD and the similarity of Cui et al. between pairs of datasets
  in stated feature spaces (:class:`FeatureSpace`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .stats import PairedResult, holm, paired_difference

__all__ = [
    "DIRECTIONS",
    "direction",
    "format_interval",
    "with_baseline",
    "paired_by_seed",
    "paired_tests",
    "FeatureSpace",
    "DistancePair",
    "pool",
    "distance_table",
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


# --------------------------------------------------------------------------- distances


@dataclass(frozen=True)
class FeatureSpace:
    """A fixed feature space in which two datasets are compared.

    Attributes:
        name: the column suffix (``"pixels"``, ``"network"``).
        features: images ``(N, C, H, W)`` -> float array ``(N, d)``.
        gamma: the :math:`\\gamma` of the similarity :math:`\\exp(-\\gamma\\,\\mathrm{EMD})` of
            Cui et al. in this space.
    """

    name: str
    features: Callable[[Any], np.ndarray]
    gamma: float


@dataclass(frozen=True)
class DistancePair:
    """A source and a target dataset (:class:`~tlkit.spec.DataSpec`) to measure, the feature
    spaces to measure them in, and the labels of the row (``axis``, ``target``, ...)."""

    source: Any
    target: Any
    spaces: tuple[FeatureSpace, ...]
    labels: Mapping[str, Any] = field(default_factory=dict)


def pool(spec_data: Any, model: Any, split: str = "train") -> tuple[Any, np.ndarray]:
    """Images (in the model's input format) and labels of a dataset's whole ``split``,
    restricted to its classes, *without* any per-class subsample (the pool runs draw from)."""
    from . import data

    loaded = data.load(spec_data.name, split, size=model.size, channels=model.channels,
                       **spec_data.option_dict)
    if spec_data.classes is not None:
        loaded = data.select_classes(loaded, spec_data.classes)
    return loaded.images, loaded.labels.numpy()


def distance_table(pairs: Iterable[DistancePair], model: Any, max_samples: int,
                   seed: int = 0) -> pd.DataFrame:
    r"""Measured distances between the training pools of each pair, one row per pair.

    In every feature space ``k`` of a pair: ``otdd_k``, :func:`tlkit.measures.otdd` (Gaussian
    label costs, exact outer OT) on a stratified subsample of ``max_samples`` points per
    dataset (seed ``seed``); ``emd_k``, :func:`tlkit.measures.class_mean_emd` between the
    count-weighted class means; and ``similarity_k`` = :math:`\exp(-\gamma_k\,\mathrm{EMD})`,
    the domain similarity of Cui et al. (2018), a monotone transform of the EMD. The row also
    has the pair's labels and ``source_classes`` and ``classes`` (the number of each).
    """
    from .measures import class_mean_emd, otdd

    rows = []
    for p in pairs:
        xs, ys = pool(p.source, model)
        xt, yt = pool(p.target, model)
        row: dict[str, Any] = dict(p.labels, source_classes=len(np.unique(ys)),
                                   classes=len(np.unique(yt)))
        for space in p.spaces:
            fs, ft = space.features(xs), space.features(xt)
            row[f"otdd_{space.name}"] = otdd(fs, ys, ft, yt, max_samples=max_samples, seed=seed)
            emd = class_mean_emd(fs, ys, ft, yt)
            row[f"emd_{space.name}"] = emd
            row[f"similarity_{space.name}"] = math.exp(-space.gamma * emd)
        rows.append(row)
    return pd.DataFrame(rows)
