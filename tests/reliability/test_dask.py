"""Sweeps on a real Dask LocalCluster: same records as in-process, and no loss on a dead worker."""

import os
import signal
import threading
import time

import pytest

from tests.core.test_sweep import tiny, transfer
from tlkit import sweep
from tlkit.store import Store

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    yield cluster
    cluster.close()


class _ClusterExecutor:
    """The sweep's view of a client on the test cluster (closed by the test, not the sweep)."""

    def __init__(self, cluster):
        self.client = distributed.Client(cluster)
        self.executor = self.client.get_executor(pure=False)

    def submit(self, fn, /, *args):
        return self.executor.submit(fn, *args)


def test_dask_matches_in_process_bitwise(tmp_path, cluster):
    specs = [tiny(0), tiny(1), transfer(3), transfer(2, freeze=False)]
    serial = sweep.run(specs, store=Store(tmp_path / "serial"))
    ex = _ClusterExecutor(cluster)
    try:
        on_dask = sweep.run(specs, store=Store(tmp_path / "dask"), executor=ex)
    finally:
        ex.client.close()
    assert [r.key for r in serial] == [r.key for r in on_dask]
    for a, b in zip(serial, on_dask, strict=True):
        assert a.metrics == b.metrics and a.history == b.history
        assert b.provenance["threads"] == 1


def test_dask_executor_by_name_with_an_address(tmp_path, cluster, monkeypatch):
    monkeypatch.setenv("TLKIT_DASK_ADDRESS", cluster.scheduler_address)
    records = sweep.run([tiny(0), tiny(1)], store=Store(tmp_path), executor="dask")
    assert len(records) == 2


def test_killed_worker_loses_no_finished_run(tmp_path, count_fits):
    store = Store(tmp_path)
    specs = [tiny(s, n=40) for s in range(24)]
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0")
    ex = _ClusterExecutor(local)
    outcome = {}

    def work():
        try:
            outcome["records"] = sweep.run(specs, store=store, executor=ex)
        except sweep.SweepError as err:
            outcome["error"] = err

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.time() + 120
    while time.time() < deadline and len(list(tmp_path.glob("runs/*/*.json"))) < 2:
        time.sleep(0.05)
    pids = ex.client.run(os.getpid)
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    ex.client.close()
    local.close()
    assert not thread.is_alive()
    finished = {p.stem for p in tmp_path.glob("runs/*/*.json")}
    assert len(finished) >= 2
    # Whatever the sweep reported, every stored record is complete and a rerun finishes the rest.
    again = sweep.run(specs, store=store)
    assert [r.key for r in again] == [s.key() for s in specs]
    assert finished <= {r.key for r in again}
    assert len(count_fits) == len(specs) - len(finished)  # only the missing runs ran
