"""Layer-indexed networks: "layer n" means the same block in every experiment.

The transfer experiments of Yosinski et al. (2014), *How transferable are features in deep
neural networks?*, NeurIPS, copy "the first n layers" of an eight-layer network (five
convolutional, three fully connected). :class:`LayerCNN` is a small network with exactly that
structure, so that depth n in this book has the same meaning as depth n in the paper.
:class:`LayerResNet` exposes torchvision's ResNet-18 (He et al., 2016, *Deep residual learning
for image recognition*, CVPR) the same way, for the full profile.

Both models hold their blocks in ``model.layers`` (an :class:`torch.nn.ModuleList`) and run any
contiguous slice of them with ``model(x, start, stop)``, which is what lets a frozen prefix be
computed once and cached (see :mod:`tlkit.train`).
"""

from __future__ import annotations

import urllib.error
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "LayeredModel",
    "LayerCNN",
    "LayerResNet",
    "WeightsUnavailableError",
    "ARCHITECTURES",
    "build_model",
]


class WeightsUnavailableError(RuntimeError):
    """Raised when pretrained weights are neither cached locally nor downloadable."""


class LayeredModel(nn.Module):
    """A network that is a sequence of indexed layers, ``layers[0] .. layers[L-1]``.

    ``forward(x, start=0, stop=None)`` applies ``layers[start:stop]``; the last layer is the
    classifier. Subclasses fill ``self.layers`` and ``self.layer_names``.
    """

    layers: nn.ModuleList
    layer_names: tuple[str, ...]

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def forward(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        stop = self.num_layers if stop is None else stop
        if not 0 <= start <= stop <= self.num_layers:
            raise ValueError(
                f"layer slice [{start}:{stop}] is outside 0..{self.num_layers} for "
                f"{type(self).__name__}"
            )
        for layer in self.layers[start:stop]:
            x = layer(x)
        return x

    def features(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """Output of the first ``n`` layers (``n = 0`` returns the input)."""
        return self.forward(x, 0, n)


def _conv_block(c_in: int, c_out: int, pool: bool, batchnorm: bool) -> nn.Sequential:
    parts: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batchnorm)]
    if batchnorm:
        parts.append(nn.BatchNorm2d(c_out))
    parts.append(nn.ReLU(inplace=True))
    if pool:
        parts.append(nn.MaxPool2d(2))
    return nn.Sequential(*parts)


class LayerCNN(LayeredModel):
    """Eight-layer CNN in the shape of Yosinski et al. (2014): conv1-conv5, fc6, fc7, fc8.

    With width ``w`` the channels are ``w, 2w, 4w, 4w, 4w``; ``conv1``, ``conv2`` and ``conv5``
    end with 2x2 max pooling (as AlexNet pools after layers 1, 2 and 5); ``fc6`` and ``fc7``
    have ``16w`` units; ``fc8`` is the linear classifier. Weights use He (Kaiming) normal
    initialisation, biases zero.

    Args:
        num_classes: outputs of ``fc8``.
        in_channels: image channels (1 or 3).
        input_size: side of the square input image.
        width: base channel count ``w``.
        batchnorm: batch normalisation after each convolution.
        dropout: dropout probability before ``fc7`` and ``fc8``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        input_size: int = 32,
        width: int = 16,
        batchnorm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_classes < 1 or width < 1 or input_size < 8:
            raise ValueError("LayerCNN needs num_classes >= 1, width >= 1 and input_size >= 8")
        w = width
        convs = [
            _conv_block(in_channels, w, True, batchnorm),
            _conv_block(w, 2 * w, True, batchnorm),
            _conv_block(2 * w, 4 * w, False, batchnorm),
            _conv_block(4 * w, 4 * w, False, batchnorm),
            _conv_block(4 * w, 4 * w, True, batchnorm),
        ]
        side = input_size // 2 // 2 // 2
        flat = 4 * w * side * side
        hidden = 16 * w
        fcs = [
            nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(inplace=True)),
            nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True)),
            nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes)),
        ]
        self.layers = nn.ModuleList(convs + fcs)
        self.layer_names = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
        self.reset_parameters()

    def reset_parameters(self, start: int = 0) -> None:
        """Re-initialise ``layers[start:]`` (He normal weights, zero biases, fresh BN)."""
        for layer in self.layers[start:]:
            reset_layer(layer)


def reset_layer(layer: nn.Module) -> None:
    """Re-initialise every parameter and buffer of one layer block."""
    for m in layer.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
            m.reset_running_stats()


class LayerResNet(LayeredModel):
    """torchvision's ResNet-18 as six indexed layers: stem, res1, res2, res3, res4, head.

    ``stem`` is conv1+bn+relu+maxpool, ``res1..res4`` are torchvision's ``layer1..layer4`` and
    ``head`` is global average pooling followed by a new linear classifier. ``weights`` names
    torchvision weights explicitly (``"IMAGENET1K_V1"``) or is ``None`` for random
    initialisation. With ``small_input=True`` the stem uses a 3x3 stride-1 convolution and no
    max pooling, the usual adaptation for 32x32 images (the stem is then not pretrained).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        weights: str | None = None,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=_resolve_weights(weights))
        if small_input:
            net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        adapter: nn.Module = nn.Identity()
        if in_channels == 1:
            adapter = _GrayToRGB()
        elif in_channels != 3:
            raise ValueError("LayerResNet takes 1- or 3-channel images")
        stem = nn.Sequential(adapter, net.conv1, net.bn1, net.relu, net.maxpool)
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))
        self.layers = nn.ModuleList([stem, net.layer1, net.layer2, net.layer3, net.layer4, head])
        self.layer_names = ("stem", "res1", "res2", "res3", "res4", "head")


class _GrayToRGB(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(-1, 3, -1, -1)


def _resolve_weights(name: str | None):
    """Turn a weights name into torchvision weights, failing clearly when offline."""
    if name is None:
        return None
    from torchvision.models import ResNet18_Weights

    try:
        weights = ResNet18_Weights[name]
    except KeyError:
        valid = ", ".join(w.name for w in ResNet18_Weights)
        raise ValueError(f"unknown ResNet-18 weights {name!r}; valid: {valid}") from None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.exists():
        try:
            torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=True)
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            raise WeightsUnavailableError(
                f"ResNet-18 weights {name} are not cached at {cached} and could not be "
                f"downloaded ({exc.__class__.__name__}: {exc}). Run once with network access, "
                f"or copy {Path(weights.url).name} into {cached.parent} (TORCH_HOME sets the "
                "folder)."
            ) from exc
    return weights


ARCHITECTURES: tuple[str, ...] = ("cnn8", "resnet18")


def build_model(
    arch: str,
    num_classes: int,
    *,
    in_channels: int = 1,
    input_size: int = 32,
    width: int = 16,
    weights: str | None = None,
) -> LayeredModel:
    """Build a layer-indexed model by name (``"cnn8"`` or ``"resnet18"``)."""
    if arch == "cnn8":
        if weights is not None:
            raise ValueError("cnn8 has no pretrained weights; pretrain it as a source run")
        return LayerCNN(num_classes, in_channels, input_size, width)
    if arch == "resnet18":
        small = input_size <= 64 and weights is None
        return LayerResNet(num_classes, in_channels, weights, small_input=small)
    raise ValueError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHITECTURES)}")


_NUM_LAYERS = {"cnn8": 8, "resnet18": 6}


def num_layers(arch: str) -> int:
    """Number of indexed layers of an architecture, without building it."""
    if arch not in _NUM_LAYERS:
        raise ValueError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHITECTURES)}")
    return _NUM_LAYERS[arch]


def layer_parameters(model: LayeredModel, layers: Sequence[int]) -> list[nn.Parameter]:
    """All parameters of the given layer indices."""
    return [p for i in layers for p in model.layers[i].parameters()]
