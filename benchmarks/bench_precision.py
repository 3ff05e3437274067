"""What the ``cpu-bf16`` compute setting does to speed and to accuracy, run by run.

    python benchmarks/bench_precision.py [--seeds 8] [--json out.json]

Trains the same specs twice with ``tlkit.runner.train`` (one torch thread): once as
``cpu-fp32`` (the engine's float32 path: batched for small cnn8 networks, ``fit`` in
channels-last otherwise) and once as ``cpu-bf16`` (``fit`` in channels-last with bfloat16
autocast). The specs are the quick layer-transfer profile's baseA (cnn8, 13 glyph classes,
from scratch) at 8 px width 8, 16 px width 16 and 32 px width 16 (glyphs rendered at that
size; 100 images per class and 10 epochs, to keep the benchmark short), and the quick
pretrained chapter's EfficientNet-Lite0 fine-tuning at 32 px (10 images per class). For each
it reports the seconds of a run in each precision and their ratio, and the paired difference
of test accuracy (bf16 - fp32) over the seeds with its 95% t-interval. Seeds 1000 and up: none of
them is a seed the book reports.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
from dataclasses import replace

import torch
from scipy import stats as sps

from tlkit.experiments import known_specs
from tlkit.runner import cpu_threads, train

SIZES = ((8, 8), (16, 16), (32, 16))
FIRST_SEED = 1000


def cnn8_specs(size: int, width: int, seeds: int) -> list:
    params = {"profile": "quick", "device": "cpu", "executor": "serial"}
    base = next(s for s in known_specs("01_layer_transfer", params)
                if s.transfer.source is None and dict(s.tags).get("condition") == "baseA")
    options = dict(base.data.options, resolution=size)
    data = replace(base.data, options=tuple(sorted(options.items())), n_per_class=100)
    model = replace(base.model, size=size, width=width)
    train_cfg = replace(base.train, epochs=10)
    return [replace(base, data=replace(data, subsample_seed=FIRST_SEED + i), model=model,
                    train=train_cfg, seed=FIRST_SEED + i) for i in range(seeds)]


def effnet_specs(seeds: int) -> list:
    params = {"profile": "quick", "device": "cpu", "executor": "serial"}
    base = next(s for s in known_specs("03_pretrained", params)
                if s.model.weights == "imagenet" and s.transfer.frozen == 0
                and s.data.n_per_class == 10 and s.train.epochs > 1)
    return [replace(base, data=replace(base.data, subsample_seed=FIRST_SEED + i),
                    seed=FIRST_SEED + i) for i in range(seeds)]


def interval(diffs: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, math.nan
    half = sps.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, half


def measure(name: str, specs: list) -> dict:
    rows = []
    for spec in specs:
        fp32 = train(spec.on("cpu-fp32")).record
        bf16 = train(spec.on("cpu-bf16")).record
        rows.append({"seed": spec.seed, "fp32_s": fp32.provenance["wall_seconds"],
                     "bf16_s": bf16.provenance["wall_seconds"],
                     "fp32_acc": fp32.metrics["test_acc"], "bf16_acc": bf16.metrics["test_acc"]})
        print(f"  {name} seed {spec.seed}: fp32 {rows[-1]['fp32_acc']:.3f} in "
              f"{rows[-1]['fp32_s']:.2f} s, bf16 {rows[-1]['bf16_acc']:.3f} in "
              f"{rows[-1]['bf16_s']:.2f} s", flush=True)
    fp32_s = statistics.median(r["fp32_s"] for r in rows)
    bf16_s = statistics.median(r["bf16_s"] for r in rows)
    mean, half = interval([r["bf16_acc"] - r["fp32_acc"] for r in rows])
    out = {"name": name, "runs": len(rows), "fp32_s": fp32_s, "bf16_s": bf16_s,
           "speed": fp32_s / bf16_s, "fp32_acc": statistics.fmean(r["fp32_acc"] for r in rows),
           "bf16_acc": statistics.fmean(r["bf16_acc"] for r in rows), "diff": mean,
           "half_width": half, "rows": rows}
    print(f"{name}: fp32 {fp32_s:.2f} s, bf16 {bf16_s:.2f} s a run ({out['speed']:.2f}x); "
          f"test accuracy {out['fp32_acc']:.3f} -> {out['bf16_acc']:.3f}, paired difference "
          f"{mean:+.3f} +/- {half:.3f} (95%)", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--effnet-seeds", type=int, default=6)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(cpu_threads())
    results = [measure(f"cnn8 {size} px width {width}", cnn8_specs(size, width, args.seeds))
               for size, width in SIZES]
    results.append(measure("EfficientNet-Lite0 32 px fine-tuned",
                           effnet_specs(args.effnet_seeds)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
