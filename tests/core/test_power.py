"""Power: half-widths, seeds for a target half-width, minimum detectable effects."""

from __future__ import annotations

import math

import pytest

from tlkit.power import half_width, mde, seeds_for, spread


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
