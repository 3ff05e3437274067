"""The same sweep on each executor: wall time from an empty cache, and identical records.

    python benchmarks/bench_executors.py [--json out.json]

The sweep is the quickstart's ``quick`` grid (a source network and 30 target runs). Every
executor starts from an empty run cache; the figures include starting the worker processes.

``--stages N`` then measures a notebook's pattern: the same runs as N sweeps one after the other
(the source first, then the target runs in N - 1 parts), each from where the last left the
cache, on the process pool that sweeps share (``executor="process"``) and on a new pool per
sweep (what every sweep did before: two interpreters that import torch each time), back to
back, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tlkit import sweep
from tlkit.experiments import quickstart
from tlkit.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executors", nargs="+", default=["serial", "process", "dask"])
    parser.add_argument("--stages", type=int, default=0, help="also time N sweeps in a row")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    specs = quickstart.specs({"profile": "quick"})
    out: dict = {"runs": len(specs) + 1}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.executors:
            start = time.perf_counter()
            records = sweep.run(specs, store=Store(Path(tmp) / kind), executor=kind,
                                progress=False)
            wall = time.perf_counter() - start
            metrics = [r.metrics for r in records]
            same = reference is None or metrics == reference
            reference = reference or metrics
            out[kind] = {"wall_s": wall, "identical_records": same}
            print(f"{kind:8s} {wall:7.1f} s  records identical to the first: {same}")
    for kind in args.executors[1:]:
        out[kind]["speedup"] = out[args.executors[0]]["wall_s"] / out[kind]["wall_s"]
        print(f"{kind} speedup over {args.executors[0]}: {out[kind]['speedup']:.2f}x")
    if args.stages:
        out["stages"] = stages(specs, args.stages, args.repeats)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


def stages(specs: list, n: int, repeats: int) -> dict:
    """Seconds for ``specs`` as ``n`` sweeps in a row, on the shared pool and on a new pool
    per sweep (module docstring)."""
    from tlkit.executors import discard, make_executor, shared_pool

    source = [s.transfer.source for s in specs if s.transfer.source is not None][:1]
    parts = [source] + [specs[i::n - 1] for i in range(n - 1)]
    times: dict[str, list[float]] = {"shared pool": [], "new pool per sweep": []}
    for _ in range(repeats):
        for label in times:
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(Path(tmp))
                discard(shared_pool())  # both start with no worker running
                start = time.perf_counter()
                for part in parts:
                    if label == "shared pool":
                        sweep.run(part, store=store, executor="process", progress=False)
                    else:
                        pool = make_executor("process")
                        sweep.run(part, store=store, executor=pool, progress=False)
                        pool.shutdown()
                times[label].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    for k, v in best.items():
        print(f"{n} sweeps in a row, {k:18s} {v:6.1f} s (best of {repeats})")
    print(f"saved per sweep: {(best['new pool per sweep'] - best['shared pool']) / n:.1f} s")
    return {"sweeps": n, "seconds": best, "all": times}


if __name__ == "__main__":
    main()
