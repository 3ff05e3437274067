"""Experiments declared as objects: one registry for every notebook, parameters checked once,
stages run by name, later stages built from earlier stages' records."""

from pathlib import Path

import pytest

from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, experiments
from tlkit.experiments import Experiment, Stage

ROOT = Path(__file__).resolve().parents[2]
CHECKS: list[dict] = []


def check_params(params):  # the fake experiment's own check (this module is its module)
    CHECKS.append(dict(params))
    if params.get("seeds", 1) > 3:
        raise ValueError("seeds must be at most 3 here")


def _run(seed, lr=0.05):
    return RunSpec(DataSpec("digits", classes=("0", "1"), n_per_class=4), ModelSpec(width=2),
                   TrainConfig(epochs=1, batch_size=8, lr=lr), seed=seed)


def _first(params, done):
    return [_run(s) for s in range(params.get("seeds", 2))]


def _second(params, done):  # built from the first stage's records
    best = max(done["first"], key=lambda r: r.metrics["val_acc"] if "val_acc" in r.metrics
               else r.metrics["train_acc"])
    return [_run(best.spec.seed, lr=0.1)]


FAKE = Experiment("fake", "99_fake", __name__, stages=(
    Stage("first", _first, lambda params: _first(params, {})),
    Stage("second", _second),
    Stage("other", lambda params, done: [_run(7)], lambda params: [_run(7)], pinned=False)))


def test_every_notebook_has_one_registered_experiment():
    stems = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert set(experiments.EXPERIMENTS) == stems
    for notebook, declared in experiments.EXPERIMENTS.items():
        assert declared.notebook == notebook and declared.code.EXPERIMENT is declared
        assert declared.stages and len({s.name for s in declared.stages}) == len(declared.stages)
        for key, other in declared.links.items():
            assert other in experiments.EXPERIMENTS, (notebook, key)
    assert experiments.LINKED["02_small_targets"] == {"layer_transfer": "01_layer_transfer"}
    with pytest.raises(ValueError, match="unknown notebook '05_x'; valid: 00_quickstart"):
        experiments.experiment("05_x")


def test_stages_run_by_name_each_from_the_records_before_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TLKIT_RESULTS", str(tmp_path))
    CHECKS.clear()
    params = {"profile": "smoke", "seeds": 2}
    run = FAKE.start(params)
    assert [r.spec for r in run.stage("first")] == _first(params, {})
    (second,) = run.stage("second")
    assert second.spec.train.lr == 0.1 and second.spec.seed in (0, 1)
    again = FAKE.start(params)
    first, other = again.stages("first", "other")  # one sweep, split by stage
    assert [r.spec for r in first] == _first(params, {}) and other[0].spec == _run(7)
    assert FAKE.listing(params) == _first(params, {})  # pinned stages, known in advance
    assert FAKE.listing(params, pinned_only=False) == [*_first(params, {}), _run(7)]
    assert len(CHECKS) == 1  # checked once for equal parameters
    with pytest.raises(ValueError, match="seeds must be at most 3"):
        FAKE.start({"profile": "smoke", "seeds": 4})
    with pytest.raises(ValueError, match="no stage 'third'; valid: first, second, other"):
        run.stage("third")


def test_what_a_notebook_will_ask_for_is_known_from_the_run_cache(tmp_path, monkeypatch):
    """Before the notebook starts: the listings while the cache is empty; once the first
    stage is cached, the runs the second builds from its records (the ones the notebook will
    ask for), so that a notebook whose every stage is cached is known to train nothing."""
    from tlkit.store import Store
    from tlkit.sweep import plan

    monkeypatch.setenv("TLKIT_RESULTS", str(tmp_path))
    params, store = {"profile": "smoke", "seeds": 2}, Store(tmp_path)
    assert FAKE.known(params, store) == [*_first(params, {}), _run(7)]  # no listing: second
    run = FAKE.start(params)
    run.stage("first")
    known = FAKE.known(params, store)
    (second,) = run.stage("second")
    assert known == [*_first(params, {}), second.spec, _run(7)] and plan(known, store)
    run.stage("other")
    assert FAKE.known(params, store) == known and not plan(known, store)


def test_a_notebook_run_lists_what_its_listing_pinned():
    params = {"profile": "smoke"}
    declared = experiments.experiment("02_small_targets")
    run = declared.start(params)
    assert run.specs("runs") + run.specs("large recipe") + run.specs(
        "layer transfer") == declared.listing(params)
