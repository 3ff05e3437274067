r"""What a transfer method adds to training: a :class:`Regularization`, named by
``TransferSpec.regularizer``, declares what its regulariser adds to the loss and to the
optimiser. Training minimises

.. math::
    L(w) = \frac{1}{|B|}\sum_{(x, y) \in B} -\log \operatorname{softmax}(f_w(x))_y
           + \Omega(w, \{h_d(x)\}_{d \in D}),

where :math:`h_d(x)` is the output of the network's first :math:`d` layers on the batch
(:math:`h_0 = x`) and :math:`D` the depths the regulariser reads (:attr:`Regularizer.depths`:
none for a penalty on weights alone, such as L2-SP; feature maps for DELTA; the features
before the classifier for BSS). Plain weight decay is not a term of :math:`\Omega`: SGD applies
it, and a regulariser that replaces it says so (:attr:`Regularization.weight_decay`).

This module imports no torch, and no regulariser module imports the spec (only for type hints):
specs check their regulariser's name and settings against the registry
(:mod:`tlkit.regularizers`) without loading a network library, and without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..spec import RunSpec, TransferSpec

__all__ = ["Regularization", "Regularizer", "Context", "Decay", "recipe_decay"]


class Regularizer:
    """A term :math:`\\Omega` added to the training loss, built for one run.

    ``depths`` are the depths whose outputs it reads (see the module doc); the trainer passes
    them as ``features[d]`` for every ``d`` in ``depths``, computed on the current batch with
    gradients. A regulariser of weights alone reads none and is called with no features.
    """

    depths: tuple[int, ...] = ()

    def __call__(self, features: Mapping[int, Any] | None = None) -> Any:
        raise NotImplementedError

    def on_features(self, features: Mapping[int, Any]) -> Any:
        """The part of :math:`\\Omega` that reads the features alone (the network's weights
        enter it only through them), for a regulariser whose other part is a
        :class:`Decay` (:attr:`Regularization.decay`). The batched engine adds it per network,
        on that network's slice of the grouped features; :func:`~tlkit.train.fit` calls the
        regulariser itself, which adds both parts."""
        raise NotImplementedError(f"{type(self).__name__} has no part read from features alone")


@dataclass(frozen=True)
class Context:
    """What a regulariser is built from: the run's network as training starts (built, copied,
    frozen layers' statistics set, on its device), its transfer and recipe, its training
    data and a seed of its own."""

    model: Any
    spec: RunSpec
    config: Any
    x_train: Any
    y_train: Any
    seed: int
    device: Any


@dataclass(frozen=True)
class Decay:
    """A regulariser of weights alone in the form the batched engine applies in its SGD step
    (:mod:`tlkit.batched`): the gradient ``alpha (w - w0)`` on the first ``depth`` layers and
    ``beta w`` above them."""

    depth: int
    alpha: float
    beta: float


def recipe_decay(transfer: TransferSpec) -> None:
    """The :attr:`Regularization.decay` of a regulariser that reads features alone: its weight
    part is the recipe's weight decay, which the batched engine applies as it does for plain
    fine-tuning."""
    return None


@dataclass(frozen=True)
class Regularization:
    """What the regulariser ``name`` (``TransferSpec.regularizer``) adds to training.

    Attributes:
        name: the value of ``TransferSpec.regularizer``.
        summary: one line for tables.
        build: ``build(context) -> Regularizer``; ``None``: nothing is added to the loss.
        weight_decay: whether the recipe's weight decay still applies (``False``: the
            regulariser replaces it, as L2-SP's ``beta`` does).
        needs_start: the regulariser pulls towards the starting weights, so the run needs a
            source run or pretrained weights.
        check: ``check(transfer)`` raises ``ValueError`` for settings the regulariser cannot
            use (called when a :class:`~tlkit.spec.TransferSpec` is made).
        check_run: ``check_run(spec)`` raises ``ValueError`` for a run the regulariser cannot
            train, such as an architecture without the layers it reads (called when a
            :class:`~tlkit.spec.RunSpec` is made, before anything is built).
        decay: the part of the regulariser on weights, as the batched engine's per-network
            decay (:class:`Decay`; the callable returns ``None`` where the recipe's weight
            decay is that part). A regulariser that also reads features adds the rest with
            :meth:`Regularizer.on_features`. ``None`` (no callable): its runs train alone.
        module: the module that declares it (set by
            :func:`~tlkit.regularizers.register`): part of the code fingerprint of
            the runs that use it, and of no other.
    """

    name: str
    summary: str
    build: Callable[[Context], Regularizer] | None = None
    weight_decay: bool = True
    needs_start: bool = False
    check: Callable[[TransferSpec], None] | None = None
    check_run: Callable[[RunSpec], None] | None = None
    decay: Callable[[TransferSpec], Decay | None] | None = None
    module: str = ""

    @property
    def batchable(self) -> bool:
        """Whether runs with this regulariser can train in the batched engine
        (:mod:`tlkit.batched`): nothing added, or a weight part the engine's SGD step applies
        (:attr:`decay`) and perhaps a part read from features
        (:meth:`Regularizer.on_features`)."""
        return self.build is None or self.decay is not None
