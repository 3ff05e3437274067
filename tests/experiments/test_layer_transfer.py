"""The layer-transfer experiment: its grid, the columns its figures use, and its distances."""

from __future__ import annotations

import itertools
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from tests.conftest import results_folder
from tlkit import data, results, sweep
from tlkit.experiments import check_params
from tlkit.experiments import layer_transfer as lt
from tlkit.measures import domain_similarity, otdd, pixel_features
from tlkit.verdicts import VERDICTS, judge

matplotlib.use("Agg")


# --------------------------------------------------------------------------- the grid


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_protocol_grid_is_complete(profile):
    params = {"profile": profile}
    s = lt.design_settings(params)
    specs = lt.specs(params)
    protocol = [x for x in specs if x.tag_dict["part"] == "protocol"]
    cells = {}
    for spec in protocol:
        t = spec.tag_dict
        cell = (t["split"], t["condition"], spec.transfer.layers, spec.seed)
        assert cell not in cells, f"duplicate protocol cell {cell}"
        cells[cell] = spec
    expected = set()
    for split in lt.splits(params):
        for c in split.conditions:
            expected |= {(split.name, c, d, seed) for d, seed in itertools.product(
                s["depths"], range(lt.seeds_of(params, c)))}
        uses_a = [c for c in split.conditions if lt.CONDITION_METHODS[c][1] == "a"]
        a_seeds = max(lt.seeds_of(params, c) for c in uses_a) if uses_a else 0
        expected |= {(split.name, "baseA", 0, seed) for seed in range(a_seeds)}
        expected |= {(split.name, "baseB", 0, seed)
                     for seed in range(lt.seeds_of(params, "baseB"))}
        if "AnB" in split.conditions:  # the top depth again, with B's batch-norm statistics
            expected |= {(split.name, lt.TARGET_BN, max(s["depths"]), seed)
                         for seed in range(lt.seeds_of(params, "AnB"))}
    assert set(cells) == expected

    for (split, condition, _depth, seed), spec in cells.items():
        base_b = cells[(split, "baseB", 0, seed)]
        t = spec.transfer
        if condition in ("baseA", "baseB"):
            assert t.source is None and t.layers == 0 and spec.train == lt.recipe(params,
                                                                                   "scratch")
            continue
        # every target run sees exactly baseB's data, with the seed of its sources
        assert spec.data == base_b.data and spec.seed == seed
        assert spec.data.validation == s["validation"] > 0
        assert spec.train == lt.recipe(params, "transfer")
        if condition == lt.TARGET_BN:
            anb = cells[(split, "AnB", _depth, seed)].transfer
            assert t.bn_stats == "target" and anb.bn_stats == "source"
            assert (t.source, t.layers, t.freeze) == (anb.source, anb.layers, anb.freeze)
            continue
        assert t.freeze == (condition in lt.FROZEN_CONDITIONS)
        if condition == "random":
            assert t.source is None
        else:
            base_a = cells[(split, "baseA", 0, seed)] if condition.startswith("A") else None
            assert t.source == (base_b if condition.startswith("B") else base_a)
            assert t.source.seed == seed


def test_seeds_follow_the_power_calculation(tmp_path):
    """The quick profile's seeds power every claim its experiment can show: with the pilot's
    spread (its upper bound), the detectable effect at the Holm level of the family is at most
    half the published size, with the seeds of the conditions the claim reads; the claims
    whose preconditions fail are out of the family, each with its reason."""
    from tlkit.power import mde, planning_sd

    params = {"profile": "quick"}
    s = lt.design_settings(params)
    assert set(s["power"]["sd"]) == set(lt.CLAIM_CONDITIONS)
    with results_folder(tmp_path):
        barred = lt.untestable(lt.preconditions(params))
    table = lt.power_plan(params, barred).set_index("claim")
    tested = [c for c in s["power"]["sd"] if c not in barred]
    family = len(tested) + 2  # and the two trends
    for claim in tested:
        seeds = min(lt.seeds_of(params, c) for c in lt.CLAIM_CONDITIONS[claim])
        sd = planning_sd(s["power"]["sd"][claim], s["power"]["pilot"]["seeds"])
        detect = mde(sd, seeds, family=family)
        assert detect <= lt.PUBLISHED[claim.split("_")[0]] / 2, claim
        assert table.loc[claim, "planned_mde"] == pytest.approx(detect)
        assert table.loc[claim, "powered"] and table.loc[claim, "why"] == ""
    for claim, why in barred.items():
        assert not table.loc[claim, "powered"] and table.loc[claim, "why"] == why
    assert lt.seeds_of(params, "baseB") == max(lt.seeds_of(params, c) for c in lt.CONDITIONS)


@pytest.mark.parametrize("profile", ["smoke", "quick"])
def test_axis_grid_is_complete(profile):
    params = {"profile": profile}
    s = lt.design_settings(params)
    specs = lt.specs(params)
    axis = [x for x in specs if x.tag_dict["part"] == "axis"]
    cells = {(x.tag_dict["target"], x.tag_dict["condition"], x.transfer.layers, x.seed)
             for x in axis}
    targets = [t.name for ax in lt.axes(params) for t in ax.targets]
    seeds = range(s["axis_seeds"])
    expected = {(t, "scratch", 0, seed) for t in targets for seed in seeds}
    expected |= {(t, c, d, seed) for t, c, d, seed in itertools.product(
        targets, ("AnB", "AnB+"), s["axis_depths"], seeds)}
    assert cells == expected and len(axis) == len(expected)
    assert {x.data.n_per_class for x in axis} == {s["axis_per_class"]}


def test_quick_grid_size_and_distinct_sources():
    specs = lt.specs({"profile": "quick"})
    distinct = {x.key(): x for x in specs}
    assert len(specs) == 363 and len(distinct) == 345
    sources = {src.key() for x in specs for src in x.sources()}
    # baseA near for the 5 seeds of AnB, baseA of each of the 3 far splits for its 5 seeds, and
    # baseB for the 6 seeds of BnB and BnB+ (every seed of baseB is a source here)
    assert len(sources) == 5 + 3 * 5 + 6


def test_far_sources_have_as_many_images_as_the_near_source():
    params = {"profile": "quick"}
    near, far, restyled, shapes = lt.splits(params)
    sizes = [len(s.a) * lt.source_spec(params, s, "a", 0).data.n_per_class
             for s in (near, far, restyled, shapes)]
    assert sizes == [2600, 2600, 2600, 2600]
    assert dict(lt.source_spec(params, restyled, "a", 0).data.options)["shift"] == 1.0
    # a source of another domain: half A drawn from its own dataset, half B the letters'
    a, b = lt.source_spec(params, shapes, "a", 0).data, lt.source_spec(params, shapes, "b", 0).data
    assert (a.name, b.name) == ("shapes", "glyphs") and "fonts" not in dict(a.options)
    assert b == lt.source_spec(params, near, "b", 0).data


@pytest.mark.parametrize("change, message", [
    ({"a_dataset": "shapez"}, "unknown dataset 'shapez'"),
    ({"a": ["circle", "blob"]}, r"unknown class name\(s\) \['blob'\] for dataset 'shapes'"),
    ({"a_options": {"resolution": 8, "n_train": 5, "n_test": 2}}, "has only 5 in the train"),
])
def test_a_half_a_from_another_dataset_is_checked_against_that_dataset(change, message):
    import copy

    splits = copy.deepcopy(lt.design_settings({"profile": "smoke"})["splits"])
    shapes = next(d for d in splits if d.get("a_dataset") == "shapes")
    shapes.update(change)
    with pytest.raises(ValueError, match=message):
        lt.check_params({"profile": "smoke", "overrides": {"splits": splits}})


def test_a_seeds_parameter_sets_every_condition():
    params = {"profile": "quick", "seeds": 3}
    assert {lt.seeds_of(params, c) for c in (*lt.CONDITIONS, "baseA", "baseB")} == {3}
    assert lt.design_settings(params)["axis_seeds"] == 3


@pytest.mark.parametrize("bad", [
    {"seeds": 1}, {"depths": [0, 1]}, {"depths": [8]}, {"depths": [2, 2]},
    {"axis_depths": []}, {"executor": "cluster"},
    {"power": {"pilot": {"base_b": 93.5}}}, {"power": {"pilot": {"random_relative": -0.1}}},
    {"power": {"pilot": {"seeds": 1}}}, {"power": {"sd": {"dip": "wide"}}},
])
def test_bad_parameters_are_rejected_before_any_work(bad):
    with pytest.raises(ValueError):
        check_params("01_layer_transfer", {"profile": "smoke", **bad})


# --------------------------------------------------------------------------- a smoke run


@pytest.fixture(scope="module")
def smoke_frame(tmp_path_factory):
    with results_folder(tmp_path_factory.mktemp("lt_results")):
        params = {"profile": "smoke"}
        records = sweep.run(lt.specs(params), device="cpu", progress=False)
        df = results.frame(records)
        distances = lt.distance_table(params)
        splits = lt.split_distances(params)
    return df, distances, splits


def test_smoke_run_yields_every_column_the_figures_use(smoke_frame):
    import matplotlib.pyplot as plt

    from tlkit.plots import best_depth_plot, depth_curves_plot, gain_heatmap, relative_depth_plot

    df, distances, splits = smoke_frame
    for column in ("part", "split", "kind", "condition", "layers", "seed", "test_acc",
                   "axis", "target", "family", "freeze", "source_key"):
        assert column in df.columns, column
    curves = lt.protocol_curves(df)
    assert set(curves["condition"]) == set(lt.CONDITIONS)
    assert set(curves["layers"]) == {0, 1, 4, 7}
    rel = lt.relative_to_base(df)
    assert {"relative", "base_b"} <= set(rel.columns)
    assert np.allclose(rel.loc[rel["layers"] == 0, "relative"], 1.0)
    zero = df.copy()  # a baseB with no correct answer: no ratio, never an infinite one
    first = zero["condition"].eq("baseB") & zero["seed"].eq(zero["seed"].min())
    zero.loc[first, "test_acc"] = 0.0
    rel0 = lt.relative_to_base(zero)
    hit = rel0["seed"].eq(zero["seed"].min()) & rel0["split"].isin(zero.loc[first, "split"])
    assert rel0.loc[hit, "relative"].isna().all() and np.isfinite(rel0.loc[~hit, "relative"]).all()
    gains = lt.axis_gains(df)
    assert {"target", "condition", "layers", "seed", "gain", "scratch"} <= set(gains.columns)
    assert np.allclose(gains.loc[gains["layers"] == 0, "gain"], 0.0)
    best = lt.best_depths(gains)
    assert set(best["best_depth"]) <= {0, 1, 7}
    per_target = lt.target_best_depths(gains, distances)
    assert len(per_target) == 2 * len(distances)
    for column in ("target", "otdd_pixels", "similarity_pixels", "otdd_network",
                   "similarity_network", "emd_pixels"):
        assert column in distances.columns, column
    assert list(distances["otdd_pixels"]) == sorted(distances["otdd_pixels"])
    assert {"split", "otdd_pixels"} <= set(splits.columns)

    s = lt.design_settings({"profile": "smoke"})
    found, values = lt.effects(df, distances, s["pairs"], s["middle"])
    assert set(found) == {"dip", "repair", "drop", "drop_2", "boost", "trend", "trend_plus"}
    assert values["dip_depth"] in s["middle"] and values["drop_depth"] == max(s["depths"])
    judged = judge(lt.claims(found))
    assert set(judged["verdict"]) <= set(VERDICTS) and list(judged["claim"]) == list(found)
    check = lt.sanity_check(df, "near")
    assert check["seeds"] == 2 and check["low"] <= check["mean"] <= check["high"]
    # judged on the interval: a wide interval around a mean of zero does not pass
    assert check["within"] == (-0.01 <= check["low"] and check["high"] <= 0.01)

    figs = [
        depth_curves_plot(curves[curves["split"] == "near"], hue_order=lt.CONDITIONS,
                          baseline=curves.loc[(curves["condition"] == "BnB")
                                              & (curves["layers"] == 0), "test_acc"]),
        relative_depth_plot(rel[rel["condition"] == "AnB"],
                            published=lt.yosinski_relative().query("condition == 'AnB'"),
                            published_range=(7, *lt.YOSINSKI_FAR_RELATIVE_TOP)),
        gain_heatmap(gains[gains["condition"] == "AnB"], col_order=list(distances["target"])),
        best_depth_plot(per_target, x="otdd_pixels", bounds=(0, 7), note="one choice each"),
    ]
    for fig in figs:
        assert fig.axes
        plt.close(fig)


# --------------------------------------------------------------------------- the verdicts


def _synthetic(base, bnb, anb_near, anb_far, seeds=4, noise=0.002):
    """A protocol table with chosen mean accuracies per depth (n = 1..7), test and validation
    alike."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(seeds):
        jitter = lambda: float(rng.normal(0, noise))  # noqa: E731
        for split, anb in (("near", anb_near), ("far", anb_far)):
            v = base + jitter()
            rows.append(dict(part="protocol", split=split, kind=split, condition="baseB",
                             layers=0, seed=seed, test_acc=v, val_acc=v))
            for n in range(1, 8):
                values = {"BnB": bnb[n - 1], "BnB+": base + 0.01, "AnB": anb[n - 1],
                          "AnB+": base + 0.02, "random": 0.1}
                for condition, value in values.items():
                    v = value + jitter()
                    rows.append(dict(part="protocol", split=split, kind=split,
                                     condition=condition, layers=n, seed=seed, test_acc=v,
                                     val_acc=v))
    return pd.DataFrame(rows)


def _verdicts(df):
    found, _ = lt.effects(df, None, [["near", "far"]], middle=[3, 4, 5, 6])
    return judge(lt.claims(found)).set_index("claim")["verdict"]


def test_verdicts_follow_the_numbers():
    yos = lt.YOSINSKI_ACCURACY
    far = [a * 0.6 / 0.87 if n > 4 else a for n, a in enumerate(yos["AnB"], start=1)]
    df = _synthetic(lt.YOSINSKI_BASE_B, yos["BnB"], yos["AnB"], far)
    assert lt.dip_depth(df, "near", [3, 4, 5, 6]) == 5
    assert dict(_verdicts(df)) == {"dip": "held", "repair": "held", "drop": "held",
                                   "boost": "held"}
    flat = _synthetic(0.8, [0.8] * 7, [0.8] * 7, [0.8] * 7)
    v = _verdicts(flat)
    # no dip, no drop: the precise intervals exclude the published sizes
    assert v["dip"] == "did not hold" and v["drop"] == "did not hold"
    worse = flat.copy()
    worse.loc[worse["condition"] == "AnB+", "test_acc"] -= 0.1
    assert _verdicts(worse)["boost"] == "did not hold"
    noisy = _synthetic(0.8, [0.8] * 7, [0.8] * 7, [0.8] * 7, noise=0.05, seeds=2)
    assert "held" not in set(_verdicts(noisy))  # wide intervals: never held by chance here


def test_depth_trend_is_a_rank_correlation_over_targets():
    from tlkit.analysis import correlation_claim

    falling = correlation_claim("t", [1, 2, 3, 4, 5, 6], [7, 6, 5, 3, 1, 0], sign=-1)
    assert falling.estimate == pytest.approx(-1.0)
    low, high = falling.interval(0.95)
    assert high < 0 and falling.p_value < 0.01
    flat = correlation_claim("t", [1, 2, 3, 4, 5], [0, 0, 0, 0, 0], sign=-1)
    assert math.isnan(flat.estimate)  # no variation in best depth: nothing to correlate


def test_published_reference_values():
    ref = lt.yosinski_relative()
    anb7 = ref[(ref["condition"] == "AnB") & (ref["layers"] == 7)]["relative"].item()
    assert anb7 == pytest.approx(0.87, abs=0.005)
    assert lt.YOSINSKI_FAR_RELATIVE_TOP == (0.54, 0.61)


# --------------------------------------------------------------------------- distances


def _glyph_features(shift, seed):
    opts = dict(fonts=("sans",), n_train=20, n_test=1, resolution=16,
                charset="ABCDEFGHIJKLM", shift=shift, seed=seed)
    d = data.load("glyphs", "train", **opts)
    return pixel_features(d.images, size=8), d.labels.numpy()


def test_otdd_grows_strictly_with_the_glyph_style_shift():
    """In the pixel space of the chapter, OTDD from shift 0 grows strictly with the shift.

    The shifted datasets are independent draws (another generator seed), so the growth is
    not an artefact of pairing the same random variates; shift 0 is their noise floor.
    """
    xa, ya = _glyph_features(0.0, 0)
    shifts = (0.0, 0.25, 0.5, 0.75, 1.0)
    d = [otdd(xa, ya, *_glyph_features(s, 1), max_samples=260) for s in shifts]
    assert all(a < b for a, b in itertools.pairwise(d)), d
    sim = [domain_similarity(xa, ya, *_glyph_features(s, 1), gamma=1.0) for s in shifts]
    assert all(a > b for a, b in itertools.pairwise(sim)), sim


def test_glyph_distance_is_zero_on_itself_and_symmetric():
    xa, ya = _glyph_features(0.0, 0)
    xb, yb = _glyph_features(0.5, 1)
    assert otdd(xa, ya, xa, ya, max_samples=260) == 0.0  # by construction, on every CPU
    assert domain_similarity(xa, ya, xa, ya) == pytest.approx(1.0)
    assert otdd(xa, ya, xb, yb, max_samples=260) == pytest.approx(
        otdd(xb, yb, xa, ya, max_samples=260), rel=1e-9)
    assert domain_similarity(xa, ya, xb, yb) == pytest.approx(
        domain_similarity(xb, yb, xa, ya), rel=1e-12)
    assert math.isfinite(otdd(xa, ya, xb, yb, max_samples=260))


def test_a_claim_the_plan_cannot_power_is_not_tested():
    """The plan comes from the profile's pilot spreads alone; a claim it cannot power leaves
    the family before any verdict, and the rest are judged at the smaller family's levels."""
    from tlkit.power import plan

    rng = np.random.default_rng(0)
    found = {name: dict(values=pd.Series(rng.normal(0.02, 0.01, 4)), sign=1,
                        published=lt.PUBLISHED[name], description=name)
             for name in ("dip", "boost")}
    table = plan({"dip": 0.003, "boost": 0.009}, {"dip": 0.031, "boost": 0.017},
                 {"dip": 4, "boost": 4})
    assert list(table.loc[table["powered"], "claim"]) == ["dip"]
    assert [c.name for c in lt.claims(found, table)] == ["dip"]
    assert [c.name for c in lt.claims(found)] == ["dip", "boost"]
    # the quick profile's plan, from its pilot: each claim of the protocol has a row
    quick = lt.power_plan({"profile": "quick"})
    assert set(quick["claim"]) == set(lt.CLAIM_CONDITIONS)
    assert (quick["pilot_sd"] > 0).all() and (quick["family"] >= 2).all()


def test_the_drop_is_measured_with_both_batchnorm_statistics(smoke_frame):
    """The top-layer drop with A's statistics is the claim's; with B's, it comes from the runs
    that recompute them, on the same seeds."""
    df, _, _ = smoke_frame
    pairs = lt.design_settings({"profile": "smoke"})["pairs"]
    both = lt.batchnorm_both_ways(df, pairs)
    assert list(both["statistics"]) == ["the source's", "recomputed on B"] * len(pairs)
    for near, far in pairs:
        _, d = lt.top_layer_drop(df, near, far)
        rows = both[both["pair"] == f"{near} - {far}"].set_index("statistics")
        assert rows.loc["the source's", "drop"] == pytest.approx(d.mean())
        assert rows.loc["the source's", "seeds"] == rows.loc["recomputed on B", "seeds"] == len(d)
        assert (rows["low"] <= rows["drop"]).all() and (rows["drop"] <= rows["high"]).all()
    recomputed = df[df["condition"] == lt.TARGET_BN]
    assert (recomputed["bn_stats"] == "target").all() and len(recomputed) > 0
