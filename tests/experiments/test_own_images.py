"""The chapter on a reader's folder: the plan within a budget, the choices by cross-validation,
the claims and the answer (on tables made here), and the runs' data (on folders written here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlkit.experiments import own_images as oi
from tlkit.experiments.own_images import planning
from tlkit.verdicts import judge


def quick() -> dict:
    return oi.settings_of({"profile": "quick"})


# --- the plan ----------------------------------------------------------------------------------

def test_a_large_budget_runs_everything_the_profile_allows():
    s = quick()
    p = planning.plan(s, [40] * 10, 100, budget_minutes=1000, workers=2)
    assert (p.seeds, p.folds, p.arms, p.half) == (8, 3, tuple(s["arms"]), True)
    assert p.fits and p.left_out == ()


def test_a_short_budget_gives_things_up_in_the_stated_order():
    s = quick()
    sizes, test = [40] * 10, 100
    steps = [planning.plan(s, sizes, test, budget_minutes=m, workers=2)
             for m in (1000, 8, 5, 3, 0.1)]
    seconds = [p.seconds for p in steps]
    assert seconds == sorted(seconds, reverse=True)
    least = steps[-1]
    assert not least.fits and least.seeds == 3 and least.folds == 2 and not least.half
    assert least.arms == tuple(a for a in s["arms"] if a not in s["drop_order"])
    assert set(oi.KEPT) <= set(least.arms)
    said = " ".join(least.left_out)
    assert "smaller-size point" in said and "DELTA" in said and "folds beyond 2" in said
    # the order: seeds down to five come before the smaller-size point
    mid = next(p for p in steps if p.seeds < 8)
    assert mid.seeds >= 5 or not mid.half


def test_the_estimate_grows_with_the_folder_and_shrinks_with_workers():
    s = quick()
    arms = tuple(s["arms"])
    p = planning.Plan(5, 3, arms, True)
    small = planning.estimate(s, [20] * 10, 50, p)
    large = planning.estimate(s, [200] * 10, 500, p)
    assert large > small
    two = planning.estimate(s, [50] * 10, 100, planning.Plan(5, 3, arms, True, workers=2))
    one = planning.estimate(s, [50] * 10, 100, p)
    assert two < one


def test_the_full_profile_offers_imagenet_fine_tuning_and_drops_it_first():
    s = oi.settings_of({"profile": "full"})
    assert {f"{oi.IMAGENET}: fine-tune", f"{oi.IMAGENET}: L2-SP"} <= set(s["arms"])
    roomy = planning.plan(s, [40] * 10, 100, budget_minutes=1000, workers=2)
    assert f"{oi.IMAGENET}: fine-tune" in roomy.arms and roomy.fits
    short = planning.plan(s, [40] * 10, 100, budget_minutes=4, workers=2)
    assert f"{oi.IMAGENET}: fine-tune" not in short.arms
    assert short.left_out.index("the arm ImageNet: L2-SP") < short.left_out.index(
        "the arm ImageNet: fine-tune")
    # an arm costs what its training costs: every layer of EfficientNet-Lite0 ten times the top
    top = planning._run_seconds(s, f"{oi.IMAGENET}: fine-tune top", 400, 100)
    whole = planning._run_seconds(s, f"{oi.IMAGENET}: fine-tune", 400, 100)
    assert whole > 5 * top


def test_seeds_given_are_kept_whatever_the_budget():
    p = planning.plan(quick(), [40] * 10, 100, budget_minutes=0.1, workers=2, seeds=4)
    assert p.seeds == 4


# --- choices and claims ------------------------------------------------------------------------

def _selection(acc: dict[tuple[str, float], float], folds: int = 3) -> pd.DataFrame:
    rows = [dict(arm=a, lr=lr, fold=k, test_acc=v + 0.001 * k)
            for (a, lr), v in acc.items() for k in range(folds)]
    return pd.DataFrame(rows)


def test_rates_and_the_recommended_arm_are_chosen_on_cross_validation_accuracy():
    book, net = f"{oi.BOOK}: fine-tune", f"{oi.IMAGENET}: linear probe"
    sel = _selection({("scratch", 0.1): 0.5, ("scratch", 0.3): 0.6, (book, 0.01): 0.7,
                      (book, 0.1): 0.65, (net, 0.3): 0.8, (net, 1.0): 0.8})
    rates = oi.chosen_rates(sel)
    assert rates == {"scratch": 0.3, book: 0.01, net: 0.3}  # ties to the smaller rate
    assert oi.answer.recommended(sel, rates) == (net, book)


def _runs(gains: dict[str, float], seeds: int = 6, noise: float = 0.01,
          seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(seeds):
        base = 0.6 + rng.normal(0, 0.02)
        rows.append(dict(arm="scratch", source="none", seed=k, share="all", test_acc=base))
        for arm, g in gains.items():
            rows.append(dict(arm=arm, source="letters", seed=k, share="all",
                             test_acc=base + g + rng.normal(0, noise)))
    return pd.DataFrame(rows)


def test_a_clear_gain_holds_and_a_null_one_does_not_hold_by_the_margin():
    clear, null = f"{oi.BOOK}: fine-tune", f"{oi.BOOK}: linear probe"
    runs = _runs({clear: 0.10, null: 0.0}, seeds=8, noise=0.003)
    family = oi.claims(runs, ["scratch", clear, null], clear, None, margin=0.02)
    judged = judge(family).set_index("claim")
    assert judged.loc[f"{clear} beats scratch", "verdict"] == "held"
    assert judged.loc[f"{null} beats scratch", "verdict"] == "did not hold"
    assert len(family) == 2  # no comparison counted twice


def test_the_recommended_arm_is_not_inflated_on_null_effects():
    """Arms that are all equal: the recommended one (chosen on cross-validation, not on the
    test) has a reported gain centred on zero over many simulated folders."""
    rng = np.random.default_rng(1)
    arms = [f"{oi.BOOK}: {m}" for m in ("linear probe", "fine-tune", "L2-SP")]
    gains = []
    for rep in range(300):
        sel = pd.DataFrame([dict(arm=a, lr=0.1, fold=k, test_acc=0.6 + rng.normal(0, 0.03))
                            for a in ["scratch", *arms] for k in range(3)])
        best, _ = oi.answer.recommended(sel, oi.chosen_rates(sel))
        runs = _runs(dict.fromkeys(arms, 0.0), seeds=5, noise=0.03, seed=rep)
        gains.append(float(oi.claims(runs, ["scratch", *arms], best, None, 0.02)[
            arms.index(best)].estimate))
    assert abs(np.mean(gains)) < 3 * np.std(gains) / np.sqrt(len(gains))


def test_the_answer_names_the_start_the_gain_and_what_more_images_change():
    best = f"{oi.IMAGENET}: linear probe"
    runs = _runs({best: 0.08}, seeds=6, noise=0.004)
    half = runs.assign(share="half")
    half.loc[half["arm"] == best, "test_acc"] += 0.05
    both = pd.concat([runs, half], ignore_index=True)
    judged = judge(oi.claims(both, ["scratch", best], best, None, 0.02))
    text = oi.answer_text(judged, oi.arm_table(both), best, seeds=6,
                          half=oi.half_gain(both, best))
    assert "ImageNet weights" in text and "linear probe" in text and "it helps" in text
    assert "shrinks" in text and "Holm-adjusted, 6 seeds" in text


def test_bad_settings_are_refused_in_one_line():
    with pytest.raises(ValueError, match="budget_minutes must be a positive number"):
        oi.check_params({"profile": "smoke", "budget_minutes": 0})
    with pytest.raises(ValueError, match="drop_order names"):
        oi.check_params({"profile": "smoke", "overrides": {"drop_order": ["nonsense"]}})
