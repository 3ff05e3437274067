"""The full profile's real-data paths, executed on small files in each dataset's own format
(:mod:`tests.real_fixtures`): every reader, the checks before training, and the quickstart and
layer-transfer notebooks run in the full profile, shrunk by their ``overrides`` parameter,
through to their last cell."""

import pytest
import torch

from tests.real_fixtures import write_real_datasets
from tlkit import data

REAL = ("mnist", "fashion-mnist", "kmnist", "emnist-letters", "cifar10", "cifar100", "svhn")
CHANNELS = {"cifar10": 3, "cifar100": 3, "svhn": 3}
PER_CLASS = 3


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return write_real_datasets(tmp_path_factory.mktemp("real-data"), per_class=PER_CLASS)


@pytest.fixture
def on_fixtures(fixture_root, monkeypatch):
    monkeypatch.setenv("TLKIT_DATA", str(fixture_root))
    monkeypatch.setenv("TLKIT_VERIFY", "0")
    data.clear_cache()
    yield fixture_root
    data.clear_cache()


@pytest.mark.parametrize("name", REAL)
def test_every_reader_reads_its_format(on_fixtures, name):
    about = data.info(name)
    for split in ("train", "test"):
        loaded = data.load(name, split, download=False)
        counts = torch.bincount(loaded.labels, minlength=len(about.classes))
        assert counts.tolist() == [PER_CLASS] * len(about.classes)
        assert loaded.images.shape[1] == CHANNELS.get(name, 1)
        assert 0.05 < float(loaded.images.mean()) < 0.6  # pictures, not blanks or noise


def test_emnist_comes_back_upright_and_svhn_zero_is_zero(on_fixtures):
    emnist = data.load("emnist-letters", "test", download=False)
    mnist = data.load("mnist", "test", download=False)
    assert emnist.classes[int(emnist.labels[0])] == "A"  # stored as 1, read as class 0
    svhn = data.load("svhn", "train", download=False)
    assert svhn.classes[int(svhn.labels[0])] == "0"  # stored as label 10
    assert emnist.images.shape[-2:] == mnist.images.shape[-2:] == (28, 28)


def test_the_checks_before_training_find_every_checksum_mismatch(on_fixtures, monkeypatch):
    from tlkit import DataSpec, RunSpec
    from tlkit.preflight import problems

    monkeypatch.setenv("TLKIT_VERIFY", "1")
    specs = [RunSpec(DataSpec(name, n_per_class=1)) for name in REAL]
    found = problems(specs)
    for name in REAL:
        assert any(f"'{name}'" in p for p in found), name
    monkeypatch.setenv("TLKIT_VERIFY", "0")
    assert problems(specs) == []


#: The quickstart's full profile (EMNIST letters -> MNIST, cnn8), shrunk: one image per class,
#: two seeds, a tiny network, one epoch per run.
SHRUNK = ("{seeds: 2, sizes: [1], width: 4, size: 16, validation: 1, recipes: "
          "{source: {epochs: 1, batch_size: 64, lr: 0.05}, scratch: {epochs: 1, batch_size: 32, "
          "lr: 0.02}, frozen features: {epochs: 1, batch_size: 32, lr: 0.02}, fine-tuned: "
          "{epochs: 1, batch_size: 32, lr: 0.02}}}")


#: The layer-transfer chapter's full profile (CIFAR-10, CIFAR-100 and MNIST splits; axes to
#: KMNIST, Fashion-MNIST and SVHN), shrunk: two images per class, depths 1 and 7, two seeds.
SHRUNK_LT = ("{seeds: 2, axis_seeds: 2, depths: [1, 7], middle: [3], axis_depths: [1, 7], "
             "width: 8, size: 16, target_per_class: 2, axis_per_class: 2, validation: 1, "
             "distance_samples: 100, recipes: {scratch: {epochs: 4, batch_size: 16, lr: 0.05}, "
             "transfer: {epochs: 4, batch_size: 16, lr: 0.02}}}")


@pytest.mark.parametrize("notebook, overrides, trained", [
    ("00_quickstart", SHRUNK, 7),  # the source, and 3 conditions x 2 seeds
    ("01_layer_transfer", SHRUNK_LT, 118),
])
def test_a_notebook_runs_in_the_full_profile_to_its_last_cell(on_fixtures, tmp_path, notebook,
                                                              overrides, trained,
                                                              monkeypatch, capsys):
    import nbformat

    from tlkit.cli import main

    monkeypatch.setenv("TLKIT_OFFLINE", "1")
    out = tmp_path / "full.ipynb"
    code = main(["notebook", notebook, "--profile", "full", "-p", "executor", "serial",
                 "-p", "overrides", overrides, "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    executed = nbformat.read(str(out), as_version=4)
    assert executed.metadata["tlkit"]["profile"] == "full"
    assert executed.metadata["tlkit"]["sweeps"]["runs_trained"] == trained
    last = [c for c in executed.cells if c.cell_type == "code"][-1]
    assert last.get("execution_count") is not None  # the last cell ran
    assert not any(o.get("output_type") == "error" for c in executed.cells
                   if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.parametrize("overrides, message", [
    ("{sizez: [1]}", "overrides names sizez, not a setting of the full profile"),
    ("[1, 2]", "overrides must be a mapping"),
])
def test_bad_overrides_are_rejected_before_a_kernel_starts(overrides, message, capsys):
    from tlkit.cli import main

    code = main(["notebook", "00_quickstart", "--profile", "full", "-p", "overrides", overrides])
    assert code == 2 and message in capsys.readouterr().err


def test_a_setting_given_twice_is_rejected(capsys):
    from tlkit.cli import main

    code = main(["notebook", "00_quickstart", "-p", "seeds", "3", "-p", "overrides",
                 "{seeds: 2}"])
    assert code == 2 and "given both as a parameter and in overrides" in capsys.readouterr().err
