"""Layer-indexed models: "layer n" means the same block in every experiment.

- :mod:`tlkit.models.base`: :class:`LayeredModel` and the registry :data:`ARCHITECTURES`;
- :mod:`tlkit.models.cnn`: ``cnn8``, the eight-layer CNN of Yosinski et al. (2014);
- :mod:`tlkit.models.resnet`: ``resnet18``, torchvision's ResNet-18 (He et al., 2016);
- :mod:`tlkit.models.efficientnet`: ``efficientnet_lite0``, EfficientNet-Lite0 with ImageNet
  weights that install from the package index (Tan & Le, 2019).
"""

from . import cnn, efficientnet, resnet  # noqa: F401 - registers the built-in architectures
from .base import (
    ARCHITECTURES,
    Architecture,
    LayeredModel,
    WeightsUnavailableError,
    architecture,
    build_model,
    layer_parameters,
    num_layers,
    prepare_weights,
    register,
    reset_layer,
)
from .cnn import LayerCNN
from .efficientnet import LayerEfficientNetLite
from .resnet import LayerResNet

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "LayerCNN",
    "LayerEfficientNetLite",
    "LayerResNet",
    "LayeredModel",
    "WeightsUnavailableError",
    "architecture",
    "build_model",
    "layer_parameters",
    "num_layers",
    "prepare_weights",
    "register",
    "reset_layer",
]
