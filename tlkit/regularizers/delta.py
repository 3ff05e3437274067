r"""DELTA: fine-tuning that keeps the copied layers' feature maps near the source's.

Where L2-SP pulls the weights towards their starting point, DELTA pulls the *behaviour*: the
outputs of the copied layers on the target's own images, weighted by how much each channel
matters to the target. With :math:`h_d(w, x)` the output of the first :math:`d` layers,
:math:`w^0` the weights as training starts (the copied source), :math:`D` the depths of the
copied layers that train and output feature maps (the convolutional ones, as in the paper:
:func:`feature_map_depths`), :math:`C_d` their channels and :math:`P_d` the positions of a
channel (height times width), on a batch :math:`B`:

.. math::
    \Omega(w) = \frac{\alpha}{2} \sum_{d \in D} \frac{C_d}{P_d} \sum_{c=1}^{C_d} a_{d,c}
        \frac{1}{|B|} \sum_{x \in B} \lVert h_{d,c}(w, x) - h_{d,c}(w^0, x) \rVert^2
      + \frac{\beta}{2} \sum_{l \ge n} \lVert w_l \rVert^2 ,

the second sum over the weights of the new layers (above the :math:`n` copied ones); it
replaces the recipe's weight decay. The reference :math:`h(w^0, x)` is computed on the same
batch by a copy of the starting network, without gradients and with the same train-mode batch
statistics as the network that trains, so that :math:`\Omega = 0` where :math:`w = w^0`.

The channel attention :math:`a_{d,c}` comes from the source's head: a copy of the starting
network whose copied layers are frozen trains the layers above them on the target with the
run's recipe; then, in evaluation mode on the training images, :math:`\Delta_{d,c}` is the
increase of its mean cross-entropy when channel :math:`c` of the output at depth :math:`d` is
set to zero, and

.. math::
    a_{d,\cdot} = \operatorname{softmax}\big(z_{d,\cdot} / T\big), \qquad
    z_{d,c} = (\Delta_{d,c} - \bar\Delta_d) / s_d ,

with :math:`\bar\Delta_d, s_d` the mean and standard deviation over the channels of depth
:math:`d` (:math:`z = 0` where they do not vary) and :math:`T = 5` (:data:`TEMPERATURE`). A
uniform attention gives every channel :math:`C_d a_{d,c} = 1`. The factor :math:`C_d / P_d`
and the temperature follow the public implementation of the Transfer-Learning-Library; the
batch enters as a mean, so that :math:`\alpha` does not depend on the batch size.

Li, X., Xiong, H., Wang, H., Rao, Y., Liu, L., Chen, Z. & Huan, J. (2019). DELTA: deep learning
transfer using feature map with attention for convolutional networks. ICLR.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import register
from .base import Context, Decay, Regularization, Regularizer

if TYPE_CHECKING:
    from ..spec import RunSpec, TransferSpec

__all__ = ["DELTA", "channel_attention", "feature_map_depths", "TEMPERATURE"]

#: The softmax temperature of the channel attention.
TEMPERATURE = 5.0


class DELTA(Regularizer):
    """The DELTA penalty of one network (see the module doc).

    Args:
        model: the network as training starts, on its device (copied here as the reference).
        frozen: its leading layers that stay fixed; the trainer passes the output at this
            depth, from which the reference's feature maps are computed.
        layers: the number of copied layers (the weights above them are the new ones).
        attention: per depth in ``D``, one weight per channel summing to 1.
        alpha, beta: the strengths on the feature maps and on the new weights.
    """

    def __init__(self, model: Any, frozen: int, layers: int,
                 attention: Mapping[int, Any], alpha: float, beta: float) -> None:
        from ..transfer import penalised_weights

        maps = tuple(sorted(attention))
        if not maps or maps[0] <= frozen or maps[-1] > layers:
            raise ValueError(f"DELTA reads the outputs of trained copied layers: depths in "
                             f"{frozen + 1}..{layers}, got {list(maps)}")
        self.frozen, self.maps = frozen, maps
        self.depths = (frozen, *maps)
        self.attention = {d: attention[d].detach() for d in maps}
        self.alpha, self.beta = float(alpha), float(beta)
        self.reference = copy.deepcopy(model)
        for p in self.reference.parameters():
            p.requires_grad_(False)
        self.reference.train()
        for layer in self.reference.layers[:frozen]:
            layer.eval()
        self._new = [w for layer in model.layers[layers:] for _, w in penalised_weights(layer)]

    def reference_maps(self, x: Any) -> dict[int, Any]:
        """The reference's outputs at the depths of ``D`` from its input ``x`` at depth
        ``frozen``."""
        import torch

        out, h, at = {}, x, self.frozen
        with torch.no_grad():
            for d in self.maps:
                h = self.reference(h, at, d)
                out[d] = h
                at = d
        return out

    def on_features(self, features: Mapping[int, Any]) -> Any:
        """The first sum of the module doc, times :math:`\\alpha / 2`: the attention-weighted
        distance of the feature maps from the reference's."""
        reference = self.reference_maps(features[self.frozen])
        total = 0.0
        for d in self.maps:
            diff = (features[d].float() - reference[d].float()).flatten(2) if features[
                d].dim() > 2 else (features[d].float() - reference[d].float()).unsqueeze(2)
            channels, positions = diff.shape[1], diff.shape[2]
            per_channel = diff.pow(2).sum(2).mean(0)  # [C]: mean over the batch
            total = total + channels / positions * (self.attention[d] * per_channel).sum()
        return 0.5 * self.alpha * total

    def __call__(self, features: Mapping[int, Any] | None = None) -> Any:
        if features is None:
            raise ValueError("DELTA reads feature maps: pass features at its depths")
        new = sum(w.pow(2).sum() for w in self._new if w.requires_grad)
        return self.on_features(features) + 0.5 * self.beta * new


def channel_attention(model: Any, images: Any, labels: Any, depths: Sequence[int],
                      batch_size: int = 128) -> dict[int, Any]:
    """The attention of each channel at each of ``depths`` for a trained ``model``: softmax
    over the channels of the standardised increase of the mean cross-entropy on ``images``
    when the channel is set to zero (see the module doc)."""
    import torch
    from torch.nn import functional as F

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device

    def loss_from(h: Any, depth: int) -> float:
        total = 0.0
        for i in range(0, len(h), batch_size):
            logits = model(h[i:i + batch_size], depth).float()
            total += F.cross_entropy(logits, labels[i:i + batch_size].to(device),
                                     reduction="sum").item()
        return total / len(h)

    out = {}
    with torch.no_grad():
        x = images.to(device)
        base = loss_from(x, 0)
        h, at = x, 0
        for d in sorted(depths):
            h = model(h, at, d)
            at = d
            increase = []
            for c in range(h.shape[1]):
                ablated = h.clone()
                ablated[:, c] = 0
                increase.append(loss_from(ablated, d) - base)
            z = torch.tensor(increase, dtype=torch.float32)
            spread = z.std(unbiased=False)
            z = (z - z.mean()) / spread if spread > 0 else torch.zeros_like(z)
            out[d] = torch.softmax(z / TEMPERATURE, 0).to(device)
    model.train(was_training)
    return out


def feature_map_depths(model: Any, x: Any, frozen: int, layers: int) -> list[int]:
    """The depths in ``frozen + 1 .. layers`` whose outputs are feature maps (a channel by
    positions: convolutional layers, not fully connected ones), found on the input ``x``."""
    import torch

    out, h = [], x
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for d in range(1, layers + 1):
            h = model(h, d - 1, d)
            if d > frozen and h.dim() > 2:
                out.append(d)
    model.train(was_training)
    return out


def _build(context: Context) -> DELTA:
    from ..train import fit

    spec, model = context.spec, context.model
    t = spec.transfer
    x, y = context.x_train, context.y_train
    depths = feature_map_depths(model, x[:1].to(context.device), t.frozen, t.layers)
    if not depths:
        raise ValueError(f"DELTA needs a trained copied layer with feature maps; layers "
                         f"{t.frozen + 1}..{t.layers} of {spec.model.arch} have none")
    head = copy.deepcopy(model)
    fit(head, x, y, x[:1], y[:1], spec.train, frozen=t.layers, seed=context.seed,
        device=context.device, amp=spec.compute.endswith("-bf16"))
    attention = channel_attention(head, x, y, depths)
    return DELTA(model, t.frozen, t.layers, attention, t.alpha, t.beta)


def _check_run(spec: RunSpec) -> None:
    from ..models import ARCHITECTURES

    t, arch = spec.transfer, spec.model.arch
    maps = ARCHITECTURES[arch].feature_maps
    if t.frozen + 1 > min(t.layers, maps):
        raise ValueError(f"DELTA reads the feature maps of copied layers that train: layers "
                         f"{t.frozen + 1}..{t.layers} of {arch} output none (its first {maps} "
                         f"layers output feature maps)")


def _check(t: TransferSpec) -> None:
    if t.frozen >= t.layers:
        raise ValueError("DELTA regularises the copied layers that train: it needs copied "
                         f"layers that are not frozen (layers={t.layers}, freeze={t.freeze})")


def _decay(t: TransferSpec) -> Decay:
    return Decay(t.layers, 0.0, t.beta)  # the second sum: beta on the new weights


register(Regularization(
    "delta", "feature maps of the copied layers pulled towards the source's (alpha), new "
    "weights to zero (beta)", build=_build, weight_decay=False, needs_start=True,
    check=_check, check_run=_check_run, decay=_decay))
