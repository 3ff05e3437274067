"""The quickstart's design and family: frozen features with both batch-norm statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlkit.experiments import quickstart


def test_frozen_features_run_with_the_source_and_with_the_target_statistics():
    specs = quickstart.specs({"profile": "quick"})
    by = {}
    for s in specs:
        by.setdefault((s.data.n_per_class, s.seed), {})[s.tag_dict["condition"]] = s
    assert all(set(runs) == set(quickstart.CONDITIONS) for runs in by.values())
    for runs in by.values():
        source, target = runs["frozen features"], runs["frozen features, target BN"]
        assert source.transfer.source == target.transfer.source  # the same network...
        assert (source.transfer.layers, source.transfer.freeze) == (
            target.transfer.layers, target.transfer.freeze)  # ...and the same frozen layers
        assert (source.transfer.bn_stats, target.transfer.bn_stats) == ("source", "target")
        assert source.data == target.data  # paired: the same target images


def _runs(shift: float, seeds: int = 8, noise: float = 0.02) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for n in (5, 20):
        for seed in range(seeds):
            base = 0.6 + rng.normal(0, 0.05)  # what the seed's images share
            for condition, gain in (("scratch", 0.0), ("fine-tuned", 0.05),
                                    ("frozen features", -0.2),
                                    ("frozen features, target BN", -0.2 + shift)):
                rows.append(dict(n_per_class=n, seed=seed, condition=condition,
                                 test_acc=base + gain + rng.normal(0, noise)))
    return pd.DataFrame(rows)


def test_the_family_compares_every_transferred_condition_with_scratch():
    claims = quickstart.claims(_runs(0.1))
    assert [c.name for c in claims] == ["ft_5", "frozen_5", "frozen_tbn_5",
                                        "ft_20", "frozen_20", "frozen_tbn_20"]


@pytest.mark.parametrize("shift", [0.0, 0.1])
def test_the_statistics_effect_is_the_paired_difference_of_the_two_frozen_conditions(shift):
    bn = quickstart.bn_effect(_runs(shift))
    assert bn["n_per_class"].tolist() == [5, 20]
    assert (bn["ci_low"] < shift).all() and (bn["ci_high"] > shift).all()
    assert np.allclose(bn["diff"], shift, atol=0.03)


# --- can this experiment show the effect? --------------------------------------------------

ROLES = ("source", "scratch", "frozen features", "frozen features, target BN", "fine-tuned")


def _checks(gain=None, random=0.4, seeds=3):
    """A results table of the preconditions' runs: every role at its length and twice it
    (``gain``: per role, what twice the training adds), and the random frozen layers."""
    gain = gain or {}
    rows = []
    for seed in range(1000, 1000 + seeds):
        for role in ROLES:
            val = 0.6 + 0.01 * (seed - 1000)
            for length in (1, 2):
                rows.append(dict(experiment="00_quickstart", role=role, template=0,
                                 length=length, seed=seed, epochs=30 * length,
                                 val_acc=val + (gain.get(role, 0.0) if length == 2 else 0.0)))
        rows.append(dict(check="random", seed=seed, epochs=30,
                         val_acc=random + 0.02 * (seed - 1000)))
    return pd.DataFrame(rows)


def test_every_precondition_holds_when_the_runs_have_converged_and_the_source_helps():
    pre = quickstart.preconditions({"profile": "quick"}, _checks())
    assert pre["holds"].all()
    assert quickstart.untestable(pre) == {}


def test_a_baseline_still_learning_bars_every_claim_that_compares_with_it():
    pre = quickstart.preconditions({"profile": "quick"}, _checks({"scratch": 0.05}))
    barred = quickstart.untestable(pre)
    assert set(barred) == {f"{c}_{n}" for c in ("ft", "frozen", "frozen_tbn") for n in (5, 20)}
    assert all("scratch converges" in why for why in barred.values())
    one = quickstart.untestable(quickstart.preconditions({"profile": "quick"},
                                                         _checks({"fine-tuned": 0.05})))
    assert set(one) == {"ft_5", "ft_20"}


def test_frozen_features_no_better_than_random_ones_bar_only_the_frozen_claims():
    pre = quickstart.preconditions({"profile": "quick"}, _checks(random=0.6))
    assert set(quickstart.untestable(pre)) == {"frozen_5", "frozen_20", "frozen_tbn_5",
                                               "frozen_tbn_20"}


def test_a_target_at_its_ceiling_leaves_no_headroom():
    table = _checks()
    table.loc[table["role"] == "scratch", "val_acc"] = 0.98
    pre = quickstart.preconditions({"profile": "quick"}, table).set_index("precondition")
    assert not pre.loc["headroom", "holds"]


def test_the_checks_run_on_selection_seeds_only():
    from tlkit.experiments.profile import SEARCH_SEEDS_FROM

    checks = quickstart.check_specs({"profile": "quick"})
    assert min(s.seed for s in checks) >= SEARCH_SEEDS_FROM
    assert not {s.key() for s in checks} & {s.key() for s in quickstart.specs({"profile": "quick"})}
    random = [s for s in checks if s.tag_dict.get("check") == "random"]
    assert random and all(s.transfer.source is None and s.transfer.freeze for s in random)
    assert all(s.transfer.bn_stats == "target" for s in random)
