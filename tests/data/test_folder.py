"""The ``folder`` dataset: a reader's image folder scanned, split, folded and named by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tlkit.data as td
from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig
from tlkit.data import folder, folder_scan
from tlkit.data.folder import FolderError, max_folds, scan, spec_options, split_files
from tlkit.runner import load_data


def _digit_arrays(n_classes: int, per_class: int) -> dict[str, list[np.ndarray]]:
    digits = td.load("digits", "train")
    out = {}
    for k in range(n_classes):
        index = (digits.labels == k).nonzero().flatten()[:per_class]
        out[str(k)] = [(digits.images[i, 0].numpy() * 255).round().astype(np.uint8)
                       for i in index]
    return out


def write_digits(root: Path, n_classes: int = 3, per_class: int = 10, test: int = 0) -> Path:
    """``root/<digit>/imgNNN.png`` (8x8 grey), and ``test`` more per class under root/test/."""
    for name, arrays in _digit_arrays(n_classes, per_class + test).items():
        for j, pixels in enumerate(arrays):
            where = root / name if j < per_class else root / "test" / name
            where.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(where / f"img{j:03d}.png")
    return root


@pytest.fixture
def digits_dir(tmp_path: Path) -> Path:
    return write_digits(tmp_path / "digits")


def _pixels(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open(path), dtype=np.float32) / 255.0)


def _one_line_error(action, *names: str) -> str:
    with pytest.raises(FolderError) as err:
        action()
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, ValueError)
    for name in names:
        assert name in message, (name, message)
    return message


# --- scan and load --------------------------------------------------------------------------


def test_scan_describes_the_folder(digits_dir: Path) -> None:
    (digits_dir / "README.txt").write_text("my digits")
    (digits_dir / "0" / ".DS_Store").write_bytes(b"\0")
    (digits_dir / "1" / "notes.csv").write_text("a,b")
    found = scan(digits_dir)
    assert found.root == digits_dir.resolve() and found.classes == ("0", "1", "2")
    assert found.per_class() == (10, 10, 10) and found.per_class("test") == (0, 0, 0)
    assert not found.has_test_folder and found.test == ()
    assert len(found.digest) == 16 and int(found.digest, 16) >= 0
    assert found.sizes == ((8, 8),) * 30 and dict(found.modes) == {"L": 30}
    assert [label for _, label in found.train] == [0] * 10 + [1] * 10 + [2] * 10
    assert any("grey" in note for note in found.notes)
    assert "skipped 3 files that are not images: 0/.DS_Store, 1/notes.csv, README.txt" in (
        found.notes)
    assert scan(digits_dir) is found and hash(found) == hash(scan(digits_dir))  # cached


def test_a_second_scan_decodes_nothing(digits_dir: Path, monkeypatch) -> None:
    found = scan(digits_dir)

    def forbidden(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(folder_scan.Image, "open", forbidden)
    assert scan(digits_dir).digest == found.digest


def test_load_splits_each_class_and_keeps_the_pixels(digits_dir: Path) -> None:
    found = scan(digits_dir)
    opts = spec_options(found, side=8, channels=1)
    train, test = td.load("folder", "train", **opts), td.load("folder", "test", **opts)
    assert train.shape == (1, 8, 8) and len(train) == 24 and len(test) == 6
    assert train.classes == test.classes == ("0", "1", "2")
    assert train.class_counts() == [8, 8, 8] and test.class_counts() == [2, 2, 2]
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    for split, data in (("train", train), ("test", test)):
        files = split_files(found, split)
        assert [label for _, label in files] == data.labels.tolist()
        for i, (rel, _) in enumerate(files):
            assert torch.equal(data.images[i, 0], _pixels(digits_dir / rel))
    assert not {r for r, _ in split_files(found, "train")} & {r for r, _ in
                                                             split_files(found, "test")}
    other = td.load("folder", "test", **spec_options(found, side=8, channels=1, split_seed=1))
    assert not torch.equal(other.images, test.images)
    big = td.load("folder", "train", **spec_options(found, side=20, channels=3))
    assert big.shape == (3, 20, 20) and torch.equal(big.images[:, 0], big.images[:, 2])
    assert td.info("folder", **opts).train_size == 24 and td.info("folder", **opts).test_size == 6
    assert [len(split_files(found, "test", test_fraction=f)) for f in (0.1, 0.25, 0.5)] == [
        3, 6, 15]


def test_a_test_folder_is_the_test_split(tmp_path: Path) -> None:
    root = write_digits(tmp_path / "d", per_class=6, test=3)
    found = scan(root)
    assert found.has_test_folder and found.classes == ("0", "1", "2")
    assert found.per_class("test") == (3, 3, 3)
    assert all(rel.startswith("test/") for rel, _ in found.test)
    opts = spec_options(found, side=8, channels=1, test_fraction=0.5)
    train, test = td.load("folder", "train", **opts), td.load("folder", "test", **opts)
    assert train.class_counts() == [6, 6, 6] and test.class_counts() == [3, 3, 3]
    for i, (rel, _) in enumerate(found.test):
        assert torch.equal(test.images[i, 0], _pixels(root / rel))


def _count(files: set[tuple[str, int]], label: int) -> int:
    return sum(1 for _, k in files if k == label)


@pytest.mark.parametrize("with_test_folder", [False, True])
def test_folds_partition_the_pool_and_never_touch_the_test_set(
        tmp_path: Path, with_test_folder: bool) -> None:
    root = write_digits(tmp_path / "d", per_class=10, test=2 if with_test_folder else 0)
    found = scan(root)
    pool = set(split_files(found, "train"))
    real_test = set(split_files(found, "test"))
    folds = [set(split_files(found, "test", folds=3, fold=k)) for k in range(3)]
    for k, held in enumerate(folds):
        rest = set(split_files(found, "train", folds=3, fold=k))
        assert not rest & held and rest | held == pool
        assert not (rest | held) & real_test
        for other in folds:  # within a class, fold sizes differ by at most one
            assert all(abs(_count(held, c) - _count(other, c)) <= 1 for c in range(3))
    assert set().union(*folds) == pool and sum(map(len, folds)) == len(pool)
    opts = spec_options(found, side=8, channels=1, folds=3, fold=2)
    assert len(td.load("folder", "test", **opts)) == len(folds[2])
    assert max_folds(found) == (10 if with_test_folder else 8)
    _one_line_error(lambda: spec_options(found, folds=max_folds(found) + 1), "'0'")


def test_the_run_key_follows_the_content_not_the_path(tmp_path: Path) -> None:
    root = write_digits(tmp_path / "mine")

    def spec(path: Path) -> RunSpec:
        return RunSpec(DataSpec("folder", spec_options(scan(path)), n_per_class=4),
                       ModelSpec(width=4, size=8, channels=1), TrainConfig(epochs=1))

    before = spec(root)
    assert "path" not in dict(map(tuple, before.identity()["data"]["options"]))
    moved = tmp_path / "renamed"
    shutil.move(root, moved)
    assert spec(moved).key() == before.key()
    (moved / "1" / "img003.png").rename(moved / "1" / "another-name.png")
    assert spec(moved).key() == before.key()
    data = load_data(spec(moved), "train")
    assert data.shape == (1, 8, 8) and data.class_counts() == [4, 4, 4]
    shutil.move(moved / "2" / "img001.png", moved / "0" / "from-2.png")
    assert scan(moved).per_class() == (11, 10, 9) and spec(moved).key() != before.key()
    shutil.move(moved / "0" / "from-2.png", moved / "2" / "img001.png")
    assert spec(moved).key() == before.key()
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(moved / "2" / "img000.png")
    assert spec(moved).key() != before.key()


def test_splits_do_not_depend_on_file_names(digits_dir: Path) -> None:
    opts = spec_options(scan(digits_dir), side=8, channels=1)
    before = [td.load("folder", split, **opts) for split in ("train", "test")]
    for path in sorted(digits_dir.glob("*/*.png")):
        path.rename(path.with_name(f"z-{999 - int(path.stem[3:])}.png"))
    td.clear_cache()
    folder.clear_cache()
    assert spec_options(scan(digits_dir), side=8, channels=1) == opts
    for split, old in zip(("train", "test"), before, strict=True):
        new = td.load("folder", split, **opts)
        assert torch.equal(new.images, old.images) and torch.equal(new.labels, old.labels)


def test_a_folder_changed_after_planning_is_refused(digits_dir: Path) -> None:
    opts = spec_options(scan(digits_dir), side=8)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(digits_dir / "0" / "img004.png")
    message = _one_line_error(lambda: td.load("folder", "train", **opts), str(
        digits_dir.resolve()), "changed since its runs were planned", opts["content"])
    assert "scan it again" in message


# --- formats, modes and sizes ---------------------------------------------------------------


def test_colour_photographs_as_jpeg(tmp_path: Path) -> None:
    from sklearn.datasets import load_sample_images

    root = tmp_path / "photos"
    for photo, name in zip(load_sample_images().images, ("china", "flower"), strict=True):
        (root / name).mkdir(parents=True)
        for j in range(6):
            patch = photo[40 * j:40 * j + 64, 60 * j:60 * j + 64]
            Image.fromarray(patch).save(root / name / f"p{j}.JPG", quality=90)
    found = scan(root)
    assert found.classes == ("china", "flower") and dict(found.modes) == {"RGB": 12}
    assert not any("size" in note for note in found.notes)
    data = td.load("folder", "train", **spec_options(found, side=16, test_fraction=0.3))
    assert data.shape == (3, 16, 16) and data.class_counts() == [4, 4]
    assert 0 <= float(data.images.min()) and float(data.images.max()) <= 1
    assert not torch.equal(data.images[:, 0], data.images[:, 1])  # colour kept


def test_mixed_formats_modes_and_sizes_are_converted(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    grey = np.tile(np.arange(0, 240, 8, dtype=np.uint8), (20, 1))  # 30 x 20
    Image.fromarray(grey).save(root / "a" / "grey.png")
    clear = np.zeros((40, 40, 4), np.uint8)  # fully transparent: white once composited
    Image.fromarray(clear).save(root / "a" / "clear.PNG")
    Image.fromarray(np.full((16, 16), 9, np.uint8)).convert("P").save(root / "a" / "pal.gif")
    Image.fromarray(np.full((24, 24, 3), 200, np.uint8)).save(root / "b" / "c.bmp")
    Image.fromarray(np.full((32, 32, 3), 50, np.uint8)).save(root / "b" / "d.tiff")
    Image.fromarray(np.full((12, 12), 257 * 100, np.uint16)).save(root / "b" / "deep.png")
    found = scan(root)
    assert set(found.modes) == {"L", "RGBA", "P", "RGB", "I;16"}
    said = " ".join(found.notes)
    for words in ("grey", "transparent pixels are composited on white", "palette",
                  "16-bit", "sizes range from 12 x 12 to 40 x 40", "stretched, not cropped"):
        assert words in said, words
    opts = spec_options(found, side=6, test_fraction=0.3)
    by_file = {}
    for split in ("train", "test"):
        data = td.load("folder", split, **opts)
        assert data.shape == (3, 6, 6)
        for i, (rel, _) in enumerate(split_files(found, split, test_fraction=0.3)):
            by_file[rel] = data.images[i]
    assert len(by_file) == 6
    for rel, expected in (("a/clear.PNG", 1.0), ("b/deep.png", 100 / 255),
                          ("b/c.bmp", 200 / 255), ("a/pal.gif", 9 / 255)):
        assert torch.allclose(by_file[rel], torch.tensor(expected)), rel
    grey_run = td.load("folder", "train", **spec_options(found, side=6, channels=1,
                                                          test_fraction=0.3))
    assert grey_run.shape == (1, 6, 6)


# --- what is refused, and what is only counted ----------------------------------------------


def _png(path: Path, value: int = 0, side: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((side, side), value, np.uint8)).save(path)


def test_bad_folders_are_refused_in_one_line(tmp_path: Path) -> None:
    _one_line_error(lambda: scan(tmp_path / "absent"), str(tmp_path / "absent"))
    _png(tmp_path / "file.png")
    _one_line_error(lambda: scan(tmp_path / "file.png"), "file.png", "is a file")
    (tmp_path / "empty").mkdir()
    _one_line_error(lambda: scan(tmp_path / "empty"), str(tmp_path / "empty"), "no class")
    _png(tmp_path / "one" / "cats" / "x.png")
    _one_line_error(lambda: scan(tmp_path / "one"), "'cats'", "two classes")
    _png(tmp_path / "hollow" / "a" / "x.png")
    _png(tmp_path / "hollow" / "a" / "y.png", 1)
    (tmp_path / "hollow" / "b").mkdir()
    (tmp_path / "hollow" / "b" / "README.txt").write_text("nothing here")
    _one_line_error(lambda: scan(tmp_path / "hollow"), "'b'", "no images")
    _png(tmp_path / "hollow" / "b" / "z.png", 2)
    _one_line_error(lambda: scan(tmp_path / "hollow"), "'b'", "1 image", "fewer than 2",
                    "one in test")
    assert scan(tmp_path / "hollow", min_per_class=1).per_class() == (2, 1)
    _png(tmp_path / "hollow" / "a" / "sub" / "deep.png")
    _one_line_error(lambda: scan(tmp_path / "hollow"), "'a/sub'", "one level")


def test_unreadable_images_are_named(tmp_path: Path) -> None:
    root = write_digits(tmp_path / "d")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "1" / "big.png")
    data = (root / "1" / "big.png").read_bytes()
    (root / "1" / "big.png").write_bytes(data[: len(data) // 2])
    _one_line_error(lambda: scan(root), "'1/big.png'", "cannot read")
    (root / "1" / "big.png").unlink()
    (root / "2" / "x.png").write_text("this is text, not a picture")
    _one_line_error(lambda: scan(root), "'2/x.png'", "not recognise")


def test_a_test_folder_must_have_the_same_classes(tmp_path: Path) -> None:
    root = write_digits(tmp_path / "d", test=2)
    shutil.move(root / "test" / "1", root / "test" / "9")
    _one_line_error(lambda: scan(root), "test", "missing '1'", "extra '9'")
    shutil.move(root / "test" / "9", root / "test" / "1")
    for f in (root / "test" / "2").iterdir():
        f.unlink()
    _one_line_error(lambda: scan(root), "'test/2'", "no images")


def test_progress_is_printed_to_stderr(digits_dir: Path, capsys) -> None:
    scan(digits_dir, progress=False)
    assert capsys.readouterr().err == ""
    folder.clear_cache()
    scan(digits_dir, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and lines[-1].endswith("30 of 30 images (100%)")


# --- options and the registry ---------------------------------------------------------------


def test_options_are_checked_cheaply(digits_dir: Path) -> None:
    opts = spec_options(scan(digits_dir))
    assert set(opts) == set(folder.DEFAULT_OPTIONS) and opts["path"] == str(
        digits_dir.resolve())
    for bad, option in (({"path": str(digits_dir)}, "content"),
                        ({**opts, "path": 3}, "path"), ({**opts, "content": "xyz"}, "content"),
                        ({**opts, "side": 0}, "side"), ({**opts, "bands": 2}, "bands"),
                        ({**opts, "test_fraction": 1.0}, "test_fraction"),
                        ({**opts, "folds": 1}, "folds"), ({**opts, "folds": 3, "fold": 3}, "fold"),
                        ({**opts, "fold": 1}, "fold")):
        with pytest.raises(ValueError, match=f"option '{option}'"):
            td.check("folder", **bad)
    with pytest.raises(ValueError, match="'path' and 'content'"):
        td.load("folder")


def test_the_registry_knows_the_folder(digits_dir: Path) -> None:
    opts = spec_options(scan(digits_dir))
    about = td.info("folder", **opts)
    assert about.kind == "folder" and about.classes == ("0", "1", "2")
    assert about.min_train_per_class == 8 and td.info("folder").classes == ()
    assert td.availability("folder", root=digits_dir) == "on disk"
    assert td.availability("folder") == "on disk"  # where path says; the preflight checks it
    td.check("folder", n_per_class=8, classes=["0", "2"], **opts)
    with pytest.raises(ValueError, match="has only 8 in the train split"):
        td.check("folder", n_per_class=9, **opts)
    with pytest.raises(ValueError, match="fewer than folds=9"):
        td.check("folder", n_per_class=1, **{**opts, "folds": 9})


def test_the_preflight_finds_a_folder_gone_or_changed_before_training(digits_dir: Path,
                                                                      tmp_path: Path) -> None:
    from tlkit.preflight import problems
    from tlkit.spec import DataSpec, ModelSpec, RunSpec, TrainConfig

    def spec(path: Path, content: str) -> RunSpec:
        opts = {**spec_options(scan(digits_dir)), "path": str(path), "content": content}
        return RunSpec(DataSpec("folder", opts), ModelSpec(width=4, size=8, channels=1),
                       TrainConfig(epochs=1))

    digest = scan(digits_dir).digest
    assert problems([spec(digits_dir, digest)]) == []
    gone = problems([spec(tmp_path / "gone", digest)])
    assert len(gone) == 1 and "gone" in gone[0] and "\n" not in gone[0]
    changed = problems([spec(digits_dir, "0" * 16)])
    assert len(changed) == 1 and "changed since its runs were planned" in changed[0]
