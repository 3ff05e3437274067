r"""The survey's taxonomy as a map: every measured cell placed by target size and distance.

A cell is one (source, target size) of this experiment, or one distance-axis target of the
layer-transfer experiment, with its paired gain over scratch. It is *small* below the
profile's ``size_boundary`` examples per class and *similar* below a distance boundary fixed by
the design (:func:`distance_boundary`), which places it in one of the survey's four regions
(:data:`REGIONS`).

Distances are those of the layer-transfer chapter: pixel OTDD (Alvarez-Melis & Fusi, 2020) and
the domain similarity of Cui et al. (2018) between the source's and the target's training
pools (:func:`tlkit.measures.pairs.pair_distances`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...analysis import paired_tests, t_interval
from ...measures.pairs import DistancePair
from ...measures.pairs import pair_distances as _distances
from ...spec import DataSpec
from .. import layer_transfer as lt
from ..profile import settings
from .curves import add_sizes, size_label
from .design import PROFILES, TRANSFER_METHODS, cnn_model, layer_params, source_run, studies

__all__ = [
    "REGIONS",
    "LAYER_CONDITIONS",
    "distance_table",
    "distance_boundary",
    "layer_transfer_cells",
    "region_of",
    "map_cells",
    "region_summary",
    "method_region_summary",
]

#: The survey's four regions, as (small, similar) -> name.
REGIONS: Mapping[tuple[bool, bool], str] = {
    (True, True): "small & similar",
    (False, True): "large & similar",
    (True, False): "small & dissimilar",
    (False, False): "large & dissimilar",
}

#: The layer-transfer condition that matches each method of this experiment on the map.
LAYER_CONDITIONS: Mapping[str, str] = {"fine-tune": "AnB+", "linear probe": "AnB"}

_CELL_COLUMNS = ["origin", "study", "source", "role", "target", "per_class", "size", "distance",
                 "gain", "ci_low", "ci_high", "p_value", "seeds", "verdict"]


def distance_table(params: Mapping[str, Any]) -> pd.DataFrame:
    """Measured distance from each source to its study's target, in the layer-transfer
    chapter's pixel space (same subsample size and seed). A torchvision source (ImageNet
    weights) has no dataset here: its distances are NaN.

    Columns ``study, target, source, role, source_classes, otdd_pixels, similarity_pixels``.
    """
    s = settings(PROFILES, params)
    ls = settings(lt.PROFILES, layer_params(s))
    space = lt.pixel_space(ls["feature_size"])
    rows, pairs = [], []
    for study in studies(params):
        target = DataSpec(study.dataset, study.options, classes=study.classes)
        for src in study.sources:
            labels = dict(study=study.name, target=study.target, source=src.name, role=src.role)
            spec = source_run(s, src, 0)
            if spec is None:
                rows.append(dict(labels, source_classes=math.nan, otdd_pixels=math.nan,
                                 similarity_pixels=math.nan))
            else:
                pairs.append(DistancePair(spec.data, target, (space,), labels))
    measured = _distances(pairs, cnn_model(s), ls["distance_samples"])
    out = pd.concat([measured, pd.DataFrame(rows)], ignore_index=True)
    cols = ["study", "target", "source", "role", "source_classes", "otdd_pixels",
            "similarity_pixels"]
    return out[cols]


def distance_boundary(params: Mapping[str, Any], distances: pd.DataFrame) -> float:
    """The distance separating *similar* from *dissimilar* on the map: the profile's
    ``distance_boundary``, or by default the midpoint between the mean measured distance of the
    near sources and that of the far sources (fixed by the design, not by the results)."""
    s = settings(PROFILES, params)
    if s["distance_boundary"] is not None:
        return float(s["distance_boundary"])
    d = distances.dropna(subset=["otdd_pixels"])
    near = d.loc[d["role"] == "near", "otdd_pixels"].mean()
    far = d.loc[d["role"] == "far", "otdd_pixels"].mean()
    return float((near + far) / 2)


def layer_transfer_cells(df: pd.DataFrame, distances: pd.DataFrame, condition: str = "AnB+",
                         level: float = 0.95) -> pd.DataFrame:
    """Map cells of the layer-transfer experiment: per axis target, the paired gain over scratch
    of copying the deepest axis depth and fine-tuning it (``AnB+``) or freezing it (``AnB``),
    at its target size, placed at its measured pixel OTDD (``distances``:
    :func:`tlkit.experiments.layer_transfer.distance_table`)."""
    g = lt.axis_gains(df)
    top = int(g.loc[g["condition"] == condition, "layers"].max())
    g = g[(g["condition"] == condition) & (g["layers"] == top)]
    sizes = add_sizes(df[df["condition"] == "scratch"]).groupby("target")["per_class"].first()
    dist = distances.set_index(["axis", "target"])["otdd_pixels"]
    tests = paired_tests(g, ["axis", "target"], "test_acc", "scratch", level)
    return pd.DataFrame(dict(
        origin="layer transfer", study=tests["axis"],
        source=[f"baseA ({a})" for a in tests["axis"]], target=tests["target"], role="axis",
        per_class=[float(sizes[t]) for t in tests["target"]],
        size=[size_label(sizes[t]) for t in tests["target"]],
        distance=[float(dist[(a, t)]) for a, t in zip(tests["axis"], tests["target"],
                                                      strict=True)],
        gain=tests["diff"], ci_low=tests["ci_low"], ci_high=tests["ci_high"],
        p_value=tests["p_value"], seeds=tests["seeds"], verdict=tests["direction"]),
        columns=_CELL_COLUMNS)


def region_of(per_class: float, distance: float, size_boundary: float,
              distance_boundary: float) -> str:
    """The survey's region of a cell: small below ``size_boundary`` examples per class, similar
    below ``distance_boundary``; NaN distance gives ``"unplaced"``."""
    if distance is None or math.isnan(distance):
        return "unplaced"
    return REGIONS[(per_class < size_boundary, distance < distance_boundary)]


def map_cells(tests: pd.DataFrame, distances: pd.DataFrame, lt_cells: pd.DataFrame | None,
              size_boundary: float, distance_boundary: float,
              method: str = "fine-tune") -> pd.DataFrame:
    """Every (examples per class, measured distance) cell of the map, with the gain of
    ``method`` (default: copy all but the classifier and fine-tune) over scratch.

    This notebook's cells come from ``tests`` (:func:`~.curves.gain_tests`) placed at their
    source's distance; the layer-transfer cells (:func:`layer_transfer_cells`) are appended.
    Column ``region`` is :func:`region_of`.
    """
    dist = distances.set_index(["study", "source"])["otdd_pixels"]
    own = tests[tests["method"] == method].copy()
    own["distance"] = [float(dist.get((st, so), math.nan))
                       for st, so in zip(own["study"], own["source"], strict=True)]
    own = own.assign(origin="small targets")
    parts = [own[_CELL_COLUMNS]]
    if lt_cells is not None and len(lt_cells):
        parts.append(lt_cells[_CELL_COLUMNS])
    cells = pd.concat(parts, ignore_index=True)
    cells["region"] = [region_of(n, d, size_boundary, distance_boundary)
                       for n, d in zip(cells["per_class"], cells["distance"], strict=True)]
    return cells


def region_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Per region of the map (all four, empty ones included): the number of cells, the mean
    gain over its cells with a 95% Student-t interval over the cells (a description of the
    map, not a test: cells are different tasks), the lowest and highest gain, and how many
    cells were significantly positive and significantly negative."""
    rows = []
    for region in REGIONS.values():
        part = cells[cells["region"] == region]
        low, high = t_interval(part["gain"], 0.95)
        rows.append(dict(region=region, cells=len(part),
                         mean_gain=float(part["gain"].mean()) if len(part) else math.nan,
                         ci_low=low, ci_high=high,
                         min_gain=float(part["gain"].min()) if len(part) else math.nan,
                         max_gain=float(part["gain"].max()) if len(part) else math.nan,
                         positive=int((part["verdict"] == "positive").sum()),
                         negative=int((part["verdict"] == "negative").sum())))
    return pd.DataFrame(rows)


def method_region_summary(tests: pd.DataFrame, distances: pd.DataFrame, size_boundary: float,
                          distance_boundary: float) -> pd.DataFrame:
    """Per region and transfer method (this notebook's cells only): the mean gain over the
    region's cells and the number of significantly positive and negative cells."""
    dist = distances.set_index(["study", "source"])["otdd_pixels"]
    t = tests.copy()
    t["region"] = [region_of(n, float(dist.get((st, so), math.nan)), size_boundary,
                             distance_boundary)
                   for n, st, so in zip(t["per_class"], t["study"], t["source"], strict=True)]
    rows = []
    for region in REGIONS.values():
        for method in TRANSFER_METHODS:
            part = t[(t["region"] == region) & (t["method"] == method)]
            rows.append(dict(region=region, method=method, cells=len(part),
                             mean_gain=float(part["gain"].mean()) if len(part) else math.nan,
                             positive=int((part["verdict"] == "positive").sum()),
                             negative=int((part["verdict"] == "negative").sum())))
    return pd.DataFrame(rows)
