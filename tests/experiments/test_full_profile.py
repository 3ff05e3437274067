"""The full profile's real-data paths, executed on small files in each dataset's own format
(:mod:`tests.real_fixtures`): every reader, the checks before training, and every notebook run
in the full profile, shrunk by its ``overrides`` parameter, through to its last cell."""

import pytest
import torch

from tests.data.real_fixtures import write_real_datasets
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


def _recipes(roles, **recipe):
    return {role: dict(recipe) for role in roles}


QS_ROLES = ("source", "scratch", "frozen features", "frozen features, target BN", "fine-tuned")
#: The quickstart's full profile (EMNIST letters -> MNIST, cnn8), shrunk: one image per class,
#: two seeds, a tiny network, one epoch per run.
QUICKSTART = {
    "seeds": 2, "sizes": [1], "width": 4, "size": 16, "validation": 1,
    "recipes": _recipes(QS_ROLES, epochs=1, batch_size=32, lr=0.02, warmup_epochs=0),
    "recipe_search": {"seeds": 2, "size": 1,
                      "grid": {role: {"lr": [0.02], "epochs": [1]} for role in QS_ROLES}},
}
#: The layer-transfer chapter's full profile (CIFAR-10, CIFAR-100 and MNIST splits; axes to
#: KMNIST, Fashion-MNIST and SVHN), shrunk: two images per class, depths 1 and 7, two seeds.
LAYERS = {
    "width": 8, "size": 16, "validation": 1, "target_per_class": 2, "axis_per_class": 2,
    "distance_samples": 100,
    "recipes": _recipes(("scratch", "transfer"), epochs=4, batch_size=16, lr=0.03,
                        warmup_epochs=0),
    "recipe_search": {"seeds": 2, "transfer_depths": [1, 7],
                      "grid": {"scratch": {"lr": [0.05], "epochs": [2], "warmup_epochs": [0]},
                               "transfer": {"lr": [0.02], "epochs": [2],
                                            "warmup_epochs": [0]}}},
}
LAYER_RUNS = {**LAYERS, "seeds": 2, "axis_seeds": 2, "depths": [1, 7], "middle": [3],
              "axis_depths": [1, 7]}
ST_ROLES = [f"{m}_{size}" for m in ("scratch", "linear probe", "fine-tune", "L2-SP", "DELTA", "BSS")
            for size in ("small", "large")]
#: The small-targets chapter's full profile (CIFAR-100, KMNIST and Fashion-MNIST targets from
#: the layer-transfer chapter's sources and ResNet-18), shrunk: sizes 1 and all, two seeds,
#: DELTA and BSS at size 1.
SMALL = {
    "sizes": [1, None], "seed_schedule": [[1, 2], [None, 2]], "steps": 4, "min_epochs": 1,
    "batch_size": 16, "validation": 1, "bn_sizes": [1], "regularised_sizes": [1],
    "layer_transfer": LAYERS,
    "recipe_search": {"seeds": 2, "sizes": {"small": 1, "large": 2},
                      "grid": {role: {"lr": [0.02], **({"alpha": [0.001]} if role.split("_")[0]
                                                        in ("DELTA", "BSS") else {})}
                               for role in ST_ROLES}},
}
PT_METHODS = ("scratch (cnn8)", "scratch (EfficientNet)", "linear probe", "fine-tune top",
              "fine-tune", "L2-SP", "linear probe, target BN", "fine-tune top, target BN",
              "fine-tune (glyph source)")
#: The pretrained chapter's full profile (EfficientNet-Lite0's shipped ImageNet weights and three
#: glyph-trained sources on MNIST, KMNIST and Fashion-MNIST targets), shrunk.
PRETRAINED = {
    "sizes": [1], "seeds": 2, "steps": 4, "min_epochs": 1, "batch_size": 16, "validation": 1,
    "imagenet_size": 32, "distance_samples": 100, "layer_transfer": LAYERS,
    "plateau": {"seeds": 1, "validation": 1},
    "search": {"size": 1, "seeds": 2, "grid": {m: [0.02] for m in PT_METHODS}},
}
GRID = {"lr_ratio": [1.0, 0.1], "momentum": [0.9],
        "regularization": ["L2", "L2-SP lower + L2 upper"]}
#: The hyperparameter chapter's full profile, shrunk: two values of depth and learning-rate
#: ratio, one momentum, two regularisers.
HYPER = {"seeds": 2, "small": 1, "pretrained": PRETRAINED,
         "grid": {"cnn8": {"depth": [7, 3], **GRID},
                  "efficientnet_lite0": {"depth": [9, 5], **GRID}}}
RECIPES = {"00_quickstart": QUICKSTART, "01_layer_transfer": LAYERS, "02_small_targets": SMALL,
           "03_pretrained": PRETRAINED, "04_hyperparameters": HYPER}


@pytest.fixture
def imagenet_file(tmp_path, monkeypatch):
    """A checkpoint where torch keeps torchvision's ResNet-18 ImageNet weights: randomly
    initialised weights of the right shapes, standing in for the downloaded file (the code
    path is exercised; no number of it means anything)."""
    import torchvision

    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), folder / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.mark.parametrize("notebook, overrides", [
    ("00_quickstart", QUICKSTART),
    ("01_layer_transfer", LAYER_RUNS),
    ("02_small_targets", SMALL),
    ("03_pretrained", PRETRAINED),
    ("04_hyperparameters", HYPER),
    ("90_recipes", RECIPES),
])
def test_a_notebook_runs_in_the_full_profile_to_its_last_cell(on_fixtures, imagenet_file,
                                                              tmp_path, notebook, overrides,
                                                              monkeypatch, capsys):
    import json

    import nbformat

    from tlkit.cli import main

    monkeypatch.setenv("TLKIT_OFFLINE", "1")
    out = tmp_path / "full.ipynb"
    code = main(["notebook", notebook, "--profile", "full", "-p", "executor", "serial",
                 "-p", "overrides", json.dumps(overrides), "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    executed = nbformat.read(str(out), as_version=4)
    meta = executed.metadata["tlkit"]
    assert meta["profile"] == "full" and meta["sweeps"]["runs_trained"] > 0
    last = [c for c in executed.cells if c.cell_type == "code"][-1]
    assert last.get("execution_count") is not None  # the last cell ran
    assert not any(o.get("output_type") == "error" for c in executed.cells
                   if c.cell_type == "code" for o in c.get("outputs", []))


def test_exported_results_rebuild_a_page_elsewhere_without_training(on_fixtures, tmp_path,
                                                                    monkeypatch, capsys):
    """The quickstart in the full profile, exported, imported into another results folder and
    executed again there: every run comes from the archive."""
    import json

    import nbformat

    from tlkit.cli import main

    monkeypatch.setenv("TLKIT_OFFLINE", "1")

    def run(results, out):
        monkeypatch.setenv("TLKIT_RESULTS", str(results))
        assert main(["notebook", "00_quickstart", "--profile", "full", "-p", "executor",
                     "serial", "-p", "overrides", json.dumps(QUICKSTART), "--output",
                     str(out)]) == 0, capsys.readouterr().err
        return nbformat.read(str(out), as_version=4).metadata["tlkit"]["sweeps"]

    first = run(tmp_path / "maintainer", tmp_path / "first.ipynb")
    # per seed (2): a source and 4 conditions; and the checks on the searches' seeds, with the
    # source networks of those seeds
    from tlkit.experiments import experiment, quickstart

    merged = experiment("00_quickstart").check({"profile": "full", "overrides": QUICKSTART})
    checks = quickstart.check_specs(merged)
    specs = [*checks, *quickstart.specs(merged)]
    sources = {s.transfer.source.key() for s in specs if s.transfer.source is not None}
    runs = len({s.key() for s in specs} | sources)
    searched = {s.transfer.source.key() for s in checks if s.transfer.source is not None}
    own = searched - {s.key() for s in checks}  # trained for the checks alone
    assert first["runs_trained"] == runs and runs == 2 * 5 + len(checks) + len(own)
    archive = str(tmp_path / "results.tar.gz")
    assert main(["results", "export", archive, "--results", str(tmp_path / "maintainer")]) == 0
    assert main(["results", "import", archive, "--results", str(tmp_path / "reader")]) == 0
    again = run(tmp_path / "reader", tmp_path / "again.ipynb")
    assert (again["runs_trained"], again["runs_cached"]) == (0, runs)


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
