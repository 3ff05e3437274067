"""The verdict rules: intervals adjusted by Holm, and held / did not hold / inconclusive."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlkit.analysis import mean_claim
from tlkit.stats import holm
from tlkit.verdicts import Claim, holm_levels, judge, verdict


def fixed(name, low, high, p, sign=1, published=0.0):
    """A claim whose interval is [low, high] at every level (for the verdict rule alone)."""
    return Claim(name, (low + high) / 2, lambda level: (low, high), p, sign, published)


@pytest.mark.parametrize(("low", "high", "sign", "published", "expected"), [
    (0.01, 0.05, 1, 0.0, "held"),
    (-0.001, 0.05, 1, 0.0, "inconclusive"),        # includes zero: never held
    (-0.05, -0.01, 1, 0.0, "did not hold"),        # the other side of zero
    (-0.01, 0.01, 1, 0.03, "did not hold"),        # excludes the published size
    (-0.01, 0.04, 1, 0.03, "inconclusive"),        # includes 0 and the published size
    (0.005, 0.02, 1, 0.03, "held"),                # smaller than published, but positive
    (-0.05, -0.02, -1, 0.031, "held"),             # a claimed dip
    (-0.02, 0.01, -1, 0.031, "did not hold"),      # no dip as large as published
    (-0.04, 0.01, -1, 0.031, "inconclusive"),
    (math.nan, math.nan, 1, 0.0, "inconclusive"),
])
def test_the_rule(low, high, sign, published, expected):
    assert verdict(low, high, sign, published) == expected


def test_an_interval_that_includes_zero_is_never_held():
    rng = np.random.default_rng(0)
    for _ in range(500):
        low = rng.normal()
        high = low + abs(rng.normal())
        sign, published = rng.choice([-1, 1]), abs(rng.normal(0, 0.05))
        if low <= 0 <= high:
            assert verdict(low, high, sign, published) != "held"


def test_holm_levels_by_hand():
    # m = 3: 0.001 <= 0.05/3 and 0.02 <= 0.05/2 are rejected, 0.04 <= 0.05 too
    assert np.allclose(holm_levels([0.04, 0.001, 0.02]), [0.95, 1 - 0.05 / 3, 0.975])
    # 0.03 > 0.05/2: not rejected, and so neither is any later claim: both get level 0.975
    assert np.allclose(holm_levels([0.001, 0.03, 0.04]), [1 - 0.05 / 3, 0.975, 0.975])
    levels = holm_levels([0.01, float("nan")])
    assert levels[0] == pytest.approx(0.95) and levels[1] == pytest.approx(0.95)


def test_adjusted_intervals_agree_with_holm_decisions():
    """For t-based claims, the adjusted interval excludes 0 exactly when Holm rejects."""
    rng = np.random.default_rng(1)
    for trial in range(40):
        family = [mean_claim(f"c{i}", rng.normal(rng.normal(0, 0.02), 0.02, size=6))
                  for i in range(5)]
        table = judge(family)
        rejected = holm(table["p_value"]) <= 0.05
        excludes = (table["adj_low"] > 0) | (table["adj_high"] < 0)
        assert list(rejected) == list(excludes), trial


def test_judge_adjusts_over_the_family_and_reports_both_intervals():
    strong = mean_claim("strong", [0.05, 0.06, 0.055, 0.052, 0.058])
    weak = mean_claim("weak", [0.01, 0.03, -0.005, 0.02, 0.015])
    alone = judge([weak]).iloc[0]
    together = judge([strong, weak]).set_index("claim")
    assert together.loc["strong", "verdict"] == "held"
    # the weak claim's adjusted interval is at least as wide as its plain 95% interval
    w = together.loc["weak"]
    assert w["adj_low"] <= w["ci_low"] and w["adj_high"] >= w["ci_high"]
    assert alone["level"] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="repeat"):
        judge([strong, strong])


def test_a_claim_needs_a_direction_and_a_size_in_it():
    with pytest.raises(ValueError, match="sign"):
        fixed("x", 0, 1, 0.1, sign=0)
    with pytest.raises(ValueError, match="published"):
        fixed("x", 0, 1, 0.1, published=-0.1)
