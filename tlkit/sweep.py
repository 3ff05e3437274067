"""Cached, resumable sweeps: run every missing spec once, on any executor.

``sweep.run(specs)`` checks all specs first (cheap: bad input fails before any training), looks
each one up in the :class:`~tlkit.store.Store` by its key and submits only the missing runs to
an executor with the ``concurrent.futures`` interface (``submit(fn, *args) -> Future``): the
in-process :class:`~tlkit.executors.SerialExecutor` by default; a process pool or a Dask
``Client`` work the same way. A run is submitted as soon as its source run is stored, so
every target finds its source's checkpoint; among the runs ready, sources go first and then
the longest runs (:mod:`tlkit.schedule`), so that workers do not wait for one source while
other work is ready. On the CPU, ready runs of one :func:`tlkit.batched.signature` (cnn8 runs of one
shape) go to a worker together, at most :data:`tlkit.batched.K_MAX` of them and shared out
among the workers, and train as one grouped network (:func:`execute_many`); a run's record is
the same whichever runs it trained with. A kill loses only the batches in progress.

The sweep is the one writer of the run cache: a worker (:func:`execute_one`) reads the
checkpoint of its run's source, trains, and returns the record (and, for a run that serves as a
source, its weights); the sweep writes the checkpoint, then the record, atomically, as each
run arrives. A sweep that is interrupted (even with ``kill -9``) resumes where it stopped and
loses nothing finished.

**Two sweeps on one results folder** (two terminals, a notebook beside ``make book``) never
compute a run twice: a sweep holds the lock of a run's key (``locks/<key>.lock``, an OS file
lock from the ``filelock`` package, released by the system if its process dies) from the moment
it submits the run until its record is written. A run whose lock another process holds is set
aside while the sweep does its other work; then the sweep waits for that lock and takes the
other process's record (or, if that process failed or was killed, runs it itself). At most
:data:`WINDOW` runs are in flight at a time, so that a sweep holds at most that many locks.

**Order.** Runs start as their sources are stored (:class:`~tlkit.schedule.ReadyQueue`). A sweep
keeps one batch of runs per worker in flight and one more waiting; the rest wait in the queue,
so that on the CPU the small cnn8 runs released while the workers are busy train together
(:mod:`tlkit.batched`) in larger batches.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from filelock import FileLock, Timeout

from . import batched, preflight
from .batched import K_MAX
from .executors import SerialExecutor, discard, make_executor, shared_pool, stop_now
from .prechecks import check_threads
from .progress import LARGE_SWEEP, SweepProgress, bar_enabled
from .record import Record
from .runner import validate
from .schedule import ReadyQueue, workers_of
from .space import DiskFullError, is_disk_full
from .spec import RunSpec, compute_for
from .store import Store
from .sweep_end import GUARD_HINT, SweepError, bootstrapping, disk_full
from .train import resolve_device
from .worker import execute_many, execute_one

__all__ = ["run", "plan", "cached_records", "compute_of", "on_compute", "placed", "SweepError",
           "execute_one", "execute_many", "run_lock", "WINDOW"]

#: The most runs a sweep has submitted and not yet stored (and so the most locks it holds).
WINDOW = 128


def run_lock(store: Store, key: str) -> FileLock:
    """The lock of run ``key`` in ``store``: held while the run is computed and stored."""
    path = store.root / "locks" / key[:2] / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


def _forced() -> str | None:
    forced = os.environ.get("TLKIT_COMPUTE", "").strip()
    if not forced:
        return None
    from .spec import COMPUTES

    if forced not in COMPUTES:
        raise ValueError(f"TLKIT_COMPUTE must be one of {', '.join(COMPUTES)}, got {forced!r}")
    return forced


def compute_of(device: str = "auto", precision: str = "fp32") -> str:
    """Where a sweep on ``device`` computes a run made in ``precision`` on the CPU
    (``cpu-fp32``, ``cpu-bf16``, ``cuda-bf16``; part of every key).

    ``$TLKIT_COMPUTE`` overrides it: a machine without a GPU builds the book from results
    computed on one (``TLKIT_COMPUTE=cuda-bf16`` after ``tlkit results import``), and a run
    missing from them is an error instead of a run computed elsewhere.
    """
    return _forced() or compute_for(resolve_device(device).type, precision)


def on_compute(specs: Iterable[RunSpec], compute: str) -> list[RunSpec]:
    """``specs`` (and their sources) made to compute on ``compute``."""
    return [s if s.compute == compute else s.on(compute) for s in specs]


def placed(specs: Iterable[RunSpec], device: str = "auto") -> list[RunSpec]:
    """``specs`` (and their sources) made to compute where ``device`` resolves: on the CPU a
    spec made for the CPU keeps its precision (``cpu-fp32``, ``cpu-bf16``) and any other
    computes in float32; on CUDA every run computes with bfloat16 autocast; ``$TLKIT_COMPUTE``
    overrides both (:func:`compute_of`)."""
    forced = _forced()
    if forced is not None:
        return on_compute(specs, forced)
    kind = resolve_device(device).type
    out = []
    for s in specs:
        mine = s.compute.split("-")[1] if s.compute.startswith("cpu-") else "fp32"
        compute = compute_for(kind, mine if kind == "cpu" else "fp32")
        out.append(s if s.compute == compute else s.on(compute))
    return out


def _unique(specs: Iterable[RunSpec]) -> dict[str, RunSpec]:
    out: dict[str, RunSpec] = {}
    for s in specs:
        out.setdefault(s.key(), s)
    return out


def plan(specs: Sequence[RunSpec], store: Store, keep: bool = False
         ) -> list[list[tuple[RunSpec, bool]]]:
    """The missing runs, grouped in levels (sources first), each with its checkpoint flag
    (a source's, or with ``keep`` every run's: a run another computation reads the network of).

    A run noted as diverged (:meth:`~tlkit.store.Store.diverged`) is not missing: training it
    again would diverge again. :func:`run` reports it as failed without training it."""
    sources = _unique(src for s in specs for src in s.sources())
    everything = _unique([*sources.values(), *specs])
    levels: dict[int, list[tuple[RunSpec, bool]]] = {}
    for key, spec in everything.items():
        needs_ckpt = key in sources or keep
        done = store.has(spec) and (not needs_ckpt or store.has_checkpoint(spec))
        if not done and store.diverged(spec) is None:
            levels.setdefault(len(spec.sources()), []).append((spec, needs_ckpt))
    return [levels[k] for k in sorted(levels)]


def cached_records(specs: Sequence[RunSpec], store: Store) -> list[Record]:
    """The records of ``specs`` in the run cache, in order (each with its spec's tags), those
    not there left out: what a sweep of them returns."""
    return [r for r in map(store.get, specs) if r is not None]


def run(
    specs: Sequence[RunSpec],
    *,
    store: Store | None = None,
    executor: Any | None = None,
    device: str = "auto",
    progress: bool | None = None,
    keep: bool = False,
) -> list[Record]:
    """Records for ``specs`` (in order, with each spec's tags), executing only missing runs;
    with ``keep``, each run's checkpoint is stored too (a source's always is).

    ``executor`` is an object with ``submit`` (e.g. a process pool or a Dask client's
    executor) or a name for :func:`tlkit.executors.make_executor` (``"serial"``,
    ``"process"``); a named executor is shut down when the sweep ends.

    Every spec (and its sources) is made to compute where ``device`` resolves, in its own
    precision on the CPU, or as ``$TLKIT_COMPUTE`` says (:func:`placed`): ``compute`` is part
    of a run's key, so records made on a GPU in bfloat16 and on the CPU in float32 or bfloat16
    never stand in for each other.

    Raises:
        ValueError: a spec is invalid (raised before anything runs).
        tlkit.preflight.PreflightError: the results folder, a dataset or pretrained weights
            the missing runs need are not usable; every such problem is listed (raised before
            anything trains).
        SweepError: some runs raised; every other run finished and was stored.
        KeyboardInterrupt: Ctrl-C; the finished runs are stored and the workers of a
            process pool the sweep started are ended.
    """
    if bootstrapping():  # a worker importing a script that has no main guard: the sweep
        raise SystemExit(1)  # that started it says what to do, once
    if len(specs) >= LARGE_SWEEP:
        print(f"tlkit: planning a sweep of {len(specs):,} runs (checking each one's spec and "
              "looking it up in the run cache) ...", file=sys.stderr, flush=True)
    specs = placed(specs, device)
    for spec in _unique(specs).values():
        validate(spec)
    store = store if store is not None else Store()
    levels = plan(specs, store, keep)
    here = resolve_device(device).type
    elsewhere = [s for level in levels for s, _ in level if s.compute.split("-")[0] != here]
    if elsewhere:
        raise preflight.PreflightError([
            f"{len(elsewhere)} run(s) computed as {elsewhere[0].compute} (TLKIT_COMPUTE) are "
            f"not in the run cache {store.root}, and this machine computes on {here}: import "
            "the results that hold them (tlkit results import), or unset TLKIT_COMPUTE to "
            "compute them here"])
    if levels:  # the threads, the folder, the datasets and the weights, before any training
        check_threads()
        preflight.check([spec for level in levels for spec, _ in level], store,
                        [spec for level in levels for spec, ckpt in level if ckpt])
    if not levels:
        executor = SerialExecutor()  # everything is cached: start no workers
    with contextlib.ExitStack() as stack:
        owned = executor is None or isinstance(executor, str)
        shared = executor == "process"  # kept for the next sweep (executors.shared_pool)
        if shared:
            executor = shared_pool()
        elif owned:
            executor = make_executor(executor or "serial")
            if hasattr(executor, "shutdown"):
                stack.callback(executor.shutdown)
        try:
            return _execute(specs, levels, store, executor, device, progress)
        except (KeyboardInterrupt, DiskFullError):
            if owned:  # workers ignore Ctrl-C: end them rather than wait for their runs
                stop_now(executor)
                if shared:
                    discard(executor)
            raise


def _execute(specs: list[RunSpec], levels: list[list[tuple[RunSpec, bool]]], store: Store,
             executor: Any, device: str, progress: bool | None) -> list[Record]:
    """Submit the planned runs, each once its source is stored
    (:class:`~tlkit.schedule.ReadyQueue`), and store each result as it arrives."""
    total = sum(len(level) for level in levels)
    needed = _unique([*specs, *(src for s in specs for src in s.sources())])
    bar = SweepProgress(len(needed), total, progress if progress is not None else bar_enabled(),
                        compute=specs[0].compute if specs else None, keys=list(needed),
                        workers=workers_of(executor))
    failures: dict[str, str] = {}
    for key, spec in needed.items():  # diverged before: failed again, without training
        if not store.has(spec):
            error = store.diverged(spec)
            if error is not None:
                failures[key] = error
    broken: list[str] = []  # runs lost with a broken process pool (no failure note)
    full: list[OSError] = []  # the disk of the results folder filled up
    unstored: list[tuple[RunSpec, bool]] = []  # runs finished, or not run, for want of room
    elsewhere: deque[tuple[RunSpec, bool]] = deque()  # locked by another process

    def finish(future: Future, batch: list[tuple[RunSpec, FileLock]]) -> None:
        try:
            outs = future.result()
        except BrokenProcessPool:
            error = traceback.format_exc()
            outs = [{"key": spec.key(), "error": error, "broken": True} for spec, _ in batch]
        except Exception:  # noqa: BLE001 - a lost worker is a failed run
            error = traceback.format_exc()
            outs = [{"key": spec.key(), "error": error} for spec, _ in batch]
        for (spec, lock), out in zip(batch, outs, strict=True):
            saved = "record" in out
            try:
                if "broken" in out:
                    failures[spec.key()] = out["error"]
                    broken.append(spec.key())
                elif full:
                    unstored.append((spec, "state" in out))
                    saved = False
                elif "record" in out:
                    if "state" in out:  # a source: its checkpoint first, so a record implies it
                        store.save_checkpoint(spec, out["state"])
                    store.put(Record.from_dict(out["record"]))
                else:
                    failures[spec.key()] = out["error"]
                    store.put_failure(spec, out["error"], diverged=out.get("diverged", False))
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                full.append(exc)  # stop submitting; what is stored stays stored
                unstored.append((spec, "state" in out))
                saved = False
            finally:
                lock.release()
            seconds = (out["record"]["provenance"].get("wall_seconds", 0.0)
                       if saved else 0.0)
            bar.advance(spec.key(), "trained" if saved else "failed", seconds)

    def stored(spec: RunSpec, ckpt: bool) -> bool:
        return store.has(spec) and (not ckpt or store.has_checkpoint(spec))

    pending: dict[Future, list[tuple[RunSpec, FileLock]]] = {}
    queue = ReadyQueue([run for level in levels for run in level])
    batching = resolve_device(device).type == "cpu" and batched.enabled()
    workers = workers_of(executor) or 1
    # A batch per worker and one more waiting (where the executor says how many workers it
    # has): the runs released meanwhile wait in the queue, where they join the runs of their
    # signature and the queue's order (sources first, the longest next) still applies to
    # them, instead of leaving in small batches the moment they can start.
    ahead = workers + 1 if workers_of(executor) is not None else None

    def claim(spec: RunSpec, ckpt: bool) -> FileLock | None:
        """The run's lock, or ``None`` when it is not to be submitted (handled here)."""
        failed_src = [src.key() for src in spec.sources() if src.key() in failures]
        if failed_src:
            failures[spec.key()] = f"not run: its source run {failed_src[0]} failed"
            bar.advance(spec.key(), "failed")
            queue.finished(spec.key())
            return None
        lock = run_lock(store, spec.key())
        try:
            lock.acquire(timeout=0)
        except Timeout:
            elsewhere.append((spec, ckpt))
            return None
        if stored(spec, ckpt):  # another process stored it since the plan
            lock.release()
            bar.advance(spec.key(), "stored")
            queue.finished(spec.key())
            return None
        return lock

    def collect(future: Future) -> None:
        batch = pending[future]
        finish(future, batch)  # removed after finish: if Ctrl-C cuts finish short, the
        del pending[future]  # locks are still listed
        for spec, _ in batch:
            queue.finished(spec.key())

    try:
        while (queue or pending or elsewhere) and not full:
            while (queue.ready and not full and sum(map(len, pending.values())) < WINDOW
                   and (ahead is None or len(pending) < ahead)):
                spec, ckpt, sig = queue.pop()
                runs = [(spec, ckpt)]
                if batching and sig is not None:  # runs like it, shared among the free workers
                    like = queue.count_like(sig) + 1
                    size = min(K_MAX, -(-like // max(1, workers - len(pending))))
                    runs += queue.take_like(sig, size - 1)
                batch, ckpts = [], []
                for spec, ckpt in runs:
                    lock = claim(spec, ckpt)
                    if lock is not None:
                        batch.append((spec, lock))
                        ckpts.append(ckpt)
                if not batch:
                    continue
                try:
                    future = executor.submit(execute_many, [x.to_dict() for x, _ in batch],
                                             str(store.root), device, ckpts)
                except BrokenProcessPool:
                    for spec, lock in batch:
                        lock.release()
                        failures[spec.key()] = traceback.format_exc()
                        broken.append(spec.key())
                        bar.advance(spec.key(), "failed")
                        queue.finished(spec.key())
                    continue
                pending[future] = batch
                if future.done():  # run at submit (serial): stored before the next trains
                    collect(future)
            if full:  # the disk filled up: submit nothing more
                break
            if pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future)
            elif elsewhere:  # nothing of ours is running: wait for the other process's run
                spec, ckpt = elsewhere.popleft()
                with run_lock(store, spec.key()):
                    pass
                if stored(spec, ckpt):
                    bar.advance(spec.key(), "stored")
                    queue.finished(spec.key())
                else:  # that process failed or was killed: run it here
                    queue.push(spec, ckpt)
            elif queue:  # pragma: no cover - every waiting run's source is planned
                raise RuntimeError("sweep: runs wait for sources that are not planned")
    except KeyboardInterrupt:
        for batch in pending.values():  # give the unfinished runs back
            for _, lock in batch:
                lock.release()
        bar.close()
        print(f"tlkit: sweep interrupted after {bar.done} of {total} runs; the finished runs "
              "are stored, run it again to resume", file=sys.stderr)
        if os.environ.get("TLKIT_BATCH_KERNEL") == "1":
            # a kernel of `tlkit notebook`/`tlkit book`, shut down next: its event loop's
            # pending tasks would each be logged, on the terminal, as destroyed
            import logging

            logging.getLogger("asyncio").disabled = True
        raise
    if full:
        disk_full(full[0], store, bar, pending, queue, unstored, elsewhere,
                  [spec for level in levels for spec, _ in level])
    bar.close()
    records = cached_records(specs, store)
    if broken:
        lost = sum(not store.has(spec) for level in levels for spec, _ in level)
        raise SweepError(failures, records, f"{lost} of {total} runs not run: {GUARD_HINT}")
    if failures:
        raise SweepError(failures, records)
    return records
