r"""L2-SP: fine-tuning that decays the copied weights towards their starting point.

.. math::
    \Omega(w) = \frac{\alpha}{2} \sum_{l < n} \lVert w_l - w^0_l \rVert^2
              + \frac{\beta}{2} \sum_{l \ge n} \lVert w_l \rVert^2

where :math:`w^0` are the weights of the first :math:`n` layers as training starts (the
copied source weights) and the second sum runs over every layer above them. It replaces the
recipe's weight decay. With :math:`n` below the number of copied layers (``sp_layers``), the
upper copied layers are counted with the new ones: the mix of L2-SP on the lower and L2 on the
upper layers of Plested, Shen & Gedeon (2021). Only trainable weights of convolutional and
linear modules are penalised (no biases, no normalisation parameters); a frozen prefix
contributes nothing. The gradient is :math:`\alpha (w - w^0)` on the pulled weights and
:math:`\beta w` on the others, which is how the batched engine applies it (:class:`Decay`).

Li, X., Grandvalet, Y. & Davoine, F. (2018). Explicit inductive bias for transfer learning
with convolutional networks. ICML. Plested, J., Shen, X. & Gedeon, T. (2021). Rethinking
binary hyperparameters for deep transfer learning. ICONIP; arXiv:2107.08585.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import register
from .base import Context, Decay, Regularization, Regularizer

if TYPE_CHECKING:
    from ..spec import TransferSpec

__all__ = ["L2SP"]


class L2SP(Regularizer):
    """The L2-SP penalty of one network (see the module doc).

    Args:
        model: the layered network, after it was moved to its device.
        n: the number of leading layers pulled towards their weights at construction time.
        alpha, beta: the strengths on those layers and on every layer above them.
    """

    def __init__(self, model: Any, n: int, alpha: float, beta: float) -> None:
        from ..transfer import check_depth, penalised_weights

        check_depth(model, n, allow_classifier=True)
        self.alpha, self.beta = float(alpha), float(beta)
        self._pairs: list[tuple[Any, Any]] = []
        self._new: list[Any] = []
        for i, layer in enumerate(model.layers):
            for _, w in penalised_weights(layer):
                if i < n:
                    self._pairs.append((w, w.detach().clone()))
                else:
                    self._new.append(w)

    def __call__(self, features: Mapping[int, Any] | None = None) -> Any:
        import torch

        total = torch.zeros(())
        sp = [(w - w0).pow(2).sum() for w, w0 in self._pairs if w.requires_grad]
        if sp:
            total = total + 0.5 * self.alpha * sum(sp)
        new = [w.pow(2).sum() for w in self._new if w.requires_grad]
        if new:
            total = total + 0.5 * self.beta * sum(new)
        return total


def _build(context: Context) -> L2SP:
    t = context.spec.transfer
    return L2SP(context.model, t.sp_depth, t.alpha, t.beta)


def _decay(t: TransferSpec) -> Decay:
    return Decay(t.sp_depth, t.alpha, t.beta)


register(Regularization(
    "l2sp", "weights decayed towards their starting point (alpha) and above it to zero (beta)",
    build=_build, weight_decay=False, needs_start=True, decay=_decay))
