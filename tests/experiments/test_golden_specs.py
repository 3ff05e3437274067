"""Golden spec lists: every notebook's runs, per profile, pinned by the hash of their keys.

A run's design key is the SHA-256 of its canonical spec (not of the code that computes it), so it
is the same on every machine and every version of the code. A change that alters what a notebook
runs (another seed, size, recipe or tag) changes a hash here; update the table in the same
commit.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tlkit.experiments import NOTEBOOKS, experiment

#: notebook/profile -> (runs listed, distinct runs, hash of keys and tags in order)
GOLDEN = {
    "00_quickstart/smoke": (8, 8, "01b346b26f01035e"),
    "00_quickstart/quick": (64, 64, "b9e4c080b5fbd5f4"),
    "00_quickstart/full": (60, 60, "7c6a66108d5fba91"),
    "01_layer_transfer/smoke": (102, 96, "24cbbea2e3f02054"),
    "01_layer_transfer/quick": (363, 345, "8bb4fff04f40a7fd"),
    "01_layer_transfer/full": (1045, 895, "0ab915516cb6588c"),
    "02_small_targets/smoke": (114, 114, "3429d7bf2011be02"),
    "02_small_targets/quick": (1140, 1068, "cdb6e059d566f020"),
    "02_small_targets/full": (2022, 1920, "9dffd40ce127f66e"),
    "03_pretrained/smoke": (100, 92, "05318b09ffa3319c"),
    "03_pretrained/quick": (324, 324, "7f241871413a3214"),
    "03_pretrained/full": (1800, 1800, "e0521a905871c3fc"),
    "04_hyperparameters/smoke": (56, 56, "bcea7cd35f6ea4d1"),
    "04_hyperparameters/quick": (156, 156, "e5f42fb8f3470e07"),
    "04_hyperparameters/full": (360, 360, "d38122530c0a6afe"),
    "90_recipes/smoke": (228, 158, "a3bab851a85301a7"),
    "90_recipes/quick": (1056, 879, "51a332ec049ff392"),
    "90_recipes/full": (324, 284, "8a6751511a5900c4"),
}


def listing(notebook: str, profile: str) -> tuple[int, int, str]:
    specs = experiment(notebook).listing({"profile": profile})
    text = "\n".join(s.design_key() + " " + json.dumps(s.tag_dict, sort_keys=True)
                     for s in specs)
    return (len(specs), len({s.design_key() for s in specs}),
            hashlib.sha256(text.encode()).hexdigest()[:16])


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_notebook_runs_match_the_golden_listing(case):
    notebook, profile = case.split("/")
    assert notebook in NOTEBOOKS
    assert listing(notebook, profile) == GOLDEN[case]


@pytest.mark.parametrize("notebook", [n for n in sorted(NOTEBOOKS) if n != "90_recipes"])
def test_a_pilot_runs_the_same_design_on_seeds_no_page_reports(notebook):
    """``first_seed`` moves every replicate to a pilot's seeds: the same design, run for run,
    and no run of the book's listing among them."""
    from tlkit.experiments import check_params
    from tlkit.experiments.profile import PILOT_SEEDS_FROM

    book = experiment(notebook).listing({"profile": "smoke"})
    pilot = experiment(notebook).listing({"profile": "smoke", "first_seed": PILOT_SEEDS_FROM})
    assert len(pilot) == len(book)
    assert not {s.key() for s in pilot} & {s.key() for s in book}
    assert min(s.seed for s in pilot) >= PILOT_SEEDS_FROM > max(s.seed for s in book)
    with pytest.raises(ValueError, match="first_seed"):
        check_params(notebook, {"profile": "smoke", "first_seed": 1500})


@pytest.mark.parametrize("notebook", [n for n in sorted(NOTEBOOKS) if n != "90_recipes"])
def test_replicates_run_the_same_design_on_the_listed_seeds(notebook):
    """A coursework variant's ``replicates`` replace seed k of every condition by the k-th seed
    listed, in the listed order: the same runs with the same tags, none of the book's, and
    the paired conditions still paired (a condition with fewer seeds runs a prefix)."""
    from collections import Counter

    from tlkit.experiments.profile import COURSEWORK_SEEDS_FROM

    book = experiment(notebook).listing({"profile": "smoke"})
    seeds = sorted({s.seed for s in book})
    listed = [COURSEWORK_SEEDS_FROM + 7 * (len(seeds) - k) for k in range(len(seeds))]
    variant = experiment(notebook).listing({"profile": "smoke", "replicates": listed})

    def shape(specs, seed_of):
        return Counter((tuple(sorted(s.tag_dict.items())), seed_of(s.seed), s.data.n_per_class)
                       for s in specs)

    assert shape(variant, lambda x: x) == shape(book, lambda x: listed[seeds.index(x)])
    assert not {s.key() for s in variant} & {s.key() for s in book}


@pytest.mark.parametrize(("replicates", "message"), [
    ([10_000, 10_000], "twice"), ([10_000, 1_500], "searches"), ([], "non-empty"),
    ([True, 10_001], "whole seeds"), ("10000", "non-empty list"), ([-1, 3], "searches")])
def test_bad_replicates_are_refused_in_one_line(replicates, message):
    from tlkit.experiments import check_params

    with pytest.raises(ValueError, match=message):
        check_params("00_quickstart", {"profile": "smoke", "replicates": replicates})


def test_too_few_replicates_for_the_design_are_refused():
    from tlkit.experiments.profile import replicate_seeds

    assert list(replicate_seeds({"seeds": 2, "replicates": [5, 3, 9]})) == [5, 3]
    with pytest.raises(ValueError, match="lists 1 seed, but the design runs 2"):
        replicate_seeds({"seeds": 2, "replicates": [5]})
    from tlkit.experiments import check_params

    for notebook in ("00_quickstart", "01_layer_transfer", "02_small_targets"):
        with pytest.raises(ValueError, match="lists 1 seed, but"):  # before anything runs
            check_params(notebook, {"profile": "smoke", "replicates": [10_000]})
    with pytest.raises(ValueError, match="not both"):
        check_params("00_quickstart", {"profile": "smoke", "replicates": [10_000, 10_001],
                                        "first_seed": 2000})
