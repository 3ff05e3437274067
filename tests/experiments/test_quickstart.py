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
