"""What each transfer method adds to training, by the name ``TransferSpec.regularizer`` gives.

==========  ==============  ==================================================================
name        module          what training adds
==========  ==============  ==================================================================
``l2``      :mod:`.l2`      nothing: the recipe's weight decay towards zero, applied by SGD
``l2sp``    :mod:`.l2sp`    the copied weights pulled towards the source's (L2-SP, Li et al.,
                            2018), instead of weight decay
``delta``   :mod:`.delta`   the copied layers' feature maps pulled towards the source's,
                            weighted by channel attention (DELTA, Li et al., 2019)
``bss``     :mod:`.bss`     the smallest singular value of a batch's features shrunk (BSS,
                            Chen et al., 2019)
==========  ==============  ==================================================================

Each module declares its :class:`~tlkit.regularizers.base.Regularization` (its formula in its
docstring, its penalty, whether the recipe's weight decay stays, its checks and, for a penalty
on weights alone, its form in the batched engine) and registers it here; the transfer methods
(:mod:`tlkit.methods`) name them. Adding a regulariser is one module and its import below; no
module here imports torch until a penalty is built, nor the spec.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from .base import Context, Decay, Regularization, Regularizer

__all__ = ["Regularization", "Regularizer", "Context", "Decay", "REGULARIZATIONS", "register",
           "regularization"]

#: What each value of ``TransferSpec.regularizer`` adds to training, in the order registered.
REGULARIZATIONS: dict[str, Regularization] = {}


def register(entry: Regularization) -> Regularization:
    """Add ``entry`` to :data:`REGULARIZATIONS` (a name is registered once), noting the module
    that registers it as its ``module`` when it does not name one."""
    if entry.name in REGULARIZATIONS:
        raise ValueError(f"regularizer {entry.name!r} is already registered")
    if not entry.module:
        entry = replace(entry, module=sys._getframe(1).f_globals["__name__"])
    REGULARIZATIONS[entry.name] = entry
    return entry


def regularization(name: str) -> Regularization:
    """What the regulariser ``name`` adds to training; a ``ValueError`` lists the valid
    names."""
    try:
        return REGULARIZATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown regularizer {name!r}; valid: "
                         f"{', '.join(REGULARIZATIONS)}") from None


from . import bss, delta, l2, l2sp  # noqa: E402, F401 - each registers its regulariser
