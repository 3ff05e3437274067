"""Where one run's time goes, for the kinds of run the quick book trains most.

    python benchmarks/bench_profile.py [--repeats 3] [--json out.json]

Each kind is one real spec of the quick profiles (layer transfer: cnn8 width 8 at 8 px,
fine-tuned, frozen and from scratch; the pretrained chapter: EfficientNet-Lite0 at 32 px,
fine-tuned). Its source is trained first into a temporary results folder; then the run is
executed ``--repeats`` times in this process (the dataset cache warm, as in a worker that has
already trained one run) with timers around each stage:

* data: loading and splitting the train, validation and test tensors (``runner.load_data``);
* build: constructing the network and copying the source's layers (``runner.initial_model``);
* prefix: the frozen prefix's features, once per run (``train.prefix_features``);
* forward, backward, step: the training steps (the network's forward pass, ``backward``, the
  optimiser's step);
* loop: the rest of the training loop (batch indexing, loss, schedule, bookkeeping);
* validation, test: the evaluations after each epoch and at the end (``train.evaluate``);
* record: provenance of the record (``runner.provenance``);
* other: the rest of ``runner.train`` (checks, batch-norm recomputation, state copy).

Outside the run: storing its record (``Store.put``), pickling what a pool worker sends back,
and starting a pool worker (a fresh interpreter importing torch and tlkit).

The cnn8 runs are profiled as ``tlkit.train.fit`` trains them alone (``TLKIT_BATCH=0`` unless
set otherwise): the batched engine's stages are one computation for many runs, measured by
``bench_levers.py`` and ``bench_runs.py`` instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import torch

from tlkit import runner, train
from tlkit.experiments import known_specs
from tlkit.models import LayeredModel
from tlkit.store import Store

STAGES = ("data", "build", "prefix", "forward", "backward", "step", "loop", "validation",
          "test", "record", "other")


class Timers:
    """Exclusive wall time per stage: a stage started inside another is not also counted in
    the outer one, except the network's forward pass inside an evaluation or a prefix, which
    stays theirs."""

    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.stack: list[list] = []

    def wrap(self, stage: str, fn, inside_ok: bool = True):
        def wrapped(*args, **kwargs):
            if not inside_ok and self.stack and self.stack[-1][0] in (
                    "validation", "test", "prefix", "data", "build", "other"):
                return fn(*args, **kwargs)
            name = stage
            now = time.perf_counter()
            if self.stack:
                outer = self.stack[-1]
                self.total[outer[0]] += now - outer[1]
            self.stack.append([name, now])
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                inner = self.stack.pop()
                self.total[inner[0]] += end - inner[1]
                if self.stack:
                    self.stack[-1][1] = end
        return wrapped


@contextlib.contextmanager
def instrumented(timers: Timers, test_calls: list[int]):
    """Timers around each stage; ``test_calls[0]`` is the test set's size."""
    patches = []

    def patch(obj, name, new):
        patches.append((obj, name, getattr(obj, name)))
        setattr(obj, name, new)

    orig_eval = train.evaluate

    def evaluate(model, x, y, start=0, batch_size=1024):
        # the last evaluation of fit is the test set's (x is the test features)
        stage = "test" if len(x) == test_calls[0] else "validation"
        return timers.wrap(stage, orig_eval)(model, x, y, start, batch_size)

    patch(runner, "load_data", timers.wrap("data", runner.load_data))
    patch(runner, "initial_model", timers.wrap("build", runner.initial_model))
    patch(runner, "provenance", timers.wrap("record", runner.provenance))
    patch(train, "prefix_features", timers.wrap("prefix", train.prefix_features))
    patch(train, "evaluate", evaluate)
    patch(LayeredModel, "forward", timers.wrap("forward", LayeredModel.forward, inside_ok=False))
    patch(torch.Tensor, "backward", timers.wrap("backward", torch.Tensor.backward))
    patch(torch.optim.SGD, "step", timers.wrap("step", torch.optim.SGD.step))
    orig_fit = runner.fit
    patch(runner, "fit", timers.wrap("loop", orig_fit))
    try:
        yield
    finally:
        for obj, name, old in reversed(patches):
            setattr(obj, name, old)


def kinds() -> dict[str, object]:
    """One spec of each kind, from the quick profiles."""
    out: dict[str, object] = {}
    for spec in known_specs("01_layer_transfer", {"profile": "quick"}):
        t = spec.transfer
        if spec.data.n_per_class != 50:
            continue
        if t.source is not None and t.frozen == 0 and t.layers == 4:
            out.setdefault("cnn8 8 px, fine-tuned", spec)
        elif t.source is not None and t.frozen == 4:
            out.setdefault("cnn8 8 px, frozen", spec)
        elif t.source is None and t.layers == 0:
            out.setdefault("cnn8 8 px, scratch", spec)
    for spec in known_specs("03_pretrained", {"profile": "quick"}):
        if (spec.model.arch == "efficientnet_lite0" and spec.transfer.frozen == 0
                and spec.data.n_per_class == 10 and spec.train.epochs > 1):
            out.setdefault("EfficientNet-Lite0 32 px, fine-tuned", spec)
    return out


def _start_worker() -> float:
    import tlkit.runner  # noqa: F401 - what a worker imports before its first run

    return time.perf_counter()


def worker_start_seconds() -> float:
    """Seconds from asking a spawned pool for its first call to that call's answer."""
    import multiprocessing

    t0 = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_start_worker).result()
    return time.perf_counter() - t0


def profile(spec, source_state, store: Store, repeats: int) -> dict[str, float]:
    runs = []
    for i in range(repeats + 1):  # the first warms the dataset cache, as a worker's first run
        timers, calls = Timers(), [len(runner.load_data(spec, "test"))]
        t0 = time.perf_counter()
        with instrumented(timers, calls):
            trained = timers.wrap("other", runner.train)(spec, source=source_state, device="cpu")
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        out = {"key": spec.key(), "record": trained.record.to_dict()}
        blob = pickle.dumps(out)
        pickle.loads(blob)
        t2 = time.perf_counter()
        store.put(trained.record)
        t3 = time.perf_counter()
        if i:
            runs.append({**timers.total, "wall": wall, "pickle": t2 - t1, "store": t3 - t2,
                         "epochs": spec.train.epochs,
                         "steps": len(trained.record.history["train_loss"])})
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("TLKIT_BATCH", "0")
    torch.set_num_threads(runner.cpu_threads())
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        chosen = kinds()
        states: dict[str, dict] = {}
        for name, spec in chosen.items():
            src = spec.transfer.source
            if src is not None and src.key() not in states:
                states[src.key()] = runner.train(src, device="cpu").state
            state = None if src is None else states[src.key()]
            results[name] = profile(spec, state, store, args.repeats)
    start = worker_start_seconds()

    head = ["stage", *results]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for stage in (*STAGES, "wall", "pickle", "store"):
        cells = []
        for r in results.values():
            share = 100 * r.get(stage, 0.0) / r["wall"]
            cells.append(f"{r.get(stage, 0.0):.3f} s ({share:.0f}%)" if stage != "wall"
                         else f"**{r['wall']:.3f} s**")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print(f"\nworker start-up (spawn, import torch and tlkit): {start:.2f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "kinds": results, "worker_start_seconds": start}, fh, indent=2)


if __name__ == "__main__":
    main()
