"""What the checks before training and a results archive cost.

    python benchmarks/bench_travel.py [--json out.json]

* the checks ``tlkit book`` runs before any kernel (:func:`tlkit.notebooks.check_notebooks`:
  every notebook's runs listed and looked up in an empty run cache, then datasets and weights
  checked), for the quick and the full profile, offline;
* ``tlkit results export`` and ``import`` of the cache of the quickstart's quick sweep (a source
  network and 30 target runs, trained here first), and the checks on that cache once full.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from tlkit import sweep
from tlkit.archive import export_results, import_results
from tlkit.book import toc_notebooks
from tlkit.experiments import quickstart
from tlkit.notebooks import check_notebooks, resolve_parameters
from tlkit.preflight import PreflightError
from tlkit.store import Store

ROOT = Path(__file__).resolve().parents[1]


def _checks(profile: str, results: Path) -> tuple[float, int]:
    """Seconds of the checks for every notebook of the book, and the problems found."""
    os.environ["TLKIT_RESULTS"] = str(results)
    items = [(p.stem, resolve_parameters(p, {"profile": profile})) for p in toc_notebooks(ROOT)]
    start = time.perf_counter()
    try:
        check_notebooks(items, ROOT)
        found = 0
    except PreflightError as err:
        found = len(err.problems)
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.environ["TLKIT_OFFLINE"] = "1"
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for profile in ("quick", "full"):
            seconds, found = _checks(profile, tmp / "empty")
            out[f"checks_{profile}_empty_cache_s"] = seconds
            print(f"checks before training, {profile} profile, empty cache: {seconds:.2f} s "
                  f"({found} problems found offline)")
        store = Store(tmp / "here")
        records = sweep.run(quickstart.specs({"profile": "quick"}), store=store,
                            executor="process", progress=False)
        start = time.perf_counter()
        done = export_results(tmp / "results.tar.gz", store)
        out["export_s"], out["archive_mb"] = time.perf_counter() - start, done.bytes / 1e6
        start = time.perf_counter()
        got = import_results(done.path, Store(tmp / "there"))
        out["import_s"] = time.perf_counter() - start
        out["records"], out["checkpoints"] = got.records, got.checkpoints
        print(f"export {done.records} records + {done.checkpoints} checkpoints: "
              f"{out['export_s']:.2f} s, {out['archive_mb']:.2f} MB; "
              f"import {out['import_s']:.2f} s")
        assert (got.records, got.checkpoints) == (done.records, done.checkpoints)
        assert done.records >= len({r.key for r in records})  # and the sources
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
