"""Bad inputs to the ``tlkit`` command: each must be answered in one line before any work.

Every input below is run as a user would type it, in a fresh folder (an empty results folder,
``TLKIT_OFFLINE=1``). An input is answered well when the command exits with status 2, prints
exactly one line on standard error, ``tlkit: error: ...``, no traceback, and starts no kernel
(no notebook is written). Prints one line per input (its status, seconds and the message) and
the totals; ``--json PATH`` writes them.

    .venv/bin/python benchmarks/probe_inputs.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TLKIT = [sys.executable, "-m", "tlkit"]
NB = ["notebook", "00_quickstart", "--profile", "smoke"]
LT = ["notebook", "01_layer_transfer", "--profile", "smoke"]

#: (what, arguments, extra environment)
INPUTS: list[tuple[str, list[str], dict[str, str]]] = [
    ("a whole-number setting given 1.5", [*NB, "-p", "overrides", "{width: 1.5}"], {}),
    ("a recipe's epochs given 1.5",
     [*NB, "-p", "overrides", "{recipes: {scratch: {epochs: 1.5}}}"], {}),
    ("a recipe's lr negative", [*NB, "-p", "overrides", "{recipes: {scratch: {lr: -1}}}"], {}),
    ("an unknown recipe", [*NB, "-p", "overrides", "{recipes: {bogus: {lr: 0.1}}}"], {}),
    ("an unknown key of a recipe",
     [*NB, "-p", "overrides", "{recipes: {scratch: {epochz: 1}}}"], {}),
    ("an unknown top-level override", [*NB, "-p", "overrides", "{epochs: 1.5}"], {}),
    ("an image size the network cannot take", [*NB, "-p", "overrides", "{size: 4}"], {}),
    ("overrides that are not YAML", [*NB, "-p", "overrides", "{width: "], {}),
    ("overrides that are not a mapping", [*NB, "-p", "overrides", "[1, 2]"], {}),
    ("device cuda without CUDA", [*NB, "-p", "device", "cuda"], {}),
    ("device cuda:7", [*NB, "-p", "device", "cuda:7"], {}),
    ("device unknown", [*NB, "-p", "device", "tpu"], {}),
    ("TLKIT_THREADS=0", NB, {"TLKIT_THREADS": "0"}),
    ("TLKIT_THREADS=abc", NB, {"TLKIT_THREADS": "abc"}),
    ("TLKIT_THREADS=-2", NB, {"TLKIT_THREADS": "-2"}),
    ("seeds 100000000", [*NB, "-p", "seeds", "100000000"], {}),
    ("seeds 1000 on layer transfer (45,000 runs)", [*LT, "-p", "seeds", "1000"], {}),
    ("seeds 0", [*NB, "-p", "seeds", "0"], {}),
    ("seeds -3", [*NB, "-p", "seeds", "-3"], {}),
    ("seeds abc", [*NB, "-p", "seeds", "abc"], {}),
    ("seeds true", [*NB, "-p", "seeds", "true"], {}),
    ("sizes with a zero", [*NB, "-p", "sizes", "[0, 5]"], {}),
    ("an unknown parameter", [*NB, "-p", "sedes", "2"], {}),
    ("an unknown profile", ["notebook", "00_quickstart", "--profile", "huge"], {}),
    ("an unknown notebook", ["notebook", "99_nothing", "--profile", "smoke"], {}),
    ("replicates with a repeated seed", [*NB, "-p", "overrides", "{replicates: [3, 3]}"], {}),
    ("replicates and first_seed together",
     [*NB, "-p", "overrides", "{replicates: [3, 4], first_seed: 2000}"], {}),
    ("TLKIT_MAX_RUNS=abc", NB, {"TLKIT_MAX_RUNS": "abc"}),
    ("TLKIT_COMPUTE=tpu", NB, {"TLKIT_COMPUTE": "tpu"}),
    ("a results folder that is a file", NB, {"TLKIT_RESULTS": "a-file"}),
    ("book --jobs 0", ["book", "--profile", "smoke", "--jobs", "0"], {}),
    ("book --only an unknown notebook", ["book", "--profile", "smoke", "--only", "nothing"], {}),
    ("results import of a missing file", ["results", "import", "missing.tar.gz"], {}),
    ("results import of a text file", ["results", "import", "a-file"], {}),
    ("results export of an empty cache", ["results", "export", "out.tar.gz"], {}),
    ("results verify --trust a missing key",
     ["results", "verify", "a-file", "--trust", "missing.pub"], {}),
    ("results import --sign", ["results", "import", "a-file", "--sign", "key"], {}),
    ("assignments --variants 0", ["assignments", "--variants", "0"], {}),
    ("assignments --roster a missing file", ["assignments", "--roster", "missing.csv"], {}),
    ("grade a missing submissions folder", ["grade", "00_quickstart", "missing/"], {}),
    ("gradebook of a missing folder", ["gradebook", "missing/"], {}),
]


def _try(args: list[str], env: dict[str, str], cwd: Path) -> dict:
    full = dict(os.environ, TLKIT_OFFLINE="1", TLKIT_PROGRESS="0", PYTHONUNBUFFERED="1",
                TLKIT_RESULTS=str(cwd / "results"))
    full.update(env)
    if "TLKIT_RESULTS" in env:
        full["TLKIT_RESULTS"] = str(cwd / env["TLKIT_RESULTS"])
    started = time.perf_counter()
    done = subprocess.run([*TLKIT, *args, "--root", str(ROOT)] if args[0] in (
        "notebook", "book", "assignments") else [*TLKIT, *args], cwd=cwd, env=full,
        capture_output=True, text=True, timeout=600, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    kernels = list(cwd.rglob("*.ipynb"))
    ok = (done.returncode == 2 and len(lines) == 1 and lines[0].startswith("tlkit: error: ")
          and "Traceback" not in done.stderr and not kernels)
    return {"ok": ok, "rc": done.returncode, "lines": len(lines), "seconds": round(seconds, 1),
            "said": lines[0] if len(lines) == 1 else "\n".join(lines[-3:]),
            "kernel": bool(kernels)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH")
    opts = parser.parse_args(argv)
    results = {}
    for what, args, env in INPUTS:
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            (cwd / "a-file").write_text("not an archive, not a folder")
            results[what] = _try(args, env, cwd)
        r = results[what]
        print(f"{'ok' if r['ok'] else 'FAILED':6s} {r['seconds']:5.1f} s  {what}: "
              f"{r['said'][:150]}", flush=True)
    good = sum(r["ok"] for r in results.values())
    print(f"answered in one line before any work: {good} of {len(results)} bad inputs; "
          f"slowest {max(r['seconds'] for r in results.values()):.1f} s")
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=1))
    return 0 if good == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
