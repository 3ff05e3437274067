"""Whether an exercise asks about an effect or about noise, measured on the grading run.

Each *predict, then run* exercise asks students to read one effect from the run: which of two
conditions is ahead, which split loses most, whether a gain is below zero. That reading teaches
something only where the run resolves the effect: where the 95% interval of the difference the
answer turns on excludes zero. :func:`exercise_effects` computes that interval from the grading
run's records, so that ``tlkit assignments`` can report, for the profile it generates in, which
exercises ask about signal (the quick profile is chosen for that; the smoke profile, which only
checks that the code runs, is mostly noise).

The intervals are Student-t intervals over seeds (:func:`tlkit.stats.mean_ci`): of the paired
differences where both sides share a seed's data, otherwise Welch's interval for two independent
means (Welch 1947).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Effect", "welch_interval", "exercise_effects"]


@dataclass(frozen=True)
class Effect:
    """The effect an exercise turns on, with its 95% interval over seeds.

    Attributes:
        exercise: The question's name.
        effect: What is measured, in words.
        estimate: The mean difference.
        low: Lower end of its 95% interval.
        high: Upper end.
        seeds: Seeds per side.
    """

    exercise: str
    effect: str
    estimate: float
    low: float
    high: float
    seeds: int

    @property
    def clear(self) -> bool:
        """The interval excludes zero: the run resolves the effect."""
        return bool(self.low > 0 or self.high < 0)


def welch_interval(a: Any, b: Any, level: float = 0.95) -> tuple[float, float, float]:
    r"""Mean of ``a`` minus mean of ``b`` with Welch's interval:
    :math:`\bar a - \bar b \pm t_{(1+\text{level})/2,\,\nu}\sqrt{s_a^2/n_a + s_b^2/n_b}`, with
    the Welch-Satterthwaite degrees of freedom :math:`\nu`."""
    from scipy.stats import t as student_t

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    nu = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(student_t.ppf((1 + level) / 2, nu)) * se
    return diff, diff - half, diff + half


def _quickstart(params: Mapping[str, Any]) -> list[Effect]:
    from ..stats import paired_difference
    from .reference import table

    df = table("00_quickstart", "df", params)
    small = df[df["n_per_class"] == df["n_per_class"].min()]
    wide = small.pivot_table(index="seed", columns="condition", values="test_acc")
    r = paired_difference(wide["fine-tuned"], wide["frozen features"])
    return [Effect("q1_predict", "fine-tuned minus frozen features at the smallest size "
                   "(paired by seed)", r.mean_diff, r.ci_low, r.ci_high, r.n)]


def _layer_transfer(params: Mapping[str, Any]) -> list[Effect]:
    from .reference import table

    curves = table("01_layer_transfer", "curves", params)
    top = curves.loc[curves["condition"] == "AnB", "layers"].max()
    ratios = {}
    for split, part in curves.groupby("split"):
        base = part[(part["layers"] == 0)].groupby("seed")["test_acc"].mean()
        anb = part[(part["condition"] == "AnB") & (part["layers"] == top)].set_index("seed")
        ratios[split] = (anb["test_acc"] / base.reindex(anb.index)).dropna().to_numpy()
    order = sorted(ratios, key=lambda s: ratios[s].mean())
    lowest, next_lowest = order[0], order[1]
    diff, low, high = welch_interval(ratios[next_lowest], ratios[lowest])
    return [Effect("q1_predict", f"AnB/baseB at n = {top}: {next_lowest} minus {lowest}, the "
                   "split that keeps least (Welch)", diff, low, high,
                   min(len(ratios[lowest]), len(ratios[next_lowest])))]


def _small_targets(params: Mapping[str, Any]) -> list[Effect]:
    from ..experiments import small_targets as st
    from ..stats import mean_ci
    from .reference import parameters, table

    gains = table("02_small_targets", "gain_table", params)
    first = st.studies(parameters(params))[0]
    rows = gains[(gains["study"] == first.name) & (gains["role"] == "far")
                 & (gains["method"] == "fine-tune")]
    rows = rows[rows["per_class"] == rows["per_class"].min()]
    mean, low, high = mean_ci(rows["gain"])
    return [Effect("q1_predict", "gain of fine-tuning from the far source over scratch at the "
                   "smallest size (paired by seed)", mean, low, high, len(rows))]


_EFFECTS = {"00_quickstart": _quickstart, "01_layer_transfer": _layer_transfer,
            "02_small_targets": _small_targets}


def exercise_effects(notebook: str, params: Mapping[str, Any]) -> list[Effect]:
    """The effects the notebook's exercises turn on, measured on the runs in the run cache with
    ``params`` (empty for a notebook without such exercises)."""
    build = _EFFECTS.get(notebook)
    return build(params) if build is not None else []
