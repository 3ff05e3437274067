"""The pretrained-source chapter: its design, its learning-rate choice, and how it judges the
transferability scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tlkit.experiments import check_params
from tlkit.experiments import pretrained as pt
from tlkit.experiments.profile import SEARCH_SEEDS_FROM, settings
from tlkit.spec import TransferSpec
from tlkit.verdicts import judge


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_every_target_size_and_seed_runs_every_method_and_source(profile):
    params = {"profile": profile}
    specs = pt.specs(params)
    targets, sources = pt.targets(params), pt.sources(params)
    from tlkit.experiments import settings

    s = settings(pt.PROFILES, params)
    small = [n for n in pt.sizes_of(s) if n is not None and n < s["size_boundary"]]
    run = pt.methods_run(s)
    per_cell = len(run) + len(sources) - 1  # the ImageNet source's runs are its methods
    small_only = [m for m in s["small_only"] if m in run]
    expected = len(targets) * s["seeds"] * (len(s["sizes"]) * per_cell - len(small_only)
                                            * (len(s["sizes"]) - len(small)))
    assert {x.tag_dict["method"] for x in specs} - {"fine-tune"} == set(run) - {"fine-tune"}
    assert len(specs) == expected
    # a key is shared only where fine-tuning the random network is the very run of cnn8 from
    # scratch (the same rate and length, as in the smoke profile): one run, two records
    by_key: dict[str, set] = {}
    for x in specs:
        by_key.setdefault(x.key(), set()).add(x.tag_dict["source"])
    assert all(len(v) == 1 or v == {"none", "random network"} for v in by_key.values())
    kinds = {x.kind for x in sources}
    assert {"imagenet", "glyphs", "trained", "random"} <= kinds
    if profile != "smoke":
        assert len(sources) >= 8  # enough candidates for a rank correlation to move finely
    for method in small_only:
        assert {x.data.n_per_class for x in specs if x.tag_dict["method"] == method} == set(small)
    for x in specs:
        t = x.tag_dict
        if t["kind"] == "imagenet":
            assert x.model.arch == "efficientnet_lite0" and x.model.weights == "imagenet"
            assert x.transfer.source is None and x.transfer.layers == 9
        elif t["method"] == pt.SCRATCH["efficientnet_lite0"]:
            assert x.model.weights is None and x.transfer == TransferSpec()
        elif t["kind"] in ("glyphs", "trained"):
            assert x.transfer.source is not None and x.model.arch == "cnn8"
            assert x.transfer.source.seed == x.seed  # the source of seed k is trained from k
            assert x.transfer.source.transfer.source is None  # trained from scratch
        elif t["kind"] == "random":
            assert x.transfer == TransferSpec() and x.model.weights is None
        assert x.data.validation == s["validation"] > 0
        assert x.data.subsample_seed == x.seed


@pytest.mark.parametrize("bad, match", [
    ([{"name": "x", "kind": "pretrained"}], "kind 'trained' or 'random'"),
    ([{"name": "random network", "kind": "random"}] * 2, "used twice"),
    ([{"name": "glyph digits", "kind": "random"}], "used twice"),
    ([{"name": "x", "kind": "trained"}], "needs a dataset"),
    ([{"name": "x", "kind": "trained", "dataset": "shapes", "options": {"n_train": 3}}],
     "trained source 'x': .* only 3"),
    ("random network", "must be a list"),
])
def test_a_bad_source_is_refused_in_one_line_before_any_run(bad, match):
    with pytest.raises(ValueError, match=match):
        pt.check_params({"profile": "quick", "other_sources": bad})


def test_the_quick_profile_runs_only_what_reaches_its_plateau_on_two_cores():
    from tlkit.experiments import settings

    s = settings(pt.PROFILES, {"profile": "quick"})
    assert pt.methods_run(s) == ("scratch (cnn8)", "linear probe", "fine-tune top", pt.TARGET_BN,
                                 pt.TOP_TARGET_BN)
    assert pt.length_of(s, "efficientnet_lite0")["steps"] >= 300
    assert pt.length_of(s, "cnn8")["steps"] >= 1200 and s["min_epochs"]["cnn8"] >= 30
    assert pt.length_of(s, "cnn8", "scratch (cnn8)")["steps"] >= 2400
    with pytest.raises(ValueError, match="cnn8"):
        pt.check_params({"profile": "quick", "scratch": ["efficientnet_lite0"]})
    with pytest.raises(ValueError, match="unknown methods"):
        pt.check_params({"profile": "quick", "imagenet_methods": ["fine-tune all"]})


def test_the_methods_freeze_what_they_say():
    specs = pt.specs({"profile": "smoke"})
    frozen = {x.tag_dict["method"]: x.transfer.frozen for x in specs
              if x.tag_dict["kind"] == "imagenet"}
    assert frozen == {"linear probe": 9, "fine-tune top": 7, "fine-tune": 0, "L2-SP": 0,
                      pt.TARGET_BN: 9, pt.TOP_TARGET_BN: 7}
    l2sp = next(x for x in specs if x.tag_dict["method"] == "L2-SP")
    assert l2sp.transfer.regularizer == "l2sp"
    # every method with frozen layers both ways: ImageNet's batch-norm statistics, the target's
    stats = {x.tag_dict["method"]: x.transfer.bn_stats for x in specs
             if x.tag_dict["kind"] == "imagenet"}
    assert stats["linear probe"] == "source" and stats[pt.TARGET_BN] == "target"
    assert stats["fine-tune top"] == "source" and stats[pt.TOP_TARGET_BN] == "target"


@pytest.mark.parametrize("freeze, error", [(-1, ValueError), (10, ValueError),
                                           (2.5, TypeError), ("3", TypeError)])
def test_a_partial_freeze_must_be_a_number_of_copied_layers(freeze, error):
    with pytest.raises(error, match="freeze"):
        TransferSpec(layers=9, freeze=freeze)
    assert TransferSpec(layers=9, freeze=True).frozen == 9
    assert TransferSpec(layers=9, freeze=False).frozen == 0
    assert TransferSpec(layers=9, freeze=4).frozen == 4
    # all or none of the copied layers is the plain run, with its key
    assert TransferSpec(layers=9, freeze=9) == TransferSpec(layers=9, freeze=True)
    assert TransferSpec(layers=9, freeze=0).freeze is False


def test_search_runs_every_rate_of_every_grid_key_on_validation_only():
    params = {"profile": "quick"}
    from tlkit.experiments import settings

    s = settings(pt.PROFILES, params)
    search = pt.search_specs(params)
    grid = {k: v for k, v in s["search"]["grid"].items() if k in pt.keys_run(s)}
    assert set(grid) == set(pt.keys_run(s)) and set(s["search"]["grid"]) == set(pt.RATE_KEYS)
    assert len(search) == sum(len(v) for v in grid.values()) * s["search"]["seeds"]
    for key, rates in grid.items():
        tested = {x.train.lr for x in search if x.tag_dict["lr_choice"] == key}
        assert tested == set(rates)
    assert all(x.data.n_per_class == s["search"]["size"] for x in search)
    # even where the page runs the search's size at the chosen rate, no search run is one of
    # the page's replicates: the searches have seeds of their own
    chosen = {k: v[0] for k, v in grid.items()}
    page = pt.specs({**params, "sizes": [1, s["search"]["size"], "all"]}, chosen)
    assert not {x.key() for x in search} & {x.key() for x in page}
    assert min(x.seed for x in search) >= SEARCH_SEEDS_FROM > max(x.seed for x in page)


def test_rates_are_chosen_on_validation_never_on_test():
    table = pd.DataFrame(dict(
        lr_choice=["fine-tune"] * 4, lr=[0.01, 0.01, 0.03, 0.03],
        val_acc=[0.6, 0.7, 0.5, 0.5], test_acc=[0.1, 0.1, 0.9, 0.9]))
    assert pt.chosen_rates(table) == {"fine-tune": 0.01}
    with pytest.raises(ValueError, match="validation"):
        pt.chosen_rates(table.drop(columns="val_acc"))


@pytest.mark.parametrize("bad", [
    {"sizes": [1, 1]}, {"seeds": 1}, {"steps": 0}, {"imagenet_size": 16},
    {"search": {"size": 5, "seeds": 2, "grid": {"fine-tune": []}}},
    {"sizes": [500]},
])
def test_bad_parameters_are_rejected_before_any_work(bad):
    with pytest.raises(ValueError):
        check_params("03_pretrained", {"profile": "quick", **bad})


# --- rank agreement ------------------------------------------------------------------------

def _table(score_of, seeds=(0, 1, 2), noise=0.0, targets=("t1", "t2")):
    """Four sources whose accuracy rises with their index; the score is score_of(index)."""
    rng = np.random.default_rng(0)
    rows = []
    for target in targets:
        for seed in seeds:
            for i in range(4):
                acc = 0.2 + 0.1 * i + noise * rng.normal()
                row = dict(target=target, per_class=5.0, size="5", seed=seed,
                           source=f"s{i}", test_acc=acc)
                for name, (col, _) in pt.SCORES.items():
                    row[col] = score_of(i, name) + noise * rng.normal()
                rows.append(row)
    return pd.DataFrame(rows)


def test_a_score_that_orders_the_sources_as_fine_tuning_gets_tau_one():
    # OTDD is a distance: it agrees when it *falls* as accuracy rises
    table = _table(lambda i, name: -i if name == "OTDD" else i)
    agree = pt.rank_agreement(table)
    assert np.allclose(agree["tau"], 1) and np.allclose(agree["weighted_tau"], 1)
    assert (agree["top1"] == 1).all()


def test_a_reversed_score_gets_tau_minus_one_and_never_picks_the_best():
    table = _table(lambda i, name: i if name == "OTDD" else -i)
    agree = pt.rank_agreement(table)
    assert np.allclose(agree["tau"], -1) and (agree["top1"] == 0).all()


def test_one_swap_at_the_top_costs_weighted_tau_more_than_one_at_the_bottom():
    top = _table(lambda i, name: [0, 1, 3, 2][i] * (-1 if name == "OTDD" else 1))
    bottom = _table(lambda i, name: [1, 0, 2, 3][i] * (-1 if name == "OTDD" else 1))
    a, b = pt.rank_agreement(top), pt.rank_agreement(bottom)
    assert np.allclose(a["tau"], b["tau"])  # Kendall's tau cannot tell them apart
    assert (a["weighted_tau"] < b["weighted_tau"]).all()
    assert (a["top1"] == 0).all() and (b["top1"] == 1).all()


def test_a_score_missing_for_a_source_ranks_the_others():
    table = _table(lambda i, name: -i if name == "OTDD" else i)
    table.loc[table["source"] == "s3", ["otdd", "similarity"]] = math.nan
    agree = pt.rank_agreement(table).set_index("score")
    assert agree.loc["OTDD", "sources"].min() == 3 and np.allclose(agree.loc["OTDD", "tau"], 1)


def test_bootstrap_intervals_hold_a_perfect_score_and_not_a_random_one():
    perfect = _table(lambda i, name: -i if name == "OTDD" else i, seeds=range(6))
    summary, draws = pt.bootstrap_agreement(perfect, n_boot=200)
    assert np.allclose(summary[["wtau_low", "wtau_high"]], 1)
    assert (judge(pt.agreement_claims(summary, draws))["verdict"] == "held").all()

    rng = np.random.default_rng(1)
    random = _table(lambda i, name: float(rng.normal()), seeds=range(6))
    summary, draws = pt.bootstrap_agreement(random, n_boot=200)
    verdicts = judge(pt.agreement_claims(summary, draws))["verdict"]
    assert (verdicts != "held").all()
    assert (summary["wtau_low"] <= summary["weighted_tau"]).all()
    assert (summary["weighted_tau"] <= summary["wtau_high"] + 1e-12).all()


def test_the_bootstrap_needs_two_seeds():
    with pytest.raises(ValueError, match="two seeds"):
        pt.bootstrap_agreement(_table(lambda i, name: i, seeds=(0,)), n_boot=10)


def test_the_reference_is_tllibs_benchmark():
    assert pt.TLLIB_WEIGHTED_TAU == {"LogME": 0.67, "H-score": 0.67, "NCE": 0.50, "LEEP": 0.29}


def test_a_score_is_judged_against_half_the_tau_tllib_reports():
    summary = pd.DataFrame([dict(score="LogME", weighted_tau=0.05),
                            dict(score="OTDD", weighted_tau=0.05)])
    draws = {"LogME": np.linspace(-0.05, 0.15, 400), "OTDD": np.linspace(-0.05, 0.15, 400)}
    logme, otdd = pt.agreement_claims(summary, draws)
    assert logme.published == 0.67 and logme.delta == pytest.approx(0.335)
    verdicts = judge([logme, otdd]).set_index("claim")["verdict"]
    # a tau near 0.05 is shown to fall short of half of LogME's 0.67; OTDD has no reference
    assert verdicts["wtau_logme"] == "did not hold" and verdicts["wtau_otdd"] == "inconclusive"


# --- paired claims -------------------------------------------------------------------------

def test_claims_pair_methods_by_seed_and_average_over_targets():
    rows = []
    for target in ("a", "b"):
        for seed in range(3):
            for n in (1, None):
                for method, kind, acc in (("fine-tune", "imagenet", 0.5 + 0.01 * seed),
                                          ("linear probe", "imagenet", 0.4),
                                          ("L2-SP", "imagenet", 0.5),
                                          (pt.SCRATCH["cnn8"], "none", 0.3),
                                          (pt.SCRATCH["efficientnet_lite0"], "none", 0.2)):
                    # validation prefers the probe, whose test accuracy is lower
                    val = 0.9 if method == "linear probe" else acc
                    rows.append(dict(target=target, seed=seed, n_per_class=n, n_train=100,
                                     num_classes=10, method=method, kind=kind,
                                     source="x", test_acc=acc, val_acc=val))
    df = pd.DataFrame(rows)
    found, glue = pt.effects(df, size_boundary=3, near_source=None)
    # "ImageNet" is the method chosen on validation (the probe), not the best on test
    assert (pt.chosen_methods(pt.curves(df))["method"] == "linear probe").all()
    assert np.allclose(found["imagenet_vs_cnn8"]["values"], [0.10, 0.10, 0.10])
    assert np.allclose(found["imagenet_vs_same_arch"]["values"], [0.20, 0.20, 0.20])
    assert np.allclose(found["ft_vs_probe_all"]["values"], [0.10, 0.11, 0.12])
    judged = judge(pt.claims(found)).set_index("claim")
    assert judged.loc["ft_vs_probe_all", "verdict"] == "held"
    assert glue["bn_small"] == "not measured"  # no probe with the target's statistics here


def test_the_probe_is_measured_with_both_batch_norm_statistics():
    rows = []
    for target in ("a", "b"):
        for seed in range(3):
            for n in (1, None):
                for method, acc in (("linear probe", 0.4), (pt.TARGET_BN, 0.3 + 0.01 * seed),
                                    (pt.SCRATCH["cnn8"], 0.2)):
                    rows.append(dict(target=target, seed=seed, n_per_class=n, n_train=100,
                                     num_classes=10, method=method, source="x", test_acc=acc,
                                     kind="none" if method.startswith("scratch") else "imagenet",
                                     val_acc=acc))
    _, glue = pt.effects(pd.DataFrame(rows), size_boundary=3, near_source=None)
    # target minus ImageNet statistics, per seed over the targets: -0.10, -0.09, -0.08
    assert glue["bn_small"].startswith("-0.090 [")
    assert glue["bn_all"] == glue["bn_small"]


# --- the smoke run -------------------------------------------------------------------------

def test_the_smoke_run_is_cached_and_scores_every_fine_tuning_run(smoke_results):
    from tests.conftest import results_folder
    from tlkit import results, sweep
    from tlkit.store import Store

    params = {"profile": "smoke"}
    with results_folder(smoke_results):
        store = Store()
        search = pt.search_specs(params)
        assert all(store.has(x) for x in search), "the smoke book ran the search"
        rates = pt.chosen_rates(results.frame(sweep.run(search, executor="serial")))
        page = pt.specs(params, rates)
        assert all(store.has(x) for x in page), "the smoke book ran the page's runs"
        records = sweep.run(page, executor="serial")
        chosen = pt.chosen_methods(pt.curves(results.frame(records)))
        runs = pt.selection_runs(records, chosen)
        scores = pt.score_table(runs, distance_samples=20, store=store)
    cells = {(r.spec.tag_dict["target"], r.spec.data.n_per_class, r.spec.seed) for r in records}
    assert len(runs) == len(scores) == len(cells) * len(pt.sources(params))  # one per source
    assert set(scores["source"]) == {s.name for s in pt.sources(params)}
    assert (scores["leep"] <= 0).all() and (scores["nce"] <= 0).all()
    own = scores[scores["kind"].isin(["glyphs", "trained"])]
    assert own[["otdd", "similarity"]].notna().all().all()
    assert scores.loc[scores["kind"].isin(["imagenet", "random"]), "otdd"].isna().all()
    assert scores.loc[scores["kind"] == "random", "leep"].notna().all()
    # one feature space for every pair: a distance reads the source's images, never its
    # network, so the source networks of different seeds give one distance on the whole split
    whole = own[own["size"] == "all"]
    assert (whole.groupby(["source", "target"])["otdd"].nunique() == 1).all()
    assert whole.groupby("target")["otdd"].nunique().min() > 1  # and sources differ


def test_a_method_still_learning_is_not_at_its_plateau_and_its_claims_leave_the_family():
    """Twice the training gaining more than PLATEAU_GAIN of validation accuracy (on the mean
    over seeds) fails the check; the test split is never read."""
    rows = []
    for seed in (1000, 1001):
        for method, gain in (("scratch (cnn8)", 0.05), ("linear probe", 0.0),
                             ("fine-tune top", 0.01), ("fine-tune (glyph source)", -0.01)):
            for length in (1, 2):
                rows.append(dict(lr_choice=method, check_size="search", seed=seed,
                                 length=length, epochs=10 * length,
                                 val_acc=0.5 + gain * (length - 1), test_acc=0.0))
    check = pt.plateau(pd.DataFrame(rows))
    reached = dict(zip(check["method"], check["reached"], strict=True))
    assert reached == {"scratch (cnn8)": False, "linear probe": True, "fine-tune top": True,
                       "fine-tune (glyph source)": True}
    assert check.set_index("method").loc["scratch (cnn8)", "gain"] == pytest.approx(0.05)
    found = {"imagenet_vs_cnn8": dict(lines=(pt.CHOSEN, "scratch (cnn8)")),
             "ft_vs_probe_all": dict(lines=("fine-tune top", "linear probe"))}
    barred = pt.unconverged(found, check)
    assert list(barred) == ["imagenet_vs_cnn8"] and "scratch (cnn8)" in barred[
        "imagenet_vs_cnn8"]
    with pytest.raises(ValueError, match="validation"):
        pt.plateau(pd.DataFrame(rows).drop(columns="val_acc"))


def test_a_source_still_learning_takes_the_ranking_claims_out_of_the_family():
    rows = []
    for seed in (1000, 1001):
        for name, gain in (("lowercase letters", 0.001), ("shapes", 0.04)):
            for length in (1, 2):
                rows.append(dict(lr_choice=f"source: {name}", check_size=pt.SOURCE_CHECK,
                                 seed=seed, length=length, epochs=20 * length,
                                 val_acc=0.8 + gain * (length - 1)))
    check = pt.plateau(pd.DataFrame(rows))
    unready = pt.unconverged_sources(check)
    assert list(unready) == ["shapes"] and "+0.040" in unready["shapes"]
    summary = pd.DataFrame(dict(score=["LEEP", "OTDD"], weighted_tau=[0.3, 0.4]))
    draws = {"LEEP": np.full(50, 0.3), "OTDD": np.full(50, 0.4)}
    kept, barred = pt.agreement_family(summary, draws, unready)
    assert kept == [] and set(barred) == {"wtau_leep", "wtau_otdd"}
    assert all("shapes" in why for why in barred.values())
    kept, barred = pt.agreement_family(summary, draws, {})
    assert [c.name for c in kept] == ["wtau_leep", "wtau_otdd"] and barred == {}


def test_a_score_claim_the_tasks_cannot_power_leaves_the_family_before_any_result():
    """The plan (tasks as replicates, the spread from the profile's pilot) keeps a score's
    claim only where half its published tau is detectable at the family's Holm level; the
    distances, with no published size, stay; a bad pilot block is one clear error."""
    from tlkit.power import mde, planning_sd

    params = {"profile": "smoke"}
    assert pt.tau_plan(params, method_claims=2).empty  # no pilot: every claim tested
    sd = {"LEEP": 0.5, "NCE": 0.01, "LogME": 0.01, "H-score": 0.01}
    block = {"pilot": {"first_seed": 2000, "seeds": 2, "tasks": 6}, "sd": sd}
    plan = pt.tau_plan({**params, "power": block}, method_claims=2).set_index("claim")
    tasks = len(pt.targets(params)) * len(pt.sizes_of(settings(pt.PROFILES, params)))
    assert (plan["seeds"] == tasks).all()
    # LEEP (0.29 published, spread 0.5) cannot reach 0.145; the rest reach their half
    assert not plan.loc["wtau_leep", "powered"] and plan.loc["wtau_nce", "powered"]
    family = 3 + 2 + 2  # the three powered scores, the two distances, the method claims
    assert plan.loc["wtau_nce", "family"] == family
    assert plan.loc["wtau_nce", "planned_mde"] == pytest.approx(
        mde(planning_sd(0.01, 6), tasks, family=family))
    left = pt.unpowered(plan.reset_index())
    assert list(left) == ["wtau_leep"] and "cannot be powered" in left["wtau_leep"]
    summary = pd.DataFrame(dict(score=["LEEP", "NCE", "OTDD"], weighted_tau=[0.3, 0.3, 0.4]))
    draws = {k: np.full(50, 0.3) for k in ("LEEP", "NCE", "OTDD")}
    kept, barred = pt.agreement_family(summary, draws, {}, left)
    assert [c.name for c in kept] == ["wtau_nce", "wtau_otdd"] and list(barred) == ["wtau_leep"]
    shown = pt.plan_shown(plan.reset_index())
    assert list(shown["claim"]) == ["LogME", "H-score", "NCE", "LEEP"] and "tasks" in shown
    for bad, match in (({"pilot": {"tasks": 1}, "sd": sd}, "tasks"),
                       ({"pilot": {"tasks": 6}, "sd": {"LEEP": 0.1}}, "NCE"),
                       ({"pilot": {"tasks": 6}, "sd": {**sd, "NCE": -1}}, "NCE"),
                       ({"sd": sd}, "pilot and sd")):
        with pytest.raises(ValueError, match=match):
            pt.check_params({**params, "power": bad})


def test_the_pilot_measures_each_published_scores_spread_over_tasks_on_seeds_no_page_reports():
    from tlkit.store import Store, results_root

    out = pt.pilot({"profile": "smoke"})
    assert out["pilot"] == {"first_seed": 2000, "seeds": 2, "tasks": 4}  # 2 targets x 2 sizes
    assert set(out["sd"]) == set(pt.TLLIB_WEIGHTED_TAU)
    assert all(v >= 0 for v in out["sd"].values()) and any(v > 0 for v in out["sd"].values())
    seeds = {r.spec.seed for r in Store(results_root()).records()}
    assert seeds and not seeds & set(range(SEARCH_SEEDS_FROM))  # no replicate of the page
    assert {2000, 2001} <= seeds
    plan = pt.tau_plan({"profile": "smoke", "power": out}, method_claims=3)  # a valid block
    assert list(plan["seeds"]) == [4] * 4


def test_the_plateau_check_runs_each_method_at_its_rate_and_at_twice_its_length():
    params = {"profile": "quick"}
    rates = {k: 0.03 for k in pt.RATE_KEYS}
    runs = pt.plateau_specs(params, rates)
    from tlkit.experiments import settings

    s = settings(pt.PROFILES, params)
    trained = {f"source: {x.name}" for x in pt.sources(params) if x.kind == "trained"}
    assert {r.tag_dict["lr_choice"] for r in runs} == set(pt.keys_run(s)) | trained
    by = {}
    for r in runs:
        t = r.tag_dict
        by.setdefault((t["lr_choice"], t["check_size"], r.seed), {})[t["length"]] = r
        if t["check_size"] == pt.SOURCE_CHECK:  # a source network, on its own held-out images
            assert r.transfer.source is None and t["lr_choice"] in trained
        else:
            assert r.data.validation == s["plateau"]["validation"]
        assert r.seed >= SEARCH_SEEDS_FROM
    for pair in by.values():
        assert pair[2].train.epochs == 2 * pair[1].train.epochs
        assert pair[2].train.lr == pair[1].train.lr
