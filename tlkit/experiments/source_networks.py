"""The book's own cnn8 source networks that the later chapters copy.

A source network is base network A of a layer-transfer split (that chapter's very run, shared
through the run cache), or a cnn8 trained from scratch on other declared data exactly as base
network A is: the layer-transfer chapter's ``source_per_class`` images per class (or the whole
split), its ``validation`` images per class held out, its scratch recipe, one network per seed.
Two chapters that declare the same trained source share its runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import data
from ..spec import DataSpec, ModelSpec, RunSpec
from . import layer_transfer as lt
from .profile import seed_params

__all__ = ["layer_params", "cnn_model", "trained_run", "check_trained"]


def layer_params(s: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of the layer-transfer experiment whose networks a chapter shares (the same
    profile and seeds, :func:`~tlkit.experiments.profile.seed_params`, with the
    ``layer_transfer`` overrides of its own, if any)."""
    return {"profile": s["profile"], **seed_params(s), **(s.get("layer_transfer") or {})}


def cnn_model(s: Mapping[str, Any]) -> ModelSpec:
    """The cnn8 of the layer-transfer chapter."""
    return lt.model_spec(layer_params(s))


def trained_run(s: Mapping[str, Any], dataset: str, options: Mapping[str, Any],
                classes: tuple[str, ...] | None, seed: int,
                whole_split: bool = False) -> RunSpec:
    """The run of a cnn8 trained from scratch on ``dataset`` (its ``classes``, ``None``: all)
    for ``seed``, as base network A is trained (module docstring); ``whole_split``: every
    training image but the held-out ones instead of ``source_per_class``."""
    lp = layer_params(s)
    ls = lt.design_settings(lp)
    d = DataSpec(dataset, options, classes=classes,
                 n_per_class=None if whole_split else ls["source_per_class"], subsample_seed=0,
                 validation=ls["validation"])
    return RunSpec(d, cnn_model(s), lt.recipe(lp, "scratch"), seed=seed)


def check_trained(s: Mapping[str, Any], name: str, dataset: Any, options: Any, classes: Any,
                  whole_split: bool = False) -> None:
    """Raise ``ValueError``, naming the source, when a trained source has no dataset or
    cannot draw its images (an unknown dataset, option or class, too few images per class
    for ``source_per_class`` and the held-out ones)."""
    if not isinstance(dataset, str):
        raise ValueError(f"trained source {name!r} needs a dataset")
    ls = lt.design_settings(layer_params(s))
    n = None if whole_split else ls["source_per_class"]
    try:
        data.check(dataset, classes=classes, n_per_class=None if n is None else n + ls[
            "validation"], **dict(options or {}))
    except (TypeError, ValueError) as err:
        raise ValueError(f"trained source {name!r}: {err}") from None
