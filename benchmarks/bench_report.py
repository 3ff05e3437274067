"""``tlkit report`` on a folder of 10 classes x 50 images, cold, at 64 and at 128 pixels.

Writes each folder (PNG files of lowercase glyph letters in four fonts, with clutter, at the
side asked for; not timed), then runs ``tlkit report FOLDER --budget 10`` with an empty results
folder, so the book's source networks are trained too, as on a reader's first report. Measures
the wall time and the peak memory of the command's process tree (resident, and proportional
where /proc gives it, sampled every 0.25 s), then runs the same report again (everything
cached) and times it.

    .venv/bin/python benchmarks/bench_report.py            # 64 and 128 px
    .venv/bin/python benchmarks/bench_report.py --sides 64 --profile quick
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_book import tree_memory  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def write(folder: Path, side: int) -> Path:
    from tlkit.experiments.own_images.example import write_folder

    options = {"charset": "nopqrstuvw", "fonts": ["sans", "serif", "mono", "stix"],
               "n_train": 60, "n_test": 2, "resolution": side, "shift": 0.5}
    return write_folder(folder, "glyphs", options, 50, side)


def report(folder: Path, profile: str, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "tlkit", "report", str(folder), "--budget", "10",
           "--profile", profile, "--root", str(ROOT)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    watched, done = psutil.Process(proc.pid), threading.Event()
    peak = [0, 0]

    def sample() -> None:
        while not done.is_set():
            try:
                rss, pss, _ = tree_memory(watched)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            except psutil.Error:
                pass
            time.sleep(0.25)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    log = proc.communicate()[0]
    done.set()
    thread.join()
    if proc.returncode != 0:
        print(log)
        raise SystemExit(f"the report failed (exit {proc.returncode})")
    return {"wall_s": time.perf_counter() - start, "rss_gb": peak[0] / 2**30,
            "pss_gb": peak[1] / 2**30}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sides", default="64,128")
    ap.add_argument("--profile", default="quick")
    args = ap.parse_args()
    print(f"{'side':>5} {'cold s':>8} {'peak RSS GB':>12} {'peak PSS GB':>12} {'again s':>8}")
    for side in (int(x) for x in args.sides.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = write(Path(tmp) / f"letters-{side}px", side)
            env = {**os.environ, "TLKIT_RESULTS": str(Path(tmp) / "results")}
            cold = report(folder, args.profile, env)
            warm = report(folder, args.profile, env)
            print(f"{side:>5} {cold['wall_s']:>8.1f} {cold['rss_gb']:>12.2f} "
                  f"{cold['pss_gb']:>12.2f} {warm['wall_s']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
