"""The verdict rules: intervals adjusted by Holm, and held / did not hold / inconclusive."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from tlkit.analysis import mean_claim
from tlkit.stats import holm
from tlkit.verdicts import Claim, default_margin, holm_levels, judge, verdict


def fixed(name, low, high, p, sign=1, published=0.0):
    """A claim whose interval is [low, high] at every level (for the verdict rule alone)."""
    return Claim(name, (low + high) / 2, lambda level: (low, high), p, sign, published)


@pytest.mark.parametrize(("low", "high", "sign", "margin", "expected"), [
    (0.01, 0.05, 1, 0.0, "held"),
    (-0.001, 0.05, 1, 0.0, "inconclusive"),        # includes zero: never held
    (-0.05, -0.01, 1, 0.0, "did not hold"),        # the other side of zero
    (-0.01, 0.01, 1, 0.015, "did not hold"),       # below the margin
    (-0.01, 0.02, 1, 0.015, "inconclusive"),       # includes 0 and the margin
    (0.005, 0.01, 1, 0.015, "held"),               # held, though smaller than the margin
    (-0.05, -0.02, -1, 0.0155, "held"),            # a claimed dip
    (-0.01, 0.01, -1, 0.0155, "did not hold"),     # no dip as large as the margin
    (-0.04, 0.01, -1, 0.0155, "inconclusive"),
    (math.nan, math.nan, 1, 0.0, "inconclusive"),
])
def test_the_rule(low, high, sign, margin, expected):
    assert verdict(low, high, sign, margin) == expected


def test_an_interval_that_includes_zero_is_never_held():
    rng = np.random.default_rng(0)
    for _ in range(500):
        low = rng.normal()
        high = low + abs(rng.normal())
        sign, margin = rng.choice([-1, 1]), abs(rng.normal(0, 0.05))
        if low <= 0 <= high:
            assert verdict(low, high, sign, margin) != "held"


def test_holm_levels_by_hand():
    # m = 3: 0.001 <= 0.05/3 and 0.02 <= 0.05/2 are rejected, 0.04 <= 0.05 too
    assert np.allclose(holm_levels([0.04, 0.001, 0.02]), [0.95, 1 - 0.05 / 3, 0.975])
    # 0.03 > 0.05/2: not rejected, and so neither is any later claim: both get level 0.975
    assert np.allclose(holm_levels([0.001, 0.03, 0.04]), [1 - 0.05 / 3, 0.975, 0.975])
    levels = holm_levels([0.01, float("nan")])
    assert levels[0] == pytest.approx(0.95) and levels[1] == pytest.approx(0.95)


def test_the_margin_defaults_to_half_the_published_size_and_is_checked():
    assert default_margin(0.031) == pytest.approx(0.0155)
    assert mean_claim("x", [0.1, 0.2], published=0.04).delta == pytest.approx(0.02)
    assert mean_claim("x", [0.1, 0.2], published=0.04, margin=0.01).delta == 0.01
    with pytest.raises(ValueError, match="margin"):
        mean_claim("x", [0.1, 0.2], margin=-0.01)


def _sides(values, sign, margin):
    """The two one-sided t-tests of a claim, straight from scipy."""
    v = np.asarray(values) * sign
    held = sps.ttest_1samp(v, 0.0, alternative="greater").pvalue
    below = sps.ttest_1samp(v, margin, alternative="less").pvalue
    return held, below


def test_verdicts_are_holm_over_both_one_sided_tests_of_every_claim():
    """held and did not hold are exactly the rejections of Holm's procedure over the 2m
    one-sided t-tests, computed here by scipy and tlkit.stats.holm alone."""
    rng = np.random.default_rng(1)
    for trial in range(40):
        m = 4
        signs = rng.choice([-1, 1], size=m)
        margins = rng.uniform(0, 0.03, size=m)
        data = [rng.normal(rng.normal(0, 0.02), 0.02, size=6) for _ in range(m)]
        family = [mean_claim(f"c{i}", d, sign=int(s), margin=float(g))
                  for i, (d, s, g) in enumerate(zip(data, signs, margins, strict=True))]
        table = judge(family)
        ps = [_sides(d, s, g) for d, s, g in zip(data, signs, margins, strict=True)]
        rejected = holm([p[0] for p in ps] + [p[1] for p in ps]) <= 0.05
        expected = ["held" if rejected[i] else "did not hold" if rejected[m + i]
                    else "inconclusive" for i in range(m)]
        assert list(table["verdict"]) == expected, trial
        assert np.allclose(table["p_held"], [p[0] for p in ps])
        assert np.allclose(table["p_not"], [p[1] for p in ps])


def test_the_family_wise_error_rate_of_both_verdicts_is_at_most_alpha():
    """Families of claims with no effect: a wrong *held* in at most 5% of pages; families whose
    effect equals its margin: a wrong *did not hold* in at most 5% (binomial slack)."""
    rng = np.random.default_rng(2)
    pages, wrong_held, wrong_not = 400, 0, 0
    for _ in range(pages):
        null = judge([mean_claim(f"c{i}", rng.normal(0, 0.02, 6), margin=0.01)
                      for i in range(4)])
        wrong_held += (null["verdict"] == "held").any()
        edge = judge([mean_claim(f"c{i}", rng.normal(0.01, 0.02, 6), margin=0.01)
                      for i in range(4)])
        wrong_not += (edge["verdict"] == "did not hold").any()
    # 0.05 * 400 = 20 expected at worst; 34 is beyond its binomial 99.9% quantile
    assert wrong_held <= 34 and wrong_not <= 34, (wrong_held, wrong_not)


def test_an_absent_effect_measured_well_does_not_hold():
    """The second test has power: no effect, eight tight seeds, margin 0.03 -> did not hold."""
    rng = np.random.default_rng(3)
    table = judge([mean_claim("dip", rng.normal(0, 0.01, 8), sign=-1, published=0.06),
                   mean_claim("gain", rng.normal(0.05, 0.01, 8))])
    assert list(table["verdict"]) == ["did not hold", "held"]


def test_bisection_on_the_interval_agrees_with_the_analytic_tests():
    rng = np.random.default_rng(4)
    v = rng.normal(0.01, 0.02, 7)
    analytic = mean_claim("a", v, margin=0.02)
    generic = Claim("a", analytic.estimate, analytic.interval, analytic.p_value, 1, 0.0,
                    "", 0.02)
    assert generic.p_held() == pytest.approx(analytic.p_held(), abs=1e-6)
    assert generic.p_not() == pytest.approx(analytic.p_not(), abs=1e-6)
    a, g = judge([analytic]).iloc[0], judge([generic]).iloc[0]
    assert (a["adj_low"], a["adj_high"]) == pytest.approx((g["adj_low"], g["adj_high"]))


def test_judge_adjusts_over_the_family_and_reports_both_bounds():
    strong = mean_claim("strong", [0.05, 0.06, 0.055, 0.052, 0.058])
    weak = mean_claim("weak", [0.01, 0.03, -0.005, 0.02, 0.015])
    together = judge([strong, weak]).set_index("claim")
    assert together.loc["strong", "verdict"] == "held"
    # every adjusted bound is at least as far out as the one-sided 95% bound
    w = together.loc["weak"]
    low90, high90 = weak.interval(0.90)
    assert w["adj_low"] <= low90 + 1e-12 and w["adj_high"] >= high90 - 1e-12
    assert w["level"] >= 0.95 and w["level_not"] >= 0.95
    with pytest.raises(ValueError, match="repeat"):
        judge([strong, strong])


def test_a_claim_needs_a_direction_and_a_size_in_it():
    with pytest.raises(ValueError, match="sign"):
        fixed("x", 0, 1, 0.1, sign=0)
    with pytest.raises(ValueError, match="published"):
        fixed("x", 0, 1, 0.1, published=-0.1)
