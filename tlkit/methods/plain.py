r"""The methods that only choose what is copied and what trains, with the recipe's weight decay.

* ``scratch``: no transfer.
* ``frozen``: copy the first ``n`` layers of the source and keep them fixed (Yosinski et al.'s
  AnB / BnB); ``linear probe`` is ``frozen`` at every layer but the classifier.
* ``fine-tune``: copy the first ``n`` layers and train every layer (AnB+ / BnB+), with an
  optional learning-rate multiplier on the copied layers.
* ``random frozen``: the first ``n`` layers left at their random initialisation and frozen
  (Yosinski et al.'s random-filter control).

Their regulariser is ``"l2"``: plain weight decay towards zero,
:math:`\Omega(w) = \frac{\lambda}{2}\lVert w\rVert^2`, which SGD applies (nothing is added
to the loss).

Yosinski, J., Clune, J., Bengio, Y. & Lipson, H. (2014). How transferable are features in deep
neural networks? NeurIPS.
"""

from __future__ import annotations

from typing import Any

from ..spec import TransferSpec
from . import register, register_regularization
from .base import Method, Regularization


def scratch(source: Any, layers: int) -> TransferSpec:
    """No transfer: every layer starts at random."""
    return TransferSpec()


def frozen(source: Any, layers: int) -> TransferSpec:
    """The first ``layers`` layers copied from ``source`` and kept fixed."""
    return TransferSpec(source=source, layers=layers, freeze=True)


def fine_tune(source: Any, layers: int, lr_mult: float = 1.0) -> TransferSpec:
    """The first ``layers`` layers copied from ``source``; every layer trains."""
    return TransferSpec(source=source, layers=layers, freeze=False, lr_mult=lr_mult)


def random_frozen(source: Any, layers: int) -> TransferSpec:
    """The first ``layers`` layers left at their random initialisation and frozen."""
    return TransferSpec(source=None, layers=layers, freeze=True)


register_regularization(Regularization(
    "l2", "weight decay towards zero, applied by SGD"))
register(Method("scratch", scratch))
register(Method("frozen", frozen))
register(Method("fine-tune", fine_tune))
register(Method("linear probe", frozen, whole_network=True))
register(Method("random frozen", random_frozen))
