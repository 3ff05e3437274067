"""Can the layer-transfer experiment show each effect? Preconditions measured before any result,
and the claims that fail them kept out of the family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import results_folder
from tlkit.experiments import layer_transfer as lt
from tlkit.experiments.layer_transfer.preconditions import pilot_values
from tlkit.power import plan


def _draws(means: dict[str, float], sd: float, n: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame([dict(split=k, draw=d, otdd_pixels=m + rng.normal(0, sd))
                         for d in range(1, n + 1) for k, m in means.items()])


def test_far_is_far_only_beyond_the_distances_own_noise():
    draws = _draws({"near": 1.25, "same fonts": 1.17, "close": 1.255, "restyled": 4.2}, 0.02)
    table = lt.far_is_far(draws, [["near", "same fonts"], ["near", "close"],
                                  ["near", "restyled"]]).set_index("claim")
    assert list(table.index) == ["drop", "drop_2", "drop_3"]
    # closer than near; farther by less than the noise; farther by far more than the noise
    assert list(table["holds"]) == [False, False, True]
    assert table.loc["drop", "high"] < 0 < table.loc["drop_3", "low"]
    assert table.loc["drop_2", "low"] < 0 < table.loc["drop_2", "high"]


def test_the_quick_profile_compares_only_splits_that_are_far_by_measure(tmp_path):
    """The quick profile's digits in the letters' fonts are closer to B than the near half A,
    by more than the distance's noise, and no pair compares them; the far split of every pair
    (the restyled digits, the shapes) is far by measure."""
    with results_folder(tmp_path):
        draws = lt.distance_draws({"profile": "quick"}, draws=6)
    pairs = lt.design_settings({"profile": "quick"})["pairs"]
    assert all(far != "far" for _, far in pairs)
    table = lt.far_is_far(draws, [["near", "far"], *pairs])
    assert list(table["holds"]) == [False, True, True]
    assert table["high"].iloc[0] < 0 and table["draws"].eq(6).all()


@pytest.mark.parametrize("pilot, failed", [
    ({}, set()),                                                       # nothing measured
    ({"base_b": 0.7, "random_relative": 0.4}, set()),                   # room for both
    ({"base_b": 0.92, "random_relative": 0.4}, {"boost"}),              # no headroom
    ({"base_b": 0.7, "random_relative": 0.8}, {"drop", "drop_2"}),      # random keeps too much
])
def test_pilot_preconditions_take_their_claims_out(tmp_path, pilot, failed):
    params = {"profile": "smoke", "power": {"pilot": pilot}}
    with results_folder(tmp_path):
        table = lt.preconditions(params, draws=3)
    pilot_rows = table[table["source"] == "pilot"]
    assert pilot_rows["holds"].isna().all() == (not pilot)
    assert set(lt.untestable(pilot_rows)) == failed
    assert len(table) == len(lt.design_settings(params)["pairs"]) + 2


def test_headroom_threshold_is_the_boost_rescaled_to_its_margin():
    # 0.017 removed 4.5% of a 0.375 error rate; that share of the errors is half of 0.017
    # exactly at an error rate of 0.1875
    assert lt.HEADROOM_ERROR == pytest.approx(0.1875)
    share = lt.PUBLISHED["boost"] / (1 - lt.YOSINSKI_BASE_B)
    assert share * lt.HEADROOM_ERROR == pytest.approx(lt.PUBLISHED["boost"] / 2)


def test_a_failed_precondition_leaves_the_family_before_any_verdict():
    sd = {"dip": 0.003, "drop": 0.03, "boost": 0.002}
    published = {"dip": 0.031, "drop": 0.29, "boost": 0.017}
    seeds = {"dip": 6, "drop": 8, "boost": 5}
    full = plan(sd, published, seeds, others=2)
    barred = plan(sd, published, seeds, others=2,
                  untestable={"drop": "precondition failed: far is far (far)"})
    assert full["powered"].all() and (full["why"] == "").all()
    row = barred.set_index("claim").loc["drop"]
    assert not row["powered"] and row["why"] == "precondition failed: far is far (far)"
    assert barred["family"].iloc[0] == full["family"].iloc[0] - 1  # a smaller family
    rng = np.random.default_rng(1)
    found = {k: dict(values=pd.Series(rng.normal(0.02, 0.01, 6)), sign=1,
                     published=lt.PUBLISHED[k], description=k) for k in sd}
    assert [c.name for c in lt.claims(found, barred)] == ["dip", "boost"]


def test_the_pilot_reads_its_preconditions_on_validation():
    rows = []
    for seed in (2000, 2001):
        rows.append(dict(part="protocol", split="near", condition="baseB", layers=0, seed=seed,
                         val_acc=0.8, test_acc=0.0))
        for n, v in ((1, 0.7), (7, 0.2 + 0.2 * (seed - 2000))):
            rows.append(dict(part="protocol", split="near", condition="random", layers=n,
                             seed=seed, val_acc=v, test_acc=0.0))
    values = pilot_values(pd.DataFrame(rows), "near")
    assert values == {"base_b": 0.8, "random_relative": pytest.approx((0.25 + 0.5) / 2)}


def test_a_far_split_no_pair_compares_is_named_with_its_distance_and_no_claim():
    splits = lt.splits({"profile": "quick"})
    pairs = lt.design_settings({"profile": "quick"})["pairs"]
    distances = {"near": 1.25, "far": 1.17, "far, restyled": 4.26, "far, shapes": 3.49}
    text = lt.unpaired_text(distances, splits, pairs)
    assert text == ("Far in meaning only, the far split's half A lies 1.17 from B (the near "
                    "split's: 1.25); it is shown, and no claim rests on it.")
    assert lt.unpaired_text(distances, splits, [*pairs, ["near", "far"]]) == ""
