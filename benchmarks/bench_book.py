"""Wall time and peak memory of building the book, from a cold and from a warm run cache.

    python benchmarks/bench_book.py [--profile quick] [--json out.json]
    python benchmarks/bench_book.py --warm-only 3 --results R --build-dir B


Runs ``tlkit book --profile P`` twice in a temporary build folder (``--build-dir`` keeps it)
with an empty run cache (``TLKIT_RESULTS``; temporary unless ``--results`` names a folder):
the first build is cold (every run trains), the second warm (every run is a cache hit and the
notebooks only re-plot). Per-notebook times come from the build's own log; peak memory is the
largest total memory of the whole process tree (the build, the notebook kernels and their
worker processes), sampled every second, both as the sum of resident sets (which counts the
pages of the torch libraries every process maps once per process) and as the sum of
proportional set sizes (each shared page divided among the processes that map it: the
physical memory the build holds). Reading the proportional sizes costs the kernel a walk of
every process's page tables: the sampler's own CPU time is reported beside the wall time
(about 20% of a core when it sampled four times a second). After the cold build it also
prints the stored runs' summed wall time by kind of run and, per notebook, the fraction of its
workers' time that went into runs (``busy`` in the executed notebook's metadata). With
``--warm-only N`` it builds N times warm from the run cache ``--results`` that an earlier run
of this benchmark filled (into ``--build-dir``), and reports each build and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
#: Seconds between two samples of the build's memory.
SAMPLE_S = 1.0


def _pss(pid: int) -> int:
    """Proportional set size in bytes: private pages plus an equal share of each shared page
    (the torch libraries every process maps are counted once over all of them, not once each)."""
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_memory(proc: psutil.Process) -> tuple[int, int, list[tuple[int, int, str]]]:
    """The total resident and proportional memory of ``proc`` and its descendants, and each
    one's (rss, pss, name)."""
    each = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            each.append((p.memory_info().rss, _pss(p.pid), _role(p)))
        except (psutil.Error, OSError):
            pass
    return (sum(r for r, _, _ in each), sum(q for _, q, _ in each), sorted(each, reverse=True))


def _role(p: psutil.Process) -> str:
    """A short name for a process of the build: the build, a kernel, a worker, Sphinx."""
    cmd = " ".join(p.cmdline())
    for needle, name in (("ipykernel", "kernel"), ("multiprocessing", "worker"),
                         ("jupyter-book", "jupyter-book"), ("tlkit book", "build")):
        if needle in cmd:
            return name
    return p.name()


def build(profile: str, build_dir: Path, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "tlkit", "book", "--profile", profile, "--root", str(ROOT),
           "--build-dir", str(build_dir)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    peak, peak_pss, at_peak, peak_at, sampler_cpu = 0, 0, [], 0.0, 0.0
    watched = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss, at_peak, peak_at, sampler_cpu
        while not done.is_set():
            try:
                rss, pss, each = tree_memory(watched)
                peak_pss = max(peak_pss, pss)
                if rss > peak:
                    peak, at_peak, peak_at = rss, each, time.perf_counter() - start
            except psutil.Error:
                pass
            sampler_cpu = time.thread_time()
            time.sleep(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    log = proc.communicate()[0]
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(log)
        raise SystemExit(f"the build failed (exit {proc.returncode})")
    notebooks = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"notebooks/(\S+)\.ipynb \(profile \w+\) \.\.\.\s+executed in ([\d.]+) s", log)}
    html = re.search(r"built in ([\d.]+) s", log)
    busy = {}
    for nb in sorted((build_dir / "src" / "notebooks").glob("*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("tlkit", {})
        if "busy" in meta.get("sweeps", {}):
            busy[nb.stem] = meta["sweeps"]["busy"]
        if meta.get("seconds") is not None:  # the notebook's own record of its execution
            notebooks.setdefault(nb.stem, meta["seconds"])
    return {"wall_s": wall, "notebooks_s": notebooks, "busy": busy,
            "html_s": float(html.group(1)) if html else None, "peak_rss_gb": peak / 2**30,
            "peak_pss_gb": peak_pss / 2**30, "peak_at_s": round(peak_at, 1),
            "sampler_cpu_s": round(sampler_cpu, 1),
            "at_peak_gb": [(name, round(rss / 2**30, 2), round(pss / 2**30, 2))
                           for rss, pss, name in at_peak]}


def kind_of(spec: dict) -> str:
    """The kind of a run, as in the table of run-seconds (benchmarks/README.md)."""
    m, t = spec["model"], spec["transfer"]
    name = f"{m['arch']} width {m['width']}, {m['size']} px"
    if m["arch"] != "cnn8":
        return f"{m['arch']}, {m['size']} px"
    if t.get("source") is None:
        return f"{name}, from scratch" if not t.get("layers") else f"{name}, random frozen"
    frozen = t.get("freeze", True) is True or (t.get("freeze") or 0) > 0
    return f"{name}, {'frozen' if frozen else 'fine-tuned'} transfer"


def run_seconds(results: Path) -> dict[str, dict[str, float]]:
    """Count and summed wall seconds of the stored runs, by kind."""
    out: dict[str, dict[str, float]] = {}
    for path in (results / "runs").rglob("*.json"):
        record = json.loads(path.read_text())
        kind = out.setdefault(kind_of(record["spec"]), {"runs": 0, "seconds": 0.0})
        kind["runs"] += 1
        kind["seconds"] += record["provenance"]["wall_seconds"]
    return dict(sorted(out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--build-dir", help="keep the built book here (default: a temporary "
                                            "folder, removed afterwards)")
    parser.add_argument("--results", help="an empty folder for the run cache, kept afterwards "
                                          "(default: a temporary one)")
    parser.add_argument("--warm-only", type=int, metavar="N",
                        help="only N warm builds, from the filled run cache --results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(args.results) if args.results else Path(tmp) / "results"
        filled = results.exists() and any(results.iterdir())
        if args.warm_only and not filled:
            raise SystemExit("--warm-only needs --results: a run cache a cold build filled")
        if filled and not args.warm_only:
            raise SystemExit(f"{results} is not empty: a cold build needs an empty run cache")
        env = dict(os.environ, TLKIT_RESULTS=str(results))
        out = {"profile": args.profile, "cpus": os.cpu_count()}
        build_dir = Path(args.build_dir) if args.build_dir else Path(tmp) / "_build"
        phases = ["warm"] * args.warm_only if args.warm_only else ["cold", "warm"]
        for phase in phases:
            out[phase] = build(args.profile, build_dir, env)
            if args.warm_only:
                out.setdefault("warm_s", []).append(round(out[phase]["wall_s"], 1))
            r = out[phase]
            per = ", ".join(f"{k} {v:.0f} s" for k, v in r["notebooks_s"].items())
            print(f"{phase}: {r['wall_s']:.0f} s in all ({per}; HTML {r['html_s']:.0f} s); "
                  f"peak memory {r['peak_rss_gb']:.2f} GB; workers busy "
                  + ", ".join(f"{k} {v:.0%}" for k, v in r["busy"].items()))
            print(f"  peak proportional memory {r['peak_pss_gb']:.2f} GB; at the resident peak "
                  f"({r['peak_at_s']:.0f} s in), resident/proportional: "
                  + ", ".join(f"{n} {g:.2f}/{q:.2f} GB" for n, g, q in r["at_peak_gb"])
                  + f"; the memory sampler used {r['sampler_cpu_s']:.0f} s of CPU")
            if phase == "cold":
                out["run_seconds"] = run_seconds(results)
                for kind, v in out["run_seconds"].items():
                    print(f"  {kind}: {v['runs']} runs, {v['seconds']:.0f} run-seconds "
                          f"({v['seconds'] / v['runs']:.2f} s each)")
    if args.warm_only:
        walls = sorted(out["warm_s"])
        print(f"warm builds: {', '.join(f'{w:.1f} s' for w in out['warm_s'])}; median "
              f"{walls[len(walls) // 2]:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
