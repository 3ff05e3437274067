"""Many small networks trained as one computation: K cnn8 runs in one grouped network.

At the book's smallest sizes (8 pixels, width 8) the cost of a training step is mostly the
fixed cost of each operation, not arithmetic; K networks that share an architecture and an
input shape train faster as one network of K groups (``benchmarks/bench_levers.py``):

* each convolution of the K networks is one convolution with ``groups=K`` over the K
  networks' channels, ``[B, K*C, H, W]``; batch normalisation, ReLU and pooling act per
  channel, so per network;
* each fully connected layer is one batched matrix product over ``[K, B, d]``;
* the loss is the sum over networks of each network's mean cross-entropy, so the gradient of
  every parameter is its own network's;
* SGD with (Nesterov) momentum runs as one elementwise update whose learning rate, momentum,
  weight decay and L2-SP coefficients are tensors with one value per network k, the update of
  ``torch.optim.SGD`` (Sutskever et al., 2013, *On the importance of initialization and
  momentum in deep learning*, ICML) with the L2-SP gradient of Li et al. (2018):

      d = g + lambda_k w + alpha_k (w - w0)            (lambda_k: L2 or L2-SP's beta; alpha_k:
      v <- mu_k v + d                                    L2-SP's pull towards the start w0)
      w <- w - eta_k m_l f_k(t) (d + mu_k v if Nesterov else v)

  with ``m_l`` the layer's learning-rate multiplier and ``f_k(t)`` the network's schedule
  (:func:`tlkit.train.lr_factor`);
* a regulariser that reads features (DELTA, BSS) adds its term for network k on network k's
  own slice of the grouped features (:meth:`tlkit.regularizers.Regularizer.on_features`), so
  its gradient reaches network k's weights alone; its weight part is the decay above.

Every network keeps what makes it its own run: its initial weights (built and copied from its
source exactly as when it trains alone), its batch order (its own generator, seeded as in
:func:`tlkit.train.fit`), its optimiser state and learning-rate schedule, its validation and
test evaluations, its divergence check. Only the floating-point order of a few sums differs
from :func:`tlkit.train.fit`, so a run's metrics agree with its lone training to the
tolerance that ``tests/core/test_batched.py`` states; and its result does not depend, beyond
that tolerance, on which runs it was batched with (the grouped convolution computes every group
the same way whatever the others hold in the cases that test checks, bitwise, on the machine it
runs on; in other batches a record can differ in its last digits, ``benchmarks/README.md``).

Runs train together when :func:`signature` is equal: cnn8 on the CPU in float32 at small
sizes (:data:`MAX_WORK`), the same width, input size, channels, frozen depth, batch size and
epochs, and the same amounts of data (checked again on the loaded tensors). Anything else
trains alone with :func:`tlkit.train.fit`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.nn import functional as F

from .grouped import Grouped
from .models import LayeredModel
from .regularizers.base import Decay, Regularizer
from .train import EVAL_BATCH, TrainConfig, channels_last, lr_factor, validation_epochs

__all__ = ["Member", "signature", "fit_many", "padded", "enabled", "K_MAX", "MAX_WORK"]

#: The most networks trained as one (the gain levels off above 8 to 16 at 8 pixels).
K_MAX = 16

#: The largest first-layer output (pixels times width) trained batched: grouping pays where
#: a step's fixed costs dominate (8 px width 8: 2.7x the bare loop at K = 16, against 1.3x
#: alone) and not above (16 px width 16: 1.3x batched as alone; 32 px width 16: 0.9x against
#: 1.4x), ``benchmarks/bench_levers.py``.
MAX_WORK = 1024


def enabled() -> bool:
    """Whether cnn8 runs on the CPU train with this engine: unless ``$TLKIT_BATCH`` is ``0``,
    which trains every run alone with :func:`tlkit.train.fit` (for comparisons and fault
    tests; its records agree with the engine's to the tolerance of ``tests/core/test_batched.py``
    and share their keys)."""
    import os

    return os.environ.get("TLKIT_BATCH", "1") != "0"


def signature(spec: Any) -> tuple | None:
    """What runs trained together must share, from the spec alone (no data loaded); ``None``
    for a run that trains alone (not cnn8, not on the CPU in float32, images so large that
    grouping does not pay: :data:`MAX_WORK`, or a regulariser the engine cannot apply:
    :attr:`~tlkit.regularizers.Regularization.batchable`)."""
    from .regularizers import regularization

    m, d, t = spec.model, spec.data, spec.transfer
    if m.arch != "cnn8" or spec.compute != "cpu-fp32" or m.size ** 2 * m.width > MAX_WORK:
        return None
    if not regularization(t.regularizer).batchable:
        return None
    data = (d.name, d.options, d.classes if d.n_per_class is None else len(d.classes or ()),
            d.n_per_class, d.validation)
    return (m.width, m.size, m.channels, t.frozen, spec.train.batch_size, spec.train.epochs,
            data)


@dataclass
class Member:
    """One network of a batch: its model (built, copied and frozen as for a lone run, on the
    CPU), its data, and its training settings."""

    model: LayeredModel
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    config: TrainConfig
    frozen: int
    lr_mult: Sequence[float]
    seed: int
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    decay: Decay | None = None  # a regulariser's weight part (L2-SP, DELTA); None: weight decay
    regularizer: Regularizer | None = None  # one that reads features (DELTA, BSS)


def _per_network(values: Sequence[float], tensor: torch.Tensor, kind: str,
                 out_channels: int = 0) -> torch.Tensor:
    """One value per network, shaped to broadcast over a stacked tensor of ``kind``."""
    v = torch.tensor(values, dtype=tensor.dtype)
    if kind == "conv":  # rows k*C..(k+1)*C-1 of a concatenated tensor are network k's
        v = v.repeat_interleave(out_channels)
    return v.view(-1, *([1] * (tensor.dim() - 1)))


def _stack(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([t.contiguous() for t in tensors])


def fit_many(members: Sequence[Member]) -> list[dict[str, Any]]:
    """Train ``members`` as one grouped network (in place: each member's model ends with its
    trained weights) and return, per member, what :func:`tlkit.train.fit` returns for it as
    a dict (``metrics``, ``history``), or ``{"error": message}`` for a member whose loss
    stopped being finite (it diverged; the others are unaffected).

    Every member must have the same frozen depth, batch size, epochs and amounts of training,
    validation and test data (:func:`signature` and the loaded tensors). The batch is padded
    with copies of its last member (whose results are dropped) to :func:`padded` networks:
    grouped layers then compute each network the same way whatever the other networks are, so
    a run's result is the one it gets in any batch, alone included."""
    if not members:
        return []
    k = padded(len(members), members[0].model.layers[0][0].out_channels)
    twins = [replace(members[-1], model=copy.deepcopy(members[-1].model))
             for _ in range(k - len(members))]
    return _fit_group([*members, *twins])[:len(members)]


def padded(k: int, channels: int) -> int:
    """The number of networks a batch of ``k`` trains: at least two (one network alone would
    run the ungrouped convolution kernels), and a multiple of ``16 / gcd(16, channels)``, so
    that the first layer's ``K * channels`` outputs fill whole 16-float vectors. With both,
    the grouped layers give each network the same bits whatever the others are, on the
    machines measured (``tests/core/test_batched.py`` checks it where it runs)."""
    step = 16 // math.gcd(16, channels)
    return max(2, -(-k // step) * step)


def _fit_group(members: Sequence[Member]) -> list[dict[str, Any]]:
    first = members[0]
    shape = _shape(first)
    if any(_shape(m) != shape for m in members):
        raise ValueError("networks trained together need the same frozen depth, batch size, "
                         "epochs and amounts of data")
    start_time = time.perf_counter()
    k, frozen, cfg0 = len(members), first.frozen, first.config
    dev = torch.device("cpu")
    from .train import prefix_features
    from .transfer import freeze_layers

    nhwc = channels_last(dev, first.x_train)
    for m in members:
        torch.manual_seed(m.seed)
        freeze_layers(m.model, frozen)
        if nhwc:
            m.model.to(memory_format=torch.channels_last)
    x_train = _stack([prefix_features(m.model, m.x_train, frozen) for m in members])
    y_train = _stack([m.y_train for m in members])
    x_test = _stack([prefix_features(m.model, m.x_test, frozen) for m in members])
    y_test = _stack([m.y_test for m in members])
    has_val = first.x_val is not None and len(first.x_val) > 0
    if has_val:
        x_val = _stack([prefix_features(m.model, m.x_val, frozen) for m in members])
        y_val = _stack([m.y_val for m in members])

    net = Grouped([m.model for m in members], frozen)
    params = net.parameters()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for i, name, t, layer in params:
        def coef(values: list[float], t: torch.Tensor = t, layer: dict = layer) -> torch.Tensor:
            return _per_network(values, t, layer["kind"], layer.get("out", 0))

        s = {"lr": coef([m.config.lr * float(m.lr_mult[i]) for m in members]),
             "momentum": coef([m.config.momentum for m in members]),
             "nesterov": coef([float(m.config.nesterov and m.config.momentum > 0)
                               for m in members]),
             "buf": torch.zeros_like(t)}
        if name == "weight":  # conv and linear weights: L2 or L2-SP act on them
            s["decay"] = coef([(m.config.weight_decay if m.decay is None else
                                (0.0 if i < m.decay.depth else m.decay.beta)) for m in members])
            s["pull"] = coef([(m.decay.alpha if m.decay is not None and i < m.decay.depth
                               else 0.0) for m in members])
            s["start"] = t.detach().clone()
        state[id(t)] = s

    n = len(first.x_train)
    steps_per_epoch = math.ceil(n / cfg0.batch_size)
    factors = [lr_factor(m.config, steps_per_epoch) for m in members]
    generators = [torch.Generator().manual_seed(m.seed) for m in members]
    rows = torch.arange(k)[:, None]
    reads = sorted({d for m in members if m.regularizer is not None
                    for d in m.regularizer.depths})
    if reads and reads[0] < frozen:
        raise ValueError(f"a regulariser reads depth {reads[0]}, below the first trained layer "
                         f"({frozen})")
    histories: list[dict[str, list[float]]] = []
    for _ in members:
        h: dict[str, list[float]] = {"train_loss": [], "train_acc": []}
        if has_val:
            h.update(val_epoch=[], val_loss=[], val_acc=[])
        histories.append(h)
    diverged = [False] * k
    checkpoints = validation_epochs(cfg0.epochs)
    step = 0
    for epoch in range(cfg0.epochs):
        order = torch.stack([torch.randperm(n, generator=g) for g in generators])
        loss_sum = torch.zeros(k)
        correct = torch.zeros(k, dtype=torch.long)
        for i in range(0, n, cfg0.batch_size):
            idx = order[:, i:i + cfg0.batch_size]
            xb, yb = x_train[rows, idx], y_train[rows, idx]
            logits, features = net.forward(xb, True, reads)
            b = idx.shape[1]
            losses = F.cross_entropy(logits.reshape(k * b, -1), yb.reshape(-1),
                                     reduction="none").view(k, b).mean(1)
            objective = losses.sum()
            for j, m in enumerate(members):  # each network's own term, on its own features
                if m.regularizer is not None:
                    objective = objective + m.regularizer.on_features(
                        {d: features[d][j] for d in m.regularizer.depths})
            for _, _, t, _ in params:
                t.grad = None
            objective.backward()
            fac = torch.tensor([f(step) for f in factors])
            with torch.no_grad():
                for _, _, t, _ in params:
                    s = state[id(t)]
                    g = t.grad
                    if "decay" in s:
                        g = g + s["decay"] * t + s["pull"] * (t - s["start"])
                    buf = s["buf"]
                    buf.mul_(s["momentum"]).add_(g)
                    d = torch.where(s["nesterov"] > 0, g + s["momentum"] * buf, buf)
                    f = fac.repeat_interleave(t.shape[0] // k).view_as(s["lr"])
                    t.sub_(s["lr"] * f * d)
            step += 1
            loss_sum += losses.detach() * b
            correct += (logits.detach().argmax(2) == yb).sum(1)
        for j, h in enumerate(histories):
            h["train_loss"].append(loss_sum[j].item() / n)
            h["train_acc"].append(correct[j].item() / n)
            if not math.isfinite(h["train_loss"][-1]):
                diverged[j] = True
        if has_val and epoch + 1 in checkpoints:
            vl, va = _evaluate(net, x_val, y_val)
            for j, h in enumerate(histories):
                h["val_epoch"].append(epoch + 1)
                h["val_loss"].append(vl[j])
                h["val_acc"].append(va[j])
        if all(diverged):
            break
    tl, ta = _evaluate(net, x_test, y_test)
    net.write_back(step)
    seconds = (time.perf_counter() - start_time) / k
    out: list[dict[str, Any]] = []
    for j, h in enumerate(histories):
        if diverged[j]:
            out.append({"error": "training diverged: the loss is not finite; lower lr"})
            continue
        metrics = {"train_loss": h["train_loss"][-1], "train_acc": h["train_acc"][-1],
                   **({"val_loss": h["val_loss"][-1], "val_acc": h["val_acc"][-1]}
                      if has_val else {}),
                   "test_loss": tl[j], "test_acc": ta[j], "seconds": seconds}
        out.append({"metrics": metrics, "history": h})
    return out


def _shape(m: Member) -> tuple:
    return (m.frozen, m.config.batch_size, m.config.epochs, tuple(m.x_train.shape),
            tuple(m.x_test.shape), None if m.x_val is None else tuple(m.x_val.shape),
            m.model.layers[-1][-1].out_features)


@torch.no_grad()
def _evaluate(net: Grouped, x: torch.Tensor, y: torch.Tensor,
              batch_size: int = EVAL_BATCH) -> tuple[list[float], list[float]]:
    """Mean cross-entropy and accuracy of each network on its own images (eval mode)."""
    k, n = x.shape[0], x.shape[1]
    loss_sum, correct = torch.zeros(k, dtype=torch.float64), torch.zeros(k, dtype=torch.long)
    for i in range(0, n, batch_size):
        logits = net.forward(x[:, i:i + batch_size], training=False)[0].float()
        yb = y[:, i:i + batch_size]
        b = yb.shape[1]
        loss_sum += F.cross_entropy(logits.reshape(k * b, -1), yb.reshape(-1),
                                    reduction="none").view(k, b).sum(1).double()
        correct += (logits.argmax(2) == yb).sum(1)
    n = max(n, 1)
    return (loss_sum / n).tolist(), (correct.double() / n).tolist()
