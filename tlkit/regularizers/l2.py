r"""``l2``: plain weight decay towards zero, the regulariser of every method that only chooses
what is copied and what trains (scratch, frozen, fine-tuning, the linear probe).

.. math::
    \Omega(w) = \frac{\lambda}{2} \lVert w \rVert^2

over the weights of convolutional and linear modules, with :math:`\lambda` the recipe's
``weight_decay``. SGD applies it (``grad += weight_decay * w``): nothing is added to the loss.
"""

from __future__ import annotations

from . import register
from .base import Regularization

register(Regularization("l2", "weight decay towards zero, applied by SGD"))
