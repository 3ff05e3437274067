"""How a sweep ends when it cannot finish: the runs that raised (:class:`SweepError`), worker
processes that died (:data:`GUARD_HINT`, said once, by the sweep that started them), and a
results folder whose disk filled up (:func:`disk_full`)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING

from .record import Record
from .space import DiskFullError, bytes_needed, megabytes
from .spec import RunSpec
from .store import Store

if TYPE_CHECKING:
    from filelock import FileLock

    from .progress import SweepProgress
    from .schedule import ReadyQueue

__all__ = ["SweepError", "GUARD_HINT", "bootstrapping", "disk_full"]


class SweepError(RuntimeError):
    """Some runs raised; ``records`` holds the finished ones, ``failures`` key -> traceback."""

    def __init__(self, failures: dict[str, str], records: list[Record],
                 message: str | None = None) -> None:
        self.failures, self.records = failures, records
        if message is None:
            first = next(iter(failures.values())).strip().splitlines()[-1]
            message = (f"runs failed: {len(failures)} (the finished runs are saved); "
                       f"first error: {first}")
        super().__init__(message)


#: What to do when the worker processes die: usually a script without a main guard.
GUARD_HINT = ("a worker process died (killed, out of memory, or started by a script without "
              "a main guard); in a script, call tlkit.sweep.run(..., executor=\"process\") "
              "under `if __name__ == \"__main__\":`, since each worker re-imports the "
              "script")


def bootstrapping() -> bool:
    """Whether this process is a spawned worker still importing its parent's main script (the
    state in which :mod:`multiprocessing` refuses to start processes)."""
    import multiprocessing.process

    return bool(getattr(multiprocessing.process.current_process(), "_inheriting", False))


def disk_full(exc: OSError, store: Store, bar: SweepProgress,
               pending: dict[Future, list[tuple[RunSpec, FileLock]]], queue: ReadyQueue,
               unstored: list[tuple[RunSpec, bool]],
               elsewhere: deque[tuple[RunSpec, bool]], planned: list[RunSpec]) -> None:
    """End a sweep whose results folder filled up: give back the runs in flight and raise
    :class:`~tlkit.space.DiskFullError` with the space the runs not stored need."""
    left = list(unstored) + list(elsewhere)
    for future, batch in pending.items():
        future.cancel()
        for spec, lock in batch:
            lock.release()
            left.append((spec, False))
    left += queue.drain()
    bar.close()
    need = bytes_needed([s for s, _ in left], [s for s, ckpt in left if ckpt])
    kept = sum(store.has(spec) for spec in planned)
    error = DiskFullError(
        f"the results folder {store.root} is full ({exc.strerror or exc}): {len(left):,} runs "
        f"are not stored and need about {megabytes(need * 1.1)} more; the {kept:,} runs "
        "stored are kept. Free space on that disk, or set TLKIT_RESULTS to a folder on a disk "
        "with room, and run it again")
    error.errno = exc.errno
    raise error
