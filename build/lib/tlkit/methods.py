r"""Transfer methods by name: each a small function from a source to a
:class:`~tlkit.spec.TransferSpec`.

A *source* is the pretraining run whose final weights are copied (a
:class:`~tlkit.spec.RunSpec`), or ``None`` when the target's model starts from pretrained weights
of its own (``ModelSpec.weights``) or from nothing. ``layers`` is the number of leading layers
transferred; the classifier is never transferred, so "all" is :math:`L - 1` for an
:math:`L`-layer network (:func:`all_but_classifier`).

================  =========================================================================
method            what it builds
================  =========================================================================
``scratch``       no transfer: every layer starts at random and trains
``frozen``        copy ``layers`` layers and keep them fixed (Yosinski et al.'s AnB / BnB)
``fine-tune``     copy ``layers`` layers and train them too (AnB+ / BnB+), plain L2 decay
``linear probe``  ``frozen`` at every layer but the classifier: only the classifier trains
``L2-SP``         ``fine-tune`` with L2-SP instead of weight decay (Li et al., 2018):
                  :math:`\frac{\alpha}{2}\lVert w_S - w^0_S\rVert^2 +
                  \frac{\beta}{2}\lVert w_{\text{new}}\rVert^2`
``random frozen`` ``layers`` layers left at their random initialisation and frozen
                  (Yosinski et al.'s random-filter control)
================  =========================================================================

Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in deep
neural networks? NeurIPS. Li, X., Grandvalet, Y. & Davoine, F. (2018). Explicit inductive bias
for transfer learning with convolutional networks. ICML.

Adding a method is one :func:`register` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .spec import RunSpec, TransferSpec

__all__ = ["Method", "METHODS", "register", "method", "transfer", "all_but_classifier"]

Builder = Callable[..., TransferSpec]


@dataclass(frozen=True)
class Method:
    """One entry of the registry.

    Attributes:
        name: the name experiments tag their runs with.
        build: ``build(source, layers, **options) -> TransferSpec``.
        uses_source: whether the method copies weights (from a source run or pretrained
            weights); ``False`` for ``scratch`` and ``random frozen``.
        whole_network: the method always transfers every layer but the classifier.
        description: one line for tables.
    """

    name: str
    build: Builder
    uses_source: bool
    whole_network: bool = False
    description: str = ""


#: Every transfer method by name, in the order registered.
METHODS: dict[str, Method] = {}


def register(entry: Method) -> Method:
    """Add ``entry`` to :data:`METHODS` (a name is registered once)."""
    if entry.name in METHODS:
        raise ValueError(f"method {entry.name!r} is already registered")
    METHODS[entry.name] = entry
    return entry


def method(name: str) -> Method:
    """The registry entry of ``name``; a ``ValueError`` lists the valid names."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(METHODS)}") from None


def all_but_classifier(arch: str) -> int:
    """The number of transferable layers of an architecture: every layer but the classifier."""
    from .models import num_layers

    return num_layers(arch) - 1


def transfer(name: str, source: RunSpec | None = None, *, layers: int | None = None,
             arch: str = "cnn8", **options: Any) -> TransferSpec:
    """The :class:`~tlkit.spec.TransferSpec` of method ``name`` from ``source``.

    ``layers`` defaults to :func:`all_but_classifier` of ``arch`` (the source's architecture
    when there is a source run). ``options`` are the method's own (``alpha``, ``beta`` for
    L2-SP, ``lr_mult`` for fine-tuning).
    """
    entry = method(name)
    if layers is None or entry.whole_network:
        layers = all_but_classifier(source.model.arch if source is not None else arch)
    return entry.build(source, layers, **options)


def _scratch(source: RunSpec | None, layers: int) -> TransferSpec:
    return TransferSpec()


def _frozen(source: RunSpec | None, layers: int) -> TransferSpec:
    return TransferSpec(source=source, layers=layers, freeze=True)


def _fine_tune(source: RunSpec | None, layers: int, lr_mult: float = 1.0) -> TransferSpec:
    return TransferSpec(source=source, layers=layers, freeze=False, lr_mult=lr_mult)


def _l2sp(source: RunSpec | None, layers: int, alpha: float = 0.01, beta: float = 0.0,
          lr_mult: float = 1.0) -> TransferSpec:
    return TransferSpec(source=source, layers=layers, freeze=False, lr_mult=lr_mult,
                        regularizer="l2sp", alpha=alpha, beta=beta)


def _random_frozen(source: RunSpec | None, layers: int) -> TransferSpec:
    return TransferSpec(source=None, layers=layers, freeze=True)


register(Method("scratch", _scratch, uses_source=False, description="no transfer"))
register(Method("frozen", _frozen, uses_source=True,
                description="copy the first n layers and keep them fixed"))
register(Method("fine-tune", _fine_tune, uses_source=True,
                description="copy the first n layers and train every layer"))
register(Method("linear probe", _frozen, uses_source=True, whole_network=True,
                description="copy every layer but the classifier, frozen; train the classifier"))
register(Method("L2-SP", _l2sp, uses_source=True,
                description="fine-tune, decaying the copied weights towards the source's"))
register(Method("random frozen", _random_frozen, uses_source=False,
                description="the first n layers left random and frozen"))
