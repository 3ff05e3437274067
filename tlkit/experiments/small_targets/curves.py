"""Learning curves and gains over scratch, read from the tidy results table.

The gain of a method at one size is its test accuracy minus that of scratch on the same study,
architecture, size and seed (the same target subsample, initialisation and batch order),
tested with a paired t-interval over seeds (:func:`tlkit.analysis.paired_tests`). Each
function returns tables of numbers and labels; the page writes the sentences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ...analysis import paired_tests, with_baseline

__all__ = [
    "size_label",
    "add_sizes",
    "curves",
    "gains",
    "gain_tests",
    "crossover_size",
    "crossovers",
    "method_differences",
    "with_diverged",
]


def size_label(n: Any) -> str:
    """``"all"`` for the whole split (``None``/NaN), else the number as text."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "all"
    return str(int(n))


def add_sizes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``per_class`` (examples per class trained on: ``n_per_class``, or for the
    whole split ``n_train / num_classes``) and ``size`` (its label, ``"all"`` for the split)."""
    n = df["n_per_class"]
    per_class = n.where(n.notna(), df["n_train"] / df["num_classes"]).astype(float)
    return df.assign(per_class=per_class, size=[size_label(v) for v in n])


def with_diverged(df: pd.DataFrame, specs: Sequence[Any], failed: pd.DataFrame) -> pd.DataFrame:
    """The results table ``df`` with a column ``diverged`` (False) and a row for each run of
    ``specs`` that diverged (``failed``: a stage's failed runs, ``key`` and ``error``), scored
    at chance, a test accuracy of 1/K for K classes: a network whose loss stopped being finite
    outputs NaN, every prediction is the first class, right on one image in K of the balanced
    test set. Its row has the run's tags, ``arch``, ``n_per_class``, ``n_train``,
    ``num_classes``, ``seed``, ``test_acc`` and ``diverged`` (True). Raises ``RuntimeError``
    for a failure that is not a divergence."""
    from ...data import registry

    errors = dict(zip(failed["key"], failed["error"], strict=True))
    other = [e for e in errors.values() if "diverged" not in e]
    if other:
        raise RuntimeError(f"{len(other)} run(s) failed, not by diverging: {other[0]}")
    rows = []
    for spec in specs:
        if spec.key() not in errors:
            continue
        d = spec.data
        k = (len(d.classes) if d.classes is not None
             else len(registry.source(d.dataset).classes(registry.source(d.dataset)
                                                          .options(dict(d.options)))))
        rows.append(dict(spec.tag_dict, arch=spec.model.arch, n_per_class=d.n_per_class,
                         n_train=(d.n_per_class or 0) * k, num_classes=k, seed=spec.seed,
                         test_acc=1 / k, diverged=True))
    df = df.assign(diverged=False)
    return pd.concat([df, pd.DataFrame(rows)], ignore_index=True) if rows else df


def curves(df: pd.DataFrame) -> pd.DataFrame:
    """Learning curves per study and source: its transfer runs and the scratch runs of the same
    architecture (repeated under every source, so each source's panel has its baseline).

    Columns ``study, source, role, method, arch, per_class, size, seed, test_acc``.
    """
    df = add_sizes(df)
    cols = ["study", "source", "role", "method", "arch", "per_class", "size", "seed",
            "test_acc"]
    scratch = df[df["method"] == "scratch"]
    parts = []
    for (study, source, role, arch), runs in df[df["method"] != "scratch"].groupby(
            ["study", "source", "role", "arch"], sort=False):
        base = scratch[(scratch["study"] == study) & (scratch["arch"] == arch)]
        parts.append(runs[cols])
        parts.append(base.assign(source=source, role=role)[cols])
    return pd.concat(parts, ignore_index=True)


def gains(df: pd.DataFrame) -> pd.DataFrame:
    """Per transfer run: ``gain`` = its test accuracy minus that of scratch on the same study,
    architecture, size and seed (the same target subsample).

    Columns ``study, target, source, role, method, per_class, size, seed, test_acc, scratch,
    gain`` (and ``diverged`` where ``df`` has it).
    """
    df = add_sizes(df)
    runs = with_baseline(df[df["method"] != "scratch"], df[df["method"] == "scratch"],
                         on=["study", "arch", "size", "seed"], name="scratch")
    runs = runs.assign(gain=runs["test_acc"] - runs["scratch"])
    extra = ["diverged"] if "diverged" in runs else []  # :func:`with_diverged`'s
    return runs[["study", "target", "source", "role", "method", "per_class", "size", "seed",
                 "test_acc", "scratch", "gain", *extra]].reset_index(drop=True)


def gain_tests(gain_table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per study, source, method and size: the paired test of transfer against scratch.

    ``gain`` is the mean over seeds of (transfer - scratch), ``ci_low``/``ci_high`` its
    Student-t interval, ``p_value`` the two-sided paired t-test, ``wilcoxon_p`` the
    signed-rank test, ``p_holm`` the t-test p-value Holm-adjusted over every row of the table,
    ``seeds`` the number of pairs; ``accuracy`` and ``scratch`` are the two means. ``verdict``
    is ``positive`` when the interval lies above 0, ``negative`` when it lies below 0, else
    ``no clear difference``.
    """
    keys = ["study", "target", "source", "role", "method", "per_class", "size"]
    out = paired_tests(gain_table, keys, "test_acc", "scratch", level)
    out = out.rename(columns={"mean_a": "accuracy", "mean_b": "scratch", "diff": "gain",
                              "direction": "verdict"})
    return out.sort_values(["study", "role", "source", "method", "per_class"],
                           ignore_index=True)


def crossover_size(sizes: Sequence[float], verdicts: Sequence[str]) -> float | None:
    """The crossover of one gain curve: the smallest size from which the gain is never
    significantly positive again (at that size and every larger size run).

    ``None`` if the gain is still significantly positive at the largest size (no crossover
    within the sizes run); the smallest size if it is never significantly positive.
    """
    pairs = sorted(zip(sizes, verdicts, strict=True))
    positive = [n for n, v in pairs if v == "positive"]
    if positive and positive[-1] == pairs[-1][0]:
        return None
    later = [n for n, _ in pairs if not positive or n > positive[-1]]
    return later[0]


def crossovers(tests: pd.DataFrame) -> pd.DataFrame:
    """Per study, source and method: the crossover (:func:`crossover_size`; ``per_class`` and
    its label ``crossover``, ``"none"`` when there is none), and the sizes where the gain was
    significantly positive (``positive_at``) and significantly negative (``negative_at``)."""
    rows = []
    for (study, role, source, method), part in tests.groupby(
            ["study", "role", "source", "method"], sort=True):
        part = part.sort_values("per_class")
        cross = crossover_size(list(part["per_class"]), list(part["verdict"]))
        label = "none"
        if cross is not None:
            label = part.loc[part["per_class"] == cross, "size"].iloc[0]
        pos = part[part["verdict"] == "positive"]["size"].tolist()
        neg = part[part["verdict"] == "negative"]["size"].tolist()
        rows.append(dict(study=study, role=role, source=source, method=method,
                         crossover=label, crossover_per_class=cross,
                         positive_at=", ".join(pos) or "none",
                         negative_at=", ".join(neg) or "none",
                         n_positive=len(pos), n_negative=len(neg)))
    return pd.DataFrame(rows)


def method_differences(gain_table: pd.DataFrame, a: str, b: str,
                       level: float = 0.95) -> pd.DataFrame:
    """Per study, source and size: the paired (by seed) difference of accuracy ``a - b`` of
    two transfer methods, with its interval, p-value and verdict."""
    keys = ["study", "source", "role", "per_class", "size"]
    part = gain_table[gain_table["method"].isin([a, b])]
    wide = part.pivot_table(index=[*keys, "seed"], columns="method", values="test_acc",
                            aggfunc="first").reset_index()
    if a not in wide or b not in wide:
        return pd.DataFrame(columns=[*keys, "a", "b", "diff", "ci_low", "ci_high", "p_value",
                                     "seeds", "verdict"])
    wide = wide.dropna(subset=[a, b])
    out = paired_tests(wide, keys, a, b, level).rename(columns={"direction": "verdict"})
    out.insert(len(keys), "a", a)
    out.insert(len(keys) + 1, "b", b)
    return out[[*keys, "a", "b", "diff", "ci_low", "ci_high", "p_value", "seeds", "verdict"]]
