"""EfficientNet-Lite0's throughput: training and feature extraction, in images per second.

    python benchmarks/bench_pretrained.py [--sizes 32 64] [--threads 1] [--json out.json]

Grey images (one channel, repeated to RGB by the stem) with ImageNet weights; training is full
fine-tuning with SGD (batch 64, 10 classes), feature extraction is the first nine layers (the
1280 penultimate features) in eval mode without gradients (batch 256). Best of 3 timed passes
after a warm-up, on the CPU (and on CUDA when present), with ``--threads`` torch threads (runs
use ``TLKIT_THREADS``, 1 by default).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tlkit.models import build_model


def _train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        optimiser.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        optimiser.step()
    if x.is_cuda:
        torch.cuda.synchronize()
    return len(x) / (time.perf_counter() - start)


def _features(model: torch.nn.Module, x: torch.Tensor, batch: int) -> float:
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model.features(x[i:i + batch], 9)
    if x.is_cuda:
        torch.cuda.synchronize()
    return len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out: dict = {"threads": args.threads, "torch": torch.__version__}
    for device in devices:
        n = args.images * (16 if device == "cuda" else 1)
        for size in args.sizes:
            model = build_model("efficientnet_lite0", 10, in_channels=1, input_size=size,
                                weights="imagenet").to(device)
            x = torch.rand(n, 1, size, size, device=device)
            y = torch.randint(0, 10, (n,), device=device)
            _train(model, x[:128], y[:128], 64)
            _features(model, x[:256], 256)
            train = max(_train(model, x, y, 64) for _ in range(3))
            feats = max(_features(model, x, 256) for _ in range(3))
            out[f"{device}_{size}px"] = {"train_images_s": train, "features_images_s": feats}
            print(f"{device:4s} {size:3d} px: training {train:7.0f} images/s, "
                  f"features {feats:7.0f} images/s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
