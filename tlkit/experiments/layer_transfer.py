r"""How many layers to transfer, against a measured source-target distance.

After Yosinski et al. (2014), *How transferable are features in deep neural networks?*,
NeurIPS. A class pool is split into halves A and B; the eight-layer CNN is trained on each
(``baseA``, ``baseB``). For every depth n, the first n layers of a base network are copied into a
fresh network for task B and the rest re-initialised; the copied layers are either frozen or
fine-tuned:

=========  ====================================================================
condition  meaning
=========  ====================================================================
``BnB``    first n layers of baseB, frozen (the co-adaptation control)
``BnB+``   the same, fine-tuned
``AnB``    first n layers of baseA, frozen (transfer across tasks)
``AnB+``   the same, fine-tuned
``random`` first n layers left at their random initialisation, frozen
=========  ====================================================================

Depth 0 of every condition is ``baseB``. The protocol runs on a *near* split (two random halves
of one pool) and a *far* split (semantically different halves).

The second part extends it to a continuous axis: one source (baseA of the near split) and a
family of targets at increasing distance from it (other classes, other fonts, growing style
shifts, handwriting, shapes), each with its distance *measured* in a stated feature space by
:func:`tlkit.measures.otdd` and :func:`tlkit.measures.domain_similarity`, and trained from
scratch and with n layers transferred, frozen or fine-tuned.

The helpers below turn the tidy results table (:func:`tlkit.results.frame`) into what the
notebook's figures and sentences use; every helper is pure and works for any outcome.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import data
from ..data.glyphs import DIGITS, LETTERS
from ..spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from ..stats import mean_ci, paired_difference
from ..train import TrainConfig
from . import settings

__all__ = [
    "PROFILES",
    "CONDITIONS",
    "FROZEN_CONDITIONS",
    "YOSINSKI_BASE_B",
    "YOSINSKI_ACCURACY",
    "YOSINSKI_FAR_RELATIVE_TOP",
    "SIMILARITY_GAMMA",
    "Split",
    "Target",
    "Axis",
    "check_params",
    "specs",
    "splits",
    "axes",
    "source_spec",
    "target_spec",
    "yosinski_relative",
    "protocol_curves",
    "relative_to_base",
    "bnb_dip",
    "top_layer_drop",
    "fine_tuning_boost",
    "axis_gains",
    "best_depths",
    "best_depth_trend",
    "load_features",
    "network_features",
    "distance_table",
    "split_distances",
    "pattern_report",
]

#: The conditions of the protocol, in the order of Yosinski et al.'s figure 2.
CONDITIONS = ("BnB", "BnB+", "AnB", "AnB+", "random")
FROZEN_CONDITIONS = ("BnB", "AnB", "random")

#: Yosinski et al. (2014), ImageNet random halves, top-1 accuracy (recomputed from the authors'
#: published training logs); ``baseB`` is .625.
YOSINSKI_BASE_B = 0.625
YOSINSKI_ACCURACY: Mapping[str, tuple[float, ...]] = {
    "BnB": (0.627, 0.624, 0.621, 0.605, 0.594, 0.619, 0.623),
    "AnB": (0.628, 0.624, 0.619, 0.600, 0.578, 0.581, 0.543),
    "BnB+": (0.618, 0.622, 0.631, 0.629, 0.630, 0.628, 0.627),
    "AnB+": (0.637, 0.636, 0.643, 0.640, 0.645, 0.646, 0.647),
}
#: AnB/baseB at n = 7 on their dissimilar (natural vs man-made) split: a range, 0.54-0.61.
YOSINSKI_FAR_RELATIVE_TOP = (0.54, 0.61)

#: gamma of the domain similarity exp(-gamma * EMD) in each feature space; Cui et al. used 0.01
#: for ImageNet ResNet features, whose EMDs are hundreds of times larger than these.
SIMILARITY_GAMMA: Mapping[str, float] = {"pixels": 1.0, "network": 0.1}

#: Options of the glyph pool the quick profile draws its tasks from.
_GLYPHS = {"fonts": ("sans", "serif", "mono"), "n_train": 130, "n_test": 40, "resolution": 16}
_NEAR_A, _NEAR_B = data.random_halves(LETTERS, 0)


def _glyph_targets(options: Mapping[str, Any], classes: Sequence[str], size: int,
                   smoke: bool = False) -> list[dict[str, Any]]:
    """The distance axis of the embedded profiles: one family of targets, in the order they
    were designed to lie from the source (the measured order is :func:`distance_table`'s)."""
    b, opts = list(classes), dict(options)
    targets = [
        dict(name="other letters", family="other classes", dataset="glyphs", options=opts,
             classes=b),
        dict(name="digits (glyphs)", family="other classes", dataset="glyphs", options=opts,
             classes=list(DIGITS)),
        dict(name="letters, STIX", family="other fonts", dataset="glyphs",
             options={**opts, "fonts": ["stix"]}, classes=b),
        dict(name="letters, Computer Modern", family="other fonts", dataset="glyphs",
             options={**opts, "fonts": ["cm"]}, classes=b),
        *[dict(name=f"letters, shift {s:g}", family="style shift", dataset="glyphs",
               options={**opts, "shift": s}, classes=b) for s in (0.25, 0.5, 1.0)],
        dict(name="handwritten digits", family="handwriting", dataset="digits", options={},
             classes=None),
        dict(name="shapes and textures", family="shapes", dataset="shapes",
             options={"resolution": size, "n_train": 100, "n_test": 40}, classes=None),
    ]
    if smoke:
        keep = ("other letters", "letters, shift 1", "shapes and textures")
        targets = [t for t in targets if t["name"] in keep]
        targets[-1]["options"] = {**targets[-1]["options"], "n_train": 10, "n_test": 5}
    return targets


_SMOKE_GLYPHS = {"fonts": ("sans",), "n_train": 13, "n_test": 5, "resolution": 16}


def _glyph_splits(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Near: random halves of the letters. Far: the ten digits as source for the same letter
    half (Yosinski's semantic split, digits vs letters). Far, restyled: the same digits drawn
    with the full style shift, different both in classes and in style."""
    opts = dict(options)
    return [
        dict(name="near", kind="near", group="glyphs", dataset="glyphs", options=opts,
             a=list(_NEAR_A), b=list(_NEAR_B)),
        dict(name="far", kind="far", group="glyphs", dataset="glyphs", options=opts,
             a=list(DIGITS), b=list(_NEAR_B)),
        dict(name="far, restyled", kind="far", group="glyphs", dataset="glyphs",
             options=opts, a_options={**opts, "shift": 1.0}, a=list(DIGITS),
             b=list(_NEAR_B)),
    ]

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(
        seeds=2, depths=[1, 4, 7], axis_depths=[1, 7], width=4, size=16, channels=1,
        source_per_class=10, target_per_class=5, source_epochs=1, target_epochs=1,
        batch_size=32, lr=0.05, distance_samples=60, feature_size=8,
        splits=_glyph_splits(_SMOKE_GLYPHS),
        pairs=[["near", "far"], ["near", "far, restyled"]],
        axes=[dict(name="glyphs", source="near",
                   targets=_glyph_targets(_SMOKE_GLYPHS, _NEAR_B, 16, smoke=True))],
    ),
    "quick": dict(
        seeds=3, depths=[1, 2, 3, 4, 5, 6, 7], axis_depths=[1, 3, 5, 7], width=8, size=16,
        channels=1, source_per_class=100, target_per_class=20, source_epochs=15,
        target_epochs=20, batch_size=32, lr=0.05, distance_samples=600, feature_size=8,
        splits=_glyph_splits(_GLYPHS),
        pairs=[["near", "far"], ["near", "far, restyled"]],
        axes=[dict(name="glyphs", source="near",
                   targets=_glyph_targets(_GLYPHS, _NEAR_B, 16))],
    ),
    "full": dict(
        seeds=5, depths=[1, 2, 3, 4, 5, 6, 7], axis_depths=[1, 2, 3, 4, 5, 6, 7], width=32,
        size=32, channels=3, source_per_class=None, target_per_class=500,
        source_epochs=30, target_epochs=30, batch_size=128, lr=0.05, distance_samples=2000,
        feature_size=8,
        splits=[
            dict(name="CIFAR-10 near", kind="near", group="CIFAR-10", dataset="cifar10",
                 options={}, a=list(data.random_halves(data.info("cifar10").classes, 0)[0]),
                 b=list(data.random_halves(data.info("cifar10").classes, 0)[1])),
            dict(name="CIFAR-10 far", kind="far", group="CIFAR-10", dataset="cifar10",
                 options={}, a=list(data.semantic_split("cifar10", "vehicles_vs_animals")[0]),
                 b=list(data.semantic_split("cifar10", "vehicles_vs_animals")[1])),
            dict(name="MNIST near", kind="near", group="MNIST", dataset="mnist", options={},
                 a=list(data.random_halves(data.info("mnist").classes, 0)[0]),
                 b=list(data.random_halves(data.info("mnist").classes, 0)[1])),
            dict(name="CIFAR-100 near", kind="near", group="CIFAR-100", dataset="cifar100",
                 options={}, a=list(data.random_halves(data.info("cifar100").classes, 0)[0]),
                 b=list(data.random_halves(data.info("cifar100").classes, 0)[1])),
            dict(name="CIFAR-100 far", kind="far", group="CIFAR-100", dataset="cifar100",
                 options={}, a=list(data.semantic_split("cifar100", "natural_vs_manmade")[0]),
                 b=list(data.semantic_split("cifar100", "natural_vs_manmade")[1])),
        ],
        pairs=[["CIFAR-10 near", "CIFAR-10 far"], ["CIFAR-100 near", "CIFAR-100 far"]],
        axes=[
            dict(name="MNIST", source="MNIST near", targets=[
                dict(name="other digits", family="other classes", dataset="mnist", options={},
                     classes=list(data.random_halves(data.info("mnist").classes, 0)[1])),
                dict(name="KMNIST", family="other script", dataset="kmnist", options={},
                     classes=None),
                dict(name="Fashion-MNIST", family="other domain", dataset="fashion-mnist",
                     options={}, classes=None),
            ]),
            dict(name="CIFAR-10", source="CIFAR-10 near", targets=[
                dict(name="other CIFAR-10 classes", family="other classes", dataset="cifar10",
                     options={},
                     classes=list(data.random_halves(data.info("cifar10").classes, 0)[1])),
                dict(name="SVHN", family="other domain", dataset="svhn", options={},
                     classes=None),
            ]),
        ],
    ),
}


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Split:
    """Halves A (source) and B (target) of one class pool; ``kind`` is ``near`` or ``far``."""

    name: str
    kind: str
    group: str
    dataset: str
    options: Mapping[str, Any]
    a: tuple[str, ...]
    b: tuple[str, ...]
    a_options: Mapping[str, Any] | None = None

    @property
    def source_options(self) -> Mapping[str, Any]:
        """Dataset options of half A (those of B unless the split restyles A)."""
        return self.options if self.a_options is None else self.a_options


@dataclass(frozen=True)
class Target:
    """One target of a distance axis (``classes`` None: all classes of the dataset)."""

    name: str
    family: str
    dataset: str
    options: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Axis:
    """A family of targets around the source of split ``source`` (its baseA)."""

    name: str
    source: str
    targets: tuple[Target, ...]


def splits(params: Mapping[str, Any]) -> list[Split]:
    """The near and far splits of the profile."""
    s = settings(PROFILES, params)
    return [Split(d["name"], d["kind"], d["group"], d["dataset"], dict(d["options"]),
                  tuple(d["a"]), tuple(d["b"]),
                  None if d.get("a_options") is None else dict(d["a_options"]))
            for d in s["splits"]]


def axes(params: Mapping[str, Any]) -> list[Axis]:
    """The distance axes of the profile."""
    s = settings(PROFILES, params)
    out = []
    for d in s["axes"]:
        targets = tuple(
            Target(t["name"], t["family"], t["dataset"], dict(t["options"]),
                   None if t["classes"] is None else tuple(t["classes"]))
            for t in d["targets"])
        out.append(Axis(d["name"], d["source"], targets))
    return out


def _model(s: Mapping[str, Any]) -> ModelSpec:
    return ModelSpec(width=s["width"], size=s["size"], channels=s["channels"])


def _per_class(split: Split, n: int | None, k_ref: int) -> int | None:
    """Examples per class of half A: ``n``, scaled so that A has as many images as a half
    of ``k_ref`` classes would (a 10-class half gets 13/10 as many per class as 13)."""
    if n is None:
        return None
    return max(1, round(n * k_ref / len(split.a)))


def source_spec(params: Mapping[str, Any], split: Split, half: str, seed: int) -> RunSpec:
    """``baseA`` (``half="a"``) or ``baseB`` (``half="b"``) of ``split`` for ``seed``.

    baseA trains on half A with ``source_per_class`` examples per class (scaled so that every
    A half of a group has the same number of images); baseB trains on exactly the data of every
    B target (``target_per_class`` per class, subsample seed = seed).
    """
    s = settings(PROFILES, params)
    if half == "b":
        return target_spec(params, split, seed)
    near = [x for x in splits(params) if x.group == split.group and x.kind == "near"]
    k_ref = len(near[0].a) if near else len(split.a)
    d = DataSpec(split.dataset, split.source_options, classes=split.a,
                 n_per_class=_per_class(split, s["source_per_class"], k_ref), subsample_seed=0)
    train = TrainConfig(epochs=s["source_epochs"], batch_size=s["batch_size"], lr=s["lr"])
    return RunSpec(d, _model(s), train, seed=seed)


def target_spec(params: Mapping[str, Any], target: Split | Target, seed: int,
                transfer: TransferSpec | None = None) -> RunSpec:
    """A run on target B of a split (or on an axis target), from scratch or with ``transfer``."""
    s = settings(PROFILES, params)
    if isinstance(target, Split):
        d = DataSpec(target.dataset, target.options, classes=target.b,
                     n_per_class=s["target_per_class"], subsample_seed=seed)
    else:
        d = DataSpec(target.dataset, target.options, classes=target.classes,
                     n_per_class=s["target_per_class"], subsample_seed=seed)
    train = TrainConfig(epochs=s["target_epochs"], batch_size=s["batch_size"], lr=s["lr"])
    return RunSpec(d, _model(s), train, transfer or TransferSpec(), seed=seed)


# --------------------------------------------------------------------------- specs


def _check_depths(name: str, depths: Any) -> None:
    if not isinstance(depths, list | tuple) or not depths or not all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 7 for n in depths):
        raise ValueError(f"{name} must be a non-empty list of depths in 1..7, got {depths!r}")
    if len(set(depths)) != len(depths):
        raise ValueError(f"{name} repeats a depth: {depths!r}")


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for fewer than 2 seeds, bad depths, an unknown dataset,
    class or option, or a target size that a class cannot supply."""
    s = settings(PROFILES, params)
    if not isinstance(s["seeds"], int) or isinstance(s["seeds"], bool) or s["seeds"] < 2:
        raise ValueError(f"seeds must be at least 2 (intervals and paired tests need two), "
                         f"got {s['seeds']!r}")
    _check_depths("depths", s["depths"])
    _check_depths("axis_depths", s["axis_depths"])
    for key in ("target_epochs", "source_epochs", "width", "size"):
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            raise ValueError(f"{key} must be a positive integer, got {s[key]!r}")
    names = [x.name for x in splits(params)]
    for pair in s["pairs"]:
        if len(pair) != 2 or any(p not in names for p in pair):
            raise ValueError(f"pairs must name a near and a far split of {names}, got {pair!r}")
    for split in splits(params):
        if set(split.a) & set(split.b):
            raise ValueError(f"split {split.name!r}: halves A and B share classes "
                             f"{sorted(set(split.a) & set(split.b))}")
    for ax in axes(params):
        if ax.source not in names:
            raise ValueError(f"axis {ax.name!r}: unknown source split {ax.source!r}")
    datasets = [spec.data for split in splits(params)
                for spec in (source_spec(params, split, "a", 0), target_spec(params, split, 0))]
    datasets += [target_spec(params, t, 0).data for ax in axes(params) for t in ax.targets]
    for d in datasets:
        data.check(d.name, classes=d.classes, n_per_class=d.n_per_class, **d.option_dict)


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run: the protocol grid on each split, then the distance axes, for every seed.

    Tags: ``part`` (``protocol`` or ``axis``), ``split`` (protocol) or ``axis`` and ``target``
    (axis), ``condition`` (``baseA``, ``baseB``, :data:`CONDITIONS`, or on an axis ``scratch``,
    ``AnB``, ``AnB+``). Runs that are the same in two places (baseB of two splits with the same
    B, or the nearest axis target) appear once per place with its own tags and run once.
    """
    check_params(params)
    s = settings(PROFILES, params)
    by_name = {x.name: x for x in splits(params)}
    out: list[RunSpec] = []
    for seed in range(s["seeds"]):
        for split in by_name.values():
            base_a = source_spec(params, split, "a", seed)
            base_b = source_spec(params, split, "b", seed)
            tag = dict(part="protocol", split=split.name, kind=split.kind, group=split.group)
            out.append(base_a.with_tags(condition="baseA", **tag))
            out.append(base_b.with_tags(condition="baseB", **tag))
            for n in s["depths"]:
                runs = {
                    "BnB": TransferSpec(source=base_b, layers=n, freeze=True),
                    "BnB+": TransferSpec(source=base_b, layers=n, freeze=False),
                    "AnB": TransferSpec(source=base_a, layers=n, freeze=True),
                    "AnB+": TransferSpec(source=base_a, layers=n, freeze=False),
                    "random": TransferSpec(source=None, layers=n, freeze=True),
                }
                for condition, transfer in runs.items():
                    out.append(target_spec(params, split, seed, transfer)
                               .with_tags(condition=condition, **tag))
        for ax in axes(params):
            base_a = source_spec(params, by_name[ax.source], "a", seed)
            for t in ax.targets:
                tag = dict(part="axis", axis=ax.name, target=t.name, family=t.family)
                out.append(target_spec(params, t, seed).with_tags(condition="scratch", **tag))
                for n in s["axis_depths"]:
                    for condition, freeze in (("AnB", True), ("AnB+", False)):
                        transfer = TransferSpec(source=base_a, layers=n, freeze=freeze)
                        out.append(target_spec(params, t, seed, transfer)
                                   .with_tags(condition=condition, **tag))
    return out


# --------------------------------------------------------------------------- reference values


def yosinski_relative() -> pd.DataFrame:
    """Yosinski et al.'s accuracies relative to their baseB, one row per condition and n.

    Columns ``condition, layers, accuracy, relative``; n = 0 is baseB (relative 1).
    """
    rows = [dict(condition=c, layers=0, accuracy=YOSINSKI_BASE_B, relative=1.0)
            for c in YOSINSKI_ACCURACY]
    for condition, values in YOSINSKI_ACCURACY.items():
        for n, acc in enumerate(values, start=1):
            rows.append(dict(condition=condition, layers=n, accuracy=acc,
                             relative=acc / YOSINSKI_BASE_B))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- protocol


def _protocol(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["part"] == "protocol"]


def _base_b(df: pd.DataFrame) -> pd.DataFrame:
    """baseB accuracy per (split, seed)."""
    base = _protocol(df)
    base = base[base["condition"] == "baseB"]
    return base.set_index(["split", "seed"])["test_acc"].rename("base_b")


def protocol_curves(df: pd.DataFrame) -> pd.DataFrame:
    """The protocol runs with depth 0 of every condition filled by baseB (as in Yosinski's
    figures): columns of ``df`` restricted to ``split, kind, condition, layers, seed,
    test_acc``."""
    p = _protocol(df)
    cols = ["split", "kind", "condition", "layers", "seed", "test_acc"]
    runs = p[p["condition"].isin(CONDITIONS)][cols]
    base = p[p["condition"] == "baseB"][cols]
    zero = [base.assign(condition=c, layers=0) for c in CONDITIONS]
    return pd.concat([runs, *zero], ignore_index=True)


def relative_to_base(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`protocol_curves` with ``relative`` = test accuracy / baseB of the same split and
    seed (Yosinski's "performance relative to baseB")."""
    curves = protocol_curves(df)
    curves = curves.join(_base_b(df), on=["split", "seed"])
    return curves.assign(relative=curves["test_acc"] / curves["base_b"])


def _paired(df: pd.DataFrame, split: str, a: str, n: int, b: str, m: int = 0,
            value: str = "test_acc") -> Any:
    """Paired (by seed) difference ``a@n - b@m`` on one split; condition ``baseB`` at m=0."""
    curves = relative_to_base(df)
    part = curves[curves["split"] == split]
    x = part[(part["condition"] == a) & (part["layers"] == n)].set_index("seed")[value]
    y = part[(part["condition"] == b) & (part["layers"] == m)].set_index("seed")[value]
    return paired_difference(x, y)


def bnb_dip(df: pd.DataFrame, split: str, middle: Sequence[int] = (3, 4, 5, 6)
            ) -> dict[str, Any]:
    """Yosinski's co-adaptation dip: frozen BnB below baseB in the middle layers, repaired by
    fine-tuning.

    The dip depth is the middle depth (of those run) where mean ``BnB - baseB`` (paired by
    seed) is lowest. ``dip_held``: its 95% CI lies below 0 and it is lower than the
    difference at the first and at the last depth (a dip, not a steady decline).
    ``repair_held``: at that depth ``BnB+ - BnB`` has a CI above 0 and ``BnB+ - baseB`` is not
    significantly negative. Differences are in accuracy points (fractions).
    """
    curves = protocol_curves(df)
    depths = sorted(set(curves.loc[curves["split"] == split, "layers"]) - {0})
    mids = [n for n in depths if n in middle]
    if not mids:
        raise ValueError(f"no middle depth {tuple(middle)} among the depths run {depths}")
    diffs = {n: _paired(df, split, "BnB", n, "BnB", 0) for n in depths}  # depth 0 is baseB
    dip_n = min(mids, key=lambda n: diffs[n].mean_diff)
    dip = diffs[dip_n]
    ends = [diffs[depths[0]].mean_diff, diffs[depths[-1]].mean_diff]
    held = bool(dip.ci_high < 0 and all(dip.mean_diff < e for e in ends))
    repair = _paired(df, split, "BnB+", dip_n, "BnB", dip_n)
    plus = _paired(df, split, "BnB+", dip_n, "BnB", 0)
    repaired = bool(repair.ci_low > 0 and plus.ci_high >= 0)
    return dict(split=split, dip_depth=dip_n, dip=dip.mean_diff, dip_low=dip.ci_low,
                dip_high=dip.ci_high, first=ends[0], last=ends[1], dip_held=held,
                repair=repair.mean_diff, repair_low=repair.ci_low, repair_high=repair.ci_high,
                plus_vs_base=plus.mean_diff, plus_low=plus.ci_low, plus_high=plus.ci_high,
                repair_held=repaired)


def top_layer_drop(df: pd.DataFrame, near: str, far: str) -> dict[str, Any]:
    """The drop of frozen ``AnB`` at the deepest depth run, relative to baseB, near vs far.

    ``rel_near``, ``rel_far``: mean AnB/baseB at the top depth; ``drop_* = 1 - rel_*``;
    ``ratio = drop_far / drop_near`` (Yosinski et al.: 0.13 near against 0.39-0.46 far, about
    3-3.5 times). ``held``: the far drop is larger, with a 95% CI of the paired (by seed)
    difference ``rel_near - rel_far`` above 0.
    """
    rel = relative_to_base(df)
    top = int(rel.loc[rel["condition"] == "AnB", "layers"].max())
    anb = rel[(rel["condition"] == "AnB") & (rel["layers"] == top)]
    x = anb[anb["split"] == near].set_index("seed")["relative"]
    y = anb[anb["split"] == far].set_index("seed")["relative"]
    diff = paired_difference(x, y)
    rel_near, near_low, near_high = mean_ci(x)
    rel_far, far_low, far_high = mean_ci(y)
    drop_near, drop_far = 1 - rel_near, 1 - rel_far
    ratio = drop_far / drop_near if drop_near > 0 else math.nan
    return dict(depth=top, rel_near=rel_near, rel_near_low=near_low, rel_near_high=near_high,
                rel_far=rel_far, rel_far_low=far_low, rel_far_high=far_high,
                drop_near=drop_near, drop_far=drop_far, ratio=ratio,
                diff=diff.mean_diff, diff_low=diff.ci_low, diff_high=diff.ci_high,
                held=bool(diff.ci_low > 0 and drop_far > 0))


def fine_tuning_boost(df: pd.DataFrame, split: str) -> dict[str, Any]:
    """``AnB+`` against baseB on one split, paired by seed.

    ``mean_gain``: the mean over depths of ``AnB+ - baseB`` (per seed, then its CI over
    seeds; Yosinski et al.: +0.017). ``below``: depths where AnB+ is significantly below
    baseB; ``above``: depths where it is significantly above. ``held`` (at or above baseB): no
    depth significantly below and a mean gain >= 0.
    """
    curves = protocol_curves(df)
    part = curves[(curves["split"] == split)]
    depths = sorted(set(part["layers"]) - {0})
    base = part[(part["condition"] == "AnB+") & (part["layers"] == 0)].set_index("seed")
    plus = part[(part["condition"] == "AnB+") & (part["layers"] > 0)]
    gains = plus.join(base["test_acc"].rename("base"), on="seed")
    gains = gains.assign(gain=gains["test_acc"] - gains["base"])
    per_seed = gains.groupby("seed")["gain"].mean()
    mean_gain, low, high = mean_ci(per_seed)
    below, above = [], []
    for n in depths:
        r = _paired(df, split, "AnB+", n, "AnB+", 0)
        if r.ci_high < 0:
            below.append(n)
        if r.ci_low > 0:
            above.append(n)
    return dict(split=split, mean_gain=mean_gain, gain_low=low, gain_high=high,
                below=below, above=above, held=bool(not below and mean_gain >= 0))


# --------------------------------------------------------------------------- distance axis


def axis_gains(df: pd.DataFrame) -> pd.DataFrame:
    """Per axis target, condition (``AnB``, ``AnB+``), depth and seed: the gain over training
    from scratch on the same data and seed (depth 0: gain 0, the scratch run itself)."""
    a = df[df["part"] == "axis"]
    scratch = a[a["condition"] == "scratch"].set_index(["axis", "target", "seed"])["test_acc"]
    runs = a[a["condition"].isin(["AnB", "AnB+"])]
    runs = runs.join(scratch.rename("scratch"), on=["axis", "target", "seed"])
    zero = [a[a["condition"] == "scratch"].assign(condition=c, layers=0) for c in ("AnB", "AnB+")]
    zero = [z.assign(scratch=z["test_acc"]) for z in zero]
    out = pd.concat([runs, *zero], ignore_index=True)
    out = out.assign(gain=out["test_acc"] - out["scratch"])
    return out[["axis", "target", "family", "condition", "layers", "seed", "test_acc",
                "scratch", "gain"]]


def best_depths(gains: pd.DataFrame) -> pd.DataFrame:
    """Per axis, target, condition and seed: the depth (0 = scratch) with the best accuracy.

    Ties go to the smaller depth.
    """
    rows = []
    for key, part in gains.groupby(["axis", "target", "condition", "seed"], sort=True):
        part = part.sort_values("layers")
        best = part.loc[part["test_acc"].idxmax()]
        rows.append(dict(zip(["axis", "target", "condition", "seed"], key, strict=True),
                         best_depth=int(best["layers"]), best_gain=float(best["gain"])))
    return pd.DataFrame(rows)


def best_depth_trend(best: pd.DataFrame, distances: pd.DataFrame, condition: str = "AnB",
                     distance: str = "otdd_pixels") -> dict[str, Any]:
    """Spearman rank correlation between a target's measured distance and its mean best depth.

    ``held`` (the best depth falls as the distance grows): ``rho < 0`` with a two-sided
    p < 0.05; ``direction`` says whether the sign alone is as expected.
    """
    from scipy.stats import spearmanr

    means = (best[best["condition"] == condition].groupby(["axis", "target"])["best_depth"]
             .mean().rename("best_depth").reset_index())
    table = means.merge(distances[["axis", "target", distance]], on=["axis", "target"])
    if len(table) < 3:
        return dict(condition=condition, rho=math.nan, p=math.nan, targets=len(table),
                    held=False, direction=False)
    res = spearmanr(table[distance], table["best_depth"])
    rho, p = float(res.statistic), float(res.pvalue)
    if not math.isfinite(rho):  # constant best depth: no trend
        rho, p = 0.0, 1.0
    nearest = table.loc[table[distance].idxmin()]
    farthest = table.loc[table[distance].idxmax()]
    return dict(condition=condition, rho=rho, p=p, targets=len(table),
                nearest=nearest["target"], nearest_best=float(nearest["best_depth"]),
                farthest=farthest["target"], farthest_best=float(farthest["best_depth"]),
                held=bool(rho < 0 and p < 0.05), direction=bool(rho < 0))


# --------------------------------------------------------------------------- distances


def load_features(spec_data: DataSpec, model: ModelSpec, split: str = "train"
                  ) -> tuple[Any, np.ndarray]:
    """Images (tensor, the model's input format) and labels of one dataset's ``split``,
    restricted to its classes, *without* the per-class subsample (the whole pool)."""
    loaded = data.load(spec_data.name, split, size=model.size, channels=model.channels,
                       **spec_data.option_dict)
    if spec_data.classes is not None:
        loaded = data.select_classes(loaded, spec_data.classes)
    return loaded.images, loaded.labels.numpy()


def network_features(source: RunSpec, images: Any, layer: int = 7, store: Any = None,
                     batch_size: int = 1024) -> np.ndarray:
    """Activations of the first ``layer`` layers (7: the penultimate, fc7) of the trained
    ``source`` run's network, loaded from the run cache, as a float64 array ``(N, d)``."""
    import torch

    from ..models import build_model
    from ..store import Store

    store = store if store is not None else Store()
    state = store.load_checkpoint(source)
    if state is None:
        raise ValueError(f"no checkpoint of source run {source.key()} in {store}; run the "
                         "sweep first")
    m = source.model
    top = [v for key, v in state.items() if key.endswith("weight")][-1]
    model = build_model(m.arch, int(top.shape[0]), in_channels=m.channels,
                        input_size=m.size, width=m.width, weights=None)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        out = [model.features(images[i:i + batch_size], layer).flatten(1)
               for i in range(0, len(images), batch_size)]
    return torch.cat(out).double().numpy()


def distance_table(params: Mapping[str, Any], *, store: Any = None,
                   network: bool = True) -> pd.DataFrame:
    r"""Measured distances from each axis's source to each of its targets.

    The source is the training pool of half A of the axis's split (every class of A); a target
    is its training pool (the per-run subsamples are drawn from it). Two fixed feature spaces:

    * ``pixels``: :func:`tlkit.measures.pixel_features`, grayscale area-averaged pixels
      (``feature_size`` squared of them) of the images at the model's input size;
    * ``network`` (if ``network``): the 16w-dimensional fc7 activations of baseA (seed 0),
      the source network itself (needs its checkpoint in the run cache).

    In each: :func:`tlkit.measures.otdd` (Gaussian label costs, exact outer OT, on a stratified
    subsample of ``distance_samples`` points per dataset, seed 0) and the domain similarity
    of Cui et al., :math:`\exp(-\gamma\,\mathrm{EMD})` between count-weighted class means
    (:func:`tlkit.measures.domain_similarity`), with :data:`SIMILARITY_GAMMA` per space (a
    monotone transform of the EMD, which is reported too; gamma only rescales it).
    Rows: one per axis target, nearest first by ``otdd_pixels``.
    """
    from ..measures import class_mean_emd, otdd, pixel_features

    s = settings(PROFILES, params)
    model = _model(s)
    by_name = {x.name: x for x in splits(params)}
    rows = []
    for ax in axes(params):
        source = source_spec(params, by_name[ax.source], "a", 0)
        xs_img, ys = load_features(source.data, model)
        spaces = {"pixels": lambda im: pixel_features(im, size=s["feature_size"])}
        if network:
            spaces["network"] = lambda im, src=source: network_features(src, im, store=store)
        feats_s = {k: f(xs_img) for k, f in spaces.items()}
        for t in ax.targets:
            xt_img, yt = load_features(target_spec(params, t, 0).data, model)
            row: dict[str, Any] = dict(axis=ax.name, target=t.name, family=t.family,
                                       dataset=t.dataset, classes=len(set(yt.tolist())))
            for k, f in spaces.items():
                ft = f(xt_img)
                row[f"otdd_{k}"] = otdd(feats_s[k], ys, ft, yt,
                                        max_samples=s["distance_samples"], seed=0)
                emd = class_mean_emd(feats_s[k], ys, ft, yt)
                row[f"emd_{k}"] = emd
                row[f"similarity_{k}"] = math.exp(-SIMILARITY_GAMMA[k] * emd)
            rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values(["axis", "otdd_pixels"]).reset_index(drop=True)


def split_distances(params: Mapping[str, Any]) -> pd.DataFrame:
    """OTDD (pixel space) between half A and half B of every protocol split: is "far" far?"""
    from ..measures import otdd, pixel_features

    s = settings(PROFILES, params)
    model = _model(s)
    rows = []
    for split in splits(params):
        xa, ya = load_features(source_spec(params, split, "a", 0).data, model)
        xb, yb = load_features(target_spec(params, split, 0).data, model)
        fa, fb = (pixel_features(x, size=s["feature_size"]) for x in (xa, xb))
        rows.append(dict(split=split.name, kind=split.kind, group=split.group,
                         a=" ".join(split.a) if len(split.a) <= 26 else f"{len(split.a)} classes",
                         b=" ".join(split.b) if len(split.b) <= 26 else f"{len(split.b)} classes",
                         otdd_pixels=otdd(fa, ya, fb, yb, max_samples=s["distance_samples"],
                                          seed=0)))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the verdicts


def _fmt_ci(mean: float, low: float, high: float, signed: bool = True) -> str:
    f = "+.3f" if signed else ".3f"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:{f}}"
    return f"{mean:{f}} [{low:{f}}, {high:{f}}]"


def _depth_list(depths: Sequence[int]) -> str:
    return ", ".join(str(n) for n in depths) if depths else "none"


def pattern_report(df: pd.DataFrame, distances: pd.DataFrame | None,
                   pairs: Sequence[Sequence[str]]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Every pattern the chapter checks, as numbers, a verdict and a sentence, computed from
    this run's table (so the text is true whatever the outcome).

    Returns ``(values, table)``: ``values`` maps short names to numbers and strings (glued by
    the notebook); ``table`` has one row per pattern with Yosinski et al.'s value, ours, and
    the verdict. ``pairs[0]`` is the primary (near, far) pair; the BnB and AnB+ patterns are
    read on its near split.
    """
    near, far = pairs[0]
    v: dict[str, Any] = {}
    rows = []

    # 1. the co-adaptation dip and its repair
    try:
        dip = bnb_dip(df, near)
    except ValueError:
        dip = None
    if dip is None:
        v.update(dip_verdict="was not measured (no middle depth was run)", dip_depth=0,
                 dip=math.nan, dip_low=math.nan, dip_high=math.nan, repair=math.nan,
                 repair_low=math.nan, repair_high=math.nan,
                 repair_verdict="was not measured", dip_note="")
    else:
        v.update({k: dip[k] for k in ("dip_depth", "dip", "dip_low", "dip_high", "repair",
                                      "repair_low", "repair_high", "plus_vs_base",
                                      "plus_low", "plus_high")})
        v["dip_verdict"] = "held" if dip["dip_held"] else "did not hold"
        if dip["dip_held"]:
            v["dip_note"] = ("As in Yosinski et al., retraining the upper layers on top of "
                             "baseB's own frozen lower layers cost accuracy in the middle of the "
                             "network, where neighbouring layers are co-adapted.")
        elif dip["dip_high"] < 0:
            v["dip_note"] = ("BnB fell below baseB, but not with a dip in the middle layers: "
                             "it was no lower there than at the first or the last depth.")
        else:
            v["dip_note"] = ("At no middle depth was frozen BnB significantly below baseB.")
        if dip["repair_held"]:
            v["repair_verdict"] = "held"
        elif dip["dip_held"]:
            v["repair_verdict"] = "did not hold"
        else:
            v["repair_verdict"] = "was not needed (there was no dip)"
        rows.append(dict(pattern="BnB dip in the middle layers (BnB - baseB at its lowest "
                                 "middle depth)",
                         published=f"{YOSINSKI_ACCURACY['BnB'][4] - YOSINSKI_BASE_B:+.3f} "
                                   "at n = 5",
                         ours=f"{_fmt_ci(dip['dip'], dip['dip_low'], dip['dip_high'])} at n = "
                              f"{dip['dip_depth']}",
                         verdict=v["dip_verdict"]))
        published = YOSINSKI_ACCURACY["BnB+"][4] - YOSINSKI_ACCURACY["BnB"][4]
        rows.append(dict(pattern="fine-tuning repairs it (BnB+ - BnB at that depth)",
                         published=f"{published:+.3f} at n = 5",
                         ours=_fmt_ci(dip["repair"], dip["repair_low"], dip["repair_high"]),
                         verdict=v["repair_verdict"]))

    # 2. the top-layer drop, near against far, for every pair
    for i, (n_name, f_name) in enumerate(pairs):
        drop = top_layer_drop(df, n_name, f_name)
        prefix = "" if i == 0 else f"pair{i}_"
        for k in ("depth", "rel_near", "rel_near_low", "rel_near_high", "rel_far",
                  "rel_far_low", "rel_far_high", "drop_near", "drop_far", "ratio", "diff",
                  "diff_low", "diff_high"):
            v[prefix + k] = drop[k]
        v[prefix + "drop_verdict"] = "held" if drop["held"] else "did not hold"
        v[prefix + "ratio_text"] = (
            f"{drop['ratio']:.2f} times the near one" if math.isfinite(drop["ratio"])
            else "not comparable with the near one (the near split did not drop)")
        v[prefix + "near"], v[prefix + "far"] = n_name, f_name
        rows.append(dict(
            pattern=f"top-layer drop larger far than near: AnB/baseB at n = {drop['depth']}, "
                    f"{n_name} vs {f_name}",
            published=f"{YOSINSKI_ACCURACY['AnB'][6] / YOSINSKI_BASE_B:.2f} vs "
                      f"{YOSINSKI_FAR_RELATIVE_TOP[0]:.2f}-{YOSINSKI_FAR_RELATIVE_TOP[1]:.2f} "
                      "(drop ratio about 3-3.5)",
            ours=f"{drop['rel_near']:.3f} vs {drop['rel_far']:.3f} (drop ratio "
                 f"{drop['ratio']:.2f})",
            verdict=v[prefix + "drop_verdict"]))

    # 3. AnB+ at or above baseB
    boost = fine_tuning_boost(df, near)
    depths_run = sorted(set(protocol_curves(df)["layers"]) - {0})
    v.update(boost=boost["mean_gain"], boost_low=boost["gain_low"],
             boost_high=boost["gain_high"], boost_above=_depth_list(boost["above"]),
             boost_below=_depth_list(boost["below"]), boost_n_above=len(boost["above"]),
             boost_n_below=len(boost["below"]), boost_depths=len(depths_run),
             boost_verdict="held" if boost["held"] else "did not hold")
    rows.append(dict(pattern="AnB+ at or above baseB (mean over depths of AnB+ - baseB)",
                     published="+0.017",
                     ours=_fmt_ci(boost["mean_gain"], boost["gain_low"], boost["gain_high"]),
                     verdict=v["boost_verdict"]))

    # 4. the best frozen depth against measured distance
    if distances is not None and "part" in df and (df["part"] == "axis").any():
        best = best_depths(axis_gains(df))
        for condition, prefix in (("AnB", "trend"), ("AnB+", "trend_plus")):
            t = best_depth_trend(best, distances, condition)
            v.update({f"{prefix}_rho": t["rho"], f"{prefix}_p": t["p"],
                      f"{prefix}_targets": t["targets"],
                      f"{prefix}_nearest": t.get("nearest", ""),
                      f"{prefix}_nearest_best": t.get("nearest_best", math.nan),
                      f"{prefix}_farthest": t.get("farthest", ""),
                      f"{prefix}_farthest_best": t.get("farthest_best", math.nan)})
            if t["held"]:
                verdict = "held"
            elif t["direction"]:
                verdict = "pointed the expected way but was not significant (p >= 0.05)"
            else:
                verdict = "did not hold"
            v[f"{prefix}_verdict"] = verdict
            what = "frozen" if condition == "AnB" else "fine-tuned"
            rows.append(dict(pattern=f"best number of {what} layers falls as distance grows "
                                     "(Spearman rho, pixel OTDD)",
                             published="the survey's claim; no single number",
                             ours=f"rho = {t['rho']:+.2f}, p = {t['p']:.3g}, "
                                  f"{t['targets']} targets",
                             verdict=verdict))
    return v, pd.DataFrame(rows)
