"""The small-targets experiment: its grid, stratified sizes, the columns its figures use, and
its statistics against hand-computed values."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from tests.conftest import results_folder
from tlkit import data, results, runner, sweep
from tlkit.experiments import check_params, settings
from tlkit.experiments import layer_transfer as lt
from tlkit.experiments import small_targets as st
from tlkit.store import Store
from tlkit.verdicts import VERDICTS, judge

matplotlib.use("Agg")


# --------------------------------------------------------------------------- the grid


def _cells(specs):
    """(study, architecture, source, method, size, seed) -> spec."""
    return {(x.tag_dict["study"], x.model.arch, x.tag_dict["source"], x.tag_dict["method"],
             x.data.n_per_class, x.seed): x for x in specs}


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_spec_grid_is_complete(profile):
    params = {"profile": profile}
    s = settings(st.PROFILES, params)
    specs = st.specs(params) + st.large_recipe_specs(params)
    cells = _cells(specs)
    assert len(cells) == len(specs), "a cell of the grid appears twice"
    sizes = st.sizes_of(s)
    bn_sizes = [None if n == "all" else n for n in s["bn_sizes"]]
    expected = set()
    for study in st.studies(params):
        for n in sizes:
            for seed in range(st.seeds_at(n, s)):
                expected.add((study.name, "cnn8", "none", "scratch", n, seed))
                for src in (x for x in study.sources if st.runs_from(s, x, n)):
                    arch = "cnn8" if src.weights is None else "resnet18"
                    if arch == "resnet18":  # its own scratch baseline
                        expected.add((study.name, arch, "none", "scratch", n, seed))
                    for method in st.methods_for(src):
                        regularised = s["regularised_sizes"]
                        if method in st.TUNED_STRENGTH and regularised is not None and (
                                n not in [None if v == "all" else v for v in regularised]):
                            continue  # DELTA and BSS only at the profile's sizes
                        expected.add((study.name, arch, src.name, method, n, seed))
                    if n in bn_sizes and not src.small_only:
                        expected.add((study.name, arch, src.name, st.TARGET_BN, n, seed))
                    if (src.role == "far" and arch == "cnn8" and st.bucket(s, n) == "small"
                            and s["large_recipe_arm"]):
                        expected.add((study.name, arch, src.name, st.LARGE_RECIPE, n, seed))
    assert set(cells) == expected
    assert any(c[3] == st.LARGE_RECIPE for c in cells), "the arm the survey blames runs"

    by_name = {(x.name, src.name): src for x in st.studies(params) for src in x.sources}
    pools = {x.name: st.pool_per_class(x) for x in st.studies(params)}
    for (study, arch, _source, method, n, seed), spec in cells.items():
        # all methods of one seed and size train on the same subsample, for as long, unless
        # a method's recipe sets its own length; a far source runs by its own recipes
        base = cells[(study, arch, "none", "scratch", n, seed)]
        assert spec.data == base.data and spec.data.subsample_seed == seed
        assert spec.data.validation == s["validation"]
        recipe, as_bucket = st.ARMS.get(method, (method, None))
        own = st.own_recipe(s, by_name.get((study, _source)), n, as_bucket)
        pool = pools[study]
        images = (sum(pool) - s["validation"] * len(pool)) if n is None else n * len(pool)
        assert spec.train == st.train_config(st.length_of(s, recipe, n, as_bucket, own), images,
                                             st.lr_of(s, recipe, n, as_bucket, own))
        assert spec.train.batch_size == base.train.batch_size and spec.seed == seed
        if method == st.LARGE_RECIPE:  # the large-target recipe, unchanged, on a small target
            assert st.bucket(s, n) == "small"
            assert spec.train.lr == s["recipes"]["fine-tune_large"]["lr"]
            assert spec.transfer == cells[(study, arch, _source, "fine-tune", n, seed)].transfer
        t = spec.transfer
        if method == "scratch":
            assert t.source is None and t.layers == 0 and spec.model.weights is None
        elif spec.model.weights is None:
            assert t.layers == 7 and t.source is not None and t.source.seed == seed
            assert t.freeze == (method in ("linear probe", st.TARGET_BN))
            assert t.bn_stats == ("target" if method == st.TARGET_BN else "source")
            assert t.regularizer == {"L2-SP": "l2sp", "DELTA": "delta",
                                     "BSS": "bss"}.get(method, "l2")
            if method == "L2-SP":
                assert (t.alpha, t.beta) == (s["alpha"], s["beta"])
            if method in st.TUNED_STRENGTH:  # its strength from its recipe, chosen on validation
                assert t.alpha == st.recipe_of(s, method, n, "alpha", own=own)
        else:  # torchvision weights: probe freezes everything but the head
            assert t.source is None and t.layers == 5 and spec.model.weights


def test_quick_grid_seeds_sizes_and_steps():
    s = settings(st.PROFILES, {"profile": "quick"})
    specs = st.specs({"profile": "quick"})
    assert [st.size_label(n) for n in s["sizes"]] == ["1", "2", "5", "10", "20", "50", "100",
                                                      "all"]
    seeds = {}
    for x in specs:
        seeds.setdefault(x.data.n_per_class, set()).add(x.seed)
    # every small size has the same seeds, so per-seed means over small sizes are balanced
    small = [n for n in seeds if n is not None and n < s["size_boundary"]]
    assert len({frozenset(seeds[n]) for n in small}) == 1 and len(seeds[1]) == 8
    assert all(len(k) >= 3 for k in seeds.values())
    pool = 260 * 13
    for x in specs:  # every run takes at least `steps` SGD steps and `min_epochs` epochs
        n = pool if x.data.n_per_class is None else x.data.n_per_class * 13
        per_epoch = math.ceil(n / x.train.batch_size)
        assert x.train.epochs * per_epoch >= s["steps"] and x.train.epochs >= s["min_epochs"]
        assert x.train.batch_size <= s["batch_size"]


def test_sources_are_the_layer_transfer_base_networks():
    params = {"profile": "quick"}
    specs = st.specs(params)
    sources = {x.transfer.source.key() for x in specs if x.transfer.source is not None}
    lt_keys = {x.key() for x in lt.specs({"profile": "quick"})
               if x.tag_dict["condition"] == "baseA"}
    # the layer-transfer chapter trains baseA near for 7 seeds and the far ones for 4
    split = {src.name for src in st.studies(params)[0].sources if src.split is not None}
    shared = {x.transfer.source.key() for x in specs if x.transfer.source is not None
              and x.seed < 4 and x.tag_dict["source"] in split}
    assert shared <= lt_keys and len(shared) == 2 * 4
    assert len(sources) == 4 * 8  # the near source and three far ones, one per seed


def test_layer_transfer_specs_are_that_notebooks_runs():
    mine = st.layer_transfer_specs({"profile": "quick"})
    theirs = {x.key() for x in lt.specs({"profile": "quick"})}
    assert mine and {x.key() for x in mine} <= theirs
    assert {x.tag_dict["condition"] for x in mine} == {"scratch", "AnB", "AnB+"}
    assert {x.transfer.layers for x in mine if x.tag_dict["condition"] != "scratch"} == {7}


def test_train_config_evens_out_batches():
    s = {"batch_size": 32, "steps": 200, "min_epochs": 40}
    c = st.train_config(s, 65, 0.05)  # 3 batches of 22, 22, 21
    assert (c.batch_size, c.epochs, c.lr) == (22, 67, 0.05)
    c = st.train_config(s, 13, 0.05)
    assert (c.batch_size, c.epochs) == (13, 200)
    c = st.train_config(s, 1690, 0.05)  # 53 batches: 200 steps take 4 epochs, 40 needed
    assert (c.batch_size, c.epochs) == (32, 40)


@pytest.mark.parametrize("bad", [
    {"seeds": 1}, {"sizes": [0, 5]}, {"sizes": [5, 5]}, {"sizes": [500]}, {"sizes": []},
    {"steps": 0}, {"alpha": -1.0}, {"executor": "cluster"},
])
def test_bad_parameters_are_rejected_before_any_work(bad):
    with pytest.raises(ValueError):
        check_params("02_small_targets", {"profile": "quick", **bad})


def test_sizes_accept_all_as_none():
    specs = st.specs({"profile": "smoke", "sizes": [1, "all"]})
    assert {x.data.n_per_class for x in specs} == {1, None}


# --------------------------------------------------------------------------- stratified sizes


def test_every_class_is_kept_at_every_size():
    params = {"profile": "quick"}
    s = settings(st.PROFILES, params)
    study = st.studies(params)[0]
    specs = [x for x in st.specs(params) if x.tag_dict["method"] == "scratch" and x.seed == 0]
    chosen = {}
    for spec in specs:
        train = runner.load_data(spec, "train")
        n = spec.data.n_per_class
        counts = train.class_counts()
        assert train.classes == study.classes
        assert list(counts) == [n or 310 - s["validation"]] * len(study.classes)
        chosen[n] = train
    assert sorted(chosen, key=lambda n: n or 10**9) == [
        None if n in (None, "all") else n for n in s["sizes"]]
    # nested: with one seed, the images of a smaller size are among those of every larger size
    as_set = {n: {tuple(img.flatten()[:32].tolist()) for img in d.images}
              for n, d in chosen.items()}
    assert as_set[1] <= as_set[5] <= as_set[20] <= as_set[100] <= as_set[None]


# --------------------------------------------------------------------------- a smoke run


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("st_results")
    with results_folder(root):
        params = {"profile": "smoke"}
        specs = st.specs(params) + st.large_recipe_specs(params)
        extra = st.layer_transfer_specs(params)
        records = sweep.run(specs + extra, store=Store(root), device="cpu", progress=False)
        df = st.add_sizes(results.frame(records[:len(specs)]))
        lt_df = results.frame(records[len(specs):])
        distances = st.distance_table(params)
        lt_distances = lt.distance_table(params, network=False)
    return params, df, lt_df, distances, lt_distances


def test_smoke_run_yields_every_column_the_figures_use(smoke_run):
    import matplotlib.pyplot as plt

    from tlkit.plots import gain_curves_plot, learning_curves_plot, taxonomy_map

    params, df, lt_df, distances, lt_distances = smoke_run
    s = settings(st.PROFILES, params)
    curves = st.curves(df)
    assert {"study", "source", "role", "method", "per_class", "size", "seed",
            "test_acc"} <= set(curves)
    assert set(curves["method"]) == {*st.METHODS, *st.ARMS}
    assert "all" in set(curves["size"]) and curves["per_class"].notna().all()
    gains = st.gains(df)
    tests = st.gain_tests(gains[~gains["method"].isin(st.ARMS)])
    assert {"per_class", "size", "method", "gain", "ci_low", "ci_high", "p_value", "p_holm",
            "verdict", "seeds"} <= set(tests)
    sources = st.studies(params)[0].sources
    assert len(tests) == len(st.TRANSFER_METHODS) * sum(
        st.runs_from(s, src, n) for src in sources for n in st.sizes_of(s))
    pairs = st.far_pairs(gains, s["size_boundary"])
    assert set(pairs["source"]) == {src.name for src in sources if src.role == "far"}
    assert len(pairs) == 3 * len(st.FAR_METHODS) and pairs["gain"].notna().all()
    cross = st.crossovers(tests)
    assert set(cross["method"]) == set(st.TRANSFER_METHODS)
    assert {"near", "far"} == set(distances["role"]) and distances["otdd_pixels"].gt(0).all()
    boundary = st.distance_boundary(params, distances)
    maps = {}
    for method in ("fine-tune", "linear probe"):
        lt_cells = st.layer_transfer_cells(lt_df, lt_distances, st.LAYER_CONDITIONS[method])
        assert len(lt_cells) == len(lt_distances)
        maps[method] = st.map_cells(tests, distances, lt_cells, s["size_boundary"], boundary,
                                    method=method)
        assert {"origin", "per_class", "distance", "gain", "verdict", "region"} <= set(
            maps[method])
        assert set(maps[method]["origin"]) == {"small targets", "layer transfer"}
    regions = st.region_summary(maps["fine-tune"])
    assert list(regions["region"]) == list(st.REGIONS.values())
    l2sp = st.method_differences(gains, "L2-SP", "fine-tune")
    assert set(l2sp["verdict"]) <= {"positive", "negative", "no clear difference"}
    found, values = st.effects(gains[gains["method"] != st.TARGET_BN], s["size_boundary"])
    judged = judge(st.claims(found))
    assert list(judged["claim"]) == ["small_gain", "shrinks", "far_ft_hurts", "far_l2sp_hurts",
                                     "near_beats_far", "l2sp_beats_ft", "large_recipe_hurts",
                                     "large_recipe_costs"]
    assert set(found) == set(st.NEEDS) and set(st.FAR_CLAIMS) <= set(found)
    assert set(judged["verdict"]) <= set(VERDICTS)
    assert values["smallest"] == "1" and values["largest"] == "all"
    assert {"probe - fine-tune", "target BN - source BN (probe)"} == set(
        st.probe_and_bn(gains)["comparison"])

    fig, axes = plt.subplots(1, 3)
    learning_curves_plot(curves[curves["role"] == "near"], hue_order=st.METHODS, chance=0.1,
                         ax=axes[0])
    gain_curves_plot(tests[tests["role"] == "near"], hue_order=st.TRANSFER_METHODS, ax=axes[1])
    taxonomy_map(maps["fine-tune"], size_boundary=s["size_boundary"],
                 distance_boundary=boundary, ax=axes[2],
                 markers={"small targets": "o", "layer transfer": "s"})
    plt.close(fig)


# --------------------------------------------------------------------------- statistics by hand


def _toy_frame():
    rows = []
    acc = {"scratch": [0.4, 0.4, 0.5], "fine-tune": [0.5, 0.6, 0.7],
           "linear probe": [0.3, 0.35, 0.45], "L2-SP": [0.5, 0.6, 0.7]}
    for method, values in acc.items():
        for seed, a in enumerate(values):
            rows.append(dict(study="toy", target="t", source="none" if method == "scratch"
                             else "src", role="none" if method == "scratch" else "near",
                             method=method, arch="cnn8", n_per_class=5.0, n_train=50,
                             num_classes=10, seed=seed, test_acc=a))
    return pd.DataFrame(rows)


def test_gain_test_matches_a_hand_computation():
    tests = st.gain_tests(st.gains(_toy_frame()))
    ft = tests[tests["method"] == "fine-tune"].iloc[0]
    # differences 0.1, 0.2, 0.2: mean 1/6, s = 0.057735, se = 0.033333, t = 5 on 2 df
    assert ft["gain"] == pytest.approx(1 / 6)
    half = 4.302653 * 0.0577350 / math.sqrt(3)
    assert ft["ci_low"] == pytest.approx(1 / 6 - half, abs=1e-5)
    assert ft["ci_high"] == pytest.approx(1 / 6 + half, abs=1e-5)
    # with 2 df, P(|T| > t) = 1 - t / sqrt(t^2 + 2)
    assert ft["p_value"] == pytest.approx(1 - 5 / math.sqrt(27), abs=1e-9)
    assert ft["verdict"] == "positive" and ft["seeds"] == 3
    probe = tests[tests["method"] == "linear probe"].iloc[0]
    # differences -0.1, -0.05, -0.05: mean -1/15, s = 0.028868, t = -4 on 2 df
    assert probe["gain"] == pytest.approx(-1 / 15)
    assert probe["p_value"] == pytest.approx(1 - 4 / math.sqrt(18), abs=1e-9)
    assert probe["verdict"] == "no clear difference"  # t_.975,2 = 4.30 > 4


def test_gains_pair_by_seed_not_by_position():
    df = _toy_frame()
    shuffled = df.sample(frac=1.0, random_state=0)
    g = st.gains(shuffled).sort_values(["method", "seed"])
    ft = g[g["method"] == "fine-tune"]
    assert list(ft["gain"].round(9)) == [0.1, 0.2, 0.2]
    with pytest.raises(ValueError, match="without their baseline run"):
        st.gains(df[~((df["method"] == "scratch") & (df["seed"] == 2))])


@pytest.mark.parametrize(("verdicts", "expected"), [
    (["positive", "positive", "no clear difference", "negative"], 5),
    (["positive", "no clear difference", "positive", "no clear difference"], 10),
    (["positive"] * 4, None),
    (["no clear difference", "negative", "negative", "negative"], 1),
])
def test_crossover_definition(verdicts, expected):
    assert st.crossover_size([1, 2, 5, 10], verdicts) == expected
    # the order in which sizes are given does not matter
    assert st.crossover_size([10, 5, 2, 1], verdicts[::-1]) == expected


def test_regions_and_the_distance_boundary():
    assert st.region_of(1, 1.0, 30, 2.5) == "small & similar"
    assert st.region_of(100, 1.0, 30, 2.5) == "large & similar"
    assert st.region_of(1, 3.0, 30, 2.5) == "small & dissimilar"
    assert st.region_of(100, 3.0, 30, 2.5) == "large & dissimilar"
    assert st.region_of(1, math.nan, 30, 2.5) == "unplaced"
    d = pd.DataFrame(dict(role=["near", "far", "large"], otdd_pixels=[1.0, 3.0, math.nan]))
    assert st.distance_boundary({"profile": "quick"}, d) == pytest.approx(2.0)


def test_the_near_source_is_measured_nearer_than_the_far_one():
    d = st.distance_table({"profile": "smoke"})
    near = float(d.loc[d["role"] == "near", "otdd_pixels"].iloc[0])
    far = float(d.loc[d["role"] == "far", "otdd_pixels"].iloc[0])
    assert 0 < near < far


def test_full_profile_uses_real_datasets_and_imagenet_weights():
    studies = st.studies({"profile": "full"})
    assert {s.dataset for s in studies} == {"cifar100", "kmnist", "fashion-mnist"}
    cifar = studies[0]
    assert not set(cifar.classes) & set(data.info("cifar10").classes)
    assert any(src.weights == "IMAGENET1K_V1" for src in cifar.sources)
    specs = st.specs({"profile": "full"})
    resnet = [x for x in specs if x.model.arch == "resnet18"]
    assert {x.tag_dict["method"] for x in resnet} == {*st.METHODS, st.TARGET_BN}
    assert all(x.model.weights is None for x in resnet if x.tag_dict["method"] == "scratch")


# --- can this experiment show the effect? --------------------------------------------------

def _checks(gain=None, error=0.6):
    """A results table of the preconditions' runs: every recipe at its length and twice it
    (``gain``: per recipe, what twice the training adds)."""
    from tlkit.experiments import recipes

    gain = gain or {}
    roles = recipes.declared({"profile": "smoke"})
    roles = roles[roles["experiment"] == "02_small_targets"]["role"]
    rows = []
    for role in roles:
        for seed in (1000, 1001):
            val = (1 - error) + 0.01 * (seed - 1000)
            for length in (1, 2):
                rows.append(dict(experiment="02_small_targets", role=role, template=0,
                                 length=length, seed=seed, epochs=10 * length,
                                 val_acc=val + (gain.get(role, 0.0) if length == 2 else 0.0)))
    return pd.DataFrame(rows)


def test_the_preconditions_bar_exactly_the_claims_that_need_them():
    from tlkit.experiments import layer_transfer as lt

    params = {"profile": "smoke"}
    pre = st.preconditions(params, _checks())
    far = [src.name for src in st.studies(params)[0].sources if src.role == "far"]
    assert len(far) == 3
    assert all(pre.set_index("precondition").loc[f"far is far ({n})", "holds"] for n in far)
    assert lt.untestable(pre) == {}
    barred = lt.untestable(st.preconditions(params, _checks({"L2-SP_small": 0.05})))
    assert set(barred) == {"l2sp_beats_ft"}
    # a claim about the far sources needs every far source's own recipe to converge
    barred = lt.untestable(st.preconditions(params, _checks({f"L2-SP_small ({far[2]})": 0.05})))
    assert set(barred) == {"far_l2sp_hurts"}
    barred = lt.untestable(st.preconditions(params, _checks({f"fine-tune_small ({far[1]})": 1})))
    assert set(barred) == {"far_ft_hurts", "near_beats_far", "large_recipe_costs"}
    barred = lt.untestable(st.preconditions(params, _checks({"fine-tune_large": 0.05})))
    assert set(barred) == {"shrinks", "large_recipe_hurts", "large_recipe_costs"}
    barred = lt.untestable(st.preconditions(params, _checks(error=0.01)))
    assert set(barred) == set(st.NEEDS)
    # where the large-target recipe is the small-target one, the arm can show nothing
    same = {"profile": "smoke", "recipes": {**settings(st.PROFILES, params)["recipes"],
                                            "fine-tune_large": {"lr": 0.05}}}
    assert set(lt.untestable(st.preconditions(same, _checks()))) == set(st.LARGE_CLAIMS)



def test_the_large_recipe_claims_compare_the_arm_with_scratch_and_with_the_own_recipe():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(3):
        for per_class, size in ((1.0, "1"), (5.0, "5"), (100.0, "all")):
            for role, method in (("near", "fine-tune"), ("near", "L2-SP"), ("far", "fine-tune"),
                                 ("far", "L2-SP"), ("far", st.LARGE_RECIPE)):
                if method == st.LARGE_RECIPE and size == "all":
                    continue  # the arm runs on small targets only
                acc, base = rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.9)
                rows.append(dict(study="toy", role=role, source=role, method=method,
                                 per_class=per_class,
                                 size=size, seed=seed, test_acc=acc, gain=acc - base))
    table = pd.DataFrame(rows)
    found, _ = st.effects(table, size_boundary=10)
    small = table[table["per_class"] < 10]

    def per_seed(method, value):
        part = small[(small["role"] == "far") & (small["method"] == method)]
        return part.groupby("seed")[value].mean()

    hurts = found["large_recipe_hurts"]
    assert hurts["sign"] == -1 and np.allclose(hurts["values"], per_seed(st.LARGE_RECIPE, "gain"))
    costs = found["large_recipe_costs"]
    want = per_seed(st.LARGE_RECIPE, "test_acc") - per_seed("fine-tune", "test_acc")
    assert costs["sign"] == -1 and np.allclose(costs["values"].sort_index(), want.sort_index())
    # without the arm's runs, no claim about it
    found, _ = st.effects(table[table["method"] != st.LARGE_RECIPE], size_boundary=10)
    assert "large_recipe_hurts" not in found and "large_recipe_costs" not in found


def test_a_diverged_run_of_the_arm_counts_at_chance_and_any_other_failure_raises():
    specs = st.large_recipe_specs({"profile": "smoke"})
    assert specs and {x.tag_dict["role"] for x in specs} == {"far"}
    failed = pd.DataFrame({"key": [specs[0].key()],
                           "error": ["training diverged: the loss is not finite; lower lr"]})
    df = pd.DataFrame([dict(method="scratch", test_acc=0.5)])
    out = st.with_diverged(df, specs, failed)
    assert len(out) == 2 and not out.loc[0, "diverged"]
    row = out[out["diverged"].astype(bool)].iloc[0]
    k = len(specs[0].data.classes)
    assert row["method"] == st.LARGE_RECIPE and row["num_classes"] == k
    assert row["test_acc"] == pytest.approx(1 / k) and row["seed"] == specs[0].seed
    with pytest.raises(RuntimeError, match="not by diverging"):
        st.with_diverged(df, specs, failed.assign(error="MemoryError"))


# --- several far sources, each with its own recipes -------------------------------------------

def _far(params, name_part):
    return next(src for src in st.studies(params)[0].sources if name_part in src.name)


def test_a_far_source_trained_on_other_data_is_the_pretrained_chapters_network():
    from tlkit.experiments import pretrained as pt
    from tlkit.experiments.pretrained.sources import source_run, sources_of

    params = {"profile": "quick"}
    mine = st.source_run(settings(st.PROFILES, params), _far(params, "shapes"), 3)
    s = settings(pt.PROFILES, params)
    theirs = next(src for src in sources_of(s) if src.kind == "trained"
                  and src.dataset == "shapes")
    assert mine.key() == source_run(s, theirs, 3).key()
    digits = st.source_run(settings(st.PROFILES, params), _far(params, "handwritten"), 0)
    assert digits.data.name == "digits" and digits.data.n_per_class is None  # every image


def test_far_sources_run_by_their_own_recipes_and_the_arm_by_the_near_large_one():
    params = {"profile": "quick"}
    s = settings(st.PROFILES, params)
    rec = s["recipes"]
    runs = st.specs(params) + st.large_recipe_specs(params)
    near = _far(params, "half A").name

    def run(source, method, n=1):
        return next(x for x in runs if x.tag_dict["source"] == source and x.seed == 0
                    and x.tag_dict["method"] == method and x.data.n_per_class == n)

    for src in (x for x in st.studies(params)[0].sources if x.role == "far"):
        for method in st.TRANSFER_METHODS:
            own = rec[f"{method}_small ({src.name})"]
            x = run(src.name, method)
            assert x.train.lr == own["lr"], (src.name, method)
            if method in st.TUNED_STRENGTH:
                assert x.transfer.alpha == own["alpha"]
        arm = run(src.name, st.LARGE_RECIPE)
        assert arm.train.lr == rec["fine-tune_large"]["lr"]
        assert arm.train.epochs >= rec["fine-tune_large"]["min_epochs"]
    # the near source keeps the recipes chosen on it, whatever a far source's own are
    assert run(near, "L2-SP").train.lr == rec["L2-SP_small"]["lr"]
    moved = {**rec, "L2-SP_small (shapes and textures)": {"lr": 0.07}}
    other = st.specs({**params, "recipes": moved})
    lrs = {x.tag_dict["source"]: x.train.lr for x in other
           if x.tag_dict["method"] == "L2-SP" and x.data.n_per_class == 1 and x.seed == 0}
    assert lrs["shapes and textures"] == 0.07 and lrs[near] == rec["L2-SP_small"]["lr"]
    # a source of small targets only is not transferred to large ones; the first far one is
    assert not [x for x in runs if x.tag_dict["source"] == "shapes and textures"
                and st.bucket(s, x.data.n_per_class) == "large"]
    assert run("digits, restyled", "fine-tune", None).train.lr == rec["fine-tune_large"]["lr"]


def test_each_far_source_has_a_recipe_search_of_its_own():
    tasks = st.recipe_tasks({"profile": "quick"})
    for name in ("digits, restyled", "shapes and textures", "handwritten digits"):
        for method in st.TRANSFER_METHODS:
            specs = tasks[f"{method}_small ({name})"]  # on the smallest and the search's size
            assert [x.data.n_per_class for x in specs] == [1, 5]
            assert {(x.tag_dict["source"], x.tag_dict["method"]) for x in specs} == {
                (name, method)}
    assert [x.data.n_per_class for x in tasks["fine-tune_small"]] == [1, 5]
    assert tasks["fine-tune_large"].data.n_per_class == 50
    assert st.needs({"profile": "quick"})["far_l2sp_hurts"] == (
        "scratch_small", "L2-SP_small (digits, restyled)", "L2-SP_small (shapes and textures)",
        "L2-SP_small (handwritten digits)")


def _two_far_sources():
    rows = []
    for seed in range(4):
        for per_class, size in ((1.0, "1"), (2.0, "2"), (50.0, "50")):
            for role, source, method, gain in (
                    ("near", "N", "fine-tune", 0.2), ("far", "F1", "fine-tune", -0.1),
                    ("far", "F2", "fine-tune", 0.3 + 0.01 * seed), ("far", "F1", "L2-SP", 0.0),
                    ("far", "F2", "L2-SP", 0.0), ("near", "N", "L2-SP", 0.1)):
                rows.append(dict(study="toy", role=role, source=source, method=method,
                                 per_class=per_class, size=size, seed=seed,
                                 test_acc=0.5 + gain, gain=gain + 0.001 * per_class))
    return pd.DataFrame(rows)


def test_claims_about_the_far_source_read_the_mean_over_far_sources_seed_by_seed():
    table = _two_far_sources()
    found, glue = st.effects(table, size_boundary=10)
    assert glue["far_sources"] == 2 and "mean of 2" in found["far_ft_hurts"]["description"]
    # per seed: (F1 + F2) / 2 over sizes 1 and 2
    want = pd.Series([(-0.1 + 0.3 + 0.01 * k) / 2 + 0.0015 for k in range(4)])
    assert np.allclose(found["far_ft_hurts"]["values"].to_numpy(), want.to_numpy())
    near_minus_far = 0.2 - np.array([(-0.1 + 0.3 + 0.01 * k) / 2 for k in range(4)])
    assert np.allclose(found["near_beats_far"]["values"].to_numpy(), near_minus_far)
    pairs = st.far_pairs(table, 10, pd.Series({"F1": 4.0, "F2": 3.0})).set_index(
        ["source", "method"])
    assert pairs.loc[("F1", "fine-tune"), "gain"] == pytest.approx(-0.1 + 0.0015)
    assert pairs.loc[("F1", "fine-tune"), "ci_high"] < 0  # the same loss on every seed
    assert pairs.loc[("F2", "fine-tune"), "ci_low"] > 0
    assert pairs.loc[("F2", "L2-SP"), "distance"] == 3.0 and len(pairs) == 4


@pytest.mark.parametrize(("entry", "says"), [
    ({"role": "far", "name": "x", "split": "near", "dataset": "shapes"}, "exactly one of"),
    ({"role": "far", "name": "x"}, "exactly one of"),
    ({"role": "far", "name": "x", "split": "near", "recipes": "mine"}, "unknown key(s) recipes"),
    ({"role": "far", "name": "x", "split": "near", "own_recipes": ["tiny"]}, "own_recipes"),
    ({"role": "far", "name": "x", "split": "near", "small_only": "yes"}, "small_only"),
    ({"role": "far", "name": "x", "dataset": "shapes", "options": {"n_train": 3}},
     "trained source 'x'"),
    ({"role": "far", "name": "letters, half A", "split": "far"}, "used twice"),
    ({"role": "far", "name": "x", "split": "far", "own_recipes": ["small"]},
     "recipe 'linear probe_small (x)'"),
    ({"name": "x", "split": "far"}, "a name and a role"),
])
def test_a_bad_source_entry_is_refused_in_one_line_before_any_run(entry, says):
    s = settings(st.PROFILES, {"profile": "smoke"})
    study = {**s["studies"][0], "sources": [*s["studies"][0]["sources"], entry]}
    with pytest.raises(ValueError, match=None) as err:
        check_params("02_small_targets", {"profile": "smoke", "studies": [study]})
    assert says in str(err.value) and "\n" not in str(err.value)
