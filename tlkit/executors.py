"""Executors for sweeps: anything with the ``concurrent.futures`` ``submit`` interface.

* ``"serial"``: :class:`SerialExecutor`, in this process (the default).
* ``"process"``: a local :class:`~concurrent.futures.ProcessPoolExecutor` whose workers each use
  one torch thread. Small networks train faster as two one-thread processes than as one
  two-thread process on a 2-core machine, and are not slowed as much by other load.
* ``"dask"``: Dask ``distributed``. With a scheduler address (the ``address`` argument or
  ``$TLKIT_DASK_ADDRESS``) it connects to that cluster; without one it starts a
  ``LocalCluster`` of one-thread worker processes. Workers must see the same results folder
  (a shared file system on a cluster) and have tlkit installed. On a Slurm or PBS cluster, start
  the workers with ``dask-jobqueue`` and pass the scheduler address (see the book's chapter on
  reproducing at full scale).

A process-pool worker ends when its parent does, however the parent ends (``kill -9``
included): it watches its parent's process id and exits once that process is gone, so no
orphaned worker keeps its memory. Workers ignore Ctrl-C (``SIGINT``, which a terminal sends to
every process of the job): the parent takes it, and :func:`stop_now` ends the workers at once
instead of letting them finish their runs.

Workers only read the run cache (a source's checkpoint, before a run that copies it); records
and checkpoints are written by the process that calls :func:`tlkit.sweep.run`.

A sweep given the name ``"process"`` trains on :func:`shared_pool`: one pool per process, kept
between sweeps, so that a notebook's stages do not each start two interpreters that import
torch (3 to 5 s a worker on 2 cores) and warm their caches again. It is started again when the
environment or the working folder it was started in has changed (a worker sees both as they were
when it started), when it broke, or after :func:`discard`; it ends with its process.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

__all__ = ["EXECUTORS", "SerialExecutor", "DaskExecutor", "make_executor", "shared_pool",
           "discard", "stop_now"]

EXECUTORS = ("serial", "process", "dask")


class SerialExecutor:
    """Runs each submitted call at once, in this process (the default executor)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(exc)
        return future


#: How often (seconds) a pool worker checks that its parent is alive.
PARENT_POLL_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """Exit this process as soon as ``parent`` is no longer its parent (it died, and the
    worker was handed to another process)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="tlkit-parent-watch", daemon=True).start()


def _one_thread_worker(parent: int | None = None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if parent is not None:
        _exit_with_parent(parent)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    os.environ.setdefault("TLKIT_PROGRESS", "0")
    import torch

    torch.set_num_threads(1)


class DaskExecutor:
    """A Dask client's ``concurrent.futures`` executor that also closes what it started."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("the dask executor needs 'distributed': "
                              "pip install 'tlkit[dask]'") from exc
        self.cluster = None
        if address:
            self.client = Client(address)
        else:
            self.cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                        threads_per_worker=1, processes=True,
                                        dashboard_address=":0")
            self.client = Client(self.cluster)
        self._executor = self.client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(kind: str = "serial", workers: int | None = None,
                  address: str | None = None) -> Any:
    """An executor by name (see the module docstring); ``workers`` defaults to the CPU count.

    ``address`` (or ``$TLKIT_DASK_ADDRESS``) is the Dask scheduler to connect to. A sweep
    makes its executor before its first run trains, so ``$TLKIT_THREADS`` is checked here
    (:func:`tlkit.prechecks.check_threads`): a bad count is one ``ValueError``, not one error
    per run.
    """
    from .prechecks import check_threads

    check_threads()
    if kind == "serial":
        return SerialExecutor()
    if kind == "process":
        n = workers or os.cpu_count() or 1
        return _Pool(n, mp_context=multiprocessing.get_context("spawn"),
                     initializer=_one_thread_worker, initargs=(os.getpid(),))
    if kind == "dask":
        return DaskExecutor(address or os.environ.get("TLKIT_DASK_ADDRESS") or None, workers)
    raise ValueError(f"unknown executor {kind!r}; valid: {', '.join(EXECUTORS)}")


_SHARED: dict[str, Any] = {}


def _context() -> tuple:
    """What a worker inherits when it starts and keeps: the environment and the folder."""
    return (os.getcwd(), tuple(sorted(os.environ.items())))


def shared_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """This process's pool of ``workers`` one-thread processes (default: the CPU count), the
    one the last sweep used when it is still whole and was started with the same workers,
    environment and working folder; else a new one (the old one is shut down)."""
    n = workers or os.cpu_count() or 1
    pool = _SHARED.get("pool")
    if pool is not None and (getattr(pool, "_broken", False) or _SHARED.get("key") !=
                             (n, _context())):
        discard(pool)
        pool = None
    if pool is None:
        pool = make_executor("process", n)
        _SHARED.update(pool=pool, key=(n, _context()))
    return pool


def discard(pool: Any) -> None:
    """Shut ``pool`` down without waiting and forget it if it is the shared one."""
    if _SHARED.get("pool") is pool:
        _SHARED.clear()
    if hasattr(pool, "shutdown"):
        pool.shutdown(wait=False, cancel_futures=True)


class _Pool(ProcessPoolExecutor):
    """A process pool whose workers start with Ctrl-C ignored: the parent ignores ``SIGINT``
    for the moment it spawns one, and the disposition carries over to the new interpreter, so
    a Ctrl-C while a worker is still importing does not print that worker's traceback."""

    def _spawn_process(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            super()._spawn_process()  # type: ignore[misc]
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super()._spawn_process()  # type: ignore[misc]
        finally:
            signal.signal(signal.SIGINT, previous)


def stop_now(executor: Any) -> None:
    """Stop ``executor`` without waiting for its running calls (after Ctrl-C): the workers of
    a process pool are terminated (their calls fail as a broken pool; nobody waits for them)."""
    if isinstance(executor, ProcessPoolExecutor):
        terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
        if terminate is not None:
            terminate()
            return
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
        executor.shutdown(wait=False)
    elif hasattr(executor, "shutdown"):  # Dask: its workers are its cluster's to end
        executor.shutdown(wait=False)
