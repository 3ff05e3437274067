"""Training run-seconds by kind of run on a sample of the quick book's own specs.

    python benchmarks/bench_runs.py [--per-kind 24] [--json out.json]

Takes the first ``--per-kind`` specs of each kind from the quick profiles' designs (layer
transfer: cnn8 width 8 at 8 px fine-tuned, frozen and from scratch; the pretrained chapter:
EfficientNet-Lite0 at 32 px, a quarter as many), trains them with ``tlkit.sweep.run`` (serial
executor, one torch thread) into an empty temporary results folder, and sums each kind's
``wall_seconds`` (the sources they copy are trained first and reported apart). The script
uses only what every version of tlkit has, so the same file measures an older checkout
(``git worktree add``) back to back with this one.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import torch

from tlkit import sweep
from tlkit.experiments import known_specs
from tlkit.store import Store


def kind(spec) -> str | None:
    t, m = spec.transfer, spec.model
    if m.arch != "cnn8":
        return "EfficientNet-Lite0 32 px" if t.frozen == 0 and spec.train.epochs > 1 else None
    if t.source is not None:
        return "cnn8 8 px, frozen transfer" if t.frozen else "cnn8 8 px, fine-tuned transfer"
    return "cnn8 8 px, from scratch" if t.layers == 0 else None


def sample(per_kind: int) -> dict[str, list]:
    out: dict[str, list] = {}
    quotas = {"EfficientNet-Lite0 32 px": max(1, per_kind // 4)}
    for notebook in ("01_layer_transfer", "03_pretrained"):
        for spec in known_specs(notebook, {"profile": "quick"}):
            k = kind(spec)
            if k is None or (k.startswith("cnn8") and notebook != "01_layer_transfer"):
                continue
            chosen = out.setdefault(k, [])
            if len(chosen) < quotas.get(k, per_kind) and spec not in chosen:
                chosen.append(spec)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=24)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    kinds = sample(args.per_kind)
    specs = [s for group in kinds.values() for s in group]
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        sources = list({src.key(): src for s in specs for src in s.sources()}.values())
        t0 = time.perf_counter()
        records = sweep.run(specs, store=store, executor="serial", progress=False)
        wall = time.perf_counter() - t0
        by_key = {r.key: r for r in records}
        for name, group in kinds.items():
            seconds = sum(by_key[s.key()].provenance["wall_seconds"] for s in group)
            out[name] = {"runs": len(group), "seconds": seconds}
        src_seconds = sum(store.get(s).provenance["wall_seconds"] for s in sources)
        out["sources"] = {"runs": len(sources), "seconds": src_seconds}
    for name, v in out.items():
        print(f"{name}: {v['runs']} runs, {v['seconds']:.1f} run-seconds "
              f"({v['seconds'] / v['runs']:.3f} s each)")
    print(f"sweep wall time {wall:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "torch": torch.__version__, "kinds": out, "wall_s": wall}, fh, indent=1)


if __name__ == "__main__":
    main()
