"""Every bad parameter is one line before any kernel starts: from ``tlkit notebook`` (``tlkit:
error: ...``, status 2) and from the API (a ``ValueError`` with the same message), naming the
setting, the value and what is accepted."""

from __future__ import annotations

import gzip
import re
import tracemalloc

import papermill
import pytest
import torch

from tlkit.cli import main
from tlkit.experiments import experiment, quickstart


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> list:
    """Refuse (and record) every attempt to execute a notebook."""
    calls: list = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a kernel must not start")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    return calls


def refused(capsys: pytest.CaptureFixture[str], *arguments: str,
            notebook: str = "00_quickstart") -> str:
    """The one line ``tlkit notebook NOTEBOOK --profile smoke ARGUMENTS`` answers with."""
    code = main(["notebook", notebook, "--profile", "smoke", *arguments])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("tlkit: error: ") and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.mark.parametrize(("overrides", "says"), [
    ("{recipes: {scratch: {epochs: 1.5}}}", "recipes.scratch.epochs must be a whole number >= 1, "
                                            "got 1.5"),
    ("{width: 1.5}", "width must be a whole number >= 1, got 1.5"),
    ("{validation: -1}", "validation must be"),
    ("{recipes: {scratch: {lr: 0}}}", "recipes.scratch.lr must be a number > 0, got 0"),
    ("{recipes: {scratch: {momentum: 2}}}", "0 <= momentum < 1"),
    ("{source: 3}", "source must be text, got 3"),
    ("{recipe_search: {grid: {scratch: {epochs: [1.5]}}}}",
     "recipe_search.grid.scratch.epochs must list whole numbers >= 1, got 1.5"),
    ("{sizes: [5, 0]}", "sizes must list whole numbers >= 1, got 0"),
    ("{recipe_search: {seeds: 5000}}", "recipe_search.seeds must be at most 1000 seeds"),
])
def test_a_bad_override_value_is_one_line_naming_it(capsys, no_kernel, overrides, says):
    assert says in refused(capsys, "-p", "overrides", overrides)
    assert no_kernel == []
    import yaml

    with pytest.raises(ValueError, match=re.escape(says)):
        quickstart.specs({"profile": "smoke", "overrides": yaml.safe_load(overrides)})


def test_an_unknown_key_at_any_depth_names_the_closest_and_every_accepted_one(capsys, no_kernel):
    err = refused(capsys, "-p", "overrides", "{recipes: {bogus: {epochs: 1}}}")
    assert "'bogus' is not a key of recipes; accepted: " in err and "fine-tuned" in err
    err = refused(capsys, "-p", "overrides", "{recipes: {scratch: {epochz: 1}}}")
    assert "'epochz' is not a key of recipes.scratch (did you mean 'epochs'?)" in err
    err = refused(capsys, "-p", "overrides", "{recipe_search: {sedes: 2}}")
    assert "did you mean 'seeds'?" in err
    err = refused(capsys, "-p", "overrides", "{00_quickstart: {recipes: {scratch: {epochz: 1}}}}",
                  notebook="90_recipes")
    assert err.startswith("tlkit: error: 00_quickstart: 'epochz' is not a key")
    assert no_kernel == []


def test_a_partial_override_is_merged_into_the_profile(monkeypatch, capsys):
    params = {"profile": "smoke", "overrides": {"recipes": {"scratch": {"lr": 0.5}}}}
    specs = experiment("00_quickstart").listing(params)
    book = experiment("00_quickstart").listing({"profile": "smoke"})
    assert len(specs) == len(book)
    for spec, before in zip(specs, book, strict=True):
        if spec.tag_dict.get("condition") == "scratch":
            assert spec.train.lr == 0.5 and spec.train.epochs == before.train.epochs
        else:
            assert spec.key() == before.key()
    executed: list = []
    monkeypatch.setattr("tlkit.notebooks.execute", lambda *a, **k: executed.append(a) or 0.0)
    assert main(["notebook", "00_quickstart", "--profile", "smoke", "-p", "overrides",
                 "{recipes: {scratch: {lr: 0.5}}}", "-p", "executor", "serial"]) == 0
    assert len(executed) == 1, capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_where_there_is_none_is_one_line(capsys, no_kernel):
    for device in ("cuda", "cuda:1"):
        err = refused(capsys, "-p", "device", device)
        assert f"device {device!r} asks for CUDA, which is not available" in err
        assert "use device auto" in err
    with pytest.raises(ValueError, match="not available on this machine"):
        experiment("00_quickstart").start({"profile": "smoke"}, device="cuda")
    assert no_kernel == []


def test_an_image_size_the_model_cannot_take_is_refused_before_a_kernel_starts(capsys,
                                                                               no_kernel):
    from tlkit.prechecks import check_specs

    err = refused(capsys, "-p", "overrides", "{size: 4}")
    assert "model cnn8 (width 4) cannot take images of size 4" in err and "input_size >= 8" in err
    with pytest.raises(ValueError, match="cannot take images of size 4"):
        check_specs(quickstart.specs({"profile": "smoke", "size": 4}))
    assert no_kernel == []


@pytest.mark.parametrize("threads", ["0", "abc", "-2"])
def test_a_bad_thread_count_is_one_line_before_a_kernel_starts_or_a_sweep_trains(
        capsys, no_kernel, monkeypatch, count_fits, threads):
    from tests.core.test_sweep import tiny
    from tlkit import sweep

    monkeypatch.setenv("TLKIT_THREADS", threads)
    err = refused(capsys)
    assert f"TLKIT_THREADS must be a positive integer, got {threads!r}" in err
    with pytest.raises(ValueError, match="TLKIT_THREADS"):
        sweep.run([tiny(0), tiny(1)], executor="serial")
    assert no_kernel == [] and count_fits == []


def test_a_huge_plan_is_refused_by_its_count_before_it_is_built(capsys, no_kernel,
                                                                 monkeypatch):
    from tlkit.experiments.plan_size import MAX_RUNS, PlanTooLargeError, plan_size

    tracemalloc.start()
    try:
        with pytest.raises(PlanTooLargeError, match=r"would plan 51,000 runs \(seeds=1000\), "
                                                    r"more than the limit of 20,000"):
            experiment("01_layer_transfer").listing({"profile": "smoke", "seeds": 1000})
        with pytest.raises(ValueError, match="seeds must be at most 1000"):
            quickstart.specs({"profile": "smoke", "seeds": 10**9})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6  # two plans of the profile's size, not the plan
    assert MAX_RUNS == 20_000
    err = refused(capsys, "-p", "seeds", "1000", notebook="01_layer_transfer")
    assert "TLKIT_MAX_RUNS=51000" in err
    monkeypatch.setenv("TLKIT_MAX_RUNS", "100")
    with pytest.raises(PlanTooLargeError, match="4,022 runs"):
        experiment("00_quickstart").check({"profile": "smoke", "seeds": 1000})
    monkeypatch.setenv("TLKIT_MAX_RUNS", "4022")
    merged = experiment("00_quickstart").check({"profile": "smoke", "seeds": 1000})
    assert plan_size("00_quickstart", merged) == (4022, True)  # confirmed: it plans
    assert len(experiment("00_quickstart").listing(merged, pinned_only=False)) == 4022
    monkeypatch.setenv("TLKIT_MAX_RUNS", "abc")
    assert "TLKIT_MAX_RUNS must be a whole number of runs >= 1" in refused(capsys)
    assert no_kernel == []


def test_the_api_refuses_a_wrong_type_or_an_unknown_key_naming_the_closest():
    with pytest.raises(ValueError, match="seeds must be a positive integer .*got True"):
        quickstart.specs({"profile": "smoke", "seeds": True})
    with pytest.raises(ValueError, match=r"'sedes' is not a setting of 00_quickstart \(did you "
                                         r"mean 'seeds'\?\); accepted: seeds, sizes"):
        quickstart.specs({"profile": "smoke", "sedes": 2})
    with pytest.raises(ValueError, match="did you mean validation"):
        experiment("00_quickstart").listing({"profile": "smoke", "overrides": {"validaton": 1}})


def test_every_bad_file_of_a_split_is_listed(tmp_path, monkeypatch):
    from tlkit.data import DatasetIntegrityError
    from tlkit.data.integrity import verify_files
    from tlkit.preflight import problems
    from tlkit.spec import DataSpec, RunSpec

    monkeypatch.setenv("TLKIT_DATA", str(tmp_path / "data"))
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (raw / f"{stem}.gz").write_bytes(gzip.compress(b"not the published file"))
    found = problems([RunSpec(DataSpec("mnist", n_per_class=1))])
    train = next(p for p in found if "(train split)" in p)
    assert "train-images-idx3-ubyte.gz has md5" in train
    assert "train-labels-idx1-ubyte.gz has md5" in train
    test = next(p for p in found if "(test split" in p)
    assert "t10k-images-idx3-ubyte.gz" in test and "t10k-labels-idx1-ubyte.gz" in test
    (tmp_path / "wrong").write_bytes(b"x")
    with pytest.raises(DatasetIntegrityError) as err:
        verify_files(tmp_path, [("wrong", "0" * 32), ("gone", "1" * 32)], "cifar10", "test")
    assert "wrong has md5" in str(err.value) and "gone is missing" in str(err.value)


@pytest.mark.parametrize("sizes", [[5] * 100_000, list(range(-3, 100_000)), "x" * 10_000])
def test_a_huge_bad_value_is_shown_short(sizes):
    from tlkit.experiments import quickstart

    with pytest.raises(ValueError, match="sizes") as caught:
        quickstart.specs({"profile": "smoke", "sizes": sizes})
    assert len(str(caught.value)) < 200 and "\n" not in str(caught.value)
