r"""The distance axis: gains over scratch per target and depth, the best depth, and the
measured distances that order the targets.

Distances are measured between training pools in two fixed feature spaces, stated once:

* ``pixels``: :func:`tlkit.measures.pixel_features`, grey area-averaged pixels
  (``feature_size`` squared of them) of the images at the model's input size;
* ``network``: the 16w-dimensional fc7 activations of the source network itself (baseA of the
  axis's split, of the first replicate seed: 0 in the book), read from its checkpoint in the
  run cache.

In each: OTDD (Alvarez-Melis & Fusi, 2020) and the domain similarity of Cui et al. (2018),
:math:`\exp(-\gamma\,\mathrm{EMD})`, with :data:`SIMILARITY_GAMMA` per space
(:func:`tlkit.measures.pairs.pair_distances`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...analysis import choose_on_validation, with_baseline
from ...measures.pairs import DistancePair, FeatureSpace
from ...measures.pairs import pair_distances as _distances
from ...spec import RunSpec
from ..profile import replicate_seeds, settings
from .design import (
    PROFILES,
    axes,
    design_settings,
    model_spec,
    source_spec,
    splits,
    target_spec,
)

__all__ = [
    "SIMILARITY_GAMMA",
    "axis_gains",
    "best_depths",
    "target_best_depths",
    "network_features",
    "pixel_space",
    "distance_table",
    "split_distances",
]

#: gamma of the domain similarity exp(-gamma * EMD) in each feature space; Cui et al. used 0.01
#: for ImageNet ResNet features, whose EMDs are hundreds of times larger than these.
SIMILARITY_GAMMA: Mapping[str, float] = {"pixels": 1.0, "network": 0.1}


def axis_gains(df: pd.DataFrame) -> pd.DataFrame:
    """Per axis target, condition (``AnB``, ``AnB+``), depth and seed: the gain over training
    from scratch on the same data and seed (depth 0: gain 0, the scratch run itself)."""
    a = df[df["part"] == "axis"]
    scratch = a[a["condition"] == "scratch"]
    runs = with_baseline(a[a["condition"].isin(["AnB", "AnB+"])], scratch,
                         on=["axis", "target", "seed"], name="scratch")
    zero = [scratch.assign(condition=c, layers=0, scratch=scratch["test_acc"])
            for c in ("AnB", "AnB+")]
    out = pd.concat([runs, *zero], ignore_index=True)
    out = out.assign(gain=out["test_acc"] - out["scratch"])
    return out[["axis", "target", "family", "condition", "layers", "seed", "test_acc",
                "val_acc", "scratch", "gain"]]


def best_depths(gains: pd.DataFrame) -> pd.DataFrame:
    """Per axis, target, condition and seed: the depth (0 = scratch) with the best
    **validation** accuracy (ties to the smaller depth), and the test gain over scratch at it.
    """
    chosen = choose_on_validation(gains, ["axis", "target", "condition", "seed"], "layers")
    chosen = chosen.rename(columns={"layers": "best_depth", "val_acc": "best_val"})
    at = gains.set_index(["axis", "target", "condition", "seed", "layers"])["gain"]
    chosen["best_gain"] = [float(at[(a, t, c, s, d)]) for a, t, c, s, d in zip(
        chosen["axis"], chosen["target"], chosen["condition"], chosen["seed"],
        chosen["best_depth"], strict=True)]
    return chosen.astype({"best_depth": int})


def target_best_depths(gains: pd.DataFrame, distances: pd.DataFrame,
                       distance: str = "otdd_pixels") -> pd.DataFrame:
    """Per axis target and condition: the depth (0 = scratch) with the best **validation**
    accuracy averaged over seeds (ties to the smaller depth), the target's measured distance,
    and ``best_gain``: the mean over seeds of the test gain over scratch at the depth chosen
    for each seed on the *other* seeds' validation (:func:`tlkit.choices.cross_fit`), so that
    the choice does not inflate the gain. Averaging the validation curves over seeds before
    choosing makes the choice far less noisy than one argmax per seed."""
    from ...choices import cross_fit

    keys = ["axis", "target", "condition"]
    chosen = choose_on_validation(gains, keys, "layers")
    chosen = chosen.rename(columns={"layers": "best_depth", "val_acc": "best_val"})
    at = gains.set_index([*keys, "seed", "layers"])["gain"]
    fitted = cross_fit(gains, keys, "layers")
    fitted["gain"] = [float(at[(a, t, c, s, d)]) for a, t, c, s, d in zip(
        fitted["axis"], fitted["target"], fitted["condition"], fitted["seed"],
        fitted["layers"], strict=True)]
    mean_gain = fitted.groupby(keys)["gain"].mean().rename("best_gain")
    chosen = chosen.join(mean_gain, on=keys)
    out = chosen.merge(distances[["axis", "target", distance]], on=["axis", "target"])
    return out.astype({"best_depth": int}).sort_values(["condition", distance],
                                                        ignore_index=True)


def network_features(source: RunSpec, images: Any, layer: int = 7, store: Any = None,
                     batch_size: int = 1024) -> np.ndarray:
    """Activations of the first ``layer`` layers (7: the penultimate, fc7) of the trained
    ``source`` run's network, loaded from the run cache, as a float64 array ``(N, d)``."""
    import torch

    from ...trained import trained_model

    model = trained_model(source, store)
    with torch.no_grad():
        out = [model.features(images[i:i + batch_size], layer).flatten(1)
               for i in range(0, len(images), batch_size)]
    return torch.cat(out).double().numpy()


def pixel_space(feature_size: int) -> FeatureSpace:
    """The grey pixel feature space of the distances (``feature_size`` squared values)."""
    from ...measures import pixel_features

    return FeatureSpace("pixels", lambda im: pixel_features(im, size=feature_size),
                        SIMILARITY_GAMMA["pixels"], identity=f"pixels:{feature_size}")


def distance_table(params: Mapping[str, Any], *, store: Any = None,
                   network: bool = True) -> pd.DataFrame:
    """Measured distances from each axis's source (half A of its split) to each of its targets,
    in the pixel space and (if ``network``: needs the checkpoint of baseA of the first replicate
    seed) the network space.

    Rows: ``axis, target, family, dataset, classes`` and the columns of
    :func:`tlkit.measures.pairs.pair_distances`, nearest first by ``otdd_pixels``.
    """
    from ...sweep import placed

    s = settings(PROFILES, params)
    by_name = {x.name: x for x in splits(params)}
    device = params.get("device", "auto")  # where the sweep stored the source
    pairs = []
    first = replicate_seeds(design_settings(params), 1)[0]  # 0 but in a coursework variant
    for ax in axes(params):
        source = placed([source_spec(params, by_name[ax.source], "a", first)], device)[0]
        spaces = [pixel_space(s["feature_size"])]
        if network:
            spaces.append(FeatureSpace(
                "network", lambda im, src=source: network_features(src, im, store=store),
                SIMILARITY_GAMMA["network"], identity=f"network:{source.key()}:7"))
        for t in ax.targets:
            pairs.append(DistancePair(source.data, target_spec(params, t, 0).data, tuple(spaces),
                                      dict(axis=ax.name, target=t.name, family=t.family,
                                           dataset=t.dataset)))
    out = _distances(pairs, model_spec(params), s["distance_samples"])
    out = out.drop(columns=["source_classes"])
    return out.sort_values(["axis", "otdd_pixels"]).reset_index(drop=True)


def split_distances(params: Mapping[str, Any], seed: int = 0) -> pd.DataFrame:
    """OTDD (pixel space) between half A and half B of every protocol split: is "far" far?
    ``seed``: of the stratified subsample each distance is measured on (the page's is 0)."""
    s = settings(PROFILES, params)
    pairs = []
    for split in splits(params):
        short = {"a": split.a, "b": split.b}
        labels = dict(split=split.name, kind=split.kind, group=split.group,
                      **{k: " ".join(v) if len(v) <= 26 else f"{len(v)} classes"
                         for k, v in short.items()})
        pairs.append(DistancePair(source_spec(params, split, "a", 0).data,
                                  target_spec(params, split, 0).data,
                                  (pixel_space(s["feature_size"]),), labels))
    out = _distances(pairs, model_spec(params), s["distance_samples"], seed=seed)
    return out[["split", "kind", "group", "a", "b", "otdd_pixels"]]
