"""The same sweep on each executor: wall time from an empty cache, and identical records.

    python benchmarks/bench_executors.py [--json out.json]

The sweep is the quickstart's ``quick`` grid (a source network and 30 target runs). Every
executor starts from an empty run cache; the figures include starting the worker processes.
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
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
