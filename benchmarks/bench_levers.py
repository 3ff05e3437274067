"""What each speed lever gives cnn8 training on the CPU, alone and combined.

    python benchmarks/bench_levers.py [--steps 60] [--repeats 3] [--json out.json]

A bare PyTorch loop (one network, eager, float32, SGD with Nesterov momentum, batches of 64,
13 classes, one torch thread) is the reference at three sizes: 8 px width 8 (the book's quick
profiles today), 16 px width 16 and 32 px width 16. Each variant trains the same number of
steps on the same random tensors and is reported as images per second and as a ratio to the
reference, best of ``--repeats`` after a warm-up:

* ``channels_last``: the network and its inputs in NHWC memory format;
* ``foreach``: the optimiser's multi-tensor step (``foreach=True``);
* ``bf16``: bfloat16 autocast (a different numerical precision: a compute setting of its own);
* ``compile``: ``torch.compile`` of the network (its compilation time reported separately);
* ``grouped K``: K networks as one model (grouped convolutions, batched matrix products), each
  network its own batch; images per second count all K networks' images;
* ``tlkit batched K``: K networks in ``tlkit.batched.fit_many`` (grouped layers in
  channels-last, one SGD update for all), each its own batch;
* ``tlkit.fit``: the project's trainer for one network, with its own choice of levers, in
  float32 and as a ``cpu-bf16`` run (bfloat16 autocast).

Peak memory of the process (resident set) is reported after each variant. Last, evaluation
(no gradients) by images per forward pass, which sets ``tlkit.train.EVAL_BATCH``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch
from torch import nn
from torch.nn import functional as F

from tlkit.models import LayerCNN
from tlkit.runner import cpu_threads
from tlkit.train import TrainConfig, fit

CLASSES, BATCH = 13, 64
SIZES = ((8, 8), (16, 16), (32, 16))


class GroupedCNN8(nn.Module):
    """K cnn8 networks in one module: convolutions with ``groups=K``, batch norm over the K
    networks' channels (per channel, so per network), fully connected layers as batched
    matrix products. Input (B, K*C, H, W): network k sees channels k*C..(k+1)*C-1."""

    def __init__(self, k: int, size: int, width: int) -> None:
        super().__init__()
        w, self.k = width, k
        chans = [1, w, 2 * w, 4 * w, 4 * w, 4 * w]
        pools = [True, True, False, False, True]
        self.convs = nn.ModuleList()
        for c_in, c_out, pool in zip(chans[:-1], chans[1:], pools, strict=True):
            self.convs.append(nn.Sequential(
                nn.Conv2d(k * c_in, k * c_out, 3, padding=1, bias=False, groups=k),
                nn.BatchNorm2d(k * c_out), nn.ReLU(inplace=True),
                *([nn.MaxPool2d(2)] if pool else [])))
        side = size // 8
        dims = [4 * w * side * side, 16 * w, 16 * w, CLASSES]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(k, a, b) * (2 / a) ** 0.5)
            for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(k, 1, b)) for b in dims[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = conv(x)
        b = x.shape[0]
        h = x.reshape(b, self.k, -1).transpose(0, 1)  # (K, B, features)
        for i, (w, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(bias, h, w)
            if i < len(self.weights) - 1:
                h = F.relu(h)
        return h  # (K, B, classes)


def loop(size: int, width: int, steps: int, *, channels_last=False, foreach=False, bf16=False,
         compiled=False) -> tuple[float, float]:
    """Seconds for ``steps`` training steps, and the compilation's seconds (first steps)."""
    torch.manual_seed(0)
    model = LayerCNN(CLASSES, 1, size, width)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH * 8, 1, size, size, generator=g)
    y = torch.randint(0, CLASSES, (BATCH * 8,), generator=g)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                          weight_decay=5e-4, foreach=foreach)
    forward = torch.compile(model) if compiled else model
    model.train()

    def step(i: int) -> None:
        j = (i % 8) * BATCH
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(x[j:j + BATCH])
        loss = F.cross_entropy(logits.float(), y[j:j + BATCH])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for i in range(3):
        step(i)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return time.perf_counter() - t0, warm


def grouped(size: int, width: int, steps: int, k: int) -> float:
    torch.manual_seed(0)
    model = GroupedCNN8(k, size, width)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, k, size, size, generator=g)
    y = torch.randint(0, CLASSES, (k, BATCH), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    model.train()

    def step() -> None:
        logits = model(x)
        # the sum over networks of each one's mean loss: each gradient is its own network's
        loss = F.cross_entropy(logits.reshape(-1, CLASSES), y.reshape(-1), reduction="sum") / BATCH
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def trainer(size: int, width: int, steps: int, amp: bool = False) -> float:
    torch.manual_seed(0)
    model = LayerCNN(CLASSES, 1, size, width)
    g = torch.Generator().manual_seed(0)
    n = BATCH * steps
    x = torch.rand(n, 1, size, size, generator=g)
    y = torch.randint(0, CLASSES, (n,), generator=g)
    cfg = TrainConfig(epochs=1, batch_size=BATCH, lr=0.01)
    t0 = time.perf_counter()
    fit(model, x, y, x[:8], y[:8], cfg, device="cpu", amp=amp)
    return time.perf_counter() - t0


def engine(size: int, width: int, steps: int, k: int) -> float:
    """Seconds for ``steps`` steps of each of ``k`` networks in tlkit's batched engine."""
    from tlkit.batched import Member, fit_many

    g = torch.Generator().manual_seed(0)
    n = BATCH * steps
    members = []
    for j in range(k):
        torch.manual_seed(j)
        x = torch.rand(n, 1, size, size, generator=g)
        y = torch.randint(0, CLASSES, (n,), generator=g)
        members.append(Member(LayerCNN(CLASSES, 1, size, width), x, y, x[:8], y[:8],
                              TrainConfig(epochs=1, batch_size=BATCH, lr=0.01), 0, [1.0] * 8,
                              seed=j))
    t0 = time.perf_counter()
    fit_many(members)
    return time.perf_counter() - t0


def evaluation(batch_sizes: tuple[int, ...] = (1024, 256, 128)) -> list[dict]:
    """Seconds to evaluate 2,600 images (best of 3) by images per forward pass: one
    EfficientNet-Lite0 at 32 px (random weights), one cnn8 and 16 batched cnn8 at 8 px."""
    import copy

    from tlkit.batched import _evaluate
    from tlkit.grouped import Grouped
    from tlkit.models import build_model
    from tlkit.train import evaluate

    def best(fn) -> float:
        fn()
        out = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return min(out)

    eff = build_model("efficientnet_lite0", CLASSES, in_channels=3, input_size=32,
                      weights=None).eval().to(memory_format=torch.channels_last)
    x3 = torch.rand(2600, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    cnn = LayerCNN(CLASSES, 1, 8, 8).eval().to(memory_format=torch.channels_last)
    x1, y = torch.rand(2600, 1, 8, 8), torch.randint(0, CLASSES, (2600,))
    group = Grouped([copy.deepcopy(cnn) for _ in range(16)], 0)
    xs, ys = x1.expand(16, *x1.shape).contiguous(), y.expand(16, -1).contiguous()
    rows = []
    for bs in batch_sizes:
        row = {"batch": bs,
               "efficientnet_32px_s": best(lambda bs=bs: evaluate(eff, x3, y, batch_size=bs)),
               "cnn8_8px_s": best(lambda bs=bs: evaluate(cnn, x1, y, batch_size=bs)),
               "cnn8_8px_16_batched_s": best(lambda bs=bs: _evaluate(group, xs, ys, bs))}
        rows.append(row)
        print(f"evaluation of 2,600 images, {bs} per pass: EfficientNet-Lite0 32 px "
              f"{row['efficientnet_32px_s']:.3f} s, cnn8 {row['cnn8_8px_s']:.4f} s, 16 cnn8 "
              f"batched {row['cnn8_8px_16_batched_s']:.3f} s", flush=True)
    return rows


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="4,8,32", help="K of the grouped variants")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(cpu_threads())
    steps, rows = args.steps, []
    variants = {
        "bare loop": {},
        "channels_last": {"channels_last": True},
        "foreach": {"foreach": True},
        "bf16": {"bf16": True},
        "channels_last + foreach": {"channels_last": True, "foreach": True},
        "channels_last + bf16": {"channels_last": True, "bf16": True},
    }
    if not args.no_compile:
        variants["compile"] = {"compiled": True}
        variants["compile + channels_last"] = {"compiled": True, "channels_last": True}
    for size, width in SIZES:
        base = None
        for name, kw in variants.items():
            timed = [loop(size, width, steps, **kw) for _ in range(args.repeats)]
            seconds, warm = min(t for t, _ in timed), timed[0][1]
            ips = steps * BATCH / seconds
            base = base or ips
            rows.append({"size": size, "width": width, "variant": name, "images_s": ips,
                         "ratio": ips / base, "first_steps_s": warm, "peak_gb": peak_gb()})
            print(f"{size:>2} px w{width:<2} {name:<26} {ips:9.0f} img/s {ips / base:5.2f}x"
                  f" (first 3 steps {warm:.2f} s)", flush=True)
        many = [(f"{label} K={k}", fn, k) for label, fn in (("grouped", grouped),
                                                             ("tlkit batched", engine))
                for k in map(int, args.ks.split(","))]
        for name, fn, k in [*many, ("tlkit.fit", None, 1), ("tlkit.fit, cpu-bf16", None, 1)]:
            if fn is None:
                seconds = min(trainer(size, width, steps, amp=name.endswith("bf16"))
                              for _ in range(args.repeats))
            else:
                seconds = min(fn(size, width, steps, k) for _ in range(args.repeats))
            ips = k * steps * BATCH / seconds
            rows.append({"size": size, "width": width, "variant": name, "images_s": ips,
                         "ratio": ips / base, "peak_gb": peak_gb()})
            print(f"{size:>2} px w{width:<2} {name:<26} {ips:9.0f} img/s {ips / base:5.2f}x",
                  flush=True)
    evaluations = evaluation()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "steps": steps, "batch": BATCH, "rows": rows,
                       "evaluation": evaluations}, fh, indent=2)


if __name__ == "__main__":
    main()
