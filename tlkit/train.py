"""Training on in-memory tensors, with the frozen prefix computed once.

The loop minimises the mean cross-entropy plus an optional penalty,

    L(w) = 1/|B| * sum_{(x, y) in B} -log softmax(f_w(x))_y + Omega(w),

with SGD with (Nesterov) momentum and a per-step cosine learning-rate schedule
(Loshchilov & Hutter, 2017, *SGDR*, ICLR), after an optional linear warm-up (Goyal et al.,
2017, *Accurate, large minibatch SGD*, arXiv:1706.02677). With validation tensors, the loss and
accuracy on them are recorded after every epoch (the validation curve that recipes and every
other choice are selected on); the test tensors are evaluated once, at the end.

When the first ``frozen`` layers do not train, their output does not change during training: it
is computed once for the training and test sets (in evaluation mode, so batch-norm statistics
stay fixed) and the remaining layers train on those cached features, which is exact and saves
recomputing the prefix every epoch.

On the CPU the same inputs give bitwise-identical results: every random draw comes from
generators seeded from ``seed``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from .config import TrainConfig
from .models import LayeredModel
from .transfer import check_depth, freeze_layers, layerwise_param_groups

if TYPE_CHECKING:
    from .regularizers.base import Regularizer

__all__ = ["TrainConfig", "FitResult", "fit", "resolve_device", "evaluate", "prefix_features",
           "lr_factor", "validation_epochs", "VALIDATION_POINTS", "channels_last"]

#: Images per forward pass when evaluating: at 1,024 the activations of EfficientNet-Lite0 at
#: 32 px (and of 16 cnn8 networks batched) outgrow the CPU's caches and evaluation runs at
#: half the speed of 128, and 128 is 1.2 times as fast as 256 (``benchmarks/README.md``); one
#: cnn8 at 8 px loses a few milliseconds a run, 16 batched ones nothing.
EVAL_BATCH = 128


@dataclass
class FitResult:
    """Final metrics and per-epoch history of :func:`fit`."""

    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; anything else is passed to torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for, but CUDA is not available here")
    return dev


@torch.no_grad()
def prefix_features(
    model: LayeredModel, x: torch.Tensor, n: int, batch_size: int = EVAL_BATCH
) -> torch.Tensor:
    """Output of layers ``0..n-1`` in evaluation mode, computed in batches."""
    if n == 0:
        return x
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(x[i:i + batch_size].to(device), 0, n) for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def evaluate(
    model: LayeredModel, x: torch.Tensor, y: torch.Tensor, start: int = 0,
    batch_size: int = EVAL_BATCH,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``layers[start:]`` on inputs ``x`` (eval mode)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        logits = model(xb, start).float()
        loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    model.train(was_training)
    return loss_sum / max(len(x), 1), correct / max(len(x), 1)


def channels_last(device: torch.device, images: torch.Tensor) -> bool:
    """Whether :func:`fit` trains in the channels-last (NHWC) memory format: on the CPU, for
    image batches (4-D). The convolutions of oneDNN run faster in it (1.3x for cnn8 at 8 to
    32 pixels, ``benchmarks/bench_levers.py``); the arithmetic is the same up to the order of
    floating-point sums."""
    return device.type == "cpu" and images.dim() == 4


def _layout(x: torch.Tensor, nhwc: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if nhwc and x.dim() == 4 else x


def _set_train_mode(model: LayeredModel, frozen: int) -> None:
    model.train()
    for layer in model.layers[:frozen]:
        layer.eval()


def fit(
    model: LayeredModel,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    config: TrainConfig | None = None,
    *,
    frozen: int = 0,
    lr_mult: Sequence[float] | None = None,
    regularizer: Regularizer | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    amp: bool | None = None,
    progress: bool = False,
    cache_prefix: bool = True,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
) -> FitResult:
    """Train ``model`` in place and evaluate it on the test tensors.

    Args:
        model: a layer-indexed network (its first ``frozen`` layers are not trained).
        x_train, y_train, x_test, y_test: images (N, C, H, W) and int64 labels, in memory.
        config: optimisation hyperparameters (default: :class:`TrainConfig`'s).
        frozen: number of leading layers kept fixed; their output is computed once.
        lr_mult: per-layer learning-rate multipliers (length ``model.num_layers``).
        regularizer: a term added to the loss (:class:`tlkit.regularizers.Regularizer`, e.g.
            :class:`tlkit.regularizers.l2sp.L2SP` built on the model after it was moved to
            ``device``); it is passed the outputs of the depths it reads
            (``regularizer.depths``, each at least the first trained layer's depth).
        seed: seeds batch order and dropout.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
        amp: bfloat16 autocast; default on for CUDA, off on CPU.
        progress: show a tqdm bar over epochs.
        cache_prefix: compute the frozen prefix once (set False only to benchmark the cache).
        x_val, y_val: validation images and labels, evaluated after every epoch of a short
            run, at :data:`VALIDATION_POINTS` evenly spaced epochs of a long one
            (:func:`validation_epochs`), and always after the last (optional).

    Returns:
        :class:`FitResult` with ``train_loss``, ``train_acc`` (running means over the last
        epoch), ``val_loss``, ``val_acc`` (after the last epoch, when validation tensors are
        given), ``test_loss``, ``test_acc``, ``seconds`` and the per-epoch history.
    """
    check_depth(model, frozen, allow_classifier=False)
    config = TrainConfig() if config is None else config
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError("images and labels differ in length")
    if len(x_train) == 0:
        raise ValueError("empty training set")
    dev = resolve_device(device)
    use_amp = (dev.type == "cuda") if amp is None else amp
    start_time = time.perf_counter()
    torch.manual_seed(seed)
    model.to(dev)
    freeze_layers(model, frozen)

    nhwc = channels_last(dev, x_train)
    if nhwc:
        model.to(memory_format=torch.channels_last)
    start = frozen if cache_prefix else 0
    feats_train = _layout(prefix_features(model, x_train, start).to(dev), nhwc)
    feats_test = _layout(prefix_features(model, x_test, start), nhwc)
    has_val = x_val is not None and y_val is not None and len(x_val) > 0
    feats_val = _layout(prefix_features(model, x_val, start), nhwc) if has_val else None
    y_train_dev = y_train.to(dev)

    reads = () if regularizer is None else tuple(sorted(set(regularizer.depths)))
    if reads and reads[0] < start:
        raise ValueError(f"the regulariser reads depth {reads[0]}, below the first trained "
                         f"layer ({start}): set cache_prefix=False to read frozen layers")
    groups = layerwise_param_groups(model, config.lr, lr_mult, start=frozen,
                                    weight_decay=config.weight_decay)
    optimiser = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov and config.momentum > 0)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    factor = lr_factor(config, steps_per_epoch)
    base_lrs = [group["lr"] for group in optimiser.param_groups]
    step_count = 0

    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": []}
    if has_val:
        history.update(val_epoch=[], val_loss=[], val_acc=[])
    checkpoints = validation_epochs(config.epochs)
    epochs = range(config.epochs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(epochs, desc="epochs", leave=False)
        epochs = bar
    _set_train_mode(model, frozen)  # once: only evaluating changes the modes, and resets them
    for epoch in epochs:
        order = torch.randperm(len(x_train), generator=generator).to(dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            xb, yb = feats_train[idx], y_train_dev[idx]
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
                logits, features = _forward(model, xb, start, reads)
            loss = F.cross_entropy(logits.float(), yb)
            objective = loss if regularizer is None else loss + regularizer(features)
            optimiser.zero_grad(set_to_none=True)
            objective.backward()
            for group, base_lr in zip(optimiser.param_groups, base_lrs, strict=True):
                group["lr"] = base_lr * factor(step_count)
            optimiser.step()
            step_count += 1
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == yb).sum()
        history["train_loss"].append(loss_sum.item() / len(x_train))
        history["train_acc"].append(correct.item() / len(x_train))
        if has_val and epoch + 1 in checkpoints:
            val_loss, val_acc = evaluate(model, feats_val, y_val, start)
            history["val_epoch"].append(epoch + 1)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
            _set_train_mode(model, frozen)
        if bar is not None:
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}")
        if not math.isfinite(history["train_loss"][-1]):
            raise FloatingPointError("training diverged: the loss is not finite; lower lr")
    test_loss, test_acc = evaluate(model, feats_test, y_test, start)
    metrics = {
        "train_loss": history["train_loss"][-1],
        "train_acc": history["train_acc"][-1],
        **({"val_loss": history["val_loss"][-1], "val_acc": history["val_acc"][-1]}
           if has_val else {}),
        "test_loss": test_loss,
        "test_acc": test_acc,
        "seconds": time.perf_counter() - start_time,
    }
    return FitResult(metrics, history)


def _forward(model: LayeredModel, x: torch.Tensor, start: int,
             reads: Sequence[int]) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """The logits of ``layers[start:]`` on ``x`` and the outputs at the depths in ``reads``
    (sorted, each at least ``start``; depth ``start`` is ``x`` itself)."""
    features: dict[int, torch.Tensor] = {}
    h, at = x, start
    for depth in reads:
        h = model(h, at, depth)
        features[depth] = h
        at = depth
    return model(h, at), features


#: How many times a run evaluates its validation set at most: enough points for the learning
#: curves of the recipes appendix. Evaluating changes nothing in training; at the book's sizes,
#: where a validation set is often larger than the training set, each point costs time.
VALIDATION_POINTS = 10


def validation_epochs(epochs: int, most: int = VALIDATION_POINTS) -> frozenset[int]:
    """The epochs (1-based) after which the validation set is evaluated: all of them for a short
    run, else ``most`` evenly spaced ones; the last epoch always."""
    if epochs <= most:
        return frozenset(range(1, epochs + 1))
    return frozenset(round(epochs * (i + 1) / most) for i in range(most))


def lr_factor(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate multiplier at step t: linear warm-up over ``warmup_epochs``, then
    cosine from 1 to 0 over the remaining steps (or constant 1)."""
    total = config.epochs * steps_per_epoch
    warm = round(config.warmup_epochs * steps_per_epoch)

    def factor(t: int) -> float:
        if t < warm:
            return (t + 1) / warm
        if config.schedule == "constant":
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * (t - warm) / max(total - warm, 1)))

    return factor


