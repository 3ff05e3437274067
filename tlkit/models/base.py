"""Layer-indexed networks and the registry of architectures by name.

"Layer n" means the same block in every experiment: a model holds its blocks in
``model.layers`` (an :class:`torch.nn.ModuleList`), names them in ``model.layer_names``, and runs
any contiguous slice of them with ``model(x, start, stop)``, which is what lets a frozen prefix
be computed once and cached (see :mod:`tlkit.train`).

:data:`ARCHITECTURES` maps a name to an :class:`Architecture`: its builder, its number of
layers and their names. Adding a model is one :func:`register` call in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "LayeredModel",
    "Architecture",
    "ARCHITECTURES",
    "WeightsUnavailableError",
    "register",
    "architecture",
    "build_model",
    "num_layers",
    "prepare_weights",
    "reset_layer",
    "layer_parameters",
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


Builder = Callable[..., "LayeredModel"]


@dataclass(frozen=True)
class Architecture:
    """One entry of the registry.

    Attributes:
        name: the name a :class:`~tlkit.spec.ModelSpec` uses (``"cnn8"``).
        build: ``build(num_classes, *, in_channels, input_size, width, weights)`` returns the
            model; it raises ``ValueError`` for options it does not take.
        layer_names: the names of its indexed layers, the classifier last.
        description: one line for tables.
        prepare: ``prepare(weights)`` makes the named pretrained weights available on this
            machine (downloading them where that is allowed) or raises
            :class:`WeightsUnavailableError` saying how to get them, ``ValueError`` for a name
            it does not know; ``None`` for an architecture without pretrained weights.
        feature_maps: how many leading layers output feature maps (channels by positions;
            the layers above them output vectors). A method that reads feature maps, such as
            DELTA, checks a run against it before anything is built.
    """

    name: str
    build: Builder
    layer_names: tuple[str, ...]
    description: str = ""
    prepare: Callable[[str], None] | None = None
    feature_maps: int = 0

    @property
    def num_layers(self) -> int:
        return len(self.layer_names)


#: Every architecture by name, in the order registered.
ARCHITECTURES: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    """Add ``arch`` to :data:`ARCHITECTURES` (a name is registered once)."""
    if arch.name in ARCHITECTURES:
        raise ValueError(f"architecture {arch.name!r} is already registered")
    ARCHITECTURES[arch.name] = arch
    return arch


def architecture(name: str) -> Architecture:
    """The registry entry of ``name``; a ``ValueError`` lists the valid names."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown architecture {name!r}; valid: "
                         f"{', '.join(ARCHITECTURES)}") from None


def build_model(
    arch: str,
    num_classes: int,
    *,
    in_channels: int = 1,
    input_size: int = 32,
    width: int = 16,
    weights: str | None = None,
) -> LayeredModel:
    """Build a layer-indexed model by architecture name (see :data:`ARCHITECTURES`)."""
    return architecture(arch).build(num_classes, in_channels=in_channels,
                                    input_size=input_size, width=width, weights=weights)


def prepare_weights(arch: str, weights: str | None) -> None:
    """Make the pretrained ``weights`` of ``arch`` available before any training.

    ``None`` (random initialisation) needs nothing. Downloads respect ``$TLKIT_OFFLINE``.

    Raises:
        ValueError: ``arch`` has no pretrained weights, or none of that name.
        WeightsUnavailableError: the weights are not on this machine and cannot be fetched.
    """
    if weights is None:
        return
    entry = architecture(arch)
    if entry.prepare is None:
        raise ValueError(f"{arch} has no pretrained weights (asked for {weights!r}); "
                         "pretrain it as a source run")
    entry.prepare(weights)


def num_layers(arch: str) -> int:
    """Number of indexed layers of an architecture, without building it."""
    return architecture(arch).num_layers


def layer_parameters(model: LayeredModel, layers: Sequence[int]) -> list[nn.Parameter]:
    """All parameters of the given layer indices."""
    return [p for i in layers for p in model.layers[i].parameters()]
