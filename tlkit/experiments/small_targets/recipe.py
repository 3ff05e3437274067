"""The recipe of each method of the small-target chapter at each target size: its bucket
(small or large), its learning rate (and DELTA's and BSS's strength) from the profile's
``recipes``, and its length in SGD steps and epochs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...train import TrainConfig

__all__ = ["bucket", "train_config", "recipe_key", "recipe_of", "lr_of", "min_epochs_text",
           "length_text", "length_of", "LENGTH_KEYS"]


def bucket(s: Mapping[str, Any], n: int | None) -> str:
    """``"small"`` below the profile's ``size_boundary`` examples per class, else ``"large"``
    (the whole split is large)."""
    return "small" if n is not None and n < s["size_boundary"] else "large"


def train_config(s: Mapping[str, Any], n_images: int, lr: float) -> TrainConfig:
    """The optimisation of a run on ``n_images`` training images: at least ``steps`` SGD steps
    and at least ``min_epochs`` epochs, at learning rate ``lr``.

    Epochs are whole: with ``b = ceil(n_images / batch_size)`` batches per epoch, the batch
    size is evened out to ``ceil(n_images / b)`` (so that no batch is a near-empty remainder)
    and the run takes ``max(ceil(steps / b), min_epochs)`` epochs. A tiny target is trained for
    as many steps as a larger one, and a large target for as many epochs as the recipes of the
    layer-transfer chapter need to converge. The cosine schedule spans all of them.
    """
    batches = math.ceil(n_images / s["batch_size"])
    batch = math.ceil(n_images / batches)
    epochs = max(1, math.ceil(s["steps"] / batches), s["min_epochs"])
    return TrainConfig(epochs=epochs, batch_size=batch, lr=lr)


def recipe_key(s: Mapping[str, Any], method: str, n: int | None, as_bucket: str | None = None,
               own: str | None = None) -> str:
    """The key in the profile's ``recipes`` of ``method`` at size ``n``:
    ``"{method}_{bucket}"``, with ``" ({own})"`` for the recipes chosen on source ``own``."""
    key = f"{method}_{as_bucket or bucket(s, n)}"
    return key if own is None else f"{key} ({own})"


def recipe_of(s: Mapping[str, Any], method: str, n: int | None, setting: str,
              as_bucket: str | None = None, own: str | None = None) -> float:
    """A ``setting`` of the recipe of ``method`` at size ``n``: the profile's for its bucket,
    or for ``as_bucket`` (``"large"``: the large-target recipe applied to a small target);
    ``own``: the recipe chosen on that source (:func:`recipe_key`)."""
    key = recipe_key(s, method, n, as_bucket, own)
    try:
        return float(s["recipes"][key][setting])
    except KeyError:
        raise ValueError(f"the profile has no {setting} in recipe {key!r}") from None


def lr_of(s: Mapping[str, Any], method: str, n: int | None,
          as_bucket: str | None = None, own: str | None = None) -> float:
    """The learning rate of ``method`` at size ``n``: the profile's recipe for its bucket (or
    for ``as_bucket``; ``own``: the one chosen on that source)."""
    return recipe_of(s, method, n, "lr", as_bucket, own)


#: The settings of a run's length that a recipe may raise above the profile's.
LENGTH_KEYS = ("steps", "min_epochs")


def length_text(s: Mapping[str, Any], key: str) -> str:
    """The profile's least ``steps`` or ``min_epochs`` in words, with the recipes that take
    more: ``"40"``, or ``"40 (80 for fine-tune on large targets)"``."""
    def words(name: str) -> str:
        base, _, source = name.partition(" (")
        method, b = base.rsplit("_", 1)
        return f"{method} on {b} targets" + (f" from {source[:-1]}" if source else "")

    extra = ", ".join(f"{r[key]} for {words(k)}" for k, r in s["recipes"].items() if key in r)
    return f"{s[key]}" + (f" ({extra})" if extra else "")


def min_epochs_text(s: Mapping[str, Any]) -> str:
    """The least epochs in words (:func:`length_text`)."""
    return length_text(s, "min_epochs")


def length_of(s: Mapping[str, Any], method: str, n: int | None,
              as_bucket: str | None = None, own: str | None = None) -> dict[str, Any]:
    """The settings with ``method``'s length at size ``n``: its recipe's ``steps`` and
    ``min_epochs`` where it sets them (a method slower to reach its plateau,
    :mod:`~tlkit.experiments.recipe_plateau`); ``as_bucket``: the recipe of that bucket
    instead of ``n``'s; ``own``: chosen on that source."""
    recipe = s["recipes"].get(recipe_key(s, method, n, as_bucket, own), {})
    return {**s, **{k: int(recipe[k]) for k in LENGTH_KEYS if k in recipe}}
