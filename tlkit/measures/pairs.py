r"""Distances between the datasets of pairs of runs, in stated feature spaces: the table a
chapter's distance axis and taxonomy map are read from.

:func:`pair_distances` measures, for each :class:`DistancePair` (a source and a target
:class:`~tlkit.spec.DataSpec`), the training pools' optimal transport dataset distance
(Alvarez-Melis & Fusi, 2020), the earth mover's distance between class means and the domain
similarity of Cui et al. (2018) in every :class:`FeatureSpace` of the pair; distances in a
space that names itself are cached in the results folder (:mod:`tlkit.computed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FeatureSpace", "DistancePair", "pool", "pair_distances"]


@dataclass(frozen=True)
class FeatureSpace:
    """A fixed feature space in which two datasets are compared.

    Attributes:
        name: the column suffix (``"pixels"``, ``"network"``).
        features: images ``(N, C, H, W)`` -> float array ``(N, d)``.
        gamma: the :math:`\\gamma` of the similarity :math:`\\exp(-\\gamma\\,\\mathrm{EMD})` of
            Cui et al. in this space.
        identity: what ``features`` computes, as a string (``"pixels:8"``, the key of the
            network whose features they are): with it, distances in this space are cached in
            the results folder (:mod:`tlkit.computed`); empty: computed on every call.
    """

    name: str
    features: Callable[[Any], np.ndarray]
    gamma: float
    identity: str = ""


@dataclass(frozen=True)
class DistancePair:
    """A source and a target dataset (:class:`~tlkit.spec.DataSpec`) to measure, the feature
    spaces to measure them in, and the labels of the row (``axis``, ``target``, ...)."""

    source: Any
    target: Any
    spaces: tuple[FeatureSpace, ...]
    labels: Mapping[str, Any] = field(default_factory=dict)


def pool(spec_data: Any, model: Any, split: str = "train") -> tuple[Any, np.ndarray]:
    """Images (in the model's input format) and labels of a dataset's whole ``split``,
    restricted to its classes, *without* any per-class subsample (the pool runs draw from)."""
    from .. import data

    loaded = data.load(spec_data.name, split, size=model.size, channels=model.channels,
                       **spec_data.option_dict)
    if spec_data.classes is not None:
        loaded = data.select_classes(loaded, spec_data.classes)
    return loaded.images, loaded.labels.numpy()


def pair_distances(pairs: Iterable[DistancePair], model: Any, max_samples: int,
                   seed: int = 0) -> pd.DataFrame:
    r"""Measured distances between the training pools of each pair, one row per pair.

    In every feature space ``k`` of a pair: ``otdd_k``, :func:`tlkit.measures.otdd` (Gaussian
    label costs, exact outer OT) on a stratified subsample of ``max_samples`` points per
    dataset (seed ``seed``); ``emd_k``, :func:`tlkit.measures.class_mean_emd` between the
    count-weighted class means; and ``similarity_k`` = :math:`\exp(-\gamma_k\,\mathrm{EMD})`,
    the domain similarity of Cui et al. (2018), a monotone transform of the EMD. The row also
    has the pair's labels and ``source_classes`` and ``classes`` (the number of each).
    """
    from dataclasses import asdict

    from ..computed import cached

    rows = []
    for p in pairs:
        def measure(p: DistancePair = p) -> dict[str, Any]:
            return _measure(p, model, max_samples, seed)

        if all(space.identity for space in p.spaces):
            inputs = {"source": asdict(p.source), "target": asdict(p.target),
                      "model": asdict(model), "max_samples": max_samples, "seed": seed,
                      "spaces": [[s.name, s.identity, s.gamma] for s in p.spaces]}
            measured = cached("distances", inputs, measure, modules=["measures"])
        else:
            measured = measure()
        rows.append(dict(p.labels, **measured))
    return pd.DataFrame(rows)


def _measure(p: DistancePair, model: Any, max_samples: int, seed: int) -> dict[str, Any]:
    from . import class_mean_emd, otdd

    xs, ys = pool(p.source, model)
    xt, yt = pool(p.target, model)
    row: dict[str, Any] = dict(source_classes=len(np.unique(ys)), classes=len(np.unique(yt)))
    for space in p.spaces:
        fs, ft = space.features(xs), space.features(xt)
        row[f"otdd_{space.name}"] = otdd(fs, ys, ft, yt, max_samples=max_samples, seed=seed)
        emd = class_mean_emd(fs, ys, ft, yt)
        row[f"emd_{space.name}"] = emd
        row[f"similarity_{space.name}"] = math.exp(-space.gamma * emd)
    return row
