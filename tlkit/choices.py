r"""Choices made on validation data, and choices that do not inflate what they report.

:func:`choose_on_validation` picks, per group, the option (a depth, a method, a setting) with
the best mean validation accuracy over the group's seeds. When the *test* accuracy of the same
runs is then reported for the chosen option, the number is biased upwards: a run's validation
and test accuracies share its training noise, so the option that won on validation partly won
by luck that its test accuracy shares (the winner's curse).

:func:`cross_fit` removes that bias by **cross-fitting** over seeds (leave one seed out;
Chernozhukov et al., 2018, use the same device for nuisance estimates): for each seed
:math:`s` the option is chosen on the validation accuracy of the *other* seeds,

.. math::
    \hat c_{-s} = \arg\max_c \frac{1}{|S| - 1} \sum_{t \ne s} \mathrm{val}_t(c),

and seed :math:`s` reports its own test accuracy at :math:`\hat c_{-s}`. Seeds are independent
replicates, so the choice for seed :math:`s` is independent of seed :math:`s`'s runs, and among
options that are truly equal the reported effect is centred on zero.

Chernozhukov, V. et al. (2018). Double/debiased machine learning for treatment and structural
parameters. *The Econometrics Journal* 21(1), C1-C68.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["choose_on_validation", "cross_fit"]


def choose_on_validation(table: pd.DataFrame, by: Sequence[str], choice: str,
                         value: str = "val_acc", lowest: bool = False,
                         prefer: str = "smaller") -> pd.DataFrame:
    """Per group of ``by``: the ``choice`` (a depth, a method, a setting) with the highest (or
    with ``lowest``, the lowest) mean ``value`` over the group's rows, ties to the ``smaller``
    (or ``larger``) choice. Only ``value`` is read to choose, never a test column.

    Returns one row per group: the ``by`` columns, ``choice`` and ``value`` (its mean).
    """
    if value not in table:
        raise ValueError(f"choosing needs the column {value!r} (validation, not test)")
    means = table.groupby([*by, choice], sort=True)[value].mean().reset_index()
    rows = []
    for _, part in means.groupby(list(by), sort=True) if by else [((), means)]:
        part = part.sort_values(choice, ascending=prefer == "smaller", kind="stable")
        best = part[value].min() if lowest else part[value].max()
        rows.append(part[part[value] == best].iloc[0])
    return pd.DataFrame(rows).reset_index(drop=True)


def cross_fit(table: pd.DataFrame, by: Sequence[str], choice: str, value: str = "val_acc",
              lowest: bool = False, prefer: str = "smaller", seed: str = "seed") -> pd.DataFrame:
    """Per group of ``by`` and seed: :func:`choose_on_validation` on the group's rows of every
    *other* seed (module docstring). Returns one row per group and seed: the ``by`` columns,
    ``seed``, ``choice`` and ``value`` (its mean over the other seeds).

    Raises ``ValueError`` when a group has fewer than two seeds (no other seed to choose on).
    """
    by = list(by)
    if seed not in table:
        raise ValueError(f"cross-fitting needs the column {seed!r}")
    counts = table.groupby(by, sort=True)[seed].nunique() if by else pd.Series(
        [table[seed].nunique()])
    if (counts < 2).any():
        raise ValueError("cross-fitting needs at least two seeds in every group")
    parts = []
    for s in sorted(table[seed].unique()):
        mine = table[table[seed] == s]
        groups = mine[by].drop_duplicates() if by else None
        others = table[table[seed] != s]
        if groups is not None:
            others = others.merge(groups, on=by)
        chosen = choose_on_validation(others, by, choice, value, lowest, prefer)
        parts.append(chosen.assign(**{seed: s}))
    out = pd.concat(parts, ignore_index=True)
    return out[[*by, seed, choice, value]].sort_values([*by, seed], ignore_index=True)
