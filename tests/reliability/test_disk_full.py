"""A full disk is found before the work, and at once when it fills up during a sweep: the
sweep stops submitting, keeps what is stored and says in one line which folder is full and
how much it needs."""

import errno
import shutil
import subprocess
import uuid
from collections import namedtuple
from pathlib import Path

import pytest

from tests.core.test_sweep import tiny, transfer
from tlkit import sweep
from tlkit.preflight import PreflightError
from tlkit.space import DiskFullError, bytes_needed, checkpoint_bytes, record_bytes
from tlkit.store import Store

Usage = namedtuple("Usage", "total used free")


def test_the_estimate_bounds_what_a_sweep_writes(tmp_path):
    store = Store(tmp_path / "results")
    specs = [transfer(2), transfer(3), tiny(4)]
    sweep.run(specs, store=store)
    for spec in specs:
        assert store.record_path(spec.key()).stat().st_size <= record_bytes(spec)
    src = specs[0].transfer.source
    written = store.checkpoint_path(src.key()).stat().st_size
    assert written <= checkpoint_bytes(src) < 4 * written  # an upper bound, not a wild one
    assert bytes_needed(specs, [src]) == sum(map(record_bytes, specs)) + checkpoint_bytes(src)


def test_a_disk_without_room_for_the_sweep_is_refused_before_any_training(
        tmp_path, monkeypatch, count_fits):
    import tlkit.space

    monkeypatch.setattr(tlkit.space.shutil, "disk_usage", lambda p: Usage(10**9, 10**9, 20_000))
    with pytest.raises(PreflightError, match="has 0.0 MB free, and the 8 runs to train need "
                                             r"about 0\.\d MB") as caught:
        sweep.run([tiny(s) for s in range(8)], store=Store(tmp_path / "results"))
    assert str(tmp_path / "results") in str(caught.value) and "\n" not in str(caught.value)
    assert count_fits == []


def test_the_write_check_writes_real_bytes(tmp_path, monkeypatch, count_fits):
    import tlkit.store

    real = tlkit.store.atomic_write_bytes

    def full_disk(path, data):
        if len(data) > 0:  # a disk that takes empty files but not one byte more
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(tlkit.store, "atomic_write_bytes", full_disk)
    with pytest.raises(PreflightError, match="on a disk with no room left"):
        sweep.run([tiny(0)], store=Store(tmp_path / "results"))
    assert count_fits == []


def _filling(monkeypatch, after, fill):
    """Call ``fill()`` once ``after`` records have been stored (the disk fills meanwhile)."""
    real = Store.put
    stored = []

    def put(self, record):
        if len(stored) == after:
            fill()
            if Store.put is not put:  # the fill replaced the store's writes
                return Store.put(self, record)
        path = real(self, record)
        stored.append(record.key)
        return path

    monkeypatch.setattr(Store, "put", put)
    return stored


def _no_room(self, record):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_disk_that_fills_during_a_sweep_stops_it_and_keeps_what_is_stored(
        tmp_path, monkeypatch, count_fits):
    monkeypatch.setenv("TLKIT_BATCH", "0")  # one run at a time: each submission is seen
    store = Store(tmp_path / "results")
    specs = [tiny(s) for s in range(8)]
    with pytest.MonkeyPatch.context() as disk:
        stored = _filling(disk, 3, lambda: disk.setattr(Store, "put", _no_room))
        with pytest.raises(DiskFullError) as caught:
            sweep.run(specs, store=store)
    message = str(caught.value)
    assert "\n" not in message and str(store.root) in message
    assert "5 runs are not stored and need about 0.0" in message, message
    assert "the 3 runs stored are kept" in message
    assert len(count_fits) == 4, "nothing was submitted after the disk filled"
    fits = len(count_fits)
    again = sweep.run(specs, store=store)
    assert len(again) == 8 and len(count_fits) - fits == 5  # the 3 stored are not retrained
    assert {r.key for r in again} >= set(stored)


def _mount_tmpfs(folder: Path, size: str) -> bool:
    if shutil.which("mount") is None:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system (tmpfs): skips where this user may not mount one."""
    folder = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(folder, "1m"):
        pytest.skip("cannot mount a small tmpfs here (needs root): the full-disk tests above "
                    "simulate ENOSPC instead")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_real_disk_that_fills_up_during_a_sweep(small_disk, monkeypatch, count_fits, capsys):
    monkeypatch.setenv("TLKIT_BATCH", "0")
    store = Store(small_disk / "results")
    specs = [tiny(s) for s in range(10)]

    def fill():  # another program takes the rest of the disk
        filler = small_disk / "filler"
        with open(filler, "wb") as fh:
            try:
                while True:
                    fh.write(bytes(4096))
                    fh.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC

    with pytest.MonkeyPatch.context() as disk:
        _filling(disk, 4, fill)
        with pytest.raises(DiskFullError, match="No space left on device"):
            sweep.run(specs, store=store)
    kept = list(store.records())
    assert len(kept) == 4 and "damaged" not in capsys.readouterr().err
    assert not list((store.root / "runs").glob("*/.*.tmp")), "no partial file left"
    with pytest.raises(PreflightError, match="no room left"):
        sweep.run(specs, store=store)  # still full: refused before training
    (small_disk / "filler").unlink()
    fits = len(count_fits)
    assert len(sweep.run(specs, store=store)) == 10 and len(count_fits) - fits == 6
