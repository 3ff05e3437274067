"""K cnn8 networks as one grouped network: their layers from a depth on, stacked.

Each convolution of the K networks is one convolution with ``groups=K`` over the K networks'
channels, ``[B, K*C, H, W]`` (network k's channels are ``k*C .. (k+1)*C - 1``); batch
normalisation, ReLU and pooling act per channel, so per network; each fully connected layer is
one batched matrix product over ``[K, B, d]``. :mod:`tlkit.batched` trains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .models import LayeredModel

__all__ = ["Grouped", "blocks", "leaf", "CONV_LAYERS"]

#: cnn8's convolutional layers (the first five; three fully connected ones follow).
CONV_LAYERS = 5


def blocks(model: LayeredModel, i: int) -> tuple[nn.Module, ...]:
    """The modules of layer ``i`` of ``model`` that hold weights or pool."""
    return tuple(m for m in model.layers[i] if isinstance(m, nn.Conv2d | nn.BatchNorm2d |
                                                                nn.Linear | nn.MaxPool2d))


class Grouped:
    """The layers ``start..7`` of K cnn8 networks as stacked tensors."""

    def __init__(self, models: Sequence[LayeredModel], start: int) -> None:
        self.k, self.start, self.models = len(models), start, models
        self.layers: list[dict[str, Any]] = []
        for i in range(start, len(models[0].layers)):
            parts = [blocks(m, i) for m in models]
            first = parts[0]
            if i < CONV_LAYERS:
                conv, bn = first[0], first[1]
                if conv.bias is not None or not isinstance(bn, nn.BatchNorm2d):
                    raise ValueError("grouped training needs cnn8 with batch normalisation")
                layer = {
                    "kind": "conv", "pool": len(first) > 2, "out": conv.out_channels,
                    "weight": leaf(torch.cat([p[0].weight.detach() for p in parts])),
                    "bn_weight": leaf(torch.cat([p[1].weight.detach() for p in parts])),
                    "bn_bias": leaf(torch.cat([p[1].bias.detach() for p in parts])),
                    "mean": torch.cat([p[1].running_mean for p in parts]),
                    "var": torch.cat([p[1].running_var for p in parts]),
                    "momentum": bn.momentum, "eps": bn.eps,
                }
            else:
                layer = {
                    "kind": "fc", "relu": i < len(models[0].layers) - 1,
                    "weight": leaf(torch.stack([p[0].weight.detach().t() for p in parts])),
                    "bias": leaf(torch.stack([p[0].bias.detach()[None] for p in parts])),
                }
            self.layers.append(layer)

    def parameters(self) -> list[tuple[int, str, torch.Tensor, dict[str, Any]]]:
        """``(layer index, name, tensor, layer)`` of every trained tensor."""
        out = []
        for j, layer in enumerate(self.layers):
            names = ("weight", "bn_weight", "bn_bias") if layer["kind"] == "conv" else (
                "weight", "bias")
            out += [(self.start + j, name, layer[name], layer) for name in names]
        return out

    def forward(self, x: torch.Tensor, training: bool,
                reads: Sequence[int] = ()) -> tuple[torch.Tensor, dict[int, list[torch.Tensor]]]:
        """``x``: ``[K, B, ...]`` (the K networks' inputs to layer ``start``); returns the
        logits ``[K, B, classes]`` and, for each depth in ``reads``, the K networks' outputs
        there (each network's own slice, ``[B, C, H, W]`` or ``[B, d]``, with gradients;
        depth ``start`` is ``x``)."""
        k, b = x.shape[0], x.shape[1]
        features: dict[int, list[torch.Tensor]] = {}
        if self.start in reads:
            features[self.start] = list(x.unbind(0))
        h = x
        conv_input = self.layers[0]["kind"] == "conv"
        if conv_input:  # [K, B, C, H, W] -> [B, K*C, H, W]
            h = h.transpose(0, 1).reshape(b, k * x.shape[2], *x.shape[3:])
            h = h.contiguous(memory_format=torch.channels_last)
        elif h.dim() > 3:
            h = h.reshape(k, b, -1)
        for depth, layer in enumerate(self.layers, self.start + 1):
            if layer["kind"] == "conv":
                h = F.conv2d(h, layer["weight"], padding=1, groups=k)
                h = F.batch_norm(h, layer["mean"], layer["var"], layer["bn_weight"],
                                 layer["bn_bias"], training, layer["momentum"], layer["eps"])
                h = F.relu(h)
                if layer["pool"]:
                    h = F.max_pool2d(h, 2)
                if depth in reads:
                    features[depth] = list(h.unflatten(1, (k, -1)).unbind(1))
            else:
                if h.dim() == 4:  # from the last convolution: [B, K*C, h, w] -> [K, B, C*h*w]
                    h = h.reshape(b, k, -1).transpose(0, 1)
                h = torch.baddbmm(layer["bias"], h, layer["weight"])
                if layer["relu"]:
                    h = F.relu(h)
                if depth in reads:
                    features[depth] = list(h.unbind(0))
        return h, features

    def write_back(self, steps: int) -> None:
        """Copy every network's trained tensors and batch-norm statistics into its model."""
        with torch.no_grad():
            for j, layer in enumerate(self.layers):
                i = self.start + j
                for n, model in enumerate(self.models):
                    parts = blocks(model, i)
                    if layer["kind"] == "conv":
                        c = layer["out"]
                        rows = slice(n * c, (n + 1) * c)
                        parts[0].weight.copy_(layer["weight"][rows])
                        bn = parts[1]
                        bn.weight.copy_(layer["bn_weight"][rows])
                        bn.bias.copy_(layer["bn_bias"][rows])
                        bn.running_mean.copy_(layer["mean"][rows])
                        bn.running_var.copy_(layer["var"][rows])
                        bn.num_batches_tracked += steps
                    else:
                        parts[0].weight.copy_(layer["weight"][n].t())
                        parts[0].bias.copy_(layer["bias"][n, 0])


def leaf(t: torch.Tensor) -> torch.Tensor:
    """A trainable copy of ``t`` (channels-last for a convolution's weight)."""
    if t.dim() == 4:
        t = t.contiguous(memory_format=torch.channels_last)
    return t.clone().requires_grad_(True)
