"""Real datasets through torchvision: offline errors, checksums, and reading files.

Tiny files in the real formats (IDX, CIFAR pickles, SVHN .mat) are written by the tests
themselves; the real MNIST test set is used where the shared data folder holds it.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

import tlkit.data as td
from tlkit.data import (
    DatasetIntegrityError,
    DatasetUnavailableError,
    availability,
    load,
    real_formats,
    subsample_per_class,
    to_format,
)
from tlkit.data import real as real_module
from tlkit.data.integrity import md5sum

MNIST_TEST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def shared_data() -> Path:
    env = os.environ.get("TLKIT_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def idx_bytes(array: np.ndarray) -> bytes:
    """An array of uint8 in the IDX format of LeCun et al.: magic, big-endian dims, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, stem: str, array: np.ndarray, compress: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = idx_bytes(array)
    if compress:
        (folder / f"{stem}.gz").write_bytes(gzip.compress(data, mtime=0))
    else:
        (folder / stem).write_bytes(data)


def tiny_mnist(root: Path, split: str = "test", n: int = 12, compress: bool = True):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    prefix = "t10k" if split == "test" else "train"
    folder = root / "MNIST" / "raw"
    write_idx(folder, f"{prefix}-images-idx3-ubyte", images, compress)
    write_idx(folder, f"{prefix}-labels-idx1-ubyte", labels, compress)
    return images, labels


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.delenv("TLKIT_OFFLINE", raising=False)
    td.clear_cache()
    yield
    td.clear_cache()


def _refuse_download(*args, **kwargs):
    raise AssertionError("no download may be attempted here")


# --- absent files -------------------------------------------------------------------------


def test_absent_with_download_false(tmp_path, monkeypatch):
    monkeypatch.setattr(real_formats, "download_and_extract_archive", _refuse_download)
    with pytest.raises(DatasetUnavailableError) as err:
        load("mnist", "test", root=tmp_path, download=False)
    message = str(err.value)
    assert "'mnist'" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "t10k-images-idx3-ubyte.gz" in message
    assert "download=True" in message and "TLKIT_DATA" in message and "copy" in message
    assert isinstance(err.value, RuntimeError)


def test_absent_with_failing_download(tmp_path, monkeypatch):
    calls = []

    def unreachable(url, *args, **kwargs):
        calls.append(url)
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(real_formats, "download_and_extract_archive", unreachable)
    with pytest.raises(DatasetUnavailableError) as err:
        load("mnist", "test", root=tmp_path, download=True)
    message = str(err.value)
    assert "'mnist'" in message and str(tmp_path / "MNIST" / "raw") in message
    assert "URLError" in message and "name resolution" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert len(calls) == len(torch_mnist_mirrors())  # every mirror was tried


def torch_mnist_mirrors():
    from torchvision.datasets import MNIST

    return MNIST.mirrors


@pytest.mark.parametrize("name", ["fashion-mnist", "kmnist", "emnist-letters", "cifar10"])
def test_failing_download_other_datasets(tmp_path, monkeypatch, name):
    def unreachable(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(real_formats, "download_and_extract_archive", unreachable)
    with pytest.raises(DatasetUnavailableError, match=f"'{name}'"):
        load(name, "train", root=tmp_path)


def test_svhn_failing_download(tmp_path, monkeypatch):
    def unreachable(*args, **kwargs):
        raise RuntimeError("File not found or corrupted.")

    monkeypatch.setattr(real_formats, "download_url", unreachable)
    with pytest.raises(DatasetUnavailableError) as err:
        load("svhn", "test", root=tmp_path)
    assert str(tmp_path / "SVHN") in str(err.value)


def test_offline_environment_blocks_default_download(tmp_path, monkeypatch):
    monkeypatch.setattr(real_formats, "download_and_extract_archive", _refuse_download)
    monkeypatch.setenv("TLKIT_OFFLINE", "1")
    with pytest.raises(DatasetUnavailableError, match="TLKIT_OFFLINE"):
        load("cifar100", "test", root=tmp_path)


def test_default_root_is_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("TLKIT_DATA", str(tmp_path / "store"))
    with pytest.raises(DatasetUnavailableError) as err:
        load("kmnist", "test", download=False)
    assert str(tmp_path / "store" / "KMNIST" / "raw") in str(err.value)


def test_download_path_fetches_only_the_split(tmp_path, monkeypatch):
    fetched = []

    def fake_download(url, download_root, filename=None, md5=None, **kwargs):
        fetched.append(filename)
        stem = filename.removesuffix(".gz")
        n = 5
        if "images" in stem:
            array = np.full((n, 28, 28), 7, dtype=np.uint8)
        else:
            array = np.arange(n, dtype=np.uint8)
        write_idx(Path(download_root), stem, array)

    monkeypatch.setattr(real_formats, "download_and_extract_archive", fake_download)
    data = load("mnist", "test", root=tmp_path, download=True, verify=False)
    assert fetched == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert data.labels.tolist() == [0, 1, 2, 3, 4]
    assert torch.allclose(data.images, torch.full((5, 1, 28, 28), 7 / 255))


# --- tiny files in the real formats --------------------------------------------------------


def test_tiny_idx_round_trip_and_integrity(tmp_path):
    images, labels = tiny_mnist(tmp_path)
    assert availability("mnist", root=tmp_path, split="test") == "on disk"
    assert availability("mnist", root=tmp_path) == "needs download"
    data = load("mnist", "test", root=tmp_path, download=False, verify=False)
    assert data.images.shape == (12, 1, 28, 28) and data.images.dtype == torch.float32
    assert torch.equal(data.images, torch.from_numpy(images).unsqueeze(1).float() / 255)
    assert data.labels.tolist() == labels.tolist()
    assert data.classes == tuple("0123456789")
    sized = load("mnist", "test", root=tmp_path, download=False, verify=False, size=32, channels=3)
    assert sized.images.shape == (12, 3, 32, 32)
    with pytest.raises(DatasetIntegrityError) as err:
        load("mnist", "test", root=tmp_path, download=False)
    message = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert MNIST_TEST_MD5["t10k-images-idx3-ubyte.gz"] in message
    assert "verify=False" in message
    # the train split was never there
    with pytest.raises(DatasetUnavailableError):
        load("mnist", "train", root=tmp_path, download=False)


def test_decompressed_idx_files(tmp_path):
    images, _ = tiny_mnist(tmp_path, compress=False)
    data = load("mnist", "test", root=tmp_path, download=False, verify=False)
    assert torch.equal(data.images[:, 0], torch.from_numpy(images).float() / 255)
    with pytest.raises(DatasetIntegrityError, match="cannot check"):
        load("mnist", "test", root=tmp_path, download=False, verify=True)


def test_tiny_emnist_letters(tmp_path):
    folder = tmp_path / "EMNIST" / "raw"
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 26, 5], dtype=np.uint8)
    write_idx(folder, "emnist-letters-test-images-idx3-ubyte", images, compress=False)
    write_idx(folder, "emnist-letters-test-labels-idx1-ubyte", labels, compress=False)
    data = load("emnist-letters", "test", root=tmp_path, download=False, verify=False)
    assert data.labels.tolist() == [0, 1, 25, 4]
    assert [data.classes[k] for k in data.labels] == ["A", "B", "Z", "E"]
    # stored transposed, returned upright
    assert torch.equal(data.images[:, 0], torch.from_numpy(images).transpose(1, 2).float() / 255)
    with pytest.raises(DatasetIntegrityError, match="gzip.zip"):
        load("emnist-letters", "test", root=tmp_path, download=False)


def _write_cifar(root: Path, n: int = 6):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    batches = {}
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]:
        batches[name] = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(x) for x in rng.integers(0, 10, size=n)]
        with open(folder / name, "wb") as f:
            pickle.dump({"data": batches[name], "labels": labels}, f)
    test = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": test, "labels": list(range(n))}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(real_module.CIFAR10_CLASSES)}, f)
    return batches, test


def test_tiny_cifar10_through_torchvision(tmp_path):
    batches, test = _write_cifar(tmp_path)
    data = load("cifar10", "test", root=tmp_path, download=False, verify=False)
    assert data.images.shape == (6, 3, 32, 32)
    # CIFAR rows hold the red, green and blue planes in turn, each row-major
    expected = torch.from_numpy(test).view(6, 3, 32, 32).float() / 255
    assert torch.equal(data.images, expected)
    assert data.labels.tolist() == list(range(6))
    train = load("cifar10", "train", root=tmp_path, download=False, verify=False)
    assert len(train) == 30
    assert torch.equal(
        train.images[:6].flatten(1) * 255, torch.from_numpy(batches["data_batch_1"]).float()
    )
    grey = load("cifar10", "test", root=tmp_path, download=False, verify=False, channels=1)
    assert grey.images.shape == (6, 1, 32, 32)
    with pytest.raises(DatasetIntegrityError, match="test_batch"):
        load("cifar10", "test", root=tmp_path, download=False)


def test_tiny_svhn_through_torchvision(tmp_path):
    from scipy.io import savemat

    folder = tmp_path / "SVHN"
    folder.mkdir()
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [9], [10], [3]], dtype=np.uint8)
    savemat(folder / "test_32x32.mat", {"X": x, "y": y})
    data = load("svhn", "test", root=tmp_path, download=False, verify=False)
    assert data.labels.tolist() == [0, 1, 9, 0, 3]  # label 10 is the digit 0
    expected = torch.from_numpy(x).permute(3, 2, 0, 1).float() / 255
    assert torch.equal(data.images, expected)
    with pytest.raises(DatasetIntegrityError, match="test_32x32.mat"):
        load("svhn", "test", root=tmp_path, download=False)


# --- the real MNIST test set ---------------------------------------------------------------


@pytest.fixture
def mnist_root() -> Path:
    root = shared_data()
    if not all((root / "MNIST" / "raw" / name).is_file() for name in MNIST_TEST_MD5):
        pytest.skip(
            f"the real MNIST test set is not at {root / 'MNIST' / 'raw'} "
            "(set TLKIT_SHARED_DATA to a folder holding MNIST/raw/t10k-*.gz)"
        )
    return root


def test_real_mnist_test_set(mnist_root):
    for name, md5 in MNIST_TEST_MD5.items():
        assert md5sum(mnist_root / "MNIST" / "raw" / name) == md5
    assert availability("mnist", root=mnist_root, split="test") == "on disk"
    data = load("mnist", "test", root=mnist_root, download=False)  # md5-verified
    assert len(data) == 10000 and data.num_classes == 10
    assert data.images.shape == (10000, 1, 28, 28) and data.images.dtype == torch.float32
    assert data.class_counts() == MNIST_TEST_COUNTS and sum(data.class_counts()) == 10000
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert 0.1 < data.images.mean() < 0.15  # MNIST's mean intensity is about 0.13
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the published first test labels
    sub = subsample_per_class(data, 50, seed=0)
    assert sub.class_counts() == [50] * 10
    sub32 = to_format(sub, 32, 3)
    assert sub32.images.shape == (500, 3, 32, 32)
    again = load("mnist", "test", root=mnist_root, download=False)
    assert torch.equal(again.images, data.images)
    with pytest.raises(DatasetUnavailableError):
        load("mnist", "train", root=mnist_root, download=False)
    assert "on disk (test only)" in td.datasets_table(root=mnist_root)


def test_class_names_written_out_are_torchvision_s():
    from torchvision.datasets import KMNIST, FashionMNIST

    assert real_module.FASHION_MNIST_CLASSES == tuple(FashionMNIST.classes)
    assert real_module.KMNIST_CLASSES == tuple(KMNIST.classes)


def test_torchvision_is_imported_only_to_read_a_real_dataset():
    import subprocess
    import sys

    code = ("import sys, tlkit, tlkit.sweep, tlkit.runner, tlkit.data\n"
            "from tlkit.experiments import layer_transfer\n"
            "tlkit.runner.library_versions()\n"
            "assert 'torchvision' not in sys.modules, 'torchvision imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
