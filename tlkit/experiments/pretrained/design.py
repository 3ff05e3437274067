"""The runs of the pretrained-source experiment: targets, sources, methods and their specs.

Profiles: ``tlkit/experiments/profiles/pretrained.yaml``. Every small target is trained

* from scratch, by the book's cnn8 and by EfficientNet-Lite0 from random weights;
* from the ImageNet weights of EfficientNet-Lite0 (:mod:`tlkit.models.efficientnet`) by six
  methods: a linear probe (every layer but the classifier frozen), fine-tuning the top blocks
  (the first ``top_frozen`` layers frozen, the rest fine-tuned from their ImageNet weights),
  fine-tuning every layer, L2-SP, and the linear probe and fine-tuning the top with their
  frozen layers' batch-norm statistics recomputed on the target (:data:`TARGET_BN`,
  :data:`TOP_TARGET_BN`; the frozen layers' statistics measured both ways wherever layers are
  frozen, and the choice between them made on validation with the method's);
* from each of the book's own cnn8 sources, fine-tuned (:data:`CNN_KINDS`): the glyph-trained
  base networks A of the layer-transfer splits (the very runs of that chapter), cnn8 networks
  trained from scratch on other declared data (lowercase letters, another font, shapes), and a
  network with random weights (fine-tuning it is training from scratch with the fine-tuning
  recipe: the floor a useful source must clear).

Each method's learning rate is chosen on validation data (:func:`search_specs`,
:func:`chosen_rates`), never on test accuracy. A profile may run fewer of these
(``imagenet_methods``, ``scratch``): a method whose runs cannot reach their validation plateau
within the profile's budget is left out rather than reported half-trained (:func:`methods_run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ... import data
from ...checks import int_list, number, positive_int
from ...methods import transfer
from ...spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from .. import layer_transfer as lt
from ..experiment import checked_once
from ..profile import load_profiles, replicate_seeds, search_seeds, settings
from ..setting_checks import check_settings
from ..small_targets.design import pool_per_class, train_config
from .published import check_power
from .sources import (
    CNN_KINDS,
    IMAGENET,
    Source,
    check_sources,
    cnn_model,
    layer_params,
    pixel_side,
    source_run,
    sources_of,
)

__all__ = ["PROFILES", "METHODS", "IMAGENET", "IMAGENET_METHODS", "TARGET_BN", "TOP_TARGET_BN",
           "SCRATCH",
           "Target",
           "Source", "CNN_KINDS", "GLYPH_FINE_TUNE", "RATE_KEYS", "rate_key", "targets", "sources",
           "sizes_of", "check_params", "imagenet_model", "cnn_model", "pixel_side", "source_run",
           "run_specs", "search_specs", "chosen_rates", "specs", "layer_params",
           "sample_specs", "methods_run", "keys_run", "LENGTH_KEYS", "length_of",
           "length_text"]

PROFILES = load_profiles("pretrained")

#: The linear probe whose frozen batch-norm statistics are recomputed on the target
#: (:data:`tlkit.spec.BN_STATS`); every other frozen layer keeps ImageNet's statistics.
TARGET_BN = "linear probe, target BN"
#: Fine-tuning the top with the frozen layers' batch-norm statistics recomputed on the target.
TOP_TARGET_BN = "fine-tune top, target BN"
#: Methods from the ImageNet weights, in the order of the page.
IMAGENET_METHODS = ("linear probe", "fine-tune top", "fine-tune", "L2-SP", TARGET_BN,
                    TOP_TARGET_BN)
#: The two baselines trained from random weights (method ``scratch``), by architecture.
SCRATCH = {"cnn8": "scratch (cnn8)", "efficientnet_lite0": "scratch (EfficientNet)"}
#: Every method tag of the page: the curves' legend order.
METHODS = (*SCRATCH.values(), *IMAGENET_METHODS)
#: The learning rate of fine-tuning from one of the book's own cnn8 sources (its key in the
#: search grid; searched from the first glyph source).
GLYPH_FINE_TUNE = "fine-tune (glyph source)"
#: Every key of the search grid: one learning rate per method and architecture.
RATE_KEYS = (*METHODS, GLYPH_FINE_TUNE)


#: The settings of a run's length; each is a number for every run, or a mapping with one per
#: architecture (``cnn8``, ``efficientnet_lite0``) and, where a method needs its own, one per
#: search-grid key (:data:`RATE_KEYS`, e.g. ``scratch (cnn8)``).
LENGTH_KEYS = ("steps", "min_epochs", "batch_size")
_ARCHS = ("cnn8", "efficientnet_lite0")


def length_of(s: Mapping[str, Any], arch: str, key: str | None = None) -> dict[str, int]:
    """``steps``, ``min_epochs`` and ``batch_size`` of the runs of ``arch`` (and of the method
    whose search-grid key is ``key``): the profile's number, or its entry for ``key``, else for
    ``arch``, where it gives a mapping."""
    out = {}
    for k in LENGTH_KEYS:
        v = s[k]
        out[k] = (v.get(key, v[arch]) if key is not None else v[arch]) if isinstance(
            v, Mapping) else v
    return out


def length_text(s: Mapping[str, Any], key: str) -> str:
    """A length setting in words: ``"300"``, or ``"1200 for cnn8, 300 for EfficientNet-Lite0,
    2400 for scratch (cnn8)"``."""
    if not isinstance(s[key], Mapping):
        return f"{s[key]}"
    names = {"cnn8": "cnn8", "efficientnet_lite0": "EfficientNet-Lite0"}
    return ", ".join(f"{v} for {names.get(k, k)}" for k, v in s[key].items())


def _train(s: Mapping[str, Any], arch: str, key: str, images: int, lr: float) -> Any:
    return train_config({**s, **length_of(s, arch, key)}, images, lr)


def methods_run(s: Mapping[str, Any]) -> tuple[str, ...]:
    """The methods of :data:`METHODS` the profile runs, in page order: its ``scratch``
    architectures and its ``imagenet_methods``."""
    scratch = [SCRATCH[a] for a in SCRATCH if a in s["scratch"]]
    return (*scratch, *(m for m in IMAGENET_METHODS if m in s["imagenet_methods"]))


def keys_run(s: Mapping[str, Any]) -> tuple[str, ...]:
    """The search-grid keys (:data:`RATE_KEYS`) whose rates the profile's runs use."""
    return (*methods_run(s), GLYPH_FINE_TUNE)


def rate_key(tags: Mapping[str, Any]) -> str:
    """The search-grid key of a run's learning rate, from its tags."""
    return GLYPH_FINE_TUNE if tags["kind"] in CNN_KINDS else str(tags["method"])


@dataclass(frozen=True)
class Target:
    """One small target task."""

    name: str
    dataset: str
    options: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None


def sources(params: Mapping[str, Any]) -> list[Source]:
    """The sources of the profile (:func:`~.sources.sources_of`)."""
    return sources_of(settings(PROFILES, params))


def targets(params: Mapping[str, Any]) -> list[Target]:
    """The targets of the profile."""
    s = settings(PROFILES, params)
    return [Target(t["name"], t["dataset"], dict(t["options"]),
                   None if t["classes"] is None else tuple(t["classes"]))
            for t in s["targets"]]


def sizes_of(s: Mapping[str, Any]) -> list[int | None]:
    """The sizes of the settings, ``None`` for the whole split (written null or ``"all"``)."""
    return [None if n in (None, "all") else n for n in s["sizes"]]


def imagenet_model(s: Mapping[str, Any], weights: str | None = "imagenet") -> ModelSpec:
    """EfficientNet-Lite0 at the profile's input side, from ImageNet weights or random ones."""
    return ModelSpec(arch="efficientnet_lite0", size=s["imagenet_size"],
                     channels=cnn_model(s).channels, weights=weights)


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for a bad size list, seed count, step count, learning-rate grid or
    strength, an unknown dataset, class or split, or a size a target class cannot supply."""
    check_settings("03_pretrained", params)
    s = settings(PROFILES, params)
    int_list("sizes", s["sizes"], allow=(None, "all"))
    positive_int("seeds", s["seeds"], 2, why="paired tests need two")
    for key in LENGTH_KEYS:
        if isinstance(s[key], Mapping):
            if not set(_ARCHS) <= set(s[key]) or not set(s[key]) <= {*_ARCHS, *RATE_KEYS}:
                raise ValueError(f"{key} must be a number or give one per architecture "
                                 f"({', '.join(_ARCHS)}) and, optionally, per method "
                                 f"({', '.join(RATE_KEYS)}); got {s[key]!r}")
            for name, v in s[key].items():
                positive_int(f"{key} of {name}", v)
        else:
            positive_int(key, s[key])
    for key in ("imagenet_size", "distance_samples"):
        positive_int(key, s[key])
    if s["imagenet_size"] < 32:
        raise ValueError(f"imagenet_size must be at least 32 (EfficientNet-Lite0 downsamples "
                         f"by 32), got {s['imagenet_size']}")
    positive_int("validation", s["validation"], 1, why="learning rates are chosen on it")
    positive_int("top_frozen", s["top_frozen"], 1)
    for key in ("small_only", "imagenet_methods"):
        if not isinstance(s[key], list):
            raise ValueError(f"{key} must be a list of methods, got {s[key]!r}")
        unknown = [m for m in s[key] if m not in IMAGENET_METHODS]
        if unknown:
            raise ValueError(f"{key} names unknown methods {unknown}; valid: "
                             f"{', '.join(IMAGENET_METHODS)}")
    if not isinstance(s["scratch"], list) or "cnn8" not in s["scratch"] or any(
            a not in SCRATCH for a in s["scratch"]):
        raise ValueError(f"scratch must list the architectures trained from random weights, "
                         f"cnn8 (every gain's baseline) among them, of {', '.join(SCRATCH)}; "
                         f"got {s['scratch']!r}")
    if not s["imagenet_methods"]:
        raise ValueError("imagenet_methods must name at least one way of using the weights")
    if s["top_frozen"] >= 9:
        raise ValueError("top_frozen must leave a block to fine-tune: 1..8")
    number("alpha", s["alpha"])
    number("beta", s["beta"])
    number("size_boundary", s["size_boundary"], positive=True)
    check = s["plateau"]
    if not isinstance(check, Mapping) or sorted(check) != ["seeds", "validation"]:
        raise ValueError(f"plateau must give seeds and validation, got {check!r}")
    positive_int("plateau seeds", check["seeds"], 1)
    positive_int("plateau validation", check["validation"], 1)
    search = s["search"]
    positive_int("search seeds", search["seeds"], 1)
    positive_int("search size", search["size"])
    missing = [m for m in keys_run(s) if m not in search["grid"]]
    extra = [m for m in search["grid"] if m not in RATE_KEYS]
    if missing or extra:
        raise ValueError(f"the search grid needs learning rates for every method run "
                         f"({', '.join(keys_run(s))}) and no other keys than "
                         f"{', '.join(RATE_KEYS)}; missing {missing}, unknown {extra}")
    for method, rates in search["grid"].items():
        if not isinstance(rates, list) or not rates:
            raise ValueError(f"the search grid of {method!r} must be a list of rates")
        for lr in rates:
            number(f"a learning rate of {method!r}", lr, positive=True)
    lt.check_params(layer_params(s))
    check_sources(s)
    check_power(s.get("power"))
    first = targets(params)[0]
    if min(pool_per_class(first)) - check["validation"] < search["size"]:
        raise ValueError(f"plateau validation {check['validation']} leaves fewer than the "
                         f"search size {search['size']} images in a class of {first.name!r}")
    for target in targets(params):
        smallest = min(pool_per_class(target)) - s["validation"]
        for n in [*sizes_of(s), search["size"]]:
            data.check(target.dataset, classes=target.classes, n_per_class=n,
                       **target.options)
            if n is not None and n > smallest:
                raise ValueError(f"size {n} is larger than the {smallest} images left in the "
                                 f"smallest class of {target.name!r} after "
                                 f"{s['validation']} are held out for validation")


def _images(s: Mapping[str, Any], target: Target, n: int | None) -> int:
    pool = pool_per_class(target)
    return sum(pool) - s["validation"] * len(pool) if n is None else n * len(pool)


def _transfer(s: Mapping[str, Any], method: str) -> TransferSpec:
    """The transfer of an ImageNet method: the pretrained weights of every layer but the
    classifier kept (``layers=9``), frozen, partly frozen or fine-tuned."""
    top = 9
    if method == "linear probe":
        return TransferSpec(layers=top, freeze=True)
    if method == TARGET_BN:
        return TransferSpec(layers=top, freeze=True, bn_stats="target")
    if method == "fine-tune top":
        return TransferSpec(layers=top, freeze=int(s["top_frozen"]))
    if method == TOP_TARGET_BN:
        return TransferSpec(layers=top, freeze=int(s["top_frozen"]), bn_stats="target")
    if method == "fine-tune":
        return TransferSpec(layers=top, freeze=False)
    if method == "L2-SP":
        return TransferSpec(layers=top, freeze=False, regularizer="l2sp", alpha=s["alpha"],
                            beta=s["beta"])
    raise ValueError(f"unknown ImageNet method {method!r}; valid: {', '.join(IMAGENET_METHODS)}")


def run_specs(s: Mapping[str, Any], target: Target, n: int | None, seed: int,
              rates: Mapping[str, float], glyph_sources: list[Source]) -> list[RunSpec]:
    """Every run of one target, size and seed, each method the profile runs
    (:func:`methods_run`) at its rate in ``rates`` (keys :data:`RATE_KEYS`), and fine-tuning
    from each of the cnn8 sources ``glyph_sources`` (:data:`CNN_KINDS`)."""
    d = DataSpec(target.dataset, target.options, classes=target.classes, n_per_class=n,
                 subsample_seed=seed, validation=s["validation"])
    images = _images(s, target, n)
    tag = dict(target=target.name)
    out = []
    for arch, name in SCRATCH.items():
        if arch not in s["scratch"]:
            continue
        model = cnn_model(s) if arch == "cnn8" else imagenet_model(s, None)
        out.append(RunSpec(d, model, _train(s, arch, name, images, rates[name]),
                           transfer("scratch"), seed=seed)
                   .with_tags(source="none", kind="none", method=name, **tag))
    small = n is not None and n < s["size_boundary"]
    for method in IMAGENET_METHODS:
        if method not in s["imagenet_methods"] or (method in s["small_only"] and not small):
            continue
        out.append(RunSpec(d, imagenet_model(s),
                           _train(s, "efficientnet_lite0", method, images, rates[method]),
                           _transfer(s, method), seed=seed)
                   .with_tags(source=IMAGENET, kind="imagenet", method=method, **tag))
    for src in glyph_sources:
        method = transfer("scratch") if src.kind == "random" else transfer(
            "fine-tune", source_run(s, src, seed))
        out.append(RunSpec(d, cnn_model(s), _train(s, "cnn8", GLYPH_FINE_TUNE, images,
                                                   rates[GLYPH_FINE_TUNE]), method, seed=seed)
                   .with_tags(source=src.name, kind=src.kind, method="fine-tune", **tag))
    return out


def search_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs the learning rates are chosen on: every method at every rate of its grid, on
    the first target at the search size, for the search seeds
    (:func:`~tlkit.experiments.profile.search_seeds`, disjoint from the reported replicates),
    from the first glyph source.
    Tagged with ``lr_choice``, the grid key (:func:`rate_key`) whose rate the run tests."""
    s = settings(PROFILES, params)
    search = s["search"]
    target = targets(params)[0]
    glyph = [src for src in sources(params) if src.kind == "glyphs"][:1]
    grid = {k: v for k, v in search["grid"].items() if k in keys_run(s)}
    out = []
    for seed in search_seeds(search["seeds"]):
        for method, rates in grid.items():
            for lr in rates:
                runs = run_specs(s, target, search["size"], seed,
                                 dict.fromkeys(grid, lr), glyph)
                out += [r.with_tags(lr_choice=method) for r in runs
                        if rate_key(r.tag_dict) == method]
    return out


def chosen_rates(search: Any) -> dict[str, float]:
    """Per key of the search grid: the learning rate with the highest mean validation
    accuracy over the search's runs (ties go to the smaller rate). ``search`` is the results
    table of :func:`search_specs`; only ``val_acc`` is read, never a test column."""
    from ...analysis import choose_on_validation

    if "val_acc" not in search or search["val_acc"].isna().any():
        raise ValueError("choosing a learning rate needs the validation accuracy of every run")
    chosen = choose_on_validation(search, ["lr_choice"], "lr")
    return {str(r.lr_choice): float(r.lr) for r in chosen.itertuples()}


def specs(params: Mapping[str, Any], rates: Mapping[str, float] | None = None
          ) -> list[RunSpec]:
    """Every run of the page at the chosen ``rates`` (:func:`chosen_rates`; ``None``: the
    first rate of each grid, for listing the design before the search has run).

    Tags: ``target``, ``source`` (``"none"`` for scratch), ``kind`` (``imagenet``, ``glyphs``,
    ``none``) and ``method`` (:data:`METHODS`, or ``fine-tune`` from a glyph source). The runs
    of one seed share the target subsample, so methods and sources are paired by seed.
    """
    check_params(params)
    s = settings(PROFILES, params)
    if rates is None:
        rates = {m: float(v[0]) for m, v in s["search"]["grid"].items()}
    glyph = [src for src in sources(params) if src.kind in CNN_KINDS]
    out: list[RunSpec] = []
    for target in targets(params):
        for n in sizes_of(s):
            for seed in replicate_seeds(s):
                out += run_specs(s, target, n, seed, rates, glyph)
    return out


def sample_specs(params: Mapping[str, Any]) -> dict[str, RunSpec]:
    """The runs whose training images a page shows (seed 0): each target's whole split and
    the source network of each glyph source."""
    check_params(params)
    s = settings(PROFILES, params)
    out: dict[str, RunSpec] = {}
    rates = {m: float(v[0]) for m, v in s["search"]["grid"].items()}
    for target in targets(params):
        out[f"target: {target.name}"] = run_specs(s, target, None, 0, rates, [])[0]
    for src in sources(params):
        run = source_run(s, src, 0)
        if run is not None:
            out[f"source: {src.name}"] = run
    return out
