"""Parameter transfer: copy, freeze, re-initialise, per-layer learning rates, weight decay.

Notation: a target network has layers ``0 .. L-1``; "transferring n layers" copies the
parameters and buffers of layers ``0 .. n-1`` from a source network of the same architecture
(Yosinski et al., 2014, *How transferable are features in deep neural networks?*, NeurIPS).
The copied prefix is then either frozen (their AnB condition) or fine-tuned with the rest
(AnB+). Layers ``n .. L-1`` keep a fresh random initialisation.

Weight decay towards zero, Omega(w) = alpha/2 * ||w||^2 (:func:`l2_penalty`), acts on the
weights :func:`penalised_weights` yields; the regularisers of the transfer methods (L2-SP, DELTA,
BSS) are declared with their methods in :mod:`tlkit.methods`. Weight decay and L2-SP act on
the weights of convolutional and linear modules; biases and normalisation parameters are not
penalised.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from .checks import is_int
from .models import LayeredModel, reset_layer

__all__ = [
    "check_depth",
    "copy_layers",
    "load_layers",
    "freeze_layers",
    "reinitialize_layers",
    "penalised_weights",
    "l2_penalty",
    "layerwise_param_groups",
    "recompute_batchnorm",
]


def check_depth(model: LayeredModel | int, n: int, *, allow_classifier: bool = False) -> None:
    """Raise a clear ``ValueError`` unless ``0 <= n <= L-1`` (or ``<= L`` with the classifier)."""
    total = model if isinstance(model, int) else model.num_layers
    top = total if allow_classifier else total - 1
    if not is_int(n) or not 0 <= n <= top:
        what = "layers" if allow_classifier else "layers (the classifier is never transferred)"
        raise ValueError(f"cannot transfer {n!r} layers: a {total}-layer network takes 0..{top} "
                         f"{what}")


def copy_layers(source: LayeredModel, target: LayeredModel, n: int) -> None:
    """Copy parameters and buffers of layers ``0..n-1`` from ``source`` into ``target``."""
    if source.num_layers != target.num_layers:
        raise ValueError("source and target must have the same number of layers")
    load_layers(target, source.state_dict(), n)


def load_layers(target: LayeredModel, state: dict[str, torch.Tensor], n: int) -> None:
    """Copy layers ``0..n-1`` from a full-model ``state_dict`` into ``target``."""
    check_depth(target, n, allow_classifier=True)
    for i in range(n):
        prefix = f"layers.{i}."
        src = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        dst = target.layers[i].state_dict()
        if set(src) != set(dst):
            raise ValueError(f"layer {i} ({target.layer_names[i]}) has different entries in "
                             "source and target; are they the same architecture?")
        for key, value in src.items():
            if dst[key].shape != value.shape:
                raise ValueError(
                    f"layer {i} ({target.layer_names[i]}) parameter {key} has shape "
                    f"{tuple(dst[key].shape)} in the target but {tuple(value.shape)} in the source"
                )
        target.layers[i].load_state_dict(src)


def freeze_layers(model: LayeredModel, n: int) -> None:
    """Stop gradients through the parameters of layers ``0..n-1``.

    Frozen layers must also run in evaluation mode (fixed batch-norm statistics); the trainer in
    :mod:`tlkit.train` does that and computes their output once.
    """
    check_depth(model, n, allow_classifier=True)
    for i, layer in enumerate(model.layers):
        for p in layer.parameters():
            p.requires_grad_(i >= n)


def reinitialize_layers(model: LayeredModel, start: int) -> None:
    """Give layers ``start..L-1`` a fresh random initialisation."""
    check_depth(model, start, allow_classifier=True)
    for layer in model.layers[start:]:
        reset_layer(layer)


def penalised_weights(module: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """The weights that L2 and L2-SP act on: conv and linear weights (no biases, no BN)."""
    for name, m in module.named_modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            yield f"{name}.weight" if name else "weight", m.weight


def l2_penalty(params: Sequence[torch.Tensor], alpha: float) -> torch.Tensor:
    """Omega(w) = alpha/2 * sum_i ||w_i||^2."""
    if not params:
        return torch.zeros(())
    return 0.5 * alpha * sum(p.pow(2).sum() for p in params)


def layerwise_param_groups(
    model: LayeredModel,
    lr: float,
    lr_mult: Sequence[float] | None = None,
    start: int = 0,
    weight_decay: float = 0.0,
) -> list[dict]:
    """Optimiser parameter groups with one learning rate per layer.

    Layer ``i`` gets ``lr * lr_mult[i]`` (default multiplier 1). ``weight_decay`` (plain L2)
    applies to conv/linear weights only; layers before ``start`` and frozen parameters are left
    out. Parameters that share a learning rate and decay share a group (fewer optimiser calls).
    """
    if lr_mult is not None and len(lr_mult) != model.num_layers:
        raise ValueError(f"lr_mult needs {model.num_layers} values, got {len(lr_mult)}")
    merged: dict[tuple[float, float], list[nn.Parameter]] = {}
    for i in range(start, model.num_layers):
        layer = model.layers[i]
        mult = 1.0 if lr_mult is None else float(lr_mult[i])
        decayed = {id(w) for _, w in penalised_weights(layer)}
        for p in layer.parameters():
            if p.requires_grad:
                wd = weight_decay if id(p) in decayed else 0.0
                merged.setdefault((lr * mult, wd), []).append(p)
    return [{"params": params, "lr": group_lr, "weight_decay": wd}
            for (group_lr, wd), params in merged.items()]


@torch.no_grad()
def recompute_batchnorm(model: LayeredModel, images: torch.Tensor, n: int,
                        batch_size: int = 256) -> None:
    r"""Replace the batch-norm statistics of layers ``0..n-1`` by those of ``images``.

    The running mean and variance of every batch-norm module in the first ``n`` layers are
    reset and re-estimated as the cumulative average over one pass of ``images`` (the target's
    training set), the layers running in training mode so that each sees the activations the
    layers below it produce with their new statistics; weights are not touched. This is AdaBN
    (Li, Wang, Shi, Liu & Hou, 2016, *Revisiting batch normalization for practical domain
    adaptation*, arXiv:1603.04779): a frozen copied layer then normalises target activations
    with target statistics, :math:`\hat x = (x - \mu_T) / \sqrt{\sigma_T^2 + \epsilon}`.
    """
    check_depth(model, n, allow_classifier=True)
    norms = [m for layer in model.layers[:n] for m in layer.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or len(images) == 0:
        return
    was_training = model.training
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the pass
    device = next(model.parameters()).device
    for layer in model.layers[:n]:
        layer.train()
    for i in range(0, len(images), batch_size):
        model(images[i:i + batch_size].to(device), 0, n)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.train(was_training)
