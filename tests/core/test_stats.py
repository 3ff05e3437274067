"""Tests for tlkit.stats against hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tlkit.stats import PairedResult, bootstrap_ci, mean_ci, paired_difference, summarize

T_975_3 = 3.1824463  # Student t quantile, 0.975, 3 degrees of freedom (printed tables: 3.182)


def t3_two_sided_p(t: float) -> float:
    """Two-sided p of Student's t with 3 degrees of freedom, in closed form.

    For 3 d.o.f. the CDF is 1/2 + (theta + sin(theta) cos(theta)) / pi, theta = atan(t / sqrt 3).
    """
    theta = math.atan(abs(t) / math.sqrt(3.0))
    return 1.0 - 2.0 * (theta + math.sin(theta) * math.cos(theta)) / math.pi


# --------------------------------------------------------------------------- mean_ci


def test_mean_ci_by_hand():
    # [1, 2, 3, 4]: mean 2.5; s^2 = (2.25 + .25 + .25 + 2.25) / 3 = 5/3; sem = sqrt(5/3) / 2
    #   = 0.645497; half width 3.182446 * 0.645497 = 2.054260 -> [0.445740, 4.554260]
    mean, low, high = mean_ci([1, 2, 3, 4])
    assert mean == 2.5
    assert low == pytest.approx(0.445740, abs=1e-6)
    assert high == pytest.approx(4.554260, abs=1e-6)
    half = T_975_3 * math.sqrt(5 / 3) / 2
    assert high - mean == pytest.approx(half, abs=1e-6)


def test_mean_ci_other_level_and_degenerate_cases():
    # 90%: t_{0.95,3} = 2.353363; 2.353363 * 0.645497 = 1.519090 -> 2.5 +- 1.519090
    _, low, high = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]), level=0.90)
    assert (low, high) == pytest.approx((0.980910, 4.019090), abs=1e-6)
    mean, low, high = mean_ci([0.7])
    assert mean == 0.7 and math.isnan(low) and math.isnan(high)
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def test_mean_ci_errors():
    with pytest.raises(ValueError, match="empty"):
        mean_ci([])
    with pytest.raises(ValueError, match="NaN"):
        mean_ci([1.0, math.nan])
    with pytest.raises(ValueError, match="level"):
        mean_ci([1.0, 2.0], level=95)


# --------------------------------------------------------------------------- summarize


def test_summarize_groups_order_and_values():
    df = pd.DataFrame(
        {
            "method": ["scratch", "finetune", "finetune", "scratch", "finetune", "scratch", "lp"],
            "n_per_class": [10, 10, 10, 10, 10, 10, 10],
            "acc": [3.0, 1.0, 2.0, 1.0, 3.0, 2.0, 0.5],
        }
    )
    out = summarize(df, ["method", "n_per_class"], "acc")
    assert list(out.columns) == ["method", "n_per_class", "mean", "ci_low", "ci_high", "sem", "n"]
    assert out["method"].tolist() == ["finetune", "lp", "scratch"]  # sorted, one row per group
    assert out["n"].tolist() == [3, 1, 3]
    # {1, 2, 3}: mean 2, s = 1, sem = 1/sqrt(3) = 0.577350, t_{0.975,2} = 4.302653
    #   -> 2 +- 2.484138
    for row in (0, 2):
        assert out.loc[row, "mean"] == pytest.approx(2.0)
        assert out.loc[row, "sem"] == pytest.approx(0.577350, abs=1e-6)
        assert out.loc[row, "ci_low"] == pytest.approx(-0.484138, abs=1e-6)
        assert out.loc[row, "ci_high"] == pytest.approx(4.484138, abs=1e-6)
    single = out.iloc[1]
    assert single["mean"] == 0.5 and math.isnan(single["sem"]) and math.isnan(single["ci_low"])


def test_summarize_is_deterministic_and_handles_no_grouping():
    df = pd.DataFrame({"g": ["b", "a", "b", "a"], "v": [1.0, 2.0, 3.0, 4.0]})
    shuffled = df.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(summarize(df, ["g"], "v"), summarize(shuffled, ["g"], "v"))
    whole = summarize(df, [], "v")
    assert list(whole.columns) == ["mean", "ci_low", "ci_high", "sem", "n"]
    assert whole.loc[0, "ci_low"] == pytest.approx(0.445740, abs=1e-6)


def test_summarize_errors():
    df = pd.DataFrame({"g": ["a", "a", "b"], "v": [1.0, math.nan, 2.0]})
    with pytest.raises(ValueError, match="not in the table"):
        summarize(df, ["missing"], "v")
    with pytest.raises(ValueError, match="'a'.*NaN"):
        summarize(df, ["g"], "v")


# --------------------------------------------------------------------------- paired_difference


def test_paired_difference_by_hand():
    a = [0.80, 0.82, 0.79, 0.85]
    b = [0.78, 0.80, 0.80, 0.81]
    # d = [.02, .02, -.01, .04]; mean .0175; squared deviations
    # 6.25e-6 + 6.25e-6 + 7.5625e-4 + 5.0625e-4 = 1.275e-3; s_d^2 = 4.25e-4; s_d = 0.0206155;
    # sem = 0.0103078; t = .0175 / .0103078 = 1.697749; CI .0175 +- 3.182446 * .0103078
    #   = [-0.015304, 0.050304]
    res = paired_difference(a, b)
    assert isinstance(res, PairedResult)
    assert res.n == 4
    assert res.mean_diff == pytest.approx(0.0175, abs=1e-12)
    assert res.t == pytest.approx(1.697749, abs=1e-5)
    assert res.ci_low == pytest.approx(-0.015304, abs=1e-6)
    assert res.ci_high == pytest.approx(0.050304, abs=1e-6)
    assert res.p_value == pytest.approx(t3_two_sided_p(1.697749), abs=1e-6)  # 0.1881
    assert res.p_value == pytest.approx(0.1881, abs=1e-4)
    flipped = paired_difference(b, a)
    assert flipped.t == pytest.approx(-res.t) and flipped.p_value == pytest.approx(res.p_value)


def test_paired_difference_wilcoxon_by_hand():
    # six positive, distinct differences: W- = 0, the most extreme of 2^6 equally likely sign
    # patterns on each side, so the exact two-sided p is 2 / 64 = 0.03125.
    b = np.array([0.5, 0.6, 0.55, 0.7, 0.65, 0.62])
    a = b + np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    res = paired_difference(a, b)
    assert res.wilcoxon_p == pytest.approx(2 / 64, abs=1e-12)
    assert res.p_value < 0.01
    same = paired_difference(b, b)
    assert same.mean_diff == 0.0 and math.isnan(same.wilcoxon_p)


def test_paired_difference_aligns_series_by_seed():
    a = pd.Series([0.80, 0.82, 0.79, 0.85], index=[0, 1, 2, 3])
    b = pd.Series([0.81, 0.80, 0.80, 0.78], index=[3, 2, 1, 0])  # same values as above, reordered
    assert paired_difference(a, b).t == pytest.approx(1.697749, abs=1e-5)
    with pytest.raises(ValueError, match="unpaired seeds"):
        paired_difference(a, b.rename(index={3: 7}))


def test_paired_difference_errors_and_constant_shift():
    with pytest.raises(ValueError, match="paired"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        paired_difference([1.0], [2.0])
    shift = paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert shift.t == math.inf and shift.p_value == 0.0
    assert shift.ci_low == shift.ci_high == pytest.approx(0.5)


# --------------------------------------------------------------------------- bootstrap_ci


def test_bootstrap_ci_by_hand_and_seeded():
    # Resample means of [0, 1] are 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4, so the 2.5% and
    # 97.5% quantiles of 2000 resamples are 0 and 1.
    assert bootstrap_ci([0.0, 1.0]) == (0.5, 0.0, 1.0)
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
    x = np.random.default_rng(0).normal(size=20)
    assert bootstrap_ci(x, seed=1) == bootstrap_ci(x, seed=1)
    assert bootstrap_ci(x, seed=1) != bootstrap_ci(x, seed=2)


def test_bootstrap_ci_close_to_t_interval_and_other_statistics():
    x = np.random.default_rng(0).normal(loc=1.0, size=200)
    _, tl, th = mean_ci(x)
    est, bl, bh = bootstrap_ci(x, n_boot=4000)
    assert est == pytest.approx(np.mean(x))
    assert bl == pytest.approx(tl, abs=0.03) and bh == pytest.approx(th, abs=0.03)
    med, ml, mh = bootstrap_ci(x, stat=np.median)
    assert ml <= med <= mh
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci(x, n_boot=0)


def test_holm_adjustment_by_hand():
    from tlkit.stats import holm

    adjusted = holm([0.01, 0.04, 0.03, float("nan")])
    # sorted 0.01, 0.03, 0.04: x3 = 0.03, x2 = 0.06, x1 = 0.04 -> running max 0.06
    assert np.allclose(adjusted[:3], [0.03, 0.06, 0.06]) and math.isnan(adjusted[3])
