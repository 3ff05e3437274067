"""Power: half-widths, seeds for a target half-width, minimum detectable effects."""

from __future__ import annotations

import math

import pytest

from tlkit.power import half_width, mde, plan, seeds_for, seeds_for_mde, spread


def test_half_width_by_hand():
    # n = 4, sd = 0.01: t_.975,3 = 3.182446 -> 3.182446 * 0.01 / 2
    assert half_width(0.01, 4) == pytest.approx(0.01591223, rel=1e-6)


def test_seeds_for_is_the_smallest_sufficient_n():
    n = seeds_for(0.012, 0.0085)
    assert half_width(0.012, n) <= 0.0085 < half_width(0.012, n - 1)
    assert seeds_for(0.0, 0.01) == 2
    with pytest.raises(ValueError, match="more than"):
        seeds_for(1.0, 1e-4, most=50)


def test_mde_grows_with_the_family_and_shrinks_with_seeds():
    assert mde(0.01, 8) < mde(0.01, 4)
    assert mde(0.01, 8, family=6) > mde(0.01, 8)
    # large n: approaches (z_.975 + z_.8) * sd / sqrt(n) = 2.80 * sd / sqrt(n)
    assert mde(1.0, 10_000) * math.sqrt(10_000) == pytest.approx(2.8016, abs=0.01)


def test_spread_and_bad_input():
    assert spread([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        spread([1.0])
    with pytest.raises(ValueError):
        half_width(0.1, 1)


def test_seeds_for_mde_is_the_smallest_sufficient_n_at_the_holm_level():
    n = seeds_for_mde(0.009, 0.0085, family=7)
    assert mde(0.009, n, family=7) <= 0.0085 < mde(0.009, n - 1, family=7)
    # a family of seven needs more seeds than a claim alone
    assert seeds_for_mde(0.009, 0.0085, family=7) > seeds_for_mde(0.009, 0.0085)
    with pytest.raises(ValueError, match="more than"):
        seeds_for_mde(1.0, 1e-4, most=50)


def test_the_plan_tests_only_what_it_can_power_and_replans_the_rest():
    sd = {"dip": 0.003, "boost": 0.009, "drop": 0.06}
    published = {"dip": 0.031, "boost": 0.017, "drop": 0.295}
    table = plan(sd, published, {"dip": 4, "boost": 7, "drop": 4}, others=2).set_index("claim")
    # powered exactly when the detectable effect at the family's level reaches half the size
    for claim, r in table.iterrows():
        assert r["powered"] == (mde(sd[claim], r["seeds"], family=r["family"]) <= r["target"])
    assert table.loc["dip", "powered"] and not table.loc["boost", "powered"]
    # the family is the powered claims and the two without a size: boost left it
    assert (table["family"] == 2 + int(table["powered"].sum())).all()
    # enough seeds power the boost too
    more = plan(sd, published, {"dip": 4, "boost": 40, "drop": 8}, others=2)
    assert more["powered"].all()
    with pytest.raises(ValueError, match="pilot spread"):
        plan({"dip": 0.003}, published, {"dip": 4})


def test_a_plan_assumes_the_upper_bound_of_a_pilots_spread():
    from scipy import stats as sps

    from tlkit.power import planning_sd

    # four pilot seeds: the 80% upper bound of sd is s * sqrt(3 / chi2_0.2,3)
    assert planning_sd(0.01, 4) == pytest.approx(0.01 * math.sqrt(3 / sps.chi2.ppf(0.2, 3)))
    assert planning_sd(0.01, 4) > planning_sd(0.01, 20) > 0.01
    assert planning_sd(0.01, None) == 0.01
    loose = plan({"dip": 0.004}, {"dip": 0.031}, {"dip": 4}, pilot_n=4).iloc[0]
    tight = plan({"dip": 0.004}, {"dip": 0.031}, {"dip": 4}).iloc[0]
    assert loose["planned_mde"] > tight["planned_mde"]
    with pytest.raises(ValueError, match="two seeds"):
        planning_sd(0.01, 1)
