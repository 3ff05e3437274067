r"""Transfer methods by name, each declared in one module of this package.

A *source* is the pretraining run whose final weights are copied (a
:class:`~tlkit.spec.RunSpec`), or ``None`` when the target's model starts from pretrained weights
of its own (``ModelSpec.weights``) or from nothing. ``layers`` is the number of leading layers
transferred; the classifier is never transferred, so "all" is :math:`L - 1` for an
:math:`L`-layer network (:func:`all_but_classifier`).

================  ==============  ==========================================================
method            module          what it builds and adds to training
================  ==============  ==========================================================
``scratch``       :mod:`.plain`   no transfer: every layer starts at random and trains
``frozen``        :mod:`.plain`   copy ``layers`` layers and keep them fixed (Yosinski et al.'s
                                  AnB / BnB)
``fine-tune``     :mod:`.plain`   copy ``layers`` layers and train them too (AnB+ / BnB+),
                                  plain L2 decay
``linear probe``  :mod:`.plain`   ``frozen`` at every layer but the classifier
``random frozen`` :mod:`.plain`   ``layers`` layers left at their random initialisation and
                                  frozen (Yosinski et al.'s random-filter control)
``L2-SP``         :mod:`.l2sp`    fine-tune, decaying the copied weights towards the source's
                                  (Li, Grandvalet & Davoine, 2018)
``DELTA``         :mod:`.delta`   fine-tune, pulling the copied layers' feature maps towards
                                  the source's, weighted by channel attention (Li et al., 2019)
``BSS``           :mod:`.bss`     fine-tune, shrinking the smallest singular values of a
                                  batch's features (Chen et al., 2019)
================  ==============  ==========================================================

Each module registers its :class:`~tlkit.methods.base.Method` (how it builds its
:class:`~tlkit.spec.TransferSpec`) and, where it adds to training, its
:class:`~tlkit.methods.base.Regularization` (named by ``TransferSpec.regularizer``): adding a
method is one module and its line in :data:`_MODULES`.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import replace
from typing import Any

from .base import Context, Decay, Method, Regularization, Regularizer

__all__ = ["Method", "Regularization", "Regularizer", "Context", "Decay", "METHODS",
           "REGULARIZATIONS", "register", "register_regularization", "method", "regularization",
           "transfer", "all_but_classifier"]

#: Every transfer method by name, in the order registered.
METHODS: dict[str, Method] = {}
#: What each value of ``TransferSpec.regularizer`` adds to training.
REGULARIZATIONS: dict[str, Regularization] = {}


def register(entry: Method) -> Method:
    """Add ``entry`` to :data:`METHODS` (a name is registered once)."""
    if entry.name in METHODS:
        raise ValueError(f"method {entry.name!r} is already registered")
    METHODS[entry.name] = entry
    return entry


def register_regularization(entry: Regularization) -> Regularization:
    """Add ``entry`` to :data:`REGULARIZATIONS` (a name is registered once), noting the module
    that registers it as its ``module`` when it does not name one."""
    if entry.name in REGULARIZATIONS:
        raise ValueError(f"regularizer {entry.name!r} is already registered")
    if not entry.module:
        entry = replace(entry, module=sys._getframe(1).f_globals["__name__"])
    REGULARIZATIONS[entry.name] = entry
    return entry


def method(name: str) -> Method:
    """The registry entry of ``name``; a ``ValueError`` lists the valid names."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(METHODS)}") from None


def regularization(name: str) -> Regularization:
    """What the regulariser ``name`` adds to training; a ``ValueError`` lists the valid
    names."""
    try:
        return REGULARIZATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown regularizer {name!r}; valid: "
                         f"{', '.join(REGULARIZATIONS)}") from None


def all_but_classifier(arch: str) -> int:
    """The number of transferable layers of an architecture: every layer but the classifier."""
    from ..models import num_layers

    return num_layers(arch) - 1


def transfer(name: str, source: Any = None, *, layers: int | None = None,
             arch: str = "cnn8", **options: Any) -> Any:
    """The :class:`~tlkit.spec.TransferSpec` of method ``name`` from ``source``.

    ``layers`` defaults to :func:`all_but_classifier` of ``arch`` (the source's architecture
    when there is a source run). ``options`` are the method's own (``alpha``, ``beta`` for
    L2-SP and DELTA, ``alpha`` for BSS, ``lr_mult`` for every fine-tuning method).
    """
    entry = method(name)
    if layers is None or entry.whole_network:
        layers = all_but_classifier(source.model.arch if source is not None else arch)
    return entry.build(source, layers, **options)


#: The modules that declare methods, in the order of the table above.
_MODULES = ("plain", "l2sp", "delta", "bss")

for _name in _MODULES:
    importlib.import_module(f"{__name__}.{_name}")
