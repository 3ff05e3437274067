"""The hyperparameter chapter: cells, settings, choices on validation, transplants, claims."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tlkit.experiments import hyperparameters as hp
from tlkit.experiments import pretrained as pt
from tlkit.experiments import settings
from tlkit.plots.hyperparameters import knob_plot
from tlkit.plots.style import COLUMN
from tlkit.verdicts import judge

QUICK = {"profile": "quick"}
S = settings(hp.PROFILES, QUICK)
RATES = {m: float(v[0]) for m, v in settings(pt.PROFILES, QUICK)["search"]["grid"].items()}


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_every_cell_runs_the_default_and_each_one_change_setting_for_every_seed(profile):
    params = {"profile": profile}
    s = settings(hp.PROFILES, params)
    specs = hp.specs(params)
    cells = hp.cells(params)
    assert {c.region for c in cells} == {"large & similar", "small & similar",
                                         "large & dissimilar", "small & dissimilar"}
    assert {c.source.kind for c in cells} == {"glyphs", "imagenet"}
    expected = sum(len(hp.grid_settings(s, c.arch)) for c in cells) * s["seeds"]
    assert len(specs) == expected == len({r.key() for r in specs})
    for c in cells:
        default = hp.default_setting(s, c.arch)
        mine = [r for r in specs if r.tag_dict["source"] == c.source.name
                and r.tag_dict["region"] == c.region]
        for r in mine:
            setting = hp.setting_of(r.tag_dict)
            changed = [k for k in hp.KNOBS if setting.value(k) != default.value(k)]
            assert len(changed) <= 1
        assert {r.data.n_per_class for r in mine} == {c.per_class}


def test_a_setting_is_what_the_run_does():
    cell = next(c for c in hp.cells(QUICK) if c.source.kind == "glyphs")
    default = hp.default_setting(S, "cnn8")
    run = hp.run_spec(QUICK, cell, hp.Setting(3, 0.1, 0.5, "L2-SP lower + L2 upper"), 0, RATES)
    t = run.transfer
    assert (t.layers, t.lr_mult, t.regularizer, t.sp_depth) == (3, 0.1, "l2sp", 3)
    assert run.train.momentum == 0.5
    mix = hp.run_spec(QUICK, cell, replace(default, regularization="L2-SP lower + L2 upper"),
                      0, RATES)
    assert (mix.transfer.layers, mix.transfer.sp_depth) == (7, S["sp_layers"]["cnn8"])
    assert mix.transfer.beta == S["weight_decay"] and mix.transfer.alpha == S["alpha"]
    sp = hp.run_spec(QUICK, cell, replace(default, regularization="L2-SP"), 0, RATES)
    assert sp.transfer.sp_depth == 7 and sp.transfer.sp_layers is None
    base = hp.run_spec(QUICK, cell, default, 0, RATES)
    assert base.transfer.regularizer == "l2" and base.train.weight_decay == S["weight_decay"]


def test_the_default_is_the_pretrained_chapters_own_fine_tuning_run():
    """Same spec, same key: the page tunes around that chapter's runs (with the overrides of
    its profile's ``pretrained``) and shares them."""
    pts = settings(pt.PROFILES, hp.pretrained_params(QUICK))
    theirs = settings(pt.PROFILES, QUICK)
    for arch in ("cnn8", "efficientnet_lite0"):  # this page's budget is shorter, and says so
        assert pt.length_of(pts, arch)["steps"] == 25 < pt.length_of(theirs, arch)["steps"]
    for cell in hp.cells(QUICK):
        run = hp.run_spec(QUICK, cell, hp.default_setting(S, cell.arch), 1, RATES)
        glyph = [cell.source] if cell.source.kind == "glyphs" else []
        theirs = [r for r in pt.run_specs(pts, cell.target, cell.per_class, 1, RATES, glyph)
                  if r.tag_dict["method"] == "fine-tune"
                  and r.tag_dict["kind"] == cell.source.kind]
        assert run.key() == theirs[0].key()


def test_the_mix_changes_the_key_only_when_it_splits_the_penalty():
    cell = next(c for c in hp.cells(QUICK) if c.source.kind == "imagenet")
    default = hp.default_setting(S, cell.arch)
    sp = hp.run_spec(QUICK, cell, replace(default, regularization="L2-SP"), 0, RATES)
    shallow = hp.run_spec(QUICK, cell, replace(default, depth=4,
                                                regularization="L2-SP lower + L2 upper"),
                          0, RATES)
    # four transferred layers, all below sp_layers: the mix is plain L2-SP on them
    assert shallow.transfer.sp_layers is None and shallow.transfer.sp_depth == 4
    assert sp.key() != shallow.key()


@pytest.mark.parametrize("bad", [
    {"seeds": 1},
    {"small": 20},
    {"large": 10},
    {"large": 500},
    {"cells": [{"source": "no such source", "near": "letters (half B)",
                "far": "shapes and textures"}]},
    {"cells": [{"source": "glyph letters (half A)", "near": "letters (half B)",
                "far": "letters (half B)"}]},
    {"grid": {"cnn8": {"depth": [7, 7], "lr_ratio": [1.0], "momentum": [0.9],
                       "regularization": ["L2"]},
              "efficientnet_lite0": {"depth": [9], "lr_ratio": [1.0], "momentum": [0.9],
                                     "regularization": ["L2"]}}},
    {"grid": {"cnn8": {"depth": [7, 8], "lr_ratio": [1.0], "momentum": [0.9],
                       "regularization": ["L2"]},
              "efficientnet_lite0": {"depth": [9], "lr_ratio": [1.0], "momentum": [0.9],
                                     "regularization": ["L2"]}}},
    {"grid": {"cnn8": {"depth": [7], "lr_ratio": [1.0], "momentum": [1.0],
                       "regularization": ["L2"]},
              "efficientnet_lite0": {"depth": [9], "lr_ratio": [1.0], "momentum": [0.9],
                                     "regularization": ["L2"]}}},
    {"grid": {"cnn8": {"depth": [7], "lr_ratio": [1.0], "momentum": [0.9],
                       "regularization": ["L1"]},
              "efficientnet_lite0": {"depth": [9], "lr_ratio": [1.0], "momentum": [0.9],
                                     "regularization": ["L2"]}}},
    {"grid": {"cnn8": {"depth": [7], "lr_ratio": [1.0], "momentum": [0.9],
                       "regularization": ["L2"], "nesterov": [True]},
              "efficientnet_lite0": {"depth": [9], "lr_ratio": [1.0], "momentum": [0.9],
                                     "regularization": ["L2"]}}},
    {"sp_layers": {"cnn8": 7, "efficientnet_lite0": 5}},
    {"alpha": -1.0},
])
def test_bad_parameters_are_rejected_before_any_work(bad):
    with pytest.raises(ValueError):
        hp.check_params({**QUICK, **bad})


def test_an_sp_split_needs_l2sp_and_a_number_of_copied_layers():
    from tlkit.spec import TransferSpec

    with pytest.raises(ValueError, match="l2sp"):
        TransferSpec(layers=5, freeze=False, sp_layers=2)
    with pytest.raises(ValueError, match="0..5"):
        TransferSpec(layers=5, freeze=False, regularizer="l2sp", sp_layers=6)
    assert TransferSpec(layers=5, freeze=False, regularizer="l2sp", sp_layers=5).sp_layers is None


# ------------------------------------------------------------------ choices on validation

def _cell_frame(kind: str, region: str, accs: dict, seeds: int = 4, stage: str = "grid",
                noise: float = 0.0) -> pd.DataFrame:
    """Rows of one cell: ``accs`` maps a setting to (validation, test) accuracy."""
    rng = np.random.default_rng(0)
    rows = []
    source = pt.IMAGENET if kind == "imagenet" else "glyph letters (half A)"
    for setting, (val, test) in accs.items():
        for seed in range(seeds):
            rows.append(dict(setting.tags(), source=source, kind=kind, region=region,
                             stage=stage, seed=seed,
                             val_acc=val + noise * rng.standard_normal(),
                             test_acc=test + 0.01 * seed + noise * rng.standard_normal()))
    return pd.DataFrame(rows)


def _grid_accs(kind: str, best: hp.Setting | None, val: float = 0.8, test: float = 0.8,
               lift: float = 0.1) -> dict:
    arch = "efficientnet_lite0" if kind == "imagenet" else "cnn8"
    out = {}
    for setting in hp.grid_settings(S, arch):
        up = lift if setting == best else 0.0
        out[setting] = (val + up, test + up)
    return out


def test_choices_read_validation_only():
    default = hp.default_setting(S, "cnn8")
    better = replace(default, depth=5)
    accs = _grid_accs("glyphs", better)
    df = _cell_frame("glyphs", "small & dissimilar", accs)
    chosen = hp.knob_choices(df, S)
    assert chosen.set_index("knob").loc["depth", "value"] == 5
    # the test column cannot move a choice
    flipped = df.assign(test_acc=1 - df["test_acc"])
    assert hp.knob_choices(flipped, S).equals(chosen)
    assert hp.cell_choices(flipped, S)["setting"].tolist() == [better.label()]
    with pytest.raises(ValueError, match="validation"):
        hp.knob_choices(df.drop(columns="val_acc"), S)


def test_ties_keep_the_default():
    df = _cell_frame("glyphs", "large & similar", _grid_accs("glyphs", None))
    chosen = hp.knob_choices(df, S)
    default = hp.default_setting(S, "cnn8")
    assert all(chosen["value"] == [default.value(k) for k in chosen["knob"]])
    cell = hp.cell_choices(df, S).iloc[0]
    assert cell["setting"] == default.label() and not cell["told_apart"]
    rec = hp.recommendations(df, S).iloc[0]
    assert rec["gain"] == 0.0 and rec["changes"] == "default"


def test_combined_settings_join_each_knobs_choice():
    default = hp.default_setting(S, "cnn8")
    accs = _grid_accs("glyphs", None)
    accs[replace(default, depth=5)] = (0.9, 0.9)
    accs[replace(default, momentum=0.5)] = (0.85, 0.85)
    df = _cell_frame("glyphs", "small & dissimilar", accs)
    cells = [c for c in hp.cells(QUICK) if c.source.kind == "glyphs"
             and c.region == "small & dissimilar"]
    [(cell, [combined])] = hp.combined_settings(hp.knob_choices(df, S), S, cells)
    assert combined == replace(default, depth=5, momentum=0.5)


def test_a_clear_winner_is_told_apart_and_its_gain_holds():
    default = hp.default_setting(S, "cnn8")
    df = _cell_frame("glyphs", "small & dissimilar",
                     _grid_accs("glyphs", replace(default, lr_ratio=0.1), lift=0.2),
                     seeds=6, noise=0.01)
    rec = hp.recommendations(df, S).iloc[0]
    assert rec["told_apart"] and rec["gain_low"] > 0
    assert rec["gain"] == pytest.approx(0.2, abs=0.03)


def test_noise_alone_is_never_told_apart():
    df = _cell_frame("glyphs", "small & dissimilar", _grid_accs("glyphs", None), seeds=4,
                     noise=0.05)
    cell = hp.cell_choices(df, S).iloc[0]
    assert cell["val_low"] <= 0 <= cell["val_high"] or not cell["told_apart"]


def _two_cells(ls_best: hp.Setting | None, sd_best: hp.Setting | None, seeds: int = 5,
               noise: float = 0.0) -> pd.DataFrame:
    return pd.concat([
        _cell_frame("glyphs", "large & similar", _grid_accs("glyphs", ls_best), seeds,
                    noise=noise),
        _cell_frame("glyphs", "small & dissimilar", _grid_accs("glyphs", sd_best), seeds,
                    noise=noise)], ignore_index=True)


def test_a_transplant_loses_what_the_receiving_cells_own_choice_gains():
    default = hp.default_setting(S, "cnn8")
    ls, sd = replace(default, momentum=0.5), replace(default, depth=3)
    df = _two_cells(ls, sd, noise=0.005)
    found, moved = hp.effects(df, S)
    to_sd = moved.set_index("to").loc["small & dissimilar"]
    assert to_sd["setting"] == ls.label() and to_sd["own"] == sd.label()
    assert not to_sd["same"]
    assert to_sd["loss"] == pytest.approx(0.1, abs=0.02)
    verdicts = judge(hp.claims(found)).set_index("claim")["verdict"]
    assert verdicts["transplant_glyph_to_sd"] == "held"
    assert set(found) == {"gain_glyph_ls", "gain_glyph_sd", "transplant_glyph_to_sd",
                          "transplant_glyph_to_ls"}


def test_a_transplant_of_the_same_setting_loses_nothing_and_is_never_held():
    default = hp.default_setting(S, "cnn8")
    df = _two_cells(replace(default, depth=5), replace(default, depth=5))
    found, moved = hp.effects(df, S)
    assert moved["same"].all() and (moved["loss"] == 0).all()
    # the family is fixed before the run: a setting against itself stays in it, as no effect
    table = judge(hp.claims(found)).set_index("claim")
    assert set(table.index) == {"gain_glyph_ls", "gain_glyph_sd", "transplant_glyph_to_sd",
                                "transplant_glyph_to_ls"}
    assert (table.loc[["transplant_glyph_to_sd", "transplant_glyph_to_ls"], "verdict"]
            != "held").all()


def test_a_cell_that_keeps_the_default_stays_in_the_family_with_no_gain():
    df = _two_cells(None, hp.Setting(3, 1.0, 0.9, "L2"))
    found, _ = hp.effects(df, S)
    assert (found["gain_glyph_ls"]["values"] == 0).all()
    assert "gain_glyph_ls" in [c.name for c in hp.claims(found)]


def test_each_seed_is_read_at_the_setting_chosen_on_the_other_seeds():
    """One seed whose validation alone favours a setting does not get it chosen for itself:
    its gain is read at what the other seeds chose (the default), so it is zero."""
    default = hp.default_setting(S, "cnn8")
    lucky = replace(default, depth=5)
    df = _cell_frame("glyphs", "small & dissimilar", _grid_accs("glyphs", None), seeds=4)
    mask = (df["seed"] == 0) & (df["setting"] == lucky.label())
    df.loc[mask, ["val_acc", "test_acc"]] += 0.3
    picks = hp.seed_choices(df, S).set_index("seed")["setting"]
    assert picks[0] == default.label() and set(picks[1:]) == {lucky.label()}
    found, _ = hp.effects(df, S)
    gain = found["gain_glyph_sd"]["values"]
    assert gain[0] == 0 and (gain[1:] == 0).all()  # the lucky seed's +0.3 is never reported


def test_a_transplant_that_has_not_run_is_an_error_and_the_third_stage_lists_it():
    default = hp.default_setting(S, "cnn8")
    combo = replace(default, depth=5, momentum=0.5)
    df = _two_cells(None, None)
    extra = _cell_frame("glyphs", "large & similar", {combo: (0.99, 0.99)}, 5,
                        stage="combined")
    df = pd.concat([df, extra], ignore_index=True)
    cells = [c for c in hp.cells(QUICK) if c.source.kind == "glyphs"]
    wanted = hp.transplant_settings(df, S, cells)
    assert [(c.region, [x.label() for x in s]) for c, s in wanted] == [
        ("small & dissimilar", [combo.label()])]
    with pytest.raises(ValueError, match="third stage"):
        hp.effects(df, S)


def test_knob_curves_pair_each_value_with_the_default_of_its_cell():
    default = hp.default_setting(S, "cnn8")
    df = _cell_frame("glyphs", "small & dissimilar",
                     _grid_accs("glyphs", replace(default, depth=3), lift=0.05), seeds=3)
    curves = hp.knob_curves(df, S, "depth").set_index("value")
    assert curves.loc[7, "diff"] == 0 and curves.loc[7, "diff_low"] == 0
    assert curves.loc[3, "diff"] == pytest.approx(0.05)
    assert curves.loc[3, "chosen"] and not curves.loc[5, "chosen"]
    fig = knob_plot(hp.knob_curves(df, S, "depth"), ["glyph letters (half A)"],
                    "transferred layers")
    assert fig.get_size_inches()[0] == pytest.approx(COLUMN)
    assert len(fig.axes[0].get_xticklabels()) == 3


# ------------------------------------------------------------------ the smoke run

def test_the_smoke_run_is_cached_through_every_stage_and_measures_each_relation(smoke_results):
    from tests.conftest import results_folder
    from tlkit import results, sweep
    from tlkit.store import Store

    params = {"profile": "smoke"}
    s = settings(hp.PROFILES, params)
    cells = hp.cells(params)
    with results_folder(smoke_results):
        store = Store()
        search = pt.search_specs(hp.pretrained_params(params))
        rates = pt.chosen_rates(results.frame(sweep.run(search, executor="serial")))
        first = hp.specs(params, rates)
        assert all(store.has(x) for x in first), "the smoke book ran the first stage"
        records = sweep.run(first, executor="serial")
        df = results.frame(records)
        second = hp.setting_specs(params, hp.combined_settings(hp.knob_choices(df, s), s,
                                                                cells), rates, "combined")
        assert all(store.has(x) for x in second), "the smoke book ran the combinations"
        records += sweep.run(second, executor="serial")
        df = results.frame(records)
        third = hp.setting_specs(params, hp.transplant_settings(df, s, cells), rates,
                                 "transplant")
        assert all(store.has(x) for x in third), "the smoke book ran the transplants"
        records += sweep.run(third, executor="serial")
        relation = hp.relation_table(records, store=store)
        found, moved = hp.effects(results.frame(records), s)
    assert len(relation) == 2 * len(s["cells"])
    assert set(relation["relation"]) == {"near", "far"}
    assert relation["logme"].notna().all()
    assert len(found) == len(cells) + 2 * len(s["cells"])
    assert len(moved) == 2 * len(s["cells"])


# --- can this experiment show the effect? --------------------------------------------------

def _plateau_table(gains):
    return pd.DataFrame([dict(method=m, size=size, gain=g, reached=g <= 0.02)
                         for m, g in gains.items() for size in ("search", "all")])


def test_a_default_recipe_still_learning_bars_its_sources_claims():
    names = ["gain_glyph_ls", "gain_imagenet_sd", "transplant_glyph_to_sd",
             "transplant_imagenet_to_ls"]
    converged = hp.preconditions(_plateau_table({"fine-tune (glyph source)": 0.0,
                                                 "fine-tune": 0.01}))
    assert converged["holds"].all() and hp.untestable(converged, names) == {}
    glyph_late = hp.preconditions(_plateau_table({"fine-tune (glyph source)": 0.05,
                                                  "fine-tune": 0.01}))
    assert set(hp.untestable(glyph_late, names)) == {"gain_glyph_ls", "transplant_glyph_to_sd"}


def test_the_plateau_check_runs_each_sources_default_on_selection_seeds():
    from tlkit.experiments.profile import SEARCH_SEEDS_FROM

    rates = {"scratch (cnn8)": 0.01, "fine-tune": 0.01, "fine-tune (glyph source)": 0.1}
    checks = hp.check_specs({"profile": "quick"}, rates)
    assert {s.tag_dict["lr_choice"] for s in checks} == set(hp.DEFAULT_KEYS.values())
    assert min(s.seed for s in checks) >= SEARCH_SEEDS_FROM
    for s in checks:
        assert s.train.lr == rates[s.tag_dict["lr_choice"]]


def test_the_page_shows_the_glyph_source_and_each_target_once() -> None:
    params = {"profile": "smoke"}
    shown = hp.sample_specs(params)
    listed = hp.cells(params)
    targets = list(dict.fromkeys(f"target: {c.target.name}" for c in listed))
    glyph = [f"source: {c.source.name}" for c in listed if c.source.kind == "glyphs"][:1]
    assert list(shown) == [*glyph, *targets]
