"""The sources of the small-targets experiment: what each is, the run that trains it, and
the recipes and sizes it runs by.

A source is base network A of a layer-transfer split (its very run), a cnn8 trained from
scratch on other declared data as base network A is
(:func:`~tlkit.experiments.source_networks.trained_run`: the pretrained chapter declares some of
the same, and their runs are shared), or torchvision ImageNet weights (the large-source case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...spec import RunSpec
from .. import layer_transfer as lt
from ..source_networks import check_trained, layer_params, trained_run
from .recipe import bucket

__all__ = ["Source", "source_of", "source_run", "own_recipe", "runs_from"]


@dataclass(frozen=True)
class Source:
    """A source network: base network A of a layer-transfer split (``split``), a cnn8 trained
    from scratch on ``dataset`` (its ``options`` and ``classes``; ``whole_split``: every
    training image but the held-out ones; :func:`~..source_networks.trained_run`), or
    torchvision ResNet-18 ``weights`` (the large-source case; ``size`` is then its input size).

    ``own_recipes``: the size buckets (``"small"``, ``"large"``) in which its runs take
    recipes chosen on it, ``"{method}_{bucket} ({name})"`` in the profile's ``recipes``,
    instead of those chosen on the near source; ``small_only``: it runs on small targets only.
    """

    name: str
    role: str
    split: str | None = None
    weights: str | None = None
    size: int | None = None
    dataset: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None
    whole_split: bool = False
    own_recipes: tuple[str, ...] = ()
    small_only: bool = False


_SOURCE_KEYS = ("name", "role", "split", "weights", "size", "dataset", "options", "classes",
                "whole_split", "own_recipes", "small_only")


def source_of(study: str, src: Any, by_split: Mapping[str, Any], s: Mapping[str, Any]
            ) -> Source | None:
    """A study's source entry as a :class:`Source` (``None``: the large-source case is off);
    ``ValueError`` naming the study and source for an entry it cannot use."""
    if not isinstance(src, Mapping) or "name" not in src or "role" not in src:
        raise ValueError(f"study {study!r}: a source needs a name and a role, got {src!r}")
    where = f"study {study!r}, source {src['name']!r}"
    unknown = sorted(set(src) - set(_SOURCE_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(_SOURCE_KEYS)}")
    kinds = [k for k in ("split", "dataset", "weights") if src.get(k) is not None]
    if len(kinds) != 1:
        raise ValueError(f"{where}: give exactly one of split, dataset and weights, got "
                         f"{kinds or 'none'}")
    own = tuple(src.get("own_recipes") or ())
    if any(b not in ("small", "large") for b in own):
        raise ValueError(f"{where}: own_recipes may name the buckets small and large, got "
                         f"{list(own)}")
    for key in ("whole_split", "small_only"):
        if not isinstance(src.get(key, False), bool):
            raise ValueError(f"{where}: {key} must be true or false, got {src[key]!r}")
    weights = src.get("weights")
    if weights == "pretrained":
        weights = s["pretrained"]
        if weights is None:
            return None  # the large-source case is off
    elif "split" in kinds and src["split"] not in by_split:
        raise ValueError(f"study {study!r}: unknown layer-transfer split {src['split']!r}; "
                         f"valid: {', '.join(by_split)}")
    elif "dataset" in kinds:
        check_trained(s, src["name"], src["dataset"], src.get("options"), src.get("classes"),
                      bool(src.get("whole_split", False)))
    classes = src.get("classes")
    return Source(src["name"], src["role"], src.get("split"), weights, src.get("size"),
                  src.get("dataset"), dict(src.get("options") or {}),
                  None if classes is None else tuple(classes),
                  bool(src.get("whole_split", False)), own, bool(src.get("small_only", False)))


def source_run(s: Mapping[str, Any], source: Source, seed: int) -> RunSpec | None:
    """The source run of ``source`` for ``seed``: base network A of its split, or the cnn8
    trained on its dataset (``None`` for pretrained weights)."""
    if source.dataset is not None:
        return trained_run(s, source.dataset, source.options, source.classes, seed,
                           source.whole_split)
    if source.split is None:
        return None
    split = {x.name: x for x in lt.splits(layer_params(s))}[source.split]
    return lt.source_spec(layer_params(s), split, "a", seed)


def own_recipe(s: Mapping[str, Any], source: Source | None, n: int | None,
               as_bucket: str | None = None) -> str | None:
    """The name whose recipes ``source`` runs by at size ``n``: its own where it has them for
    that bucket (:attr:`Source.own_recipes`), else ``None`` (those chosen on the near source);
    a recipe applied by another bucket (``as_bucket``) is never its own."""
    if source is None or as_bucket is not None:
        return None
    return source.name if bucket(s, n) in source.own_recipes else None


def runs_from(s: Mapping[str, Any], source: Source, n: int | None) -> bool:
    """Whether ``source`` is transferred at size ``n`` (a ``small_only`` source: small sizes)."""
    return not source.small_only or bucket(s, n) == "small"
