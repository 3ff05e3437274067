"""The order in which a sweep hands its runs to the workers.

A run can start once its source run is stored (its checkpoint is what it copies). Among the
runs that can start, sources go first, those with the most runs waiting on them first, then
the longest runs by a rough count of their work (:func:`cost`), so that a worker does not wait
for one source while there is other work, and the longest runs do not start last, when they
would keep one worker busy while the other idles. Nothing here changes what a run computes:
only when it starts.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

from .batched import signature
from .executors import SerialExecutor
from .spec import RunSpec

__all__ = ["ReadyQueue", "cost", "workers_of"]


def workers_of(executor: Any) -> int | None:
    """How many runs ``executor`` trains at once (``None`` when it cannot say)."""
    if isinstance(executor, SerialExecutor):
        return 1
    count = getattr(executor, "_max_workers", None)  # a process pool
    if isinstance(count, int):
        return count
    client = getattr(executor, "client", None)  # tlkit's Dask executor
    try:
        return sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    except Exception:  # noqa: BLE001 - only a statistic
        return None


def cost(spec: RunSpec) -> float:
    """A rough count of a run's work, to start the longest runs first: the images it trains
    on times its epochs, the pixels of an image and the network's width (squared, as the
    channels of its convolutions are), less the share of the layers it keeps frozen.
    EfficientNet-Lite0 counts as a network of width 64. Only the order of runs depends on it,
    never a result."""
    d, m, t = spec.data, spec.model, spec.transfer
    classes = len(d.classes) if d.classes is not None else 10
    images = classes * (d.n_per_class if d.n_per_class is not None else 500)
    width = m.width if m.arch == "cnn8" else 64
    trained_share = 1.0 - 0.5 * t.frozen / 8
    return images * spec.train.epochs * m.size ** 2 * width ** 2 * trained_share


class ReadyQueue:
    """The planned runs, released to the executor as soon as their source is stored.

    A run whose source run is itself planned waits for that run to finish (:meth:`finished`,
    whether it succeeded or failed: a failed source fails its runs when they are popped).
    Among the ready runs, sources come first, the ones with the most runs waiting on them
    first, then the longest runs by :func:`cost`, so that no worker waits for a source while
    there is other work and the longest runs do not start last."""

    def __init__(self, runs: Sequence[tuple[RunSpec, bool]]) -> None:
        planned = {spec.key() for spec, _ in runs}
        self._waiting: dict[str, list[tuple[RunSpec, bool]]] = {}
        self._dependents: dict[str, int] = {}
        for spec, _ in runs:
            for src in spec.sources():
                self._dependents[src.key()] = self._dependents.get(src.key(), 0) + 1
        #: (order, batch signature, spec, checkpoint flag), a heap by order
        self.ready: list[tuple[tuple[float, float, int], tuple | None, RunSpec, bool]] = []
        self._count = 0
        for spec, ckpt in runs:
            src = spec.transfer.source
            if src is not None and src.key() in planned:
                self._waiting.setdefault(src.key(), []).append((spec, ckpt))
            else:
                self.push(spec, ckpt)

    def push(self, spec: RunSpec, ckpt: bool) -> None:
        self._count += 1
        order = (-self._dependents.get(spec.key(), 0), -cost(spec), self._count)
        heapq.heappush(self.ready, (order, signature(spec), spec, ckpt))

    def pop(self) -> tuple[RunSpec, bool, tuple | None]:
        """The next run, its checkpoint flag and its :func:`tlkit.batched.signature`."""
        _, sig, spec, ckpt = heapq.heappop(self.ready)
        return spec, ckpt, sig

    def take_like(self, sig: tuple, most: int) -> list[tuple[RunSpec, bool]]:
        """Up to ``most`` ready runs of signature ``sig``, in the queue's order, taken out of
        it."""
        if most <= 0:
            return []
        matching = sorted((e for e in self.ready if e[1] == sig), key=lambda e: e[0])[:most]
        if matching:
            taken = {id(e) for e in matching}
            self.ready = [e for e in self.ready if id(e) not in taken]
            heapq.heapify(self.ready)
        return [(spec, ckpt) for _, _, spec, ckpt in matching]

    def count_like(self, sig: tuple) -> int:
        return sum(e[1] == sig for e in self.ready)

    def finished(self, key: str) -> None:
        """Run ``key`` is stored or has failed: release the runs that copy it."""
        for spec, ckpt in self._waiting.pop(key, []):
            self.push(spec, ckpt)

    def drain(self) -> list[tuple[RunSpec, bool]]:
        """Every run not yet popped, ready or waiting, taken out of the queue."""
        left = [(spec, ckpt) for _, _, spec, ckpt in self.ready]
        left += [run for runs in self._waiting.values() for run in runs]
        self.ready, self._waiting = [], {}
        return left

    def __bool__(self) -> bool:
        return bool(self.ready) or bool(self._waiting)
