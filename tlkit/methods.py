r"""Transfer methods by name: each an entry that builds a run's
:class:`~tlkit.spec.TransferSpec` from a source, naming what it adds to training.

A *source* is the pretraining run whose final weights are copied (a
:class:`~tlkit.spec.RunSpec`), or ``None`` when the target's model starts from pretrained weights
of its own (``ModelSpec.weights``) or from nothing. ``layers`` is the number of leading layers
transferred; the classifier is never transferred, so "all" is :math:`L - 1` for an
:math:`L`-layer network (:func:`all_but_classifier`).

============================  ============  =======================================================
method                        regulariser   what it builds
============================  ============  =======================================================
``scratch``                   ``l2``        no transfer: every layer starts at random and trains
``frozen``                    ``l2``        copy ``layers`` layers and keep them fixed (Yosinski et
                                            al.'s AnB / BnB)
``fine-tune``                 ``l2``        copy ``layers`` layers and train them too (AnB+ / BnB+)
``linear probe``              ``l2``        ``frozen`` at every layer but the classifier
``linear probe, target BN``   ``l2``        ``linear probe``, the frozen layers' batch-norm
                                            statistics recomputed on the target
``random frozen``             ``l2``        ``layers`` layers left at their random initialisation
                                            and frozen (Yosinski et al.'s random-filter control)
``L2-SP``                     ``l2sp``      ``fine-tune``, the copied weights decayed towards the
                                            source's (Li, Grandvalet & Davoine, 2018)
``DELTA``                     ``delta``     ``fine-tune``, the copied layers' feature maps pulled
                                            towards the source's, weighted by channel attention (Li
                                            et al., 2019)
``BSS``                       ``bss``       ``fine-tune`` with batch spectral shrinkage of the
                                            features (Chen et al., 2019)
============================  ============  =======================================================

Each entry declares what it does to training: its transfer (the layers copied and frozen), its
optimiser's parameter groups (frozen layers get none; the copied layers that train have their
learning rate times ``lr_mult``, an option of every fine-tuning method), its batch-norm handling
(:attr:`Method.bn_stats`: the frozen layers keep the source's statistics or have them recomputed
on the target) and its regulariser. What a regulariser adds to training (a term that sees the
weights and the features, and whether the recipe's weight decay stays), with its formula, is
declared in its own module of :mod:`tlkit.regularizers`. Adding a method is one
:func:`register` call here (and, for a new kind of penalty, one module there).

Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in deep
neural networks? NeurIPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .spec import RunSpec, TransferSpec

__all__ = ["Method", "METHODS", "register", "method", "transfer", "all_but_classifier"]

Builder = Callable[..., TransferSpec]


@dataclass(frozen=True)
class Method:
    """One transfer method of the registry.

    Attributes:
        name: the name experiments tag their runs with.
        build: ``build(source, layers, **options) -> TransferSpec``.
        whole_network: the method always transfers every layer but the classifier.
        bn_stats: the batch-norm statistics of its frozen layers
            (:data:`tlkit.spec.BN_STATS`): the source's, or recomputed on the target.
    """

    name: str
    build: Builder
    whole_network: bool = False
    bn_stats: str = "source"


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
    L2-SP and DELTA, ``alpha`` for BSS, ``lr_mult`` for every fine-tuning method).
    """
    entry = method(name)
    if layers is None or entry.whole_network:
        layers = all_but_classifier(source.model.arch if source is not None else arch)
    built = entry.build(source, layers, **options)
    return built if entry.bn_stats == built.bn_stats else replace(built, bn_stats=entry.bn_stats)


def _scratch(source: RunSpec | None, layers: int) -> TransferSpec:
    return TransferSpec()


def _frozen(source: RunSpec | None, layers: int) -> TransferSpec:
    return TransferSpec(source=source, layers=layers, freeze=True)


def _fine_tune(source: RunSpec | None, layers: int, lr_mult: float = 1.0) -> TransferSpec:
    return TransferSpec(source=source, layers=layers, freeze=False, lr_mult=lr_mult)


def _random_frozen(source: RunSpec | None, layers: int) -> TransferSpec:
    return TransferSpec(source=None, layers=layers, freeze=True)


def _regularised(regularizer: str, alpha: float, beta: float) -> Builder:
    def build(source: RunSpec | None, layers: int, alpha: float = alpha, beta: float = beta,
              lr_mult: float = 1.0) -> TransferSpec:
        return TransferSpec(source=source, layers=layers, freeze=False, lr_mult=lr_mult,
                            regularizer=regularizer, alpha=alpha, beta=beta)

    return build


register(Method("scratch", _scratch))
register(Method("frozen", _frozen))
register(Method("fine-tune", _fine_tune))
register(Method("linear probe", _frozen, whole_network=True))
register(Method("linear probe, target BN", _frozen, whole_network=True, bn_stats="target"))
register(Method("random frozen", _random_frozen))
register(Method("L2-SP", _regularised("l2sp", alpha=0.01, beta=0.0)))
register(Method("DELTA", _regularised("delta", alpha=0.01, beta=0.01)))
register(Method("BSS", _regularised("bss", alpha=0.001, beta=0.0)))
