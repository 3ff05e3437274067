r"""BSS: fine-tuning with batch spectral shrinkage of the features.

Chen et al. trace negative transfer in fine-tuning to the spectral components of the features
that the small target cannot train: the directions of the smallest singular values. Batch
spectral shrinkage penalises them. With :math:`F \in \mathbb{R}^{b \times d}` the features of
a batch of :math:`b` images before the classifier (the output of every layer but the last,
flattened) and :math:`\sigma_1 \ge \dots \ge \sigma_m`, :math:`m = \min(b, d)`, its singular
values,

.. math::
    \Omega(F) = \eta \sum_{i=1}^{k} \sigma_{m + 1 - i}^2 ,

the sum of the squares of the :math:`k` smallest. It is added to fine-tuning with the
recipe's weight decay. Here :math:`\eta` is ``TransferSpec.alpha`` and :math:`k = 1`
(:data:`K`), the setting the paper recommends (its ablation finds larger :math:`k` no better).

Chen, X., Wang, S., Fu, B., Long, M. & Wang, J. (2019). Catastrophic forgetting meets negative
transfer: batch spectral shrinkage for safe transfer learning. NeurIPS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import register
from .base import Context, Regularization, Regularizer, recipe_decay

if TYPE_CHECKING:
    from ..spec import TransferSpec

__all__ = ["BSS", "K"]

#: The number of smallest singular values shrunk.
K = 1


class BSS(Regularizer):
    """The batch spectral shrinkage penalty of the features at ``depth`` (see the module doc).

    Args:
        depth: the depth whose output is the feature matrix (``L - 1`` for an ``L``-layer
            network: the classifier's input).
        eta: the strength :math:`\\eta`.
        k: the number of smallest singular values penalised.
    """

    def __init__(self, depth: int, eta: float, k: int = K) -> None:
        if k < 1:
            raise ValueError(f"BSS shrinks k >= 1 singular values, got {k}")
        self.depths = (depth,)
        self.eta, self.k = float(eta), k

    def __call__(self, features: Mapping[int, Any] | None = None) -> Any:
        if features is None:
            raise ValueError("BSS reads the batch's features: pass features[depth]")
        return self.on_features(features)

    def on_features(self, features: Mapping[int, Any]) -> Any:
        """:math:`\\Omega(F)` of the module doc (BSS reads features alone)."""
        import torch

        f = features[self.depths[0]].float().flatten(1)
        sigma = torch.linalg.svdvals(f)  # descending
        return self.eta * sigma[-min(self.k, len(sigma)):].pow(2).sum()


def _build(context: Context) -> BSS:
    return BSS(context.model.num_layers - 1, context.spec.transfer.alpha)


def _check(t: TransferSpec) -> None:
    if t.beta != 0.0:
        raise ValueError("BSS has one strength, alpha; beta must be 0 (the recipe's weight "
                         f"decay applies), got {t.beta}")


register(Regularization(
    "bss", "the smallest singular value of a batch's features shrunk (alpha)", build=_build,
    check=_check, decay=recipe_decay))
