"""Seconds to grade one submission with each grading package, and the packages' sizes.

    python benchmarks/bench_grading.py [--assignments DIR] [--repeat 3] [--json out.json]

Grades each assignment's solutions notebook (a full-marks submission) ``--repeat`` times with
:func:`tlkit.teaching.grading.grade_submission`, as ``tlkit grade`` does for every student, and
reports the median. Generate the assignments first (``make assignments``, profile quick).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from tlkit.teaching.grading import grade_submission
from tlkit.teaching.package import package_contents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", default="_build/assignments",
                        help="where `tlkit assignments` wrote (default: _build/assignments)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    folder = Path(args.assignments) / "autograder"
    packages = sorted(folder.glob("*-autograder.zip"))
    if not packages:
        raise SystemExit(f"no grading packages in {folder}; run `make assignments` first")
    out = {}
    for package in packages:
        stem = package.name.split("-autograder")[0]
        about = package_contents(package)
        times, scores = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                g = grade_submission(package, folder / f"{stem}.ipynb", Path(tmp),
                                     timeout=about["settings"].timeout)
            if g.status != "graded":
                raise SystemExit(f"{stem}: {g.status}: {g.reason}")
            times.append(g.seconds)
            scores.append(f"{g.total:g}/{sum(g.possible.values()):g}")
        out[stem] = {"profile": about["settings"].values()["profile"],
                     "median_s": statistics.median(times), "times_s": times,
                     "score": scores[0], "package_mb": package.stat().st_size / 1e6,
                     "files_in_cache": len(about["records"])}
        print(f"{stem:20s} {out[stem]['profile']:6s} {out[stem]['median_s']:6.1f} s per "
              f"submission (runs: {', '.join(f'{t:.1f}' for t in times)}), score "
              f"{scores[0]}, package {out[stem]['package_mb']:.1f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
