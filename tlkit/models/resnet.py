"""torchvision's ResNet-18 as six indexed layers, for the full profile.

He, K., Zhang, X., Ren, S. & Sun, J. (2016). Deep residual learning for image recognition.
CVPR. ImageNet weights come from torchvision and need the network once (then torch's cache).
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import torch
from torch import nn

from ..data.real import offline
from .base import Architecture, LayeredModel, WeightsUnavailableError, register

__all__ = ["LayerResNet", "RESNET18"]

LAYER_NAMES = ("stem", "res1", "res2", "res3", "res4", "head")


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
        self.layer_names = LAYER_NAMES


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
        how = (f"Run once with network access, or copy {Path(weights.url).name} into "
               f"{cached.parent} (TORCH_HOME sets the folder).")
        if offline():
            raise WeightsUnavailableError(
                f"ResNet-18 weights {name} are not cached at {cached} and downloads are off "
                f"(TLKIT_OFFLINE is set). {how}")
        try:
            torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=True)
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            raise WeightsUnavailableError(
                f"ResNet-18 weights {name} are not cached at {cached} and could not be "
                f"downloaded ({exc.__class__.__name__}: {exc}). {how}"
            ) from exc
    return weights


def _build(num_classes: int, *, in_channels: int = 3, input_size: int = 32, width: int = 16,
           weights: str | None = None) -> LayerResNet:
    small = input_size <= 64 and weights is None
    return LayerResNet(num_classes, in_channels, weights, small_input=small)


def _prepare(name: str) -> None:
    _resolve_weights(name)


RESNET18 = register(Architecture("resnet18", _build, LAYER_NAMES,
                                 "torchvision ResNet-18 (stem, res1-res4, head), He et al. 2016",
                                 prepare=_prepare, feature_maps=5))
