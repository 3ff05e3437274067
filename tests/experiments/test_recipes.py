"""Recipes chosen on validation: the one-standard-error rule, budgets, failed points."""

from __future__ import annotations

import pandas as pd
import pytest

from tlkit.experiments import NOTEBOOKS, check_common, module_for, recipes


def _search(points):
    """A search table: points is [(epochs, lr, [val per seed])], tested on nothing."""
    rows = []
    for i, (epochs, lr, vals) in enumerate(points):
        for seed, v in enumerate(vals):
            rows.append(dict(experiment="e", role="r", point=i, template=0, seed=seed,
                             grid_epochs=epochs, grid_lr=lr, val_acc=v, train_acc=1.0,
                             test_acc=1.0 - v))
    return pd.DataFrame(rows)


def test_one_standard_error_rule_prefers_the_cheaper_recipe():
    table = _search([(20, 0.1, [0.91, 0.915, 0.92]),    # within one SE of the best
                     (40, 0.1, [0.91, 0.92, 0.93])])    # the best
    chosen = recipes.select(table)
    assert chosen.loc[chosen["chosen"], "epochs"].tolist() == [20]
    far = _search([(20, 0.1, [0.80, 0.80, 0.81]), (40, 0.1, [0.91, 0.92, 0.93])])
    assert recipes.select(far).loc[lambda d: d["chosen"], "epochs"].tolist() == [40]


def test_a_point_whose_runs_on_one_template_all_diverged_is_never_chosen():
    """A recipe chosen on two templates (two target sizes): a rate that diverged on every
    seed of one of them is incomplete, however good its other template."""
    two = pd.concat([_search([(20, 0.1, [0.50, 0.51, 0.52]), (20, 0.3, [0.70, 0.71, 0.72])]),
                     _search([(20, 0.1, [0.40, 0.41, 0.42])]).assign(template=1)])
    chosen = recipes.select(two)
    assert chosen.loc[chosen["chosen"], "lr"].tolist() == [0.1]
    assert not chosen.set_index("lr").loc[0.3, "eligible"]


def test_among_equally_cheap_recipes_the_best_on_validation():
    table = _search([(20, 0.01, [0.90, 0.90, 0.91]), (20, 0.1, [0.91, 0.91, 0.92])])
    assert recipes.select(table).loc[lambda d: d["chosen"], "lr"].tolist() == [0.1]


def test_selection_never_reads_test_and_respects_the_budget():
    table = _search([(20, 0.1, [0.80, 0.81, 0.80]), (80, 0.1, [0.95, 0.95, 0.96])])
    free = recipes.select(table)
    assert free.loc[free["chosen"], "epochs"].tolist() == [80]
    capped = recipes.select(table, {"e": 40})
    assert capped.loc[capped["chosen"], "epochs"].tolist() == [20]
    assert not capped.set_index("epochs").loc[80, "eligible"]
    flipped = recipes.select(table.assign(test_acc=table["val_acc"][::-1].to_numpy()))
    assert flipped["chosen"].tolist() == free["chosen"].tolist()
    assert "test_acc" not in free.columns


def test_a_point_missing_runs_is_never_chosen():
    table = _search([(20, 0.1, [0.80, 0.81, 0.80]), (20, 0.3, [0.99, 0.99, 0.99])])
    table = table[~((table["point"] == 1) & (table["seed"] == 2))]  # one run diverged
    out = recipes.select(table)
    assert out.loc[out["chosen"], "lr"].tolist() == [0.1]


def test_grid_points_come_cheapest_first():
    points = recipes.grid_points({"lr": [0.1, 0.01], "epochs": [40, 20]})
    assert [p["epochs"] for p in points] == [20, 20, 40, 40]
    assert [p["lr"] for p in points[:2]] == [0.1, 0.01]
    with pytest.raises(ValueError, match="may vary"):
        recipes.grid_points({"momentum": [0.9]})


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_every_experiment_declares_a_recipe_for_each_role_it_searches(profile):
    specs = recipes.search_specs({"profile": profile})
    searched = {(s.tag_dict["experiment"], s.tag_dict["role"]) for s in specs}
    declared = recipes.declared({"profile": profile})
    assert searched == set(zip(declared["experiment"], declared["role"], strict=True))
    assert {e for e, _ in searched} == {n for n in NOTEBOOKS
                                        if hasattr(module_for(n), "recipe_tasks")}
    # the validation set is carved from the training pool of every search run
    assert all(s.data.validation > 0 for s in specs)


@pytest.mark.parametrize("profile", ["smoke", "quick"])
def test_no_search_run_doubles_as_a_reported_replicate(profile):
    """A recipe search's runs have seeds (and so target subsamples, weights and batches) of
    their own: none is a run of any page, and no page asks for a seed a search uses."""
    from tlkit.experiments.profile import SEARCH_SEEDS_FROM

    search = recipes.search_specs({"profile": profile})
    assert min(s.seed for s in search) >= SEARCH_SEEDS_FROM
    assert all(s.data.subsample_seed >= SEARCH_SEEDS_FROM for s in search)
    keys = {s.key() for s in search}
    for notebook in NOTEBOOKS:
        m = module_for(notebook)
        if not hasattr(m, "recipe_tasks") or notebook == "90_recipes":
            continue
        page = m.specs({"profile": profile})
        assert not keys & {s.key() for s in page}, notebook
        assert max(s.seed for s in page) < SEARCH_SEEDS_FROM, notebook
    with pytest.raises(ValueError, match="searches"):
        check_common({"seeds": SEARCH_SEEDS_FROM + 1})


def _copied(specs):
    """The keys of every source network the runs copy (and the sources of those)."""
    out, todo = set(), [s.transfer.source for s in specs if s.transfer.source is not None]
    while todo:
        src = todo.pop()
        out.add(src.key())
        if src.transfer.source is not None:
            todo.append(src.transfer.source)
    return out


@pytest.mark.parametrize("profile", ["smoke", "quick"])
def test_no_choice_reads_a_source_network_that_a_reported_replicate_copies(profile):
    """Search seed k copies a source network trained from seed k: a network no page's
    replicate copies (the recipe searches, the plateau checks and the preconditions' runs)."""
    from tlkit.experiments import EXPERIMENTS, recipe_plateau

    params = {"profile": profile}
    chosen_on = [*recipes.search_specs(params), *recipe_plateau.specs(params)]
    reported = set()
    for notebook, declared in EXPERIMENTS.items():
        for stage in declared.stages:
            if stage.listing is None or notebook == "90_recipes":
                continue
            runs = stage.listing(declared.check(params))
            (reported.update(_copied(runs)) if stage.pinned else chosen_on.extend(runs))
    copied = _copied(chosen_on)
    assert copied, "the searches transfer from source networks"
    assert not copied & reported
    seeds = {(s.seed, s.transfer.source.seed) for s in chosen_on if s.transfer.source is not None}
    assert all(a == b for a, b in seeds), "search seed k copies the source of seed k"


# --- does every profile use its search's choice? ------------------------------------------

def _declaring(monkeypatch, **recipe):
    """Make the profiles declare ``recipe`` for experiment ``e``, role ``r``."""
    monkeypatch.setattr(recipes, "declared",
                        lambda params: pd.DataFrame([dict(experiment="e", role="r", **recipe)]))


def test_a_declared_recipe_that_is_the_choice_agrees(monkeypatch):
    _declaring(monkeypatch, epochs=40, lr=0.1)
    table = recipes.select(_search([(20, 0.1, [0.80, 0.81, 0.80]),
                                    (40, 0.1, [0.91, 0.92, 0.93])]))
    out = recipes.agreement(table, {})
    assert out["agrees"].tolist() == [True] and out["tied"].tolist() == [True]
    assert recipes.contradicted(out) == []


def test_a_recipe_within_one_standard_error_of_the_choice_is_tied_not_contradicted(
        monkeypatch):
    """Two learning rates whose validation accuracies differ by less than their noise: which
    one the rule picks is a coin the processor's floating point flips."""
    _declaring(monkeypatch, epochs=20, lr=0.1)
    table = recipes.select(_search([(20, 0.1, [0.90, 0.91, 0.905]),
                                    (20, 0.3, [0.90, 0.92, 0.91])]))
    out = recipes.agreement(table, {})
    assert out["agrees"].tolist() == [False] and out["tied"].tolist() == [True]
    assert out["declared_val"].iloc[0] == pytest.approx(0.905)
    assert recipes.contradicted(out) == []


def test_a_recipe_the_search_rejects_is_contradicted(monkeypatch):
    _declaring(monkeypatch, epochs=20, lr=0.01)
    table = recipes.select(_search([(20, 0.01, [0.80, 0.81, 0.80]),
                                    (20, 0.1, [0.91, 0.92, 0.93])]))
    found = recipes.contradicted(recipes.agreement(table, {}))
    assert len(found) == 1 and "recipes.r declares lr 0.01" in found[0]
    assert "chose lr 0.1" in found[0]


def test_a_longer_recipe_as_good_as_the_cheaper_choice_is_tied(monkeypatch):
    """The one-SE rule prefers the cheaper of two recipes its search cannot tell apart; the
    dearer one is not its choice, but not one it rejects either: on another processor the
    same seeds can put the cheaper one below the bar."""
    _declaring(monkeypatch, epochs=40, lr=0.1)
    table = recipes.select(_search([(20, 0.1, [0.91, 0.915, 0.92]),
                                    (40, 0.1, [0.91, 0.92, 0.93])]))
    out = recipes.agreement(table, {})
    assert out["agrees"].tolist() == [False] and out["tied"].tolist() == [True]


def test_a_recipe_worse_than_the_best_beyond_the_searchs_noise_is_contradicted(monkeypatch):
    """Below the best by more than twice the standard error of the difference: contradicted,
    however close in absolute terms (0.02 here, with spreads of 0.005)."""
    _declaring(monkeypatch, epochs=20, lr=0.1)
    table = recipes.select(_search([(20, 0.1, [0.895, 0.90, 0.905]),
                                    (20, 0.3, [0.915, 0.92, 0.925])]))
    assert len(recipes.contradicted(recipes.agreement(table, {}))) == 1


def test_a_declared_recipe_off_the_grid_or_diverged_is_contradicted(monkeypatch):
    _declaring(monkeypatch, epochs=20, lr=0.05)
    table = recipes.select(_search([(20, 0.01, [0.80, 0.81, 0.80]),
                                    (20, 0.1, [0.91, 0.92, 0.93])]))
    assert len(recipes.contradicted(recipes.agreement(table, {}))) == 1
    _declaring(monkeypatch, epochs=20, lr=0.3)
    missing = _search([(20, 0.1, [0.80, 0.81, 0.80]), (20, 0.3, [0.99, 0.99, 0.99])])
    missing = missing[~((missing["point"] == 1) & (missing["seed"] == 2))]
    assert len(recipes.contradicted(recipes.agreement(recipes.select(missing), {}))) == 1


def test_the_book_profile_declares_the_recipe_its_search_chooses():
    """Runs every search of the quick profile (the book's; a few minutes on two cores) and
    fails, naming the profile setting to change, when a chapter runs a recipe its own search
    did not choose (up to a tie within the search's noise: see ``recipes.agreement``). The
    smoke profile's searches score at chance (they check the plumbing, not the recipes), and
    the full profile's take hours."""
    from tlkit import results, sweep

    params = {"profile": "quick"}
    try:
        records = sweep.run(recipes.search_specs(params), device="cpu", executor="process")
    except sweep.SweepError as err:  # a diverged grid point is a result, never the choice
        records = err.records
    selection = recipes.select(results.frame(records), recipes.budgets(params))
    table = recipes.agreement(selection, params)
    assert len(table) == len(recipes.declared(params))
    assert recipes.contradicted(table) == []


# --- did every declared recipe reach its plateau? ------------------------------------------

def test_the_plateau_check_reruns_each_recipe_twice_as_long_on_its_search_runs():
    from tlkit.experiments import recipe_plateau

    params = {"profile": "quick"}
    check = recipe_plateau.specs(params)
    search = {s.key() for s in recipes.search_specs(params)}
    once = [s for s in check if s.tag_dict["length"] == 1]
    twice = [s for s in check if s.tag_dict["length"] == 2]
    assert len(once) == len(twice)
    # the profile declares what its search chose, so its recipe's runs are the search's own
    assert all(s.key() in search for s in once)
    for a, b in zip(once, twice, strict=True):
        assert b.train.epochs == 2 * a.train.epochs
        assert (b.train.lr, b.data, b.seed) == (a.train.lr, a.data, a.seed)
    roles = {(s.tag_dict["experiment"], s.tag_dict["role"]) for s in check}
    table = recipes.declared(params)
    assert roles == set(zip(table["experiment"], table["role"], strict=True))


def test_the_plateau_is_judged_on_the_mean_paired_gain_over_seeds():
    from tlkit.experiments import recipe_plateau

    rows = []
    for role, gain in (("flat", 0.01), ("rising", 0.05)):
        for seed in range(3):
            for template in (0, 1):  # a role searched on two templates averages them
                base = 0.7 + 0.02 * seed + 0.01 * template
                rows += [dict(experiment="e", role=role, seed=seed, template=template,
                              length=1, epochs=20, val_acc=base),
                         dict(experiment="e", role=role, seed=seed, template=template,
                              length=2, epochs=40, val_acc=base + gain)]
    out = recipe_plateau.plateau(pd.DataFrame(rows)).set_index("role")
    assert out.loc["flat", "gain"] == pytest.approx(0.01)
    assert out.loc["rising", "gain"] == pytest.approx(0.05)
    assert out["reached"].to_dict() == {"flat": True, "rising": False}
    assert out.loc["flat", "epochs"] == 20 and out.loc["flat", "seeds"] == 3
    with pytest.raises(ValueError, match="validation accuracy"):
        recipe_plateau.plateau(pd.DataFrame(rows).drop(columns="val_acc"))
