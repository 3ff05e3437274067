"""EfficientNet-Lite0's throughput: training and feature extraction, in images per second.

    python benchmarks/bench_pretrained.py [--sizes 32 64] [--threads 1] [--json out.json]

Grey images (one channel, repeated to RGB by the stem) with ImageNet weights, in the memory
format :func:`tlkit.train.fit` uses (channels-last on the CPU). Three measures:

* ``train``: full fine-tuning with SGD (batch 64, 10 classes);
* ``top``: fine-tuning the top as the "fine-tune top" runs do (stage 7, the head and the
  classifier, batch 64) on the cached output of the frozen stem and stages 1-6;
* ``features``: the first nine layers (the 1280 penultimate features) in eval mode without
  gradients (batch 256).

Each is measured twice, back to back: with the model's own convolutions, which compute a
convolution on a 1 x 1 map as a matrix product or a per-channel scale, and with every
convolution through ``F.conv2d`` (``plain``). Best of 3 timed passes after a warm-up, on the
CPU (and on CUDA when present), with ``--threads`` torch threads (runs use ``TLKIT_THREADS``,
1 by default).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tlkit.models import build_model, efficientnet
from tlkit.train import _layout

TOP = 7  # the frozen stem and stages 1-6 of "fine-tune top"


def _top(model, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    for layer in model.layers[:TOP]:
        layer.requires_grad_(False)
    model.eval()
    with torch.no_grad():
        feats = _layout(model(x, 0, TOP), x.device.type == "cpu")
    params = [p for layer in model.layers[TOP:] for p in layer.parameters()]
    optimiser = torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True)
    model.train()
    for layer in model.layers[:TOP]:
        layer.eval()
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        optimiser.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(feats[i:i + batch], TOP), y[i:i + batch])
        loss.backward()
        optimiser.step()
    if x.is_cuda:
        torch.cuda.synchronize()
    rate = len(x) / (time.perf_counter() - start)
    model.requires_grad_(True)
    return rate


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


def _features(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
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
    own = efficientnet._SameConv.forward
    for device in devices:
        n = args.images * (16 if device == "cuda" else 1)
        for size in args.sizes:
            x = _layout(torch.rand(n, 1, size, size, device=device), device == "cpu")
            y = torch.randint(0, 10, (n,), device=device)
            for label, forward in (("own", own), ("plain", efficientnet._SameConv.padded)):
                efficientnet._SameConv.forward = forward
                model = build_model("efficientnet_lite0", 10, in_channels=1, input_size=size,
                                    weights="imagenet").to(device)
                if device == "cpu":
                    model.to(memory_format=torch.channels_last)
                row = {}
                for name, fn, batch in (("train", _train, 64), ("top", _top, 64),
                                        ("features", _features, 256)):
                    fn(model, x[:2 * batch], y[:2 * batch], batch)
                    row[f"{name}_images_s"] = max(fn(model, x, y, batch) for _ in range(3))
                efficientnet._SameConv.forward = own
                out[f"{device}_{size}px_{label}"] = row
                print(f"{device:4s} {size:3d} px {label:5s}: training {row['train_images_s']:7.0f}"
                      f" images/s, top {row['top_images_s']:7.0f} images/s, features "
                      f"{row['features_images_s']:7.0f} images/s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
