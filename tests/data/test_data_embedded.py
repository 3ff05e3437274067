"""The embedded datasets: glyphs, digits and shapes."""

from __future__ import annotations

import pytest
import torch

from tlkit.data import TensorData, info, load, subsample_per_class
from tlkit.data import digits as digits_module
from tlkit.data import glyphs as glyphs_module
from tlkit.data import shapes as shapes_module
from tlkit.data.registry import source

SMALL = {
    "glyphs": {"n_train": 4, "n_test": 3},
    "shapes": {"n_train": 4, "n_test": 3},
    "digits": {},
}


def class_means(data) -> torch.Tensor:
    return torch.stack([data.images[data.labels == k].mean(0) for k in range(data.num_classes)])


def nearest_mean_accuracy(train, test) -> float:
    means = class_means(train).flatten(1)
    predicted = torch.cdist(test.images.flatten(1), means).argmin(1)
    return (predicted == test.labels).float().mean().item()


@pytest.mark.parametrize("name", ["glyphs", "shapes", "digits"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_shapes_dtypes_ranges(name, split):
    data = load(name, split, **SMALL[name])
    about = info(name, **SMALL[name])
    assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64
    assert data.images.ndim == 4 and data.images.shape[1] == 1
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.images.std() > 0.05
    assert data.classes == about.classes
    assert len(data) == (about.train_size if split == "train" else about.test_size)
    src = source(name)
    expected = src.class_counts(split, src.options(SMALL[name]))
    assert data.class_counts() == list(expected)
    assert min(data.class_counts()) > 0
    assert data.name == f"{name}/{split}"


@pytest.mark.parametrize("name", ["glyphs", "shapes", "digits"])
def test_deterministic_and_seeded(name):
    options = SMALL[name]
    a = getattr_generate(name)("train", **options)
    b = getattr_generate(name)("train", **options)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    c = getattr_generate(name)("train", **options, seed=1)
    assert not torch.equal(a.images, c.images)
    test = getattr_generate(name)("test", **options)
    assert not torch.equal(a.images[: len(test)], test.images[: len(a)])


def getattr_generate(name):
    return {
        "glyphs": glyphs_module.generate,
        "shapes": shapes_module.generate,
        "digits": digits_module.generate,
    }[name]


def test_load_matches_generator_bitwise():
    loaded = load("glyphs", "test", n_test=2, fonts=("serif", "stix"), seed=4)
    direct = glyphs_module.generate("test", n_test=2, fonts=("serif", "stix"), seed=4)
    assert torch.equal(loaded.images, direct.images)


def test_glyph_defaults():
    data = glyphs_module.generate("test", n_test=2)
    assert data.classes == tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert data.images.shape == (72, 1, 32, 32)
    assert data.class_counts() == [2] * 36
    small = glyphs_module.generate("test", n_test=2, resolution=16, charset="xyz")
    assert small.images.shape == (6, 1, 16, 16) and small.classes == ("x", "y", "z")


@pytest.mark.parametrize("family", sorted(glyphs_module.FONT_FAMILIES))
def test_every_font_draws_every_default_character(family):
    paths = glyphs_module.font_files([family])[0]
    masters = glyphs_module.render_masters(paths, glyphs_module.DEFAULT_CHARSET, 48)
    assert masters.shape == (len(paths), 36, 48, 48)
    ink = masters.sum((-1, -2))
    assert (ink > 20).all(), "a character rendered (nearly) empty"
    # glyphs stay inside the canvas: the border is blank
    border = torch.cat([masters[..., 0, :], masters[..., -1, :], masters[..., 0], masters[..., -1]])
    assert border.max() < 0.5
    # distinct characters give distinct masters in every font
    flat = masters.flatten(2)
    for f in range(len(paths)):
        distance = torch.cdist(flat[f], flat[f])
        assert (distance + torch.eye(36) * 1e9).min() > 1.0


def test_font_families_differ():
    sans = glyphs_module.generate("train", n_train=3, fonts=("sans",))
    cm = glyphs_module.generate("train", n_train=3, fonts=("cm",))
    mixed = glyphs_module.generate("train", n_train=3, fonts=("sans", "cm"))
    assert not torch.equal(sans.images, cm.images)
    assert not torch.equal(sans.images, mixed.images) and not torch.equal(cm.images, mixed.images)


def test_glyph_shift_moves_distribution_monotonically():
    """Distance between class means of shift=0 and shift=s grows strictly with s."""
    options = {"n_train": 30}
    base = class_means(glyphs_module.generate("train", **options, shift=0.0))
    shifts = (0.0, 0.25, 0.5, 0.75, 1.0)
    distances = []
    for s in shifts:
        means = class_means(glyphs_module.generate("train", **options, shift=s))
        distances.append((means - base).flatten(1).norm(dim=1).mean().item())
    assert distances[0] == 0.0
    assert all(b > a for a, b in zip(distances, distances[1:], strict=False)), distances
    # the shift at 0.25 already exceeds the sampling noise between two seeds at shift 0
    other_seed = class_means(glyphs_module.generate("train", **options, seed=1))
    noise = (other_seed - base).flatten(1).norm(dim=1).mean().item()
    assert distances[1] > 1.5 * noise, (distances, noise)
    assert distances[-1] > 5 * noise


def test_glyph_shift_keeps_classes_readable():
    """Within the fully shifted domain, a nearest-class-mean classifier is far above chance,
    while the unshifted class means no longer fit it as well."""
    train0 = glyphs_module.generate("train", n_train=40)
    train1 = glyphs_module.generate("train", n_train=40, shift=1.0)
    test1 = glyphs_module.generate("test", n_test=20, shift=1.0)
    within = nearest_mean_accuracy(train1, test1)
    across = nearest_mean_accuracy(train0, test1)
    chance = 1 / 36
    assert within > 10 * chance, within
    assert across < within - 0.15, (across, within)


def test_glyph_shift_changes_effect_not_draws():
    a = glyphs_module.generate("test", n_test=2, shift=0.0)
    b = glyphs_module.generate("test", n_test=2, shift=0.5)
    assert torch.equal(a.labels, b.labels)
    # the same glyph in the same place: images remain strongly correlated
    corr = torch.corrcoef(torch.stack([a.images.flatten(), b.images.flatten()]))[0, 1]
    assert corr > 0.5


def test_glyph_stroke_morphology_is_the_3x3_max_filter():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 1, 7, 9, generator=g)
    x[0] = 0.0
    x[1, 0, 0, 0] = 1.0  # a corner: neighbours outside the image do not count
    pool = torch.nn.functional.max_pool2d
    assert torch.equal(glyphs_module._dilate(x), pool(x, 3, stride=1, padding=1))
    assert torch.equal(glyphs_module._erode(x), -pool(-x, 3, stride=1, padding=1))
    assert glyphs_module._dilate(x)[1, 0, 1, 1] == 1.0 and glyphs_module._erode(x)[1, 0, 0, 0] < 1


def test_glyph_option_errors():
    with pytest.raises(ValueError, match="repeats"):
        glyphs_module.generate("train", charset="AA")
    with pytest.raises(ValueError, match="shift"):
        glyphs_module.generate("train", shift=-0.1)
    with pytest.raises(ValueError, match="visible"):
        glyphs_module.generate("train", charset="A B")


def test_digits_split_is_stratified_and_covers_load_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    assert tuple(torch.bincount(torch.as_tensor(bunch.target)).tolist()) == (
        digits_module.CLASS_COUNTS
    )
    train = digits_module.generate("train")
    test = digits_module.generate("test")
    assert len(train) + len(test) == 1797
    assert train.images.shape[1:] == (1, 8, 8)
    assert train.class_counts() == [
        digits_module.train_count(c) for c in digits_module.CLASS_COUNTS
    ]
    assert info("digits").train_size == len(train) and info("digits").test_size == len(test)
    # the splits are disjoint and together hold every image exactly once
    rows = torch.cat([train.images, test.images]).flatten(1) * 16
    original = torch.as_tensor(bunch.images, dtype=torch.float32).flatten(1)
    key = lambda x: sorted(map(tuple, x.round().int().tolist()))  # noqa: E731
    assert key(rows) == key(original)
    assert train.images.max() == 1.0


def test_shapes_classes_distinct():
    """Classes are told apart by a nearest-class-mean classifier on translation- and
    phase-invariant features (magnitudes of the 2-D Fourier transform)."""

    def spectrum(data):
        x = data.images - data.images.mean((-1, -2), keepdim=True)
        f = torch.fft.fft2(x).abs()
        f = f / (f.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-6)
        return TensorData(f.float(), data.labels, data.classes, data.name)

    train = shapes_module.generate("train", n_train=30)
    test = shapes_module.generate("test", n_test=30)
    assert train.classes == shapes_module.CLASSES and train.num_classes == 10
    assert nearest_mean_accuracy(spectrum(train), spectrum(test)) > 0.5  # chance: 0.1


def test_subsample_on_generated_data():
    data = load("glyphs", "train", n_train=20)
    sub = subsample_per_class(data, 7, seed=0)
    assert sub.class_counts() == [7] * 36


def test_bitwise_identical_across_processes_and_threads():
    """A fresh process with one thread generates exactly the same bytes as this one."""
    import hashlib
    import subprocess
    import sys

    code = (
        "import hashlib, torch; torch.set_num_threads(1); "
        "from tlkit.data import load; "
        "d = load('glyphs', 'test', n_test=3, fonts=('sans', 'cm'), shift=0.3, seed=5); "
        "s = load('shapes', 'test', n_test=3, seed=5); "
        "print(hashlib.sha256(d.images.numpy().tobytes() + s.images.numpy().tobytes())"
        ".hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    d = load("glyphs", "test", n_test=3, fonts=("sans", "cm"), shift=0.3, seed=5)
    s = load("shapes", "test", n_test=3, seed=5)
    here = hashlib.sha256(d.images.numpy().tobytes() + s.images.numpy().tobytes()).hexdigest()
    assert out.stdout.strip() == here
