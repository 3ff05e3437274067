"""Every executor gives the same records; runs use a fixed torch thread count."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import tlkit.batched
import tlkit.runner
from tests.core.test_sweep import tiny, transfer
from tlkit import sweep
from tlkit.executors import make_executor
from tlkit.store import Store


def test_process_pool_matches_in_process_bitwise(tmp_path):
    specs = [tiny(0), tiny(1), transfer(3), transfer(2, freeze=False)]
    serial = sweep.run(specs, store=Store(tmp_path / "serial"))
    pooled = sweep.run(specs, store=Store(tmp_path / "pool"), executor="process")
    assert [r.key for r in serial] == [r.key for r in pooled]
    for a, b in zip(serial, pooled, strict=True):
        assert a.metrics == b.metrics and a.history == b.history


def test_cached_sweep_starts_no_workers(tmp_path, monkeypatch):
    specs = [tiny(0)]
    sweep.run(specs, store=Store(tmp_path))
    monkeypatch.setattr("tlkit.executors.make_executor",
                        lambda *a, **k: pytest.fail("an executor was started"))
    assert len(sweep.run(specs, store=Store(tmp_path), executor="process")) == 1


def test_sweeps_of_one_process_share_their_workers_until_the_environment_changes(
        tmp_path, monkeypatch):
    from tlkit import executors

    sweep.run([tiny(0)], store=Store(tmp_path / "a"), executor="process")
    pool = executors._SHARED["pool"]
    workers = set(pool._processes)
    assert workers and all(p.is_alive() for p in pool._processes.values())
    sweep.run([tiny(1)], store=Store(tmp_path / "b"), executor="process")
    assert executors._SHARED["pool"] is pool and set(pool._processes) == workers
    monkeypatch.setenv("TLKIT_TEST_MARK", "changed")  # a worker keeps the environment it had
    sweep.run([tiny(2)], store=Store(tmp_path / "c"), executor="process")
    assert executors._SHARED["pool"] is not pool
    assert not set(executors._SHARED["pool"]._processes) & workers
    executors.discard(executors._SHARED["pool"])
    assert executors._SHARED == {}


def test_runs_use_the_configured_thread_count(monkeypatch):
    seen = []
    real, real_many = tlkit.runner.fit, tlkit.batched.fit_many

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    def spy_many(members):
        seen.append(torch.get_num_threads())
        return real_many(members)

    monkeypatch.setattr(tlkit.runner, "fit", spy)
    monkeypatch.setattr(tlkit.batched, "fit_many", spy_many)
    before = torch.get_num_threads()
    monkeypatch.setenv("TLKIT_THREADS", "1")
    record = tlkit.run(tiny())
    assert seen == [1] and record.provenance["threads"] == 1
    assert torch.get_num_threads() == before
    monkeypatch.setenv("TLKIT_THREADS", "zero")
    with pytest.raises(ValueError, match="TLKIT_THREADS"):
        tlkit.run(tiny())


def test_unknown_executor_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("cluster")


_PARENT = """
import sys, time
from tlkit.executors import make_executor

if __name__ == "__main__":
    pool = make_executor("process", workers=2)
    futures = [pool.submit(time.sleep, 120) for _ in range(2)]
    time.sleep(3)  # let both workers start
    print(" ".join(str(pid) for pid in pool._processes), flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_pool_workers_end_with_their_parent(tmp_path, signum):
    import psutil

    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2
    os.kill(parent.pid, signum)
    parent.wait(timeout=30)

    def alive(pid):
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids), "orphaned workers outlived their parent"
