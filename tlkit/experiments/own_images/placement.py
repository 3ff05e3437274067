r"""Where a folder sits on the survey's taxonomy: its size, its distance to each source, and the
transferability scores of each source on its images.

* **Size**: training images per class, against the book's boundary between small and large
  targets (the pretrained chapter's ``size_boundary``).
* **Distance** to each of the book's trained sources: the OTDD (Alvarez-Melis & Fusi, 2020)
  between the source network's training images and the folder's training images, both in one
  feature space (grey pixels area-averaged to ``feature_size`` squared,
  :func:`tlkit.measures.pixel_features`), on ``distance_draws`` stratified subsamples of
  ``distance_samples`` images each: the mean and the 2.5% and 97.5% quantiles over the draws
  (the distance's own noise). The ImageNet network's training images are not shipped and the
  random network has none, so neither has a distance.
* **Scores** of every candidate source on the folder's training images, from the source
  network alone before any training: LEEP (Nguyen et al., 2020), NCE (Tran et al., 2019),
  LogME (You et al., 2021) and H-score (Bao et al., 2019), as the pretrained chapter computes
  them (:mod:`tlkit.experiments.pretrained.selection`).

*The nearest book source* is the trained book source with the smallest mean distance: the rule
is fixed before any run, and it reads training images only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ...spec import RunSpec, TrainConfig
from ..pretrained.sources import Source
from ..profile import replicate_seeds
from . import design

__all__ = ["size_bucket", "distances", "nearest", "scores", "folder_run"]


def folder_run(s: Mapping[str, Any], scan: Any, model: Any) -> RunSpec:
    """A run spec whose training data are every training image of the folder at the format of
    ``model`` (to read images through :func:`tlkit.runner.load_data`)."""
    return RunSpec(design.data_spec(scan, s, model), model, TrainConfig())


def size_bucket(s: Mapping[str, Any], sizes: list[int]) -> tuple[str, int]:
    """``("small" | "large", boundary)``: the folder's smallest class against the book's
    boundary between small and large targets."""
    boundary = int(design.source_settings(s)["size_boundary"])
    return ("small" if min(sizes) < boundary else "large"), boundary


def _distance_draws(s: Mapping[str, Any], scan: Any, source: Source) -> list[float]:
    from ... import runner
    from ...measures import otdd, pixel_features
    from ...measures.sampling import stratified_subsample
    from ..pretrained import design as pt

    first = replicate_seeds(s, 1)[0]
    pool = runner.load_data(pt.source_run(design.source_settings(s), source, first), "train")
    mine = runner.load_data(folder_run(s, scan, design.cnn_model(s)), "train")
    side, m = int(s["feature_size"]), int(s["distance_samples"])
    fa, ya = pixel_features(pool.images, side), pool.labels.numpy()
    fb, yb = pixel_features(mine.images, side), mine.labels.numpy()
    out = []
    for draw in range(1, int(s["distance_draws"]) + 1):
        ia = stratified_subsample(ya, m, seed=draw)
        ib = stratified_subsample(yb, m, seed=draw)
        out.append(float(otdd(fa[ia], ya[ia], fb[ib], yb[ib], max_samples=m, seed=draw)))
    return out


def distances(s: Mapping[str, Any], scan: Any) -> pd.DataFrame:
    """The distance from every candidate source to the folder (module docstring), one row per
    source: ``source, kind, distance, low, high, draws`` (NaN where a source has none),
    nearest first. Cached in the results folder by the folder's content, not its path."""
    from ...computed import cached
    from ..pretrained import design as pt

    rows = []
    ps = design.source_settings(s)
    first = replicate_seeds(s, 1)[0]
    for src in design.candidates(s):
        d = [math.nan]
        if src.kind in ("glyphs", "trained"):
            inputs = {"folder": scan.digest, "test_fraction": float(s["test_fraction"]),
                      "source": asdict(pt.source_run(ps, src, first).data),
                      "model": asdict(design.cnn_model(s)), "draws": int(s["distance_draws"]),
                      "samples": int(s["distance_samples"]), "side": int(s["feature_size"])}
            d = cached("folder-distances", inputs,
                       lambda src=src: _distance_draws(s, scan, src),
                       modules=["measures", "experiments/own_images/placement.py"])
        v = np.asarray(d, dtype=float)
        finite = bool(np.isfinite(v).all())
        rows.append(dict(source=src.name, kind=src.kind,
                         distance=float(v.mean()) if finite else math.nan,
                         low=float(np.quantile(v, 0.025)) if finite else math.nan,
                         high=float(np.quantile(v, 0.975)) if finite else math.nan,
                         draws=len(v) if finite else 0))
    out = pd.DataFrame(rows)
    return out.sort_values("distance", na_position="last", kind="stable", ignore_index=True)


def nearest(s: Mapping[str, Any], table: pd.DataFrame) -> Source:
    """The trained book source with the smallest mean distance (ties: the first listed)."""
    by_name = {c.name: c for c in design.book_sources(s)}
    measured = table[table["source"].isin(by_name) & table["distance"].notna()]
    if measured.empty:
        raise ValueError("no book source has a measured distance to the folder")
    return by_name[str(measured.iloc[0]["source"])]


def _network_scores(model: Any, images: Any, labels: np.ndarray, layer: int
                    ) -> dict[str, float]:
    from ...measures import h_score, leep, logme, nce
    from ..pretrained.selection import _outputs

    probs, feats = _outputs(model, images, layer)
    return dict(LEEP=leep(probs, labels), NCE=nce(probs.argmax(1), labels),
                LogME=logme(feats, labels), **{"H-score": h_score(feats, labels)})


def _scores_of(s: Mapping[str, Any], scan: Any, src: Source) -> dict[str, float]:
    from ... import runner
    from ...models import build_model
    from ...trained import trained_model
    from ..pretrained import design as pt

    if src.kind == "imagenet":
        m = design.imagenet_model(s)
        model = build_model(m.arch, 1000, in_channels=3, input_size=m.size,
                            weights=m.weights).eval()
        layer = 9
    else:
        m = design.cnn_model(s)
        first = replicate_seeds(s, 1)[0]
        if src.kind == "random":
            spec = design.arm_spec(s, scan, "scratch", 0.1, first, None, images=1)
            model = runner.initial_model(spec, len(scan.classes)).eval()
        else:
            from ...sweep import placed  # the source as the sweep stored it (its compute)

            run = pt.source_run(design.source_settings(s), src, first)
            model = trained_model(placed([run], s.get("device", "auto"))[0])
        layer = 7
    data = runner.load_data(folder_run(s, scan, m), "train")
    return _network_scores(model, data.images, data.labels.numpy(), layer)


def scores(s: Mapping[str, Any], scan: Any) -> pd.DataFrame:
    """The four transferability scores of every candidate source on the folder's training
    images, one row per source (``source, kind`` and a column per score). The trained sources'
    networks must be in the run cache (the stage ``sources``). Cached by the folder's content."""
    from ...computed import cached
    from ..pretrained import design as pt

    ps = design.source_settings(s)
    first = replicate_seeds(s, 1)[0]
    rows = []
    for src in design.candidates(s):
        net = (pt.source_run(ps, src, first).key() if src.kind in ("glyphs", "trained")
               else f"{src.kind}:{first}")
        model = design.imagenet_model(s) if src.kind == "imagenet" else design.cnn_model(s)
        inputs = {"folder": scan.digest, "test_fraction": float(s["test_fraction"]),
                  "network": net, "model": asdict(model)}
        value = cached("folder-scores", inputs, lambda src=src: _scores_of(s, scan, src),
                       modules=["measures", "experiments/own_images/placement.py",
                                "experiments/pretrained/selection.py"])
        rows.append(dict(source=src.name, kind=src.kind, **value))
    return pd.DataFrame(rows)
