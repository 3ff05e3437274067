r"""Small targets: learning curves, negative transfer, and the taxonomy map.

The survey's second key experiment (Plested, Phiri & Gedeon, 2022): transfer matters most when
the target is small, and it can hurt when the target is small *and* far from the source. One
target task is trained at a range of sizes (examples per class, "all" being the whole training
split) with four methods:

================  ==========================================================================
method            meaning
================  ==========================================================================
``scratch``       the same network, randomly initialised, every layer trained
``linear probe``  layers 0-6 (conv1-fc7) copied from the source and frozen; only fc8 trains
``fine-tune``     layers 0-6 copied and every layer fine-tuned, plain weight decay (L2)
``L2-SP``         the same, with L2-SP instead of weight decay (Li, Grandvalet & Davoine, 2018):
                  :math:`\frac{\alpha}{2}\lVert w_S - w^0_S\rVert^2 +
                  \frac{\beta}{2}\lVert w_{\text{fc8}}\rVert^2`
================  ==========================================================================

from a *near* and a *far* source, whose distances to the target are measured (pixel OTDD, as
in the layer-transfer experiment). The sources are the base networks of the layer-transfer
experiment (:func:`tlkit.experiments.layer_transfer.source_spec`), so their checkpoints are
shared through the run cache. Every run takes the same number of optimisation steps whatever
the target size (:func:`train_config`), so that a target of 13 images is trained as long as
one of 1,690.

The helpers below are pure functions of the tidy results table: the gain of each method over
scratch with a paired test across seeds (:func:`gain_tests`), the crossover size
(:func:`crossovers`), and the cells of the taxonomy map, joined with those of the
layer-transfer experiment (:func:`map_cells`, :func:`region_summary`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import data
from ..data import registry
from ..spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from ..stats import mean_ci, paired_difference
from ..train import TrainConfig
from . import layer_transfer as lt
from . import settings

__all__ = [
    "PROFILES",
    "METHODS",
    "TRANSFER_METHODS",
    "REGIONS",
    "Source",
    "Study",
    "check_params",
    "studies",
    "specs",
    "seeds_at",
    "pool_per_class",
    "train_config",
    "size_label",
    "add_sizes",
    "curves",
    "gains",
    "gain_tests",
    "holm",
    "crossovers",
    "crossover_size",
    "method_differences",
    "distance_table",
    "distance_boundary",
    "LAYER_CONDITIONS",
    "layer_transfer_specs",
    "layer_transfer_cells",
    "map_cells",
    "region_of",
    "region_summary",
    "method_region_summary",
    "methods_for",
    "pattern_report",
]

METHODS = ("scratch", "linear probe", "fine-tune", "L2-SP")
TRANSFER_METHODS = METHODS[1:]
#: The survey's four regions, as (small, similar) -> name.
REGIONS: Mapping[tuple[bool, bool], str] = {
    (True, True): "small & similar",
    (False, True): "large & similar",
    (True, False): "small & dissimilar",
    (False, False): "large & dissimilar",
}

_CIFAR100_TARGET = tuple(sorted(
    data.random_halves(data.info("cifar100").classes, 1)[1][:10]))

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(
        sizes=[1, 5, None], seed_schedule=[[None, 2]], steps=6, batch_size=32, lr=0.05,
        alpha=0.01, beta=0.01, size_boundary=3, distance_boundary=None, pretrained=None,
        studies=[dict(name="glyphs", target=dict(name="letters, half B", split="near"),
                      sources=[dict(role="near", name="letters, half A", split="near"),
                               dict(role="far", name="digits, restyled",
                                    split="far, restyled")])],
    ),
    "quick": dict(
        sizes=[1, 2, 5, 10, 20, 50, 100, None], seed_schedule=[[5, 8], [20, 5], [None, 3]],
        steps=200, batch_size=32, lr=0.05, alpha=0.01, beta=0.01, size_boundary=30,
        distance_boundary=None, pretrained=None,
        studies=[dict(name="glyphs", target=dict(name="letters, half B", split="near"),
                      sources=[dict(role="near", name="letters, half A", split="near"),
                               dict(role="far", name="digits, restyled",
                                    split="far, restyled")])],
    ),
    "full": dict(
        sizes=[1, 2, 5, 10, 20, 50, 100, None], seed_schedule=[[5, 8], [20, 5], [None, 3]],
        steps=2000, batch_size=128, lr=0.05, alpha=0.01, beta=0.01, size_boundary=30,
        distance_boundary=None, pretrained="IMAGENET1K_V1",
        studies=[
            dict(name="CIFAR-100",
                 target=dict(name="10 other CIFAR-100 classes", dataset="cifar100", options={},
                             classes=list(_CIFAR100_TARGET)),
                 sources=[dict(role="near", name="CIFAR-10, half A", split="CIFAR-10 near"),
                          dict(role="far", name="MNIST, half A", split="MNIST near"),
                          dict(role="large", name="ImageNet (ResNet-18)", weights="pretrained",
                               size=64)]),
            dict(name="KMNIST",
                 target=dict(name="KMNIST", dataset="kmnist", options={}, classes=None),
                 sources=[dict(role="near", name="MNIST, half A", split="MNIST near"),
                          dict(role="far", name="CIFAR-10, half A", split="CIFAR-10 near")]),
            dict(name="Fashion-MNIST",
                 target=dict(name="Fashion-MNIST", dataset="fashion-mnist", options={},
                             classes=None),
                 sources=[dict(role="near", name="MNIST, half A", split="MNIST near"),
                          dict(role="far", name="CIFAR-10, half A", split="CIFAR-10 near")]),
        ],
    ),
}


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Source:
    """A source network: base network A of a layer-transfer split (``split``), or torchvision
    ResNet-18 ``weights`` (the large-source case; ``size`` is then its input size)."""

    name: str
    role: str
    split: str | None = None
    weights: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Study:
    """One target task and the sources transferred to it."""

    name: str
    target: str
    dataset: str
    options: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None
    sources: tuple[Source, ...] = ()


def _layer_params(s: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of the layer-transfer experiment whose sources this one shares."""
    return {"profile": s["profile"]}


def studies(params: Mapping[str, Any]) -> list[Study]:
    """The studies of the profile, with the layer-transfer splits resolved."""
    s = settings(PROFILES, params)
    by_split = {x.name: x for x in lt.splits(_layer_params(s))}
    out = []
    for d in s["studies"]:
        t = d["target"]
        if "split" in t:
            if t["split"] not in by_split:
                raise ValueError(f"study {d['name']!r}: unknown layer-transfer split "
                                 f"{t['split']!r}; valid: {', '.join(by_split)}")
            split = by_split[t["split"]]
            dataset, options, classes = split.dataset, dict(split.options), split.b
        else:
            dataset, options = t["dataset"], dict(t["options"])
            classes = None if t["classes"] is None else tuple(t["classes"])
        sources = []
        for src in d["sources"]:
            weights = src.get("weights")
            if weights == "pretrained":
                weights = s["pretrained"]
                if weights is None:
                    continue  # the large-source case is off
            elif src.get("split") not in by_split:
                raise ValueError(f"study {d['name']!r}: unknown layer-transfer split "
                                 f"{src.get('split')!r}; valid: {', '.join(by_split)}")
            sources.append(Source(src["name"], src["role"], src.get("split"), weights,
                                  src.get("size")))
        out.append(Study(d["name"], t["name"], dataset, options, classes, tuple(sources)))
    return out


def _sizes(s: Mapping[str, Any]) -> list[int | None]:
    return [None if n in (None, "all") else n for n in s["sizes"]]


def seeds_at(n: int | None, s: Mapping[str, Any]) -> int:
    """Number of seeds at size ``n`` (``None``: all): the ``seeds`` parameter when given, else
    the first rule ``[max_size, seeds]`` of ``seed_schedule`` with ``n <= max_size`` (a
    ``max_size`` of ``None`` matches every size)."""
    if s.get("seeds") is not None:
        return int(s["seeds"])
    for limit, k in s["seed_schedule"]:
        if limit is None or (n is not None and n <= limit):
            return int(k)
    raise ValueError(f"seed_schedule {s['seed_schedule']!r} has no rule for size {n!r}")


def pool_per_class(study: Study) -> list[int]:
    """Training images of each class of the study's target (the pool 'all' draws from)."""
    src = registry.source(study.dataset)
    opts = src.options(study.options)
    counts = src.class_counts("train", opts)
    names = src.classes(opts)
    if counts is None:
        raise ValueError(f"the class sizes of {study.dataset!r} are not known in advance")
    chosen = names if study.classes is None else study.classes
    return [counts[names.index(c)] for c in chosen]


def train_config(s: Mapping[str, Any], n_images: int) -> TrainConfig:
    """The optimisation of a run on ``n_images`` training images: at least ``steps`` SGD steps.

    Epochs are whole: with ``b = ceil(n_images / batch_size)`` batches per epoch, the batch
    size is evened out to ``ceil(n_images / b)`` (so that no batch is a near-empty remainder)
    and the run takes ``ceil(steps / b)`` epochs, i.e. between ``steps`` and
    ``steps + b - 1`` steps. The cosine schedule spans all of them.
    """
    batches = math.ceil(n_images / s["batch_size"])
    batch = math.ceil(n_images / batches)
    epochs = max(1, math.ceil(s["steps"] / batches))
    return TrainConfig(epochs=epochs, batch_size=batch, lr=s["lr"])


def _cnn_model(s: Mapping[str, Any]) -> ModelSpec:
    ls = settings(lt.PROFILES, _layer_params(s))
    return ModelSpec(width=ls["width"], size=ls["size"], channels=ls["channels"])


def _source_spec(s: Mapping[str, Any], source: Source, seed: int) -> RunSpec | None:
    if source.split is None:
        return None
    split = {x.name: x for x in lt.splits(_layer_params(s))}[source.split]
    return lt.source_spec(_layer_params(s), split, "a", seed)


def _model_for(s: Mapping[str, Any], source: Source | None) -> ModelSpec:
    if source is None or source.weights is None:
        return _cnn_model(s)
    base = _cnn_model(s)
    return ModelSpec(arch="resnet18", width=base.width, size=source.size or base.size,
                     channels=3, weights=source.weights)


def _transfer(s: Mapping[str, Any], source: Source, method: str, seed: int) -> TransferSpec:
    """The transfer of ``method`` from ``source``: copy every layer but the classifier."""
    src = _source_spec(s, source, seed)
    if src is None:  # pretrained torchvision weights: the model starts from them
        if method == "linear probe":
            return TransferSpec(layers=5, freeze=True)  # stem, res1-res4 frozen; head trains
        if method == "fine-tune":
            return TransferSpec(layers=5, freeze=False)
        if method == "L2-SP":  # decays towards the pretrained weights of stem and res1-res4
            return TransferSpec(layers=5, freeze=False, regularizer="l2sp", alpha=s["alpha"],
                                beta=s["beta"])
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(TRANSFER_METHODS)}")
    if method == "linear probe":
        return TransferSpec(source=src, layers=7, freeze=True)
    if method == "fine-tune":
        return TransferSpec(source=src, layers=7, freeze=False)
    if method == "L2-SP":
        return TransferSpec(source=src, layers=7, freeze=False, regularizer="l2sp",
                            alpha=s["alpha"], beta=s["beta"])
    raise ValueError(f"unknown method {method!r}; valid: {', '.join(TRANSFER_METHODS)}")


def methods_for(source: Source) -> tuple[str, ...]:
    """Transfer methods run from ``source`` (every method, from a source run or torchvision
    weights alike)."""
    return TRANSFER_METHODS


# --------------------------------------------------------------------------- specs


def _positive_int(name: str, value: Any, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for a bad size list, seed schedule, step count, regulariser
    strength, an unknown dataset, class or split, or a size a target class cannot supply."""
    s = settings(PROFILES, params)
    sizes = s["sizes"]
    if not isinstance(sizes, list | tuple) or not sizes:
        raise ValueError(f"sizes must be a non-empty list of examples per class, got {sizes!r}")
    for n in sizes:
        if n not in (None, "all"):
            _positive_int("every size (or None / 'all' for the whole split)", n)
    if len(set(_sizes(s))) != len(sizes):
        raise ValueError(f"sizes repeat a value: {sizes!r}")
    if s.get("seeds") is not None:
        _positive_int("seeds (paired tests need two)", s["seeds"], 2)
    for n in _sizes(s):
        _positive_int(f"the number of seeds at size {n} (paired tests need two)",
                      seeds_at(n, s), 2)
    for key in ("steps", "batch_size"):
        _positive_int(key, s[key])
    for key in ("lr", "alpha", "beta"):
        value = s[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (
                key == "lr" and value == 0):
            raise ValueError(f"{key} must be a {'positive' if key == 'lr' else 'non-negative'} "
                             f"number, got {value!r}")
    if not (isinstance(s["size_boundary"], int | float) and s["size_boundary"] > 0):
        raise ValueError(f"size_boundary must be a positive number, got {s['size_boundary']!r}")
    if s["distance_boundary"] is not None and not (
            isinstance(s["distance_boundary"], int | float) and s["distance_boundary"] > 0):
        raise ValueError("distance_boundary must be a positive number or None (the midpoint "
                         f"of the near and far sources), got {s['distance_boundary']!r}")
    if s["pretrained"] is not None:
        from torchvision.models import ResNet18_Weights

        if s["pretrained"] not in ResNet18_Weights.__members__:
            raise ValueError(f"pretrained must be None or one of "
                             f"{', '.join(ResNet18_Weights.__members__)}, got "
                             f"{s['pretrained']!r}")
    lt.check_params(_layer_params(s))
    for study in studies(params):
        if not any(src.role == "near" for src in study.sources) or not any(
                src.role == "far" for src in study.sources):
            raise ValueError(f"study {study.name!r} needs a near and a far source")
        smallest = min(pool_per_class(study))
        for n in _sizes(s):
            data.check(study.dataset, classes=study.classes, n_per_class=n, **study.options)
            if n is not None and n > smallest:
                raise ValueError(f"size {n} is larger than the {smallest} images of the "
                                 f"smallest class of {study.target!r}")


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run: per study, size and seed, scratch (one per architecture) and each transfer
    method from each source.

    Tags: ``study``, ``target``, ``source`` (``"none"`` for scratch), ``role`` (``near``,
    ``far``, ``large`` or ``"none"``) and ``method`` (:data:`METHODS`). The runs of one seed
    share the target subsample (``subsample_seed = seed``) and the training seed, so methods
    are paired by seed; the source of seed ``k`` is base network A of seed ``k``.
    """
    check_params(params)
    s = settings(PROFILES, params)
    out: list[RunSpec] = []
    for study in studies(params):
        pool = pool_per_class(study)
        archs = {"cnn8": None}
        for src in study.sources:
            if src.weights is not None:
                archs["resnet18"] = src
        for n in _sizes(s):
            n_images = sum(pool) if n is None else n * len(pool)
            train = train_config(s, n_images)
            for seed in range(seeds_at(n, s)):
                target = DataSpec(study.dataset, study.options, classes=study.classes,
                                  n_per_class=n, subsample_seed=seed)
                tag = dict(study=study.name, target=study.target)
                for src in archs.values():
                    model = _model_for(s, src)
                    if src is not None:  # scratch of the same architecture, no weights
                        model = ModelSpec(arch=model.arch, width=model.width, size=model.size,
                                          channels=model.channels)
                    out.append(RunSpec(target, model, train, TransferSpec(), seed=seed)
                               .with_tags(source="none", role="none", method="scratch", **tag))
                for src in study.sources:
                    for method in methods_for(src):
                        out.append(RunSpec(target, _model_for(s, src), train,
                                           _transfer(s, src, method, seed), seed=seed)
                                   .with_tags(source=src.name, role=src.role, method=method,
                                              **tag))
    return out


# --------------------------------------------------------------------------- the table


def size_label(n: Any) -> str:
    """``"all"`` for the whole split (``None``/NaN), else the number as text."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "all"
    return str(int(n))


def add_sizes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``per_class`` (examples per class trained on: ``n_per_class``, or for the
    whole split ``n_train / num_classes``) and ``size`` (its label, ``"all"`` for the split)."""
    n = df["n_per_class"]
    per_class = n.where(n.notna(), df["n_train"] / df["num_classes"]).astype(float)
    return df.assign(per_class=per_class, size=[size_label(v) for v in n])


def curves(df: pd.DataFrame) -> pd.DataFrame:
    """Learning curves per study and source: its transfer runs and the scratch runs of the same
    architecture (repeated under every source, so each source's panel has its baseline).

    Columns ``study, source, role, method, arch, per_class, size, seed, test_acc``.
    """
    df = add_sizes(df)
    cols = ["study", "source", "role", "method", "arch", "per_class", "size", "seed",
            "test_acc"]
    scratch = df[df["method"] == "scratch"]
    parts = []
    for (study, source, role, arch), runs in df[df["method"] != "scratch"].groupby(
            ["study", "source", "role", "arch"], sort=False):
        base = scratch[(scratch["study"] == study) & (scratch["arch"] == arch)]
        parts.append(runs[cols])
        parts.append(base.assign(source=source, role=role)[cols])
    return pd.concat(parts, ignore_index=True)


def gains(df: pd.DataFrame) -> pd.DataFrame:
    """Per transfer run: ``gain`` = its test accuracy minus that of scratch on the same study,
    architecture, size and seed (the same target subsample).

    Columns ``study, target, source, role, method, per_class, size, seed, test_acc, scratch,
    gain``.
    """
    df = add_sizes(df)
    keys = ["study", "arch", "size", "seed"]
    scratch = df[df["method"] == "scratch"].set_index(keys)["test_acc"].rename("scratch")
    if not scratch.index.is_unique:
        raise ValueError("more than one scratch run per study, architecture, size and seed")
    runs = df[df["method"] != "scratch"].join(scratch, on=keys)
    if runs["scratch"].isna().any():
        missing = runs.loc[runs["scratch"].isna(), keys].drop_duplicates().head(3)
        raise ValueError(f"transfer runs without their scratch run: {missing.to_dict('records')}")
    runs = runs.assign(gain=runs["test_acc"] - runs["scratch"])
    return runs[["study", "target", "source", "role", "method", "per_class", "size", "seed",
                 "test_acc", "scratch", "gain"]].reset_index(drop=True)


def _verdict(low: float, high: float) -> str:
    if low > 0:
        return "positive"
    if high < 0:
        return "negative"
    return "no clear difference"


def holm(p_values: Sequence[float]) -> np.ndarray:
    r"""Holm's step-down adjusted p-values (Holm, 1979, *Scand. J. Statist.* 6(2)).

    With the m p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted value of
    :math:`p_{(i)}` is :math:`\max_{j \le i} \min(1, (m - j + 1)\, p_{(j)})`; NaN stays NaN and
    does not count in m. Rejecting where the adjusted value is below 0.05 controls the
    family-wise error rate at 5%.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def gain_tests(gain_table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per study, source, method and size: the paired test of transfer against scratch.

    ``gain`` is the mean over seeds of (transfer - scratch), ``ci_low``/``ci_high`` its
    Student-t interval, ``p_value`` the two-sided paired t-test (:func:`tlkit.stats.
    paired_difference`), ``wilcoxon_p`` the signed-rank test, ``p_holm`` the t-test p-value
    Holm-adjusted over every row of the table, ``seeds`` the number of pairs. ``verdict`` is
    ``positive`` when the interval lies above 0, ``negative`` when it lies below 0, else
    ``no clear difference``.
    """
    rows = []
    keys = ["study", "target", "source", "role", "method", "per_class", "size"]
    for key, part in gain_table.groupby(keys, sort=True):
        r = paired_difference(part.set_index("seed")["test_acc"],
                              part.set_index("seed")["scratch"], level)
        acc = mean_ci(part["test_acc"], level)[0]
        rows.append(dict(zip(keys, key, strict=True), accuracy=acc,
                         scratch=float(part["scratch"].mean()), gain=r.mean_diff,
                         ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value,
                         wilcoxon_p=r.wilcoxon_p, seeds=r.n,
                         verdict=_verdict(r.ci_low, r.ci_high)))
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_value"]) if len(out) else []
    return out.sort_values(["study", "role", "source", "method", "per_class"],
                           ignore_index=True)


def crossover_size(sizes: Sequence[float], verdicts: Sequence[str]) -> float | None:
    """The crossover of one gain curve: the smallest size from which the gain is never
    significantly positive again (at that size and every larger size run).

    ``None`` if the gain is still significantly positive at the largest size (no crossover
    within the sizes run); the smallest size if it is never significantly positive.
    """
    pairs = sorted(zip(sizes, verdicts, strict=True))
    positive = [n for n, v in pairs if v == "positive"]
    if positive and positive[-1] == pairs[-1][0]:
        return None
    later = [n for n, _ in pairs if not positive or n > positive[-1]]
    return later[0]


def crossovers(tests: pd.DataFrame) -> pd.DataFrame:
    """Per study, source and method: the crossover (:func:`crossover_size`; ``per_class`` and
    its label ``crossover``, ``"none"`` when there is none), a sentence describing it
    (``pattern``), and the sizes where the gain was significantly positive and significantly
    negative."""
    rows = []
    for (study, role, source, method), part in tests.groupby(
            ["study", "role", "source", "method"], sort=True):
        part = part.sort_values("per_class")
        cross = crossover_size(list(part["per_class"]), list(part["verdict"]))
        label = "none"
        if cross is not None:
            label = part.loc[part["per_class"] == cross, "size"].iloc[0]
        pos = part[part["verdict"] == "positive"]["size"].tolist()
        neg = part[part["verdict"] == "negative"]["size"].tolist()
        if cross is None:
            pattern = "still significantly positive at the largest size"
        elif not pos:
            pattern = "never significantly positive"
        else:
            pattern = f"not significantly positive from {label} examples per class on"
        rows.append(dict(study=study, role=role, source=source, method=method,
                         crossover=label, crossover_per_class=cross, pattern=pattern,
                         positive_at=", ".join(pos) or "none",
                         negative_at=", ".join(neg) or "none",
                         n_negative=len(neg)))
    return pd.DataFrame(rows)


def method_differences(gain_table: pd.DataFrame, a: str, b: str,
                       level: float = 0.95) -> pd.DataFrame:
    """Per study, source and size: the paired (by seed) difference of accuracy ``a - b`` of
    two transfer methods, with its interval, p-value and verdict."""
    rows = []
    keys = ["study", "source", "role", "per_class", "size"]
    for key, part in gain_table.groupby(keys, sort=True):
        x = part[part["method"] == a].set_index("seed")["test_acc"]
        y = part[part["method"] == b].set_index("seed")["test_acc"]
        if len(x) < 2 or len(y) < 2:
            continue
        r = paired_difference(x, y, level)
        rows.append(dict(zip(keys, key, strict=True), a=a, b=b, diff=r.mean_diff,
                         ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value, seeds=r.n,
                         verdict=_verdict(r.ci_low, r.ci_high)))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- distances


def distance_table(params: Mapping[str, Any]) -> pd.DataFrame:
    r"""Measured distance from each source to its study's target, in the layer-transfer
    experiment's fixed pixel feature space.

    Between the source's training pool (all of half A of its split) and the target's training
    pool: :func:`tlkit.measures.otdd` on :func:`tlkit.measures.pixel_features` (grey,
    area-averaged to ``feature_size`` squared values at the model's input size), on a
    stratified subsample of ``distance_samples`` points per dataset, seed 0, exactly as
    :func:`tlkit.experiments.layer_transfer.distance_table`; and the domain similarity
    :math:`\exp(-\gamma\,\mathrm{EMD})` of Cui et al. (2018) with the same :math:`\gamma`.
    A torchvision source (ImageNet weights) has no dataset here: its distance is NaN.
    """
    from ..measures import class_mean_emd, otdd, pixel_features

    s = settings(PROFILES, params)
    ls = settings(lt.PROFILES, _layer_params(s))
    model = _cnn_model(s)
    rows = []
    for study in studies(params):
        target = DataSpec(study.dataset, study.options, classes=study.classes)
        xt, yt = lt.load_features(target, model)
        ft = pixel_features(xt, size=ls["feature_size"])
        for src in study.sources:
            row = dict(study=study.name, target=study.target, source=src.name, role=src.role,
                       otdd_pixels=math.nan, similarity_pixels=math.nan)
            spec = _source_spec(s, src, 0)
            if spec is not None:
                xs, ys = lt.load_features(spec.data, model)
                fs = pixel_features(xs, size=ls["feature_size"])
                row["source_classes"] = len(set(ys.tolist()))
                row["otdd_pixels"] = otdd(fs, ys, ft, yt, max_samples=ls["distance_samples"],
                                          seed=0)
                emd = class_mean_emd(fs, ys, ft, yt)
                row["similarity_pixels"] = math.exp(-lt.SIMILARITY_GAMMA["pixels"] * emd)
            rows.append(row)
    return pd.DataFrame(rows)


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


# --------------------------------------------------------------------------- the map


#: The layer-transfer condition that matches each method of this experiment on the map.
LAYER_CONDITIONS: Mapping[str, str] = {"fine-tune": "AnB+", "linear probe": "AnB"}


def layer_transfer_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs of the layer-transfer experiment that the map reads: on its distance axis,
    scratch and every transferable layer copied, fine-tuned (``AnB+``) and frozen (``AnB``) at
    its deepest axis depth, for its default seeds. Identical to that notebook's runs, so they
    are cache hits when it ran first."""
    s = settings(PROFILES, params)
    lp = _layer_params(s)
    top = max(settings(lt.PROFILES, lp)["axis_depths"])
    return [x for x in lt.specs(lp) if x.tag_dict["part"] == "axis" and (
        x.tag_dict["condition"] == "scratch"
        or (x.tag_dict["condition"] in ("AnB", "AnB+") and x.transfer.layers == top))]


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
    rows = []
    for (axis, target), part in g.groupby(["axis", "target"], sort=False):
        r = paired_difference(part.set_index("seed")["test_acc"],
                              part.set_index("seed")["scratch"], level)
        rows.append(dict(origin="layer transfer", study=axis, source=f"baseA ({axis})",
                         target=target, role="axis", per_class=float(sizes[target]),
                         size=size_label(sizes[target]), distance=float(dist[(axis, target)]),
                         gain=r.mean_diff, ci_low=r.ci_low, ci_high=r.ci_high,
                         p_value=r.p_value, seeds=r.n, verdict=_verdict(r.ci_low, r.ci_high)))
    return pd.DataFrame(rows)


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

    This notebook's cells come from ``tests`` (:func:`gain_tests`) placed at their source's
    distance; the layer-transfer cells (:func:`layer_transfer_cells`) are appended. Column
    ``region`` is :func:`region_of`.
    """
    dist = distances.set_index(["study", "source"])["otdd_pixels"]
    own = tests[tests["method"] == method].copy()
    own["distance"] = [float(dist.get((st, so), math.nan))
                       for st, so in zip(own["study"], own["source"], strict=True)]
    own = own.assign(origin="small targets")
    cols = ["origin", "study", "source", "role", "target", "per_class", "size", "distance",
            "gain", "ci_low", "ci_high", "p_value", "seeds", "verdict"]
    parts = [own[cols]]
    if lt_cells is not None and len(lt_cells):
        parts.append(lt_cells[cols])
    cells = pd.concat(parts, ignore_index=True)
    cells["region"] = [region_of(n, d, size_boundary, distance_boundary)
                       for n, d in zip(cells["per_class"], cells["distance"], strict=True)]
    return cells


def region_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Per region of the map (all four, empty ones included): the number of cells, the mean,
    lowest and highest gain over its cells, and how many cells were significantly positive and
    significantly negative."""
    rows = []
    for region in REGIONS.values():
        part = cells[cells["region"] == region]
        rows.append(dict(region=region, cells=len(part),
                         mean_gain=float(part["gain"].mean()) if len(part) else math.nan,
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


# --------------------------------------------------------------------------- the verdicts


def _fmt(mean: float, low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:+.3f}"
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def _cell(tests: pd.DataFrame, study: str, role: str, method: str, which: str) -> pd.Series:
    part = tests[(tests["study"] == study) & (tests["role"] == role)
                 & (tests["method"] == method)].sort_values("per_class")
    return part.iloc[0] if which == "smallest" else part.iloc[-1]


def _at_sizes(sizes: str) -> str:
    """``"1, 2"`` -> ``"at 1, 2 examples per class"``; ``"none"`` -> ``"at no size"``."""
    if sizes == "none":
        return "at no size"
    return f"at {sizes} example{'' if sizes == '1' else 's'} per class"


def _negative_list(tests: pd.DataFrame) -> str:
    """The significantly negative cells, grouped by source and method, as one sentence."""
    neg = tests[tests["verdict"] == "negative"].sort_values(["role", "method", "per_class"])
    if neg.empty:
        return "none"
    parts = []
    for (role, method), part in neg.groupby(["role", "method"], sort=False):
        sizes = ", ".join(part["size"])
        gains = (f"{part['gain'].iloc[0]:+.3f}" if len(part) == 1 else
                 f"{part['gain'].max():+.3f} to {part['gain'].min():+.3f}")
        parts.append(f"the {method} from the {role} source at {sizes} examples per class "
                     f"(gain {gains}, p <= {part['p_value'].max():.2g})")
    return "; ".join(parts)


def pattern_report(gain_table: pd.DataFrame, tests: pd.DataFrame, cross: pd.DataFrame,
                   probe_vs_ft: pd.DataFrame,
                   l2sp_vs_ft: pd.DataFrame, distances: pd.DataFrame, cells: pd.DataFrame,
                   size_boundary: float, distance_boundary: float,
                   probe_cells: pd.DataFrame | None = None
                   ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The claims the chapter checks, as numbers and verdicts computed from this run (so the
    text is true whatever the outcome), for the first study.

    ``gain_table`` is :func:`gains`, ``tests`` :func:`gain_tests`, ``cross``
    :func:`crossovers`, the two differences :func:`method_differences`, ``cells`` the map of
    fine-tuning (:func:`map_cells`) and ``probe_cells`` that of the linear probe.

    Returns ``(values, table)``: ``values`` maps short names to numbers and strings (glued by
    the notebook with the prefix ``st_``); ``table`` has one row per claim.
    """
    study = tests["study"].iloc[0]
    v: dict[str, Any] = dict(study=study)
    rows = []
    dist = distances[distances["study"] == study].set_index("role")["otdd_pixels"]
    near_d, far_d = float(dist.get("near", math.nan)), float(dist.get("far", math.nan))
    v["far_is_farther"] = "yes" if far_d > near_d else "no"
    t = tests[tests["study"] == study]
    sizes = t.sort_values("per_class")["size"].unique()
    v["smallest"], v["largest"] = str(sizes[0]), str(sizes[-1])
    v["largest_per_class"] = float(t["per_class"].max())

    # 1. transfer matters most when the target is small: fine-tuning gain, smallest vs largest
    from scipy.stats import ttest_ind

    for role in ("near", "far"):
        small = _cell(t, study, role, "fine-tune", "smallest")
        large = _cell(t, study, role, "fine-tune", "largest")
        v[f"{role}_small_gain"], v[f"{role}_small_low"] = small["gain"], small["ci_low"]
        v[f"{role}_small_high"], v[f"{role}_small_p"] = small["ci_high"], small["p_value"]
        v[f"{role}_large_gain"], v[f"{role}_large_low"] = large["gain"], large["ci_low"]
        v[f"{role}_large_high"], v[f"{role}_large_p"] = large["ci_high"], large["p_value"]
        v[f"{role}_small_verdict"], v[f"{role}_large_verdict"] = small["verdict"], large["verdict"]
        v[f"{role}_small_acc"], v[f"{role}_small_scratch"] = small["accuracy"], small["scratch"]
        v[f"{role}_large_scratch"] = large["scratch"]
    gt = gain_table
    held_roles = []
    for role in ("near", "far"):
        # per-seed gains at the smallest and largest sizes, compared with Welch's t-test
        a = _seed_gains(gt, study, role, "fine-tune", v["smallest"])
        b = _seed_gains(gt, study, role, "fine-tune", v["largest"])
        p = float(ttest_ind(a, b, equal_var=False).pvalue) if len(a) > 1 and len(b) > 1 \
            else math.nan
        v[f"{role}_small_vs_large_p"] = p
        if np.mean(a) > np.mean(b) and p < 0.05:
            held_roles.append(role)
    v["small_verdict"] = ("held for both sources" if len(held_roles) == 2 else
                          f"held for the {held_roles[0]} source only" if held_roles else
                          "did not hold")
    rows.append(dict(claim="transfer helps most when the target is small (fine-tune gain, "
                           f"{v['smallest']} vs {v['largest']} per class)",
                     measured=f"near {v['near_small_gain']:+.3f} vs {v['near_large_gain']:+.3f}"
                              f" (p = {v['near_small_vs_large_p']:.2g}); far "
                              f"{v['far_small_gain']:+.3f} vs {v['far_large_gain']:+.3f} "
                              f"(p = {v['far_small_vs_large_p']:.2g})",
                     verdict=v["small_verdict"]))

    # 2. negative transfer: small and far
    small = t[t["per_class"] < size_boundary]
    for role in ("near", "far"):
        part = small[small["role"] == role]
        v[f"{role}_small_negative"] = int((part["verdict"] == "negative").sum())
        v[f"{role}_small_positive"] = int((part["verdict"] == "positive").sum())
        v[f"{role}_small_cells"] = len(part)
        v[f"{role}_negative_total"] = int((t[t["role"] == role]["verdict"] == "negative").sum())
    v["negative_cells"] = int((t["verdict"] == "negative").sum())
    v["negative_holm"] = int(((t["verdict"] == "negative") & (t["p_holm"] < 0.05)).sum())
    v["tests"] = len(t)
    v["negative_list"] = _negative_list(t)
    far_small_neg = small[(small["role"] == "far") & (small["verdict"] == "negative")]
    v["far_small_negative_methods"] = ", ".join(sorted(set(far_small_neg["method"]))) or "none"
    ft = t[t["method"] == "fine-tune"]
    v["ft_negative_cells"] = int((ft["verdict"] == "negative").sum())
    if v["far_small_negative"] > 0:
        v["negative_verdict"] = "held"
        ft_note = ("fine-tuning itself was never significantly below scratch"
                   if v["ft_negative_cells"] == 0 else
                   f"fine-tuning was significantly below scratch in {v['ft_negative_cells']} "
                   "cell(s)")
        v["negative_note"] = ("Negative transfer appeared where the survey places it, on small "
                              "targets far from the source, but only for the "
                              f"{v['far_small_negative_methods']}; {ft_note}.")
    elif v["negative_cells"] > 0:
        v["negative_verdict"] = "did not hold for small far targets, but appeared elsewhere"
        v["negative_note"] = ("The negative cells were not where the survey places them; "
                              "see the list above for where they were.")
    else:
        v["negative_verdict"] = "did not hold: no cell was significantly negative"
        v["negative_note"] = ("The far source helped or made no clear difference at every size; "
                              "*Reading the result* below discusses why.")
    rows.append(dict(claim="transfer can hurt when the target is small and far (cells with "
                           "a significantly negative gain)",
                     measured=f"far source, small sizes: {v['far_small_negative']} of "
                              f"{v['far_small_cells']}; near source, small sizes: "
                              f"{v['near_small_negative']} of {v['near_small_cells']}; all: "
                              f"{v['negative_cells']} of {v['tests']}",
                     verdict=v["negative_verdict"]))

    # 3. crossovers of fine-tuning and the linear probe
    c = cross[cross["study"] == study].set_index(["role", "method"])
    for role in ("near", "far"):
        for method, short in (("fine-tune", "ft"), ("linear probe", "probe"), ("L2-SP", "l2sp")):
            key = (role, method)
            v[f"{role}_{short}_crossover"] = c.loc[key, "crossover"] if key in c.index else "n/a"
            v[f"{role}_{short}_pattern"] = c.loc[key, "pattern"] if key in c.index else "n/a"
            v[f"{role}_{short}_negative_at"] = _at_sizes(
                c.loc[key, "negative_at"] if key in c.index else "none")
    rows.append(dict(claim="crossover (smallest size from which the gain is never "
                           "significantly positive again)",
                     measured="; ".join(f"{r.role} {r.method}: {r.pattern}"
                                        for r in cross[cross["study"] == study].itertuples()),
                     verdict="measured"))

    # 4. near against far, at the smallest size
    a = _seed_gains(gt, study, "near", "fine-tune", v["smallest"])
    b = _seed_gains(gt, study, "far", "fine-tune", v["smallest"])
    r = paired_difference(a, b)
    v.update(near_far=r.mean_diff, near_far_low=r.ci_low, near_far_high=r.ci_high,
             near_far_p=r.p_value,
             near_far_verdict="held" if r.ci_low > 0 else "did not hold")
    rows.append(dict(claim=f"the near source gains more than the far one ({v['smallest']} per "
                           "class, fine-tune, paired by seed)",
                     measured=f"{_fmt(r.mean_diff, r.ci_low, r.ci_high)}, p = {r.p_value:.2g}",
                     verdict=v["near_far_verdict"]))

    # 5. L2-SP against fine-tuning, and the linear probe against fine-tuning (near source)
    for name, table, claim in (
            ("l2sp", l2sp_vs_ft, "L2-SP beats plain fine-tuning on small targets"),
            ("probe", probe_vs_ft, "a frozen linear probe beats fine-tuning on tiny targets")):
        part = table[(table["study"] == study) & (table["role"] == "near")]
        first, last = part.sort_values("per_class").iloc[0], part.sort_values("per_class").iloc[-1]
        v.update({f"{name}_small": first["diff"], f"{name}_small_low": first["ci_low"],
                  f"{name}_small_high": first["ci_high"], f"{name}_small_p": first["p_value"],
                  f"{name}_small_verdict": first["verdict"], f"{name}_large": last["diff"],
                  f"{name}_large_low": last["ci_low"], f"{name}_large_high": last["ci_high"],
                  f"{name}_large_p": last["p_value"], f"{name}_large_verdict": last["verdict"]})
        better_sizes = part[part["verdict"] == "positive"]["size"].tolist()
        worse_sizes = part[part["verdict"] == "negative"]["size"].tolist()
        v[f"{name}_better_at"] = _at_sizes(", ".join(better_sizes) or "none")
        v[f"{name}_worse_at"] = _at_sizes(", ".join(worse_sizes) or "none")
        v[f"{name}_verdict"] = "held" if first["verdict"] == "positive" else "did not hold"
        rows.append(dict(claim=f"{claim} (near source, {v['smallest']} per class)",
                         measured=f"{_fmt(first['diff'], first['ci_low'], first['ci_high'])}, "
                                  f"p = {first['p_value']:.2g}; better {v[f'{name}_better_at']}; "
                                  f"worse {v[f'{name}_worse_at']}",
                         verdict=v[f"{name}_verdict"]))

    # 6. the map's regions
    summary = region_summary(cells)
    for r in summary.itertuples():
        key = r.region.replace(" & ", "_")
        v[f"region_{key}_cells"] = int(r.cells)
        v[f"region_{key}_gain"] = float(r.mean_gain)
        v[f"region_{key}_min"] = float(r.min_gain)
        v[f"region_{key}_max"] = float(r.max_gain)
        v[f"region_{key}_positive"] = int(r.positive)
        v[f"region_{key}_negative"] = int(r.negative)
    v["map_cells"] = len(cells)
    v["map_lt_cells"] = int((cells["origin"] == "layer transfer").sum())
    ss, sd = v["region_small_similar_gain"], v["region_small_dissimilar_gain"]
    ls_, ld = v["region_large_similar_gain"], v["region_large_dissimilar_gain"]
    v["map_best_region"] = summary.loc[summary["mean_gain"].idxmax(), "region"] \
        if summary["mean_gain"].notna().any() else "none"
    v["map_worst_region"] = summary.loc[summary["mean_gain"].idxmin(), "region"] \
        if summary["mean_gain"].notna().any() else "none"
    v["map_best_gain"] = float(summary["mean_gain"].max())
    v["map_small_similar_best"] = "held" if (math.isfinite(ss) and all(
        not math.isfinite(x) or ss > x for x in (sd, ls_, ld))) else "did not hold"
    if probe_cells is not None:
        for r in region_summary(probe_cells).itertuples():
            key = r.region.replace(" & ", "_")
            v[f"probe_region_{key}_cells"] = int(r.cells)
            v[f"probe_region_{key}_gain"] = float(r.mean_gain)
            v[f"probe_region_{key}_positive"] = int(r.positive)
            v[f"probe_region_{key}_negative"] = int(r.negative)
    v["map_similar_beats_dissimilar"] = "held" if (
        math.isfinite(ss) and math.isfinite(sd) and ss > sd) else "did not hold"
    for region in REGIONS.values():
        key = region.replace(" & ", "_")
        cells_n = v[f"region_{key}_cells"]
        v[f"region_{key}_helped"] = v[f"region_{key}_positive"] / cells_n if cells_n else math.nan
    rows.append(dict(claim="on the map, small & similar gains most",
                     measured=f"mean fine-tune gain per region: small & similar {ss:+.3f}, "
                              f"large & similar {ls_:+.3f}, small & dissimilar {sd:+.3f}, "
                              f"large & dissimilar {ld:+.3f}",
                     verdict=v["map_small_similar_best"]))
    rows.append(dict(claim="on the map, small targets gain less when dissimilar (mean over "
                           "cells, descriptive)",
                     measured=f"small & similar {ss:+.3f} vs small & dissimilar {sd:+.3f}; "
                              "cells clearly helped: "
                              f"{v['region_small_similar_positive']} of "
                              f"{v['region_small_similar_cells']} vs "
                              f"{v['region_small_dissimilar_positive']} of "
                              f"{v['region_small_dissimilar_cells']}",
                     verdict=v["map_similar_beats_dissimilar"]))
    v = {k: (float(x) if isinstance(x, np.floating) else int(x) if isinstance(x, np.integer)
             else x) for k, x in v.items()}
    return v, pd.DataFrame(rows)


def _seed_gains(gain_table: pd.DataFrame, study: str, role: str, method: str,
                size: str) -> pd.Series:
    """Per-seed gains of one cell of :func:`gains`, indexed by seed."""
    part = gain_table[(gain_table["study"] == study) & (gain_table["role"] == role)
                      & (gain_table["method"] == method) & (gain_table["size"] == size)]
    return part.set_index("seed")["gain"]
