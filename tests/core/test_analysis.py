"""The shared analysis layer: baselines joined by seed, paired tests, directions, intervals as
text; and the distances between the datasets of pairs of runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tlkit import DataSpec, ModelSpec
from tlkit.analysis import (
    direction,
    format_interval,
    format_intervals,
    paired_by_seed,
    paired_tests,
    with_baseline,
)
from tlkit.measures import pixel_features
from tlkit.measures.pairs import DistancePair, FeatureSpace
from tlkit.measures.pairs import pair_distances as distance_table


def test_direction_needs_the_whole_interval_on_one_side_of_zero():
    assert direction(0.01, 0.2) == "positive"
    assert direction(-0.3, -0.001) == "negative"
    assert direction(-0.01, 0.2) == direction(-0.2, 0.0) == "no clear difference"
    assert direction(math.nan, math.nan) == "no clear difference"


def test_format_interval():
    assert format_interval(0.0123, -0.0031, 0.0277) == "+0.012 [-0.003, +0.028]"
    assert format_interval(0.5, 0.4, 0.6, signed=False, digits=2) == "0.50 [0.40, 0.60]"
    assert format_interval(0.1, math.nan, math.nan) == "+0.100"


def test_with_baseline_joins_by_cell_and_seed_whatever_the_row_order():
    runs = pd.DataFrame(dict(cell=["a", "a", "b"], seed=[1, 0, 0], test_acc=[0.9, 0.8, 0.7]))
    base = pd.DataFrame(dict(cell=["a", "b", "a"], seed=[0, 0, 1], test_acc=[0.5, 0.6, 0.4]))
    out = with_baseline(runs, base, on=["cell", "seed"])
    assert list(out["baseline"]) == [0.4, 0.5, 0.6]
    with pytest.raises(ValueError, match="without their baseline"):
        with_baseline(runs, base.iloc[:2], on=["cell", "seed"])
    with pytest.raises(ValueError, match="more than one baseline"):
        with_baseline(runs, pd.concat([base, base]), on=["cell", "seed"])


def test_paired_tests_by_hand_and_holm_over_the_table():
    rows = []
    for seed, (a, b) in enumerate([(0.5, 0.4), (0.6, 0.4), (0.7, 0.5)]):
        rows.append(dict(group="x", seed=seed, a=a, b=b))
        rows.append(dict(group="y", seed=seed, a=b + [0.01, -0.02, 0.01][seed], b=b))
    out = paired_tests(pd.DataFrame(rows), ["group"], "a", "b").set_index("group")
    # differences 0.1, 0.2, 0.2: mean 1/6, t = 5 on 2 df, two-sided p = 1 - 5/sqrt(27)
    assert out.loc["x", "diff"] == pytest.approx(1 / 6)
    assert out.loc["x", "p_value"] == pytest.approx(1 - 5 / math.sqrt(27), rel=1e-9)
    assert out.loc["x", "direction"] == "positive" and out.loc["x", "seeds"] == 3
    assert out.loc["y", "diff"] == pytest.approx(0) and out.loc["y", "direction"] == (
        "no clear difference")
    # Holm over the two rows: the smaller p-value is doubled, the larger kept (and monotone)
    assert out.loc["x", "p_holm"] == pytest.approx(2 * out.loc["x", "p_value"])
    assert out.loc["y", "p_holm"] == pytest.approx(max(out.loc["y", "p_value"],
                                                       out.loc["x", "p_holm"]))


def test_paired_by_seed_matches_seeds_not_positions():
    a = pd.DataFrame(dict(seed=[0, 1, 2], v=[1.0, 2.0, 4.0]))
    b = pd.DataFrame(dict(seed=[2, 0, 1], v=[3.0, 0.0, 1.0]))
    assert paired_by_seed(a, b, "v").mean_diff == pytest.approx(1.0)


def test_distance_table_is_zero_for_a_pool_and_itself_and_positive_otherwise():
    space = FeatureSpace("pixels", lambda im: pixel_features(im, size=4), 1.0)
    letters = DataSpec("glyphs", {"fonts": ["sans"], "n_train": 6, "n_test": 1,
                                  "resolution": 16}, classes=tuple("ABC"))
    shifted = DataSpec("glyphs", {"fonts": ["sans"], "n_train": 6, "n_test": 1,
                                  "resolution": 16, "shift": 1.0}, classes=tuple("ABC"))
    pairs = [DistancePair(letters, letters, (space,), {"target": "same"}),
             DistancePair(letters, shifted, (space,), {"target": "shifted"})]
    table = distance_table(pairs, ModelSpec(width=2, size=16), max_samples=100)
    same, other = table.set_index("target").loc[["same", "shifted"]].to_dict("records")
    assert same["otdd_pixels"] == 0.0 and same["similarity_pixels"] == 1.0
    assert other["otdd_pixels"] > 0 and 0 < other["similarity_pixels"] < 1
    assert np.isclose(other["similarity_pixels"], math.exp(-other["emd_pixels"]))
    assert table["classes"].tolist() == [3, 3] and table["source_classes"].tolist() == [3, 3]


def test_format_intervals_writes_one_interval_per_row():
    frame = pd.DataFrame({"m": [0.1, -0.02], "lo": [0.05, math.nan], "hi": [0.15, math.nan]})
    assert format_intervals(frame, "m", "lo", "hi") == ["+0.100 [+0.050, +0.150]", "-0.020"]
    assert format_intervals(frame, "m", "lo", "hi", signed=False)[0] == "0.100 [0.050, 0.150]"


def test_format_mean_writes_the_per_seed_mean_with_its_t_interval():
    from tlkit.analysis import format_interval, format_mean, t_interval

    values = [0.1, 0.2, 0.4]
    low, high = t_interval(values, 0.95)
    assert format_mean(values) == format_interval(sum(values) / 3, low, high)
    assert format_mean([0.3]) == "not measured" and format_mean([], missing="–") == "–"
