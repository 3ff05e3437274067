"""The layer-transfer experiment: its grid, the columns its figures use, and its distances."""

from __future__ import annotations

import itertools
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from tlkit import data, results, sweep
from tlkit.experiments import check_params, settings
from tlkit.experiments import layer_transfer as lt
from tlkit.measures import domain_similarity, otdd, pixel_features

from .conftest import results_folder

matplotlib.use("Agg")


# --------------------------------------------------------------------------- the grid


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_protocol_grid_is_complete(profile):
    params = {"profile": profile}
    s = settings(lt.PROFILES, params)
    specs = lt.specs(params)
    protocol = [x for x in specs if x.tag_dict["part"] == "protocol"]
    cells = {}
    for spec in protocol:
        t = spec.tag_dict
        cell = (t["split"], t["condition"], spec.transfer.layers, spec.seed)
        assert cell not in cells, f"duplicate protocol cell {cell}"
        cells[cell] = spec
    names = [x.name for x in lt.splits(params)]
    seeds = range(s["seeds"])
    expected = {(n, c, d, seed) for n, c, d, seed in itertools.product(
        names, lt.CONDITIONS, s["depths"], seeds)}
    expected |= {(n, c, 0, seed) for n in names for c in ("baseA", "baseB") for seed in seeds}
    assert set(cells) == expected

    for (split, condition, _depth, seed), spec in cells.items():
        base_a = cells[(split, "baseA", 0, seed)]
        base_b = cells[(split, "baseB", 0, seed)]
        t = spec.transfer
        if condition in ("baseA", "baseB"):
            assert t.source is None and t.layers == 0
            continue
        # every target run sees exactly baseB's data, with the seed of its sources
        assert spec.data == base_b.data and spec.seed == seed
        assert t.freeze == (condition in lt.FROZEN_CONDITIONS)
        if condition == "random":
            assert t.source is None
        else:
            assert t.source == (base_b if condition.startswith("B") else base_a)
            assert t.source.seed == seed


@pytest.mark.parametrize("profile", ["smoke", "quick"])
def test_axis_grid_is_complete_and_shares_runs(profile):
    params = {"profile": profile}
    s = settings(lt.PROFILES, params)
    specs = lt.specs(params)
    axis = [x for x in specs if x.tag_dict["part"] == "axis"]
    cells = {(x.tag_dict["target"], x.tag_dict["condition"], x.transfer.layers, x.seed)
             for x in axis}
    targets = [t.name for ax in lt.axes(params) for t in ax.targets]
    expected = {(t, "scratch", 0, seed) for t in targets for seed in range(s["seeds"])}
    expected |= {(t, c, d, seed) for t, c, d, seed in itertools.product(
        targets, ("AnB", "AnB+"), s["axis_depths"], range(s["seeds"]))}
    assert cells == expected and len(axis) == len(expected)
    # the nearest target is target B of the near split: its runs are the protocol's runs
    protocol_keys = {x.key() for x in specs if x.tag_dict["part"] == "protocol"}
    shared = [x for x in axis if x.tag_dict["target"] == "other letters"]
    assert shared and all(x.key() in protocol_keys for x in shared)


def test_quick_grid_size_and_distinct_sources():
    specs = lt.specs({"profile": "quick"})
    assert len(specs) == 576 and len({x.key() for x in specs}) == 417
    sources = {src.key() for x in specs for src in x.sources()}
    # per seed: baseA of each of the three splits and one baseB, which they share
    assert len(sources) == 3 * 4


def test_far_sources_have_as_many_images_as_the_near_source():
    params = {"profile": "quick"}
    near, far, restyled = lt.splits(params)
    sizes = [len(s.a) * lt.source_spec(params, s, "a", 0).data.n_per_class
             for s in (near, far, restyled)]
    assert sizes == [1300, 1300, 1300]
    assert dict(lt.source_spec(params, restyled, "a", 0).data.options)["shift"] == 1.0


@pytest.mark.parametrize("bad", [
    {"seeds": 1}, {"depths": [0, 1]}, {"depths": [8]}, {"depths": [2, 2]},
    {"axis_depths": []}, {"executor": "cluster"},
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
    gains = lt.axis_gains(df)
    assert {"target", "condition", "layers", "seed", "gain", "scratch"} <= set(gains.columns)
    assert np.allclose(gains.loc[gains["layers"] == 0, "gain"], 0.0)
    best = lt.best_depths(gains)
    assert set(best["best_depth"]) <= {0, 1, 7}
    for column in ("target", "otdd_pixels", "similarity_pixels", "otdd_network",
                   "similarity_network", "emd_pixels"):
        assert column in distances.columns, column
    assert list(distances["otdd_pixels"]) == sorted(distances["otdd_pixels"])
    assert {"split", "otdd_pixels"} <= set(splits.columns)

    values, table = lt.patterns(df, distances, settings(lt.PROFILES, {})["pairs"])
    for key in ("dip", "dip_verdict", "repair_verdict", "rel_near", "rel_far", "ratio",
                "drop_verdict", "pair1_rel_far", "boost", "boost_verdict", "trend_rho",
                "trend_verdict", "trend_plus_verdict"):
        assert key in values, key
    assert {"pattern", "published", "ours", "verdict"} <= set(table.columns)
    # the page's sentences are in the notebook: verdicts are labels, values numbers or names
    assert all(values[k] in lt.VERDICTS for k in values if k.endswith("verdict"))
    assert set(table["verdict"]) <= set(lt.VERDICTS)

    figs = [
        depth_curves_plot(curves[curves["split"] == "near"], hue_order=lt.CONDITIONS,
                          baseline=curves.loc[(curves["condition"] == "BnB")
                                              & (curves["layers"] == 0), "test_acc"]),
        relative_depth_plot(rel[rel["condition"] == "AnB"],
                            published=lt.yosinski_relative().query("condition == 'AnB'"),
                            published_range=(7, *lt.YOSINSKI_FAR_RELATIVE_TOP)),
        gain_heatmap(gains[gains["condition"] == "AnB"], col_order=list(distances["target"])),
        best_depth_plot(best.merge(distances[["axis", "target", "otdd_pixels"]]),
                        x="otdd_pixels", bounds=(0, 7)),
    ]
    for fig in figs:
        assert fig.axes
        plt.close(fig)


# --------------------------------------------------------------------------- the verdicts


def _synthetic(base, bnb, anb_near, anb_far, seeds=4, noise=0.002):
    """A protocol table with chosen mean accuracies per depth (n = 1..7)."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(seeds):
        jitter = lambda: float(rng.normal(0, noise))  # noqa: E731
        for split, anb in (("near", anb_near), ("far", anb_far)):
            rows.append(dict(part="protocol", split=split, kind=split, condition="baseB",
                             layers=0, seed=seed, test_acc=base + jitter()))
            for n in range(1, 8):
                values = {"BnB": bnb[n - 1], "BnB+": base + 0.01, "AnB": anb[n - 1],
                          "AnB+": base + 0.02, "random": 0.1}
                for condition, value in values.items():
                    rows.append(dict(part="protocol", split=split, kind=split,
                                     condition=condition, layers=n, seed=seed,
                                     test_acc=value + jitter()))
    return pd.DataFrame(rows)


def test_verdicts_follow_the_numbers():
    yos = lt.YOSINSKI_ACCURACY
    far = [a * 0.6 / 0.87 if n > 4 else a for n, a in enumerate(yos["AnB"], start=1)]
    df = _synthetic(lt.YOSINSKI_BASE_B, yos["BnB"], yos["AnB"], far)
    dip = lt.bnb_dip(df, "near")
    assert dip["dip_held"] and dip["dip_depth"] == 5 and dip["repair_held"]
    drop = lt.top_layer_drop(df, "near", "far")
    assert drop["held"] and drop["rel_near"] == pytest.approx(0.869, abs=0.01)
    assert lt.fine_tuning_boost(df, "near")["held"]

    flat = _synthetic(0.8, [0.8] * 7, [0.8] * 7, [0.8] * 7)
    assert not lt.bnb_dip(flat, "near")["dip_held"]
    assert not lt.top_layer_drop(flat, "near", "far")["held"]
    worse = _synthetic(0.8, [0.8] * 7, [0.8] * 7, [0.8] * 7)
    worse.loc[worse["condition"] == "AnB+", "test_acc"] -= 0.1
    assert not lt.fine_tuning_boost(worse, "near")["held"]


def test_best_depth_trend_sign():
    distances = pd.DataFrame(dict(axis="a", target=list("pqrst"),
                                  otdd_pixels=[1.0, 2.0, 3.0, 4.0, 5.0]))
    rows = [dict(axis="a", target=t, condition="AnB", seed=s, best_depth=7 - i)
            for i, t in enumerate("pqrst") for s in range(3)]
    falling = lt.best_depth_trend(pd.DataFrame(rows), distances)
    assert falling["held"] and falling["rho"] == pytest.approx(-1.0)
    rising = pd.DataFrame(rows).assign(best_depth=lambda d: 7 - d["best_depth"])
    assert not lt.best_depth_trend(rising, distances)["held"]


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
