"""Yosinski et al.'s protocol read from a results table: curves, ratios and the four patterns.

Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in deep
neural networks? NeurIPS. Their published values (ImageNet halves, recomputed from the
authors' training logs) are :data:`YOSINSKI_ACCURACY` and :data:`YOSINSKI_BASE_B`.

Every comparison is paired by seed: the runs of one seed share the target subsample, the
validation set and the test set, and each function returns the per-seed differences (a
:class:`pandas.Series` indexed by seed) from which :mod:`.claims` makes the page's claims.
Choices (the depth of the dip) are made on validation accuracy; the differences reported are
in test accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ...analysis import with_baseline
from .design import CONDITIONS, TARGET_BN

__all__ = [
    "PUBLISHED",
    "YOSINSKI_BASE_B",
    "YOSINSKI_ACCURACY",
    "YOSINSKI_FAR_RELATIVE_TOP",
    "yosinski_relative",
    "protocol_curves",
    "relative_to_base",
    "differences",
    "sanity",
    "dip_depth",
    "dip_depths",
    "dip",
    "repair",
    "top_layer_drop",
    "boost",
    "batchnorm_both_ways",
]

#: Yosinski et al. (2014), ImageNet random halves, top-1 accuracy (recomputed from the authors'
#: published training logs); ``baseB`` is .625.
YOSINSKI_BASE_B = 0.625
YOSINSKI_ACCURACY: Mapping[str, tuple[float, ...]] = {
    "BnB": (0.627, 0.624, 0.621, 0.605, 0.594, 0.619, 0.623),
    "AnB": (0.628, 0.624, 0.619, 0.600, 0.578, 0.581, 0.543),
    "BnB+": (0.618, 0.622, 0.631, 0.629, 0.630, 0.628, 0.627),
    "AnB+": (0.637, 0.636, 0.643, 0.640, 0.645, 0.646, 0.647),
}
#: AnB/baseB at n = 7 on their dissimilar (natural vs man-made) split: a range, 0.54-0.61.
YOSINSKI_FAR_RELATIVE_TOP = (0.54, 0.61)

_TOP = YOSINSKI_ACCURACY["AnB"][6] / YOSINSKI_BASE_B
#: The published size of each claim, in the claimed direction (Yosinski et al., 2014).
PUBLISHED: dict[str, float] = {
    "dip": YOSINSKI_BASE_B - YOSINSKI_ACCURACY["BnB"][4],                     # 0.031 at n = 5
    "repair": YOSINSKI_ACCURACY["BnB+"][4] - YOSINSKI_ACCURACY["BnB"][4],     # 0.036 at n = 5
    "drop": _TOP - sum(YOSINSKI_FAR_RELATIVE_TOP) / 2,                        # 0.87 - 0.575
    "boost": 0.017,                                                           # mean over n
    "trend": 0.0,                                                             # no size
}


def yosinski_relative() -> pd.DataFrame:
    """Yosinski et al.'s accuracies relative to their baseB, one row per condition and n.

    Columns ``condition, layers, accuracy, relative``; n = 0 is baseB (relative 1).
    """
    rows = [dict(condition=c, layers=0, accuracy=YOSINSKI_BASE_B, relative=1.0)
            for c in YOSINSKI_ACCURACY]
    for condition, values in YOSINSKI_ACCURACY.items():
        for n, acc in enumerate(values, start=1):
            rows.append(dict(condition=condition, layers=n, accuracy=acc,
                             relative=acc / YOSINSKI_BASE_B))
    return pd.DataFrame(rows)


def _protocol(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["part"] == "protocol"]


def protocol_curves(df: pd.DataFrame) -> pd.DataFrame:
    """The protocol runs with depth 0 of every condition filled by baseB (as in Yosinski's
    figures): columns ``split, kind, condition, layers, seed, test_acc, val_acc``."""
    p = _protocol(df)
    cols = ["split", "kind", "condition", "layers", "seed", "test_acc", "val_acc"]
    runs = p[p["condition"].isin(CONDITIONS)][cols]
    base = p[p["condition"] == "baseB"][cols]
    conditions = [c for c in CONDITIONS if (runs["condition"] == c).any()]
    zero = [base[base["split"].isin(runs.loc[runs["condition"] == c, "split"])]
            .assign(condition=c, layers=0) for c in conditions]
    return pd.concat([runs, *zero], ignore_index=True)


def relative_to_base(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`protocol_curves` with ``base_b`` (baseB's test accuracy on the same split and
    seed) and ``relative`` = test accuracy / ``base_b`` (Yosinski's "performance relative to
    baseB"). A baseB that classified nothing right (``base_b`` = 0) has no ratio: ``relative``
    is NaN there, not infinite."""
    p = _protocol(df)
    curves = with_baseline(protocol_curves(df), p[p["condition"] == "baseB"],
                           on=["split", "seed"], name="base_b")
    return curves.assign(relative=curves["test_acc"] / curves["base_b"].where(curves["base_b"] > 0))


def differences(df: pd.DataFrame, split: str, a: str, n: int, b: str, m: int = 0,
                value: str = "test_acc") -> pd.Series:
    """Per seed (the seeds both have): ``a`` at depth ``n`` minus ``b`` at depth ``m`` on one
    split (depth 0 of any condition is baseB); ``value`` may be ``val_acc`` or ``relative``."""
    curves = relative_to_base(df)
    part = curves[curves["split"] == split]
    x = part[(part["condition"] == a) & (part["layers"] == n)].set_index("seed")[value]
    y = part[(part["condition"] == b) & (part["layers"] == m)].set_index("seed")[value]
    both = x.index.intersection(y.index)
    return (x.loc[both] - y.loc[both]).sort_index()


def sanity(df: pd.DataFrame, split: str) -> pd.Series:
    """The protocol's sanity check, per seed: BnB at n = 1 minus baseB. Retraining baseB's
    upper layers on its own frozen first layer should change nothing when baseB is a converged
    reference (Yosinski et al.: .627 against .625)."""
    return differences(df, split, "BnB", 1, "BnB", 0)


def dip_depth(df: pd.DataFrame, split: str, middle: Sequence[int]) -> int:
    """The middle depth where BnB falls furthest below baseB on **validation** (mean over
    seeds of the paired difference; ties to the smaller depth)."""
    curves = protocol_curves(df)
    run = sorted(set(curves.loc[(curves["split"] == split) & (curves["condition"] == "BnB"),
                                "layers"]) & set(middle))
    if not run:
        raise ValueError(f"no middle depth {tuple(middle)} among the BnB depths run")
    means = {n: float(differences(df, split, "BnB", n, "BnB", 0, "val_acc").mean())
             for n in run}
    return min(run, key=lambda n: (means[n], n))


def dip(df: pd.DataFrame, split: str, middle: Sequence[int]) -> tuple[int, pd.Series]:
    """Yosinski's co-adaptation dip, per seed: BnB minus baseB in **test** accuracy at the
    middle depth chosen on the validation accuracy of the *other* seeds
    (:func:`tlkit.choices.cross_fit`), so that the choice does not inflate the dip reported
    (Yosinski et al.: -0.031 at n = 5). Also returns the depth chosen on every seed
    (:func:`dip_depth`), the one a reader would pick; :func:`dip_depths` gives each seed's."""
    depths = dip_depths(df, split, middle)
    values = {s: differences(df, split, "BnB", n, "BnB", 0).get(s) for s, n in depths.items()}
    out = pd.Series(values, dtype=float).dropna().sort_index()
    return dip_depth(df, split, middle), out.rename_axis("seed")


def dip_depths(df: pd.DataFrame, split: str, middle: Sequence[int]) -> pd.Series:
    """Per seed: the middle depth where BnB fell furthest below baseB on the validation
    accuracy of the other seeds (ties to the smaller depth)."""
    from ...choices import cross_fit

    curves = protocol_curves(df)
    run = sorted(set(curves.loc[(curves["split"] == split) & (curves["condition"] == "BnB"),
                                "layers"]) & set(middle))
    if not run:
        raise ValueError(f"no middle depth {tuple(middle)} among the BnB depths run")
    table = pd.concat([differences(df, split, "BnB", n, "BnB", 0, "val_acc").rename("val_acc")
                       .reset_index().assign(layers=n) for n in run], ignore_index=True)
    chosen = cross_fit(table, [], "layers", lowest=True)
    return chosen.set_index("seed")["layers"].astype(int)


def repair(df: pd.DataFrame, split: str, depth: int | pd.Series) -> pd.Series:
    """Per seed: BnB+ minus BnB at ``depth``, one depth or one per seed (fine-tuning repairs
    the dip; +0.036 at n = 5)."""
    if not isinstance(depth, pd.Series):
        return differences(df, split, "BnB+", depth, "BnB", depth)
    values = {s: differences(df, split, "BnB+", n, "BnB", n).get(s) for s, n in depth.items()}
    return pd.Series(values, dtype=float).dropna().sort_index().rename_axis("seed")


def _top_ratios(df: pd.DataFrame, condition: str, splits: Sequence[str]) -> tuple[int, dict]:
    """The deepest AnB depth run on ``splits`` and, per split, ``condition``'s test accuracy
    there over baseB's (same split and seed; none where baseB classified nothing right)."""
    p = _protocol(df)
    anb = p[(p["condition"] == "AnB") & p["split"].isin(splits)]
    top = int(anb["layers"].max())
    base = p[p["condition"] == "baseB"].drop_duplicates(["split", "seed"])
    runs = p[(p["condition"] == condition) & (p["layers"] == top)]
    out = {}
    for split in splits:
        b = base[base["split"] == split].set_index("seed")["test_acc"]
        x = runs[runs["split"] == split].set_index("seed")["test_acc"]
        out[split] = (x / b.where(b > 0).reindex(x.index)).dropna().sort_index()
    return top, out


def top_layer_drop(df: pd.DataFrame, near: str, far: str,
                   condition: str = "AnB") -> tuple[int, pd.Series]:
    """The deepest frozen depth run and, per seed, AnB/baseB on ``near`` minus AnB/baseB on
    ``far`` there: how much more accuracy relative to baseB the far source loses (Yosinski
    et al.: 0.87 against 0.54-0.61, a difference of 0.26 to 0.33). A difference of ratios, not
    a ratio of drops, which is unstable when the near drop is small. ``condition``
    :data:`TARGET_BN` reads the same runs with B's batch-norm statistics."""
    top, ratio = _top_ratios(df, condition, (near, far))
    x, y = ratio[near], ratio[far]
    both = x.index.intersection(y.index)
    return top, (x.loc[both] - y.loc[both]).sort_index()


def boost(df: pd.DataFrame, split: str) -> pd.Series:
    """Per seed: the mean over depths of AnB+ minus baseB (Yosinski et al.: +0.017)."""
    rel = relative_to_base(df)
    plus = rel[(rel["split"] == split) & (rel["condition"] == "AnB+") & (rel["layers"] > 0)]
    return (plus["test_acc"] - plus["base_b"]).groupby(plus["seed"]).mean()


def batchnorm_both_ways(df: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """The top-layer drop (:func:`top_layer_drop`) of every (near, far) pair with the frozen
    layers' batch-norm statistics kept from the source (AnB, as Yosinski et al.) and
    recomputed on B (:data:`TARGET_BN`): per pair and statistics, the mean AnB/baseB of each
    split, the mean over seeds of the paired difference, its 95% Student-t interval (not
    adjusted: a description of how much the claim depends on the statistics, not a claim)
    and the seeds. Columns ``pair, statistics, near, far, drop, low, high, seeds``."""
    from ...analysis import t_interval

    rows = []
    for near, far in pairs:
        for statistics, condition in (("the source's", "AnB"), ("recomputed on B", TARGET_BN)):
            _, ratio = _top_ratios(df, condition, (near, far))
            _, d = top_layer_drop(df, near, far, condition)
            if len(d) < 2:
                continue
            low, high = t_interval(d, 0.95)
            rows.append(dict(pair=f"{near} - {far}", statistics=statistics,
                             near=float(ratio[near].mean()), far=float(ratio[far].mean()),
                             drop=float(d.mean()), low=low, high=high, seeds=len(d)))
    return pd.DataFrame(rows, columns=["pair", "statistics", "near", "far", "drop", "low",
                                       "high", "seeds"])
