"""Everything checkable is checked before training: results folder, datasets, weights, all at
once, in one message; from the API, from ``tlkit notebook`` and from ``tlkit book``."""

import gzip

import pytest
import torch

from tests.core.test_sweep import TINY_MODEL, TINY_TRAIN, tiny
from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, sweep
from tlkit.preflight import PreflightError, check, problems
from tlkit.store import Store


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No datasets, no cached weights, downloads off."""
    monkeypatch.setenv("TLKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("TLKIT_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download under TLKIT_OFFLINE")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path / "data"


def _mnist(n=5):
    return RunSpec(DataSpec("mnist", n_per_class=n), TINY_MODEL, TINY_TRAIN)


def _resnet():
    return RunSpec(DataSpec("digits", n_per_class=5),
                   ModelSpec(arch="resnet18", size=32, channels=3, weights="IMAGENET1K_V1"),
                   TrainConfig(epochs=1, batch_size=32))


def test_every_problem_of_a_sweep_is_listed_in_one_message(tmp_path, nowhere, count_fits):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cifar = RunSpec(DataSpec("cifar10", n_per_class=5), ModelSpec(width=2, size=16, channels=3),
                    TINY_TRAIN)
    with pytest.raises(PreflightError) as err:
        sweep.run([tiny(0), _mnist(), cifar, _resnet()], store=Store(blocker / "results"))
    found = err.value.problems
    assert len(found) == 4, found
    text = str(err.value)
    for needle in ("a-file", "'mnist'", "'cifar10'", "IMAGENET1K_V1", "TLKIT_OFFLINE",
                   "To get a dataset"):
        assert needle in text
    assert count_fits == []  # the digits run did not train either


def test_a_corrupt_dataset_file_stops_the_sweep_before_other_runs_train(nowhere, count_fits):
    raw = nowhere / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{stem}.gz").write_bytes(gzip.compress(b"not the published file"))
    with pytest.raises(PreflightError) as err:
        sweep.run([tiny(s) for s in range(3)] + [_mnist()])
    assert len(err.value.problems) == 2  # the train and the test split, each named
    assert "train-images-idx3-ubyte.gz" in str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)
    assert "md5" in str(err.value)
    assert count_fits == []


def test_a_dataset_that_is_not_verified_is_not_hashed(nowhere, monkeypatch):
    import tlkit.data.real_formats as formats

    raw = nowhere / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{stem}.gz").write_bytes(b"x")
    monkeypatch.setattr(formats, "verify_md5", lambda *a: pytest.fail("hashed"))
    spec = RunSpec(DataSpec("mnist", {"verify": False}, n_per_class=5), TINY_MODEL, TINY_TRAIN)
    assert problems([spec]) == []


def test_torchvision_weights_respect_offline(nowhere):
    from tlkit.models import WeightsUnavailableError, prepare_weights

    with pytest.raises(WeightsUnavailableError, match="downloads are off"):
        prepare_weights("resnet18", "IMAGENET1K_V1")
    prepare_weights("efficientnet_lite0", "imagenet")  # shipped with its package
    prepare_weights("cnn8", None)
    with pytest.raises(ValueError, match="cnn8 has no pretrained weights"):
        prepare_weights("cnn8", "imagenet")


def test_a_sweep_with_nothing_to_train_checks_nothing(nowhere, monkeypatch):
    """A cached sweep (a reader's imported results) needs no data, weights or write access."""
    import tlkit.preflight

    specs = [tiny(s) for s in range(2)]
    sweep.run(specs)
    check(specs)  # embedded data, no weights: nothing to report
    monkeypatch.setattr(tlkit.preflight, "problems", lambda *a: pytest.fail("checked"))
    assert len(sweep.run(specs)) == 2


def test_tlkit_notebook_lists_every_missing_dataset_before_a_kernel_starts(
        tmp_path, nowhere, capsys):
    from tlkit.cli import main

    out = tmp_path / "out.ipynb"
    code = main(["notebook", "00_quickstart", "--profile", "full", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tlkit: error: 2 problems, found before any training")
    assert "'emnist-letters'" in err and "'mnist'" in err and "To get a dataset" in err
    assert not out.exists()


def test_tlkit_book_checks_every_notebook_at_once(tmp_path, nowhere, capsys):
    from tlkit.cli import main

    code = main(["book", "--profile", "full", "--build-dir", str(tmp_path / "build")])
    err = capsys.readouterr().err
    assert code == 2
    for name in ("mnist", "emnist-letters", "cifar10", "cifar100", "kmnist", "fashion-mnist",
                 "svhn"):
        assert f"'{name}'" in err
    assert "ResNet-18 weights" in err
    assert not (tmp_path / "build" / "src").exists()
