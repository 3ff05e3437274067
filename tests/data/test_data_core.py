"""TensorData, format conversion, subsets, class splits, the registry and the load cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tlkit.data as td
from tlkit.data import (
    SEMANTIC_SPLITS,
    TensorData,
    UnknownDatasetError,
    check,
    info,
    load,
    loading,
    names,
    random_halves,
    select_classes,
    semantic_split,
    subsample_per_class,
    to_format,
)
from tlkit.data import glyphs as glyphs_module
from tlkit.data import real as real_module
from tlkit.data import shapes as shapes_module
from tlkit.data.splits import CIFAR100_SUPERCLASSES

EXPECTED_NAMES = [
    "glyphs", "digits", "shapes", "mnist", "fashion-mnist", "kmnist", "emnist-letters",
    "cifar10", "cifar100", "svhn", "folder",
]  # fmt: skip


def toy(counts: list[int], classes: tuple[str, ...] | None = None, name: str = "toy/train"):
    """A dataset whose image i is filled with the value i, so examples can be traced."""
    labels = torch.cat([torch.full((c,), k, dtype=torch.int64) for k, c in enumerate(counts)])
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))]
    n = len(labels)
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2) / n
    classes = classes or tuple(f"c{k}" for k in range(len(counts)))
    return TensorData(images.contiguous(), labels, classes, name)


# --- TensorData -------------------------------------------------------------------------


def test_tensordata_basics():
    data = toy([3, 5, 2])
    assert len(data) == 10
    assert data.num_classes == 3
    assert data.class_counts() == [3, 5, 2]
    assert data.shape == (1, 2, 2)
    sub = data.subset(torch.tensor([0, 2]))
    assert len(sub) == 2 and sub.classes == data.classes
    assert torch.equal(sub.images[1], data.images[2])
    mask = data.labels == 1
    assert data.subset(mask).class_counts() == [0, 5, 0]


@pytest.mark.parametrize(
    ("images", "labels", "classes", "error"),
    [
        (torch.zeros(2, 1, 4, 4, dtype=torch.float64), torch.zeros(2, dtype=torch.int64), ("a",),
         TypeError),
        (torch.zeros(2, 4, 4), torch.zeros(2, dtype=torch.int64), ("a",), ValueError),
        (torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.int32), ("a",), TypeError),
        (torch.zeros(2, 1, 4, 4), torch.zeros(3, dtype=torch.int64), ("a",), ValueError),
        (torch.zeros(2, 1, 4, 4), torch.tensor([0, 2]), ("a", "b"), ValueError),
        (torch.zeros(2, 1, 4, 4), torch.tensor([0, 1]), ("a", "a"), ValueError),
    ],
)  # fmt: skip
def test_tensordata_validates(images, labels, classes, error):
    with pytest.raises(error):
        TensorData(images, labels, classes, "bad")


# --- to_format --------------------------------------------------------------------------


def test_to_format_size_and_channels():
    data = TensorData(torch.rand(5, 1, 28, 28), torch.zeros(5, dtype=torch.int64), ("a",), "x")
    out = to_format(data, 32, 3)
    assert out.images.shape == (5, 3, 32, 32) and out.images.dtype == torch.float32
    assert torch.equal(out.images[:, 0], out.images[:, 1])
    assert torch.equal(out.images[:, 0], out.images[:, 2])
    assert 0.0 <= out.images.min() and out.images.max() <= 1.0
    assert torch.equal(out.labels, data.labels) and out.classes == data.classes
    small = to_format(data, 8)
    assert small.images.shape == (5, 1, 8, 8)
    # antialiased shrinking keeps the mean brightness
    assert torch.allclose(small.images.mean((1, 2, 3)), data.images.mean((1, 2, 3)), atol=0.02)
    assert to_format(data) is data
    assert to_format(data, 28, 1) is data


def test_to_format_luminance():
    rgb = torch.zeros(3, 3, 4, 4)
    for c in range(3):
        rgb[c, c] = 1.0
    data = TensorData(rgb, torch.zeros(3, dtype=torch.int64), ("a",), "x")
    grey = to_format(data, channels=1).images
    assert grey.shape == (3, 1, 4, 4)
    assert torch.allclose(grey[:, 0, 0, 0], torch.tensor([0.299, 0.587, 0.114]))


def test_to_format_rejects_bad_arguments():
    data = toy([2])
    with pytest.raises(ValueError, match="channels"):
        to_format(data, channels=2)
    with pytest.raises(ValueError, match="size"):
        to_format(data, size=0)


# --- subsets ----------------------------------------------------------------------------


def test_subsample_per_class_exact_seeded_nested():
    data = toy([30, 12, 20])
    sub = subsample_per_class(data, 10, seed=3)
    assert sub.class_counts() == [10, 10, 10]
    assert sub.classes == data.classes
    again = subsample_per_class(data, 10, seed=3)
    assert torch.equal(sub.images, again.images) and torch.equal(sub.labels, again.labels)
    other = subsample_per_class(data, 10, seed=4)
    assert not torch.equal(sub.images, other.images)
    # each example is in the original data with its own label, none twice
    ids = (sub.images[:, 0, 0, 0] * len(data)).round().long()
    assert len(set(ids.tolist())) == len(ids)
    assert torch.equal(data.labels[ids], sub.labels)
    assert torch.equal(ids, ids.sort().values)  # original order kept
    # nested: the 5-per-class subset lies inside the 10-per-class one
    small = subsample_per_class(data, 5, seed=3)
    small_ids = set((small.images[:, 0, 0, 0] * len(data)).round().long().tolist())
    assert small_ids <= set(ids.tolist())
    assert subsample_per_class(data, None, seed=0) is data


def test_subsample_per_class_too_many():
    data = toy([30, 12, 20], classes=("cat", "dog", "emu"), name="pets/test")
    with pytest.raises(ValueError) as err:
        subsample_per_class(data, 15, seed=0)
    message = str(err.value)
    assert "15" in message and "'dog'" in message and "12" in message and "test" in message
    with pytest.raises(ValueError):
        subsample_per_class(data, 0, seed=0)


def test_select_classes_relabels_in_given_order():
    data = toy([3, 4, 5], classes=("a", "b", "c"))
    sub = select_classes(data, ["c", "a"])
    assert sub.classes == ("c", "a")
    assert sub.class_counts() == [5, 3]
    keep = (data.labels == 2) | (data.labels == 0)
    assert torch.equal(sub.images, data.images[keep])
    expected = torch.where(data.labels[keep] == 2, 0, 1)
    assert torch.equal(sub.labels, expected)
    with pytest.raises(ValueError, match="'z'"):
        select_classes(data, ["a", "z"])
    with pytest.raises(ValueError):
        select_classes(data, ["a", "a"])


# --- class splits -----------------------------------------------------------------------


def test_random_halves():
    classes = tuple(glyphs_module.DEFAULT_CHARSET)
    a, b = random_halves(classes, seed=0)
    assert len(a) == 18 and len(b) == 18
    assert not set(a) & set(b) and set(a) | set(b) == set(classes)
    assert random_halves(classes, seed=0) == (a, b)
    assert random_halves(classes, seed=1) != (a, b)
    a7, b7 = random_halves(list("abcdefg"), seed=5)
    assert len(a7) == 3 and len(b7) == 4
    assert list(a7) == sorted(a7) and list(b7) == sorted(b7)  # input order kept
    with pytest.raises(ValueError):
        random_halves(["a"], seed=0)


@pytest.mark.parametrize(
    ("dataset", "split"),
    [(d, s) for d, splits in SEMANTIC_SPLITS.items() for s in splits],
)
def test_semantic_splits_are_disjoint_and_valid(dataset, split):
    a, b = semantic_split(dataset, split)
    classes = info(dataset).classes
    assert a and b
    assert not set(a) & set(b)
    assert set(a) <= set(classes) and set(b) <= set(classes)
    assert len(set(a)) == len(a) and len(set(b)) == len(b)


def test_required_semantic_splits():
    digits, letters = semantic_split("glyphs", "digits_vs_letters")
    assert "".join(digits) == "0123456789" and len(letters) == 26
    vehicles, animals = semantic_split("cifar10", "vehicles_vs_animals")
    assert set(vehicles) == {"airplane", "automobile", "ship", "truck"} and len(animals) == 6
    natural, manmade = semantic_split("cifar100", "natural_vs_manmade")
    assert len(natural) == 70 and len(manmade) == 30
    assert set(natural) | set(manmade) == set(info("cifar100").classes)
    assert {"bicycle", "bridge", "lamp", "table", "cup"} <= set(manmade)
    assert {"oak_tree", "shark", "baby", "cloud", "bee"} <= set(natural)
    clothing, accessories = semantic_split("fashion-mnist", "clothing_vs_accessories")
    assert set(accessories) == {"Sandal", "Sneaker", "Bag", "Ankle boot"}
    assert len(clothing) == 6
    with pytest.raises(ValueError, match="natural_vs_manmade"):
        semantic_split("cifar100", "nope")
    with pytest.raises(ValueError, match="cifar10"):
        semantic_split("nope", "x")


def test_cifar100_constants():
    classes = info("cifar100").classes
    assert len(classes) == 100 and list(classes) == sorted(classes)
    members = [c for group in CIFAR100_SUPERCLASSES.values() for c in group]
    assert len(CIFAR100_SUPERCLASSES) == 20
    assert sorted(members) == sorted(classes)


# --- registry ---------------------------------------------------------------------------


def test_names_and_info():
    assert names() == EXPECTED_NAMES
    about = info("glyphs")
    assert about.kind == "embedded" and about.num_classes == 36
    assert about.train_size == 36 * 200 and about.test_size == 36 * 100
    assert about.min_train_per_class == 200
    assert about.options["shift"] == 0.0 and about.options["fonts"] == ("sans",)
    assert info("glyphs", charset="AB", n_train=7).train_size == 14
    assert info("glyphs", n_train=7).defaults["n_train"] == 200
    mnist = info("mnist")
    assert mnist.kind == "torchvision" and mnist.train_size == 60000 and mnist.test_size == 10000
    assert mnist.min_train_per_class == 5421
    assert info("svhn").train_size == 73257 and info("svhn").test_size == 26032
    assert info("emnist-letters").num_classes == 26
    assert info("digits").train_size + info("digits").test_size == 1797
    for name in names():
        assert info(name).description


def test_unknown_dataset_and_option():
    with pytest.raises(UnknownDatasetError) as err:
        load("minst")
    assert isinstance(err.value, ValueError)
    assert "mnist" in str(err.value) and "glyphs" in str(err.value)
    with pytest.raises(ValueError) as err:
        load("glyphs", shfit=0.5)
    assert "shfit" in str(err.value) and "shift" in str(err.value)
    with pytest.raises(ValueError, match="shift"):
        info("glyphs", shift=1.5)
    with pytest.raises(ValueError, match="split"):
        load("digits", "validation")


def test_check_errors_without_building(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("check must not render or load")

    monkeypatch.setattr(glyphs_module, "_render_font", forbidden)
    monkeypatch.setattr(glyphs_module, "generate", forbidden)
    monkeypatch.setattr(real_module, "read", forbidden)
    monkeypatch.setattr(real_module, "ensure", forbidden)
    check("glyphs", classes=["A", "7"], n_per_class=200)
    check("glyphs", n_per_class=50, split="test", fonts=("serif", "cm"), shift=0.5)
    check("mnist", n_per_class=5421, classes=["5"])
    with pytest.raises(ValueError) as err:
        check("glyphs", n_per_class=500)
    assert str(err.value) == (
        "asked for 500 examples per class but class '0' of glyphs has only 200 in the train split"
    )
    with pytest.raises(ValueError, match="'5' of mnist has only 5421 in the train split"):
        check("mnist", n_per_class=6000)
    with pytest.raises(ValueError, match="has only 892 in the test split"):
        check("mnist", split="test", n_per_class=900)
    with pytest.raises(ValueError, match="'a'"):
        check("glyphs", classes=["A", "a"])
    with pytest.raises(UnknownDatasetError):
        check("glyph")
    with pytest.raises(ValueError, match="n_train"):
        check("glyphs", n_train=0)
    with pytest.raises(ValueError, match="fonts"):
        check("glyphs", fonts=("comic",))
    with pytest.raises(ValueError, match="cannot draw"):
        check("glyphs", charset="AB\u6f22")
    with pytest.raises(ValueError, match="channels"):
        check("digits", channels=2)
    with pytest.raises(ValueError, match="colour"):
        check("cifar10", colour=True)


def test_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("TLKIT_DATA", str(tmp_path))
    assert td.data_root() == tmp_path
    monkeypatch.delenv("TLKIT_DATA")
    assert td.data_root() == Path.home() / ".cache" / "tlkit" / "data"


def test_availability_and_table(tmp_path):
    assert td.availability("glyphs") == "embedded"
    assert td.availability("mnist", root=tmp_path) == "needs download"
    table = td.datasets_table(root=tmp_path)
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(names())
    for name in names():
        assert any(line.startswith(name + " ") for line in lines)
    assert "needs download" in table and "embedded" in table and "60000" in table
    with pytest.raises(UnknownDatasetError):
        td.availability("nope")


# --- load and its cache -----------------------------------------------------------------


def test_load_is_cached_and_returns_copies(monkeypatch):
    td.clear_cache()
    calls = []
    original = shapes_module.generate

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(shapes_module, "generate", counting)
    first = load("shapes", "test", n_test=3, seed=2)
    first.images.zero_()  # callers may modify what they get
    second = load("shapes", "test", n_test=3, seed=2)
    assert len(calls) == 1
    assert second.images.abs().sum() > 0
    third = load("shapes", "test", n_test=3, seed=2, size=16, channels=3)
    assert len(calls) == 2 and third.images.shape == (30, 3, 16, 16)
    td.clear_cache()
    load("shapes", "test", n_test=3, seed=2)
    assert len(calls) == 3


def test_load_evicts_least_recently_used(monkeypatch):
    td.clear_cache()
    monkeypatch.setattr(loading, "CACHE_MAX_ITEMS", 2)
    for seed in range(3):
        load("shapes", "test", n_test=1, seed=seed)
    assert len(loading._cache) == 2
    td.clear_cache()


def test_options_accept_numpy_scalars_and_load_arguments():
    import numpy as np

    about = info("glyphs", n_train=np.int64(3), shift=np.float32(0.5), seed=np.int64(2))
    assert about.train_size == 108 and about.options["seed"] == 2
    assert type(about.options["seed"]) is int
    check("mnist", split="test", size=32, channels=3, root="/nonexistent", download=False)
    with pytest.raises(ValueError, match="seed"):
        info("shapes", seed=-1)
    with pytest.raises(ValueError, match="verify"):
        info("mnist", verify="yes")
