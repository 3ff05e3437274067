"""The eight-layer CNN of the book, in the shape of Yosinski et al. (2014).

Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in deep
neural networks? NeurIPS. Their transfer experiments copy "the first n layers" of an
eight-layer network (five convolutional, three fully connected); :class:`LayerCNN` has exactly
that structure, so that depth n in this book means what it means in the paper.
"""

from __future__ import annotations

from torch import nn

from .base import Architecture, LayeredModel, register, reset_layer

__all__ = ["LayerCNN", "CNN8"]

LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")


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
        self.layer_names = LAYER_NAMES
        self.reset_parameters()

    def reset_parameters(self, start: int = 0) -> None:
        """Re-initialise ``layers[start:]`` (He normal weights, zero biases, fresh BN)."""
        for layer in self.layers[start:]:
            reset_layer(layer)


def _build(num_classes: int, *, in_channels: int = 1, input_size: int = 32, width: int = 16,
           weights: str | None = None) -> LayerCNN:
    if weights is not None:
        raise ValueError("cnn8 has no pretrained weights; pretrain it as a source run")
    return LayerCNN(num_classes, in_channels, input_size, width)


CNN8 = register(Architecture("cnn8", _build, LAYER_NAMES,
                             "eight-layer CNN (conv1-conv5, fc6-fc8), Yosinski et al. 2014",
                             feature_maps=5))
