"""One full-profile notebook on CUDA: wall time, and how busy the GPU was meanwhile.

    python benchmarks/bench_gpu.py [--notebook 00_quickstart] [--json out.json]

Executes the notebook with ``profile=full`` and ``device=cuda`` into a temporary folder, with
an empty run cache of its own, while a thread samples the GPU's utilisation every half second
(``torch.cuda.utilization``, which needs the ``nvidia-ml-py`` package). The busy fraction is the
mean of those samples: data loading that starves the GPU shows as a low fraction. The notebook's
real datasets must be on disk or downloadable (``TLKIT_DATA``). Without a CUDA device the script
says so and measures nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="00_quickstart")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here: nothing measured (run this on a machine with a GPU)")
        return 0
    from tlkit.notebooks import execute, find_notebook

    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            try:
                samples.append(float(torch.cuda.utilization()))
            except Exception:  # noqa: BLE001 - no NVML: the wall time is still measured
                return

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TLKIT_RESULTS"] = str(Path(tmp) / "results")
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        start = time.perf_counter()
        execute(find_notebook(args.notebook, ROOT), Path(tmp) / "out.ipynb",
                {"profile": "full", "device": "cuda"}, cwd=ROOT, sweep_progress=sys.stderr)
        wall = time.perf_counter() - start
        stop.set()
        watcher.join()
    busy = sum(samples) / len(samples) / 100 if samples else None
    out = {"notebook": args.notebook, "gpu": torch.cuda.get_device_name(0), "wall_s": wall,
           "busy_fraction": busy, "samples": len(samples)}
    print(f"{args.notebook} (full profile) on {out['gpu']}: {wall:.0f} s, GPU busy "
          + ("unknown (no NVML)" if busy is None else f"{busy:.0%} of {len(samples)} samples"))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
