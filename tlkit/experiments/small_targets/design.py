"""The runs of the small-targets experiment: studies, sources, sizes, seeds and their specs.

Profiles: ``tlkit/experiments/profiles/small_targets.yaml``. A *study* is one target task and
the sources transferred to it; a source is base network A of a layer-transfer split (its very
run, shared through the run cache) or torchvision ImageNet weights (the large-source case).
Every run takes at least ``steps`` SGD steps whatever the target size (:func:`train_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ... import data
from ...checks import int_list, number, positive_int
from ...data import registry
from ...methods import transfer
from ...spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from .. import layer_transfer as lt
from ..experiment import checked_once
from ..profile import load_profiles, replicate_seeds, settings
from ..setting_checks import check_settings
from ..source_networks import cnn_model, layer_params
from .recipe import LENGTH_KEYS, bucket, length_of, lr_of, recipe_of, train_config
from .sources import Source, own_recipe, runs_from, source_of, source_run

__all__ = ["PROFILES", "METHODS", "TRANSFER_METHODS", "Source", "Study", "studies", "sizes_of",
           "seeds_at", "pool_per_class", "train_config", "methods_for", "runs_at", "check_params",
           "specs", "layer_transfer_specs", "recipe_tasks", "bucket", "lr_of", "recipe_of",
           "TUNED_STRENGTH", "TARGET_BN", "LARGE_RECIPE", "ARMS", "large_recipe_arm",
           "layer_params", "cnn_model", "source_run", "sample_specs", "large_recipe_specs",
           "own_recipe", "runs_from"]

PROFILES = load_profiles("small_targets")

#: The methods of the page, scratch first (names of :mod:`tlkit.methods`).
METHODS = ("scratch", "linear probe", "fine-tune", "L2-SP", "DELTA", "BSS")
TRANSFER_METHODS = METHODS[1:]
#: The methods whose strength ``alpha`` is part of their recipe, chosen on validation with
#: the learning rate (L2-SP keeps the profile's ``alpha`` and ``beta``).
TUNED_STRENGTH = ("DELTA", "BSS")


@dataclass(frozen=True)
class Study:
    """One target task and the sources transferred to it."""

    name: str
    target: str
    dataset: str
    options: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None
    sources: tuple[Source, ...] = ()


def studies(params: Mapping[str, Any]) -> list[Study]:
    """The studies of the profile, with the layer-transfer splits resolved."""
    s = settings(PROFILES, params)
    by_split = {x.name: x for x in lt.splits(layer_params(s))}
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
        sources = [x for x in (source_of(d["name"], src, by_split, s) for src in d["sources"])
                   if x is not None]
        names = [x.name for x in sources]
        if len(set(names)) < len(names):
            raise ValueError(f"study {d['name']!r}: a source name is used twice: {names}")
        out.append(Study(d["name"], t["name"], dataset, options, classes, tuple(sources)))
    return out


def sizes_of(s: Mapping[str, Any]) -> list[int | None]:
    """The sizes of the settings, ``None`` for the whole split (written null or ``"all"``)."""
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
    """Training images of each class of the study's target (the pool 'all' draws from); any
    target with ``dataset``, ``options`` and ``classes`` will do (the pretrained chapter's)."""
    src = registry.source(study.dataset)
    opts = src.options(study.options)
    counts = src.class_counts("train", opts)
    names = src.classes(opts)
    if counts is None:
        raise ValueError(f"the class sizes of {study.dataset!r} are not known in advance")
    chosen = names if study.classes is None else study.classes
    return [counts[names.index(c)] for c in chosen]


def _model_for(s: Mapping[str, Any], source: Source | None) -> ModelSpec:
    if source is None or source.weights is None:
        return cnn_model(s)
    base = cnn_model(s)
    return ModelSpec(arch="resnet18", width=base.width, size=source.size or base.size,
                     channels=3, weights=source.weights)


#: The method of the linear probe whose frozen batch-norm statistics are recomputed on the
#: target (:data:`tlkit.spec.BN_STATS`); every other frozen run keeps the source's statistics.
TARGET_BN = "linear probe, target BN"
#: The arm the survey blames for negative transfer (Plested et al., 2022): fine-tuning from the
#: far source on a small target with the recipe chosen for a large target from the near source
#: (``fine-tune_large``: its learning rate and least epochs), unchanged.
LARGE_RECIPE = "fine-tune, large-target recipe"
#: Runs beside the page's methods, with the method and recipe bucket they train by.
ARMS: Mapping[str, tuple[str, str | None]] = {TARGET_BN: ("linear probe", None),
                                              LARGE_RECIPE: ("fine-tune", "large")}


def large_recipe_arm(s: Mapping[str, Any], source: Source, n: int | None) -> bool:
    """Whether :data:`LARGE_RECIPE` runs from ``source`` at size ``n``: where the profile asks
    for it (``large_recipe_arm``), from a far source network, on small targets."""
    return bool(s.get("large_recipe_arm")) and source.role == "far" and (
        source.weights is None and bucket(s, n) == "small")


def _transfer(s: Mapping[str, Any], source: Source, method: str, seed: int,
              n: int | None, own: str | None = None) -> TransferSpec:
    """The transfer of ``method`` from ``source`` at size ``n``: every layer but the
    classifier. From torchvision weights the model starts from them and L2-SP decays towards
    them. DELTA and BSS take their strength from their recipe (DELTA's ``beta``, on the new
    layers, is the profile's, as L2-SP's)."""
    options: dict[str, float] = {}
    if method == "L2-SP":
        options = dict(alpha=s["alpha"], beta=s["beta"])
    elif method in TUNED_STRENGTH:
        options = dict(alpha=recipe_of(s, method, n, "alpha", own=own))
        if method == "DELTA":
            options["beta"] = s["beta"]
    return transfer(method, source_run(s, source, seed), arch=_model_for(s, source).arch,
                    **options)


def runs_at(s: Mapping[str, Any], method: str, n: int | None) -> bool:
    """Whether ``method`` runs at size ``n``: every method at every size, but DELTA and BSS
    only at the profile's ``regularised_sizes`` (``None``: every size)."""
    sizes = s.get("regularised_sizes")
    if method not in TUNED_STRENGTH or sizes is None:
        return True
    return n in [None if v == "all" else v for v in sizes]


def methods_for(source: Source) -> tuple[str, ...]:
    """Transfer methods run from ``source`` (every method, from a source run or torchvision
    weights alike)."""
    return TRANSFER_METHODS


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for a bad size list, seed schedule, step count, regulariser
    strength, an unknown dataset, class or split, or a size a target class cannot supply."""
    check_settings("02_small_targets", params)
    s = settings(PROFILES, params)
    int_list("sizes", s["sizes"], allow=(None, "all"))
    if s.get("seeds") is not None:
        positive_int("seeds", s["seeds"], 2, why="paired tests need two")
    for n in sizes_of(s):
        positive_int(f"the number of seeds at size {n}", seeds_at(n, s), 2,
                     why="paired tests need two")
    for key in ("steps", "batch_size", "min_epochs"):
        positive_int(key, s[key])
    for role, recipe in s["recipes"].items():
        for key in (k for k in LENGTH_KEYS if k in recipe):
            positive_int(f"recipes.{role}.{key}", recipe[key])
    positive_int("validation", s["validation"], 0)
    if s.get("regularised_sizes") is not None:
        int_list("regularised_sizes", s["regularised_sizes"], allow=(None, "all"))
        extra = [n for n in s["regularised_sizes"]
                 if (None if n == "all" else n) not in sizes_of(s)]
        if extra:
            raise ValueError(f"regularised_sizes {extra} are not among the sizes run")
    for method in METHODS:
        run = [n for n in sizes_of(s) if runs_at(s, method, n)]
        for b in sorted({bucket(s, n) for n in run}):
            n = next(n for n in run if bucket(s, n) == b)
            number(f"the learning rate of {method} ({b})", lr_of(s, method, n), positive=True)
            if method in TUNED_STRENGTH:
                number(f"the strength alpha of {method} ({b})", recipe_of(s, method, n, "alpha"))
    for study in studies(params):
        for src in study.sources:
            for b in src.own_recipes:
                run = [n for n in sizes_of(s) if bucket(s, n) == b and runs_from(s, src, n)]
                for method in (m for m in methods_for(src) if run and runs_at(s, m, run[0])):
                    what = f"of {method} ({b}) from {src.name!r}"
                    number(f"the learning rate {what}", lr_of(s, method, run[0], own=src.name),
                           positive=True)
                    if method in TUNED_STRENGTH:
                        number(f"the strength alpha {what}",
                               recipe_of(s, method, run[0], "alpha", own=src.name))
    if not isinstance(s.get("large_recipe_arm", False), bool):
        raise ValueError(f"large_recipe_arm must be true or false, got "
                         f"{s['large_recipe_arm']!r}")
    int_list("bn_sizes", s["bn_sizes"], allow=(None, "all"))
    missing = [n for n in s["bn_sizes"] if (None if n == "all" else n) not in sizes_of(s)]
    if missing:
        raise ValueError(f"bn_sizes {missing} are not among the sizes run")
    number("alpha", s["alpha"])
    number("beta", s["beta"])
    number("size_boundary", s["size_boundary"], positive=True)
    if s["distance_boundary"] is not None:
        number("distance_boundary (None: the midpoint of the near and far sources)",
               s["distance_boundary"], positive=True)
    if s["pretrained"] is not None:
        from torchvision.models import ResNet18_Weights

        if s["pretrained"] not in ResNet18_Weights.__members__:
            raise ValueError(f"pretrained must be None or one of "
                             f"{', '.join(ResNet18_Weights.__members__)}, got "
                             f"{s['pretrained']!r}")
    lt.check_params(layer_params(s))
    for study in studies(params):
        if not any(src.role == "near" for src in study.sources) or not any(
                src.role == "far" for src in study.sources):
            raise ValueError(f"study {study.name!r} needs a near and a far source")
        smallest = min(pool_per_class(study)) - s["validation"]
        for n in sizes_of(s):
            data.check(study.dataset, classes=study.classes, n_per_class=n, **study.options)
            if n is not None and n > smallest:
                raise ValueError(f"size {n} is larger than the {smallest} images left in the "
                                 f"smallest class of {study.target!r} after {s['validation']} "
                                 "are held out for validation")


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run but :func:`large_recipe_specs`: per study, size and seed, scratch (one per
    architecture) and each transfer method from each source.

    Tags: ``study``, ``target``, ``source`` (``"none"`` for scratch), ``role`` (``near``,
    ``far``, ``large`` or ``"none"``) and ``method`` (:data:`METHODS`). The runs of one seed
    share the target subsample (``subsample_seed = seed``) and the training seed, so methods
    are paired by seed; the source of seed ``k`` is base network A of seed ``k``.
    """
    return [x for x in _every_run(params) if x.tag_dict["method"] != LARGE_RECIPE]


def large_recipe_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs of :data:`LARGE_RECIPE` (tagged as :func:`specs`' runs): run as a stage of
    their own, since the large-target recipe may diverge on a small target, and a diverged
    run is a result of the arm, not an error of the page."""
    return [x for x in _every_run(params) if x.tag_dict["method"] == LARGE_RECIPE]


def _every_run(params: Mapping[str, Any]) -> list[RunSpec]:
    check_params(params)
    s = settings(PROFILES, params)
    out: list[RunSpec] = []
    for study in studies(params):
        pool = pool_per_class(study)
        archs: dict[str, Source | None] = {"cnn8": None}
        for src in study.sources:
            if src.weights is not None:
                archs["resnet18"] = src
        bn_sizes = [None if n == "all" else n for n in s["bn_sizes"]]
        for n in sizes_of(s):
            n_images = (sum(pool) - s["validation"] * len(pool)) if n is None else n * len(pool)
            for seed in replicate_seeds(s, seeds_at(n, s)):
                out += _cell(s, study, archs, n, n_images, seed, n in bn_sizes)
    return out


def _cell(s: Mapping[str, Any], study: Study, archs: Mapping[str, Source | None],
          n: int | None, n_images: int, seed: int, with_bn: bool) -> list[RunSpec]:
    """The runs of one study, size and seed: scratch per architecture, then every method from
    every source (and the probe with target batch-norm statistics where asked)."""
    target = DataSpec(study.dataset, study.options, classes=study.classes, n_per_class=n,
                      subsample_seed=seed, validation=s["validation"])
    tag = dict(study=study.name, target=study.target)
    out = []
    for src in archs.values():
        model = _model_for(s, src)
        if src is not None:  # scratch of the same architecture, no weights
            model = ModelSpec(arch=model.arch, width=model.width, size=model.size,
                              channels=model.channels)
        train = train_config(length_of(s, "scratch", n), n_images, lr_of(s, "scratch", n))
        out.append(RunSpec(target, model, train, transfer("scratch"), seed=seed)
                   .with_tags(source="none", role="none", method="scratch", **tag))
    for src in (x for x in study.sources if runs_from(s, x, n)):
        methods = [m for m in methods_for(src) if runs_at(s, m, n)]
        methods += [TARGET_BN] if with_bn and not src.small_only else []
        methods += [LARGE_RECIPE] if large_recipe_arm(s, src, n) else []
        for method in methods:
            base, as_bucket = ARMS.get(method, (method, None))
            own = own_recipe(s, src, n, as_bucket)
            train = train_config(length_of(s, base, n, as_bucket, own), n_images,
                                 lr_of(s, base, n, as_bucket, own))
            name = method if method == TARGET_BN else base  # the target-BN probe is a method
            out.append(RunSpec(target, _model_for(s, src), train,
                               _transfer(s, src, name, seed, n, own), seed=seed)
                       .with_tags(source=src.name, role=src.role, method=method, **tag))
    return out


def recipe_tasks(params: Mapping[str, Any]) -> dict[str, RunSpec | list[RunSpec]]:
    """The runs each recipe is chosen on (:mod:`tlkit.experiments.recipes`): every method at
    the search's small and large size, on the first study, from its near source; and every
    transfer method from each source with recipes of its own (keys
    ``"{method}_{bucket} ({source})"``). A small-target recipe is chosen on two sizes, the
    page's smallest and the search's small size (its validation accuracy is the mean over
    them), so that a rate that diverges on the smallest targets of a selection seed is never
    chosen for them."""
    s = settings(PROFILES, params)
    study = studies(params)[0]
    near = next(src for src in study.sources if src.role == "near")
    pool = pool_per_class(study)
    smallest = min((n for n in sizes_of(s) if bucket(s, n) == "small"), default=None)
    out: dict[str, list[RunSpec]] = {}
    for b, n in s["recipe_search"]["sizes"].items():
        n = None if n in (None, "all") else n
        for size in dict.fromkeys([smallest, n] if b == "small" and smallest else [n]):
            n_images = (sum(pool) - s["validation"] * len(pool)) if size is None else (
                size * len(pool))
            for spec in _cell(s, study, {"cnn8": None}, size, n_images, 0, False):
                if spec.tag_dict["source"] in ("none", near.name):
                    out.setdefault(f"{spec.tag_dict['method']}_{b}", []).append(spec)
            for src in (x for x in study.sources if b in x.own_recipes):
                alone = Study(study.name, study.target, study.dataset, study.options,
                              study.classes, (src,))
                for spec in _cell(s, alone, {}, size, n_images, 0, False):
                    if spec.tag_dict["method"] in TRANSFER_METHODS:
                        out.setdefault(f"{spec.tag_dict['method']}_{b} ({src.name})",
                                       []).append(spec)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def layer_transfer_specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """The runs of the layer-transfer experiment that the map reads: on its distance axis,
    scratch and every transferable layer copied, fine-tuned (``AnB+``) and frozen (``AnB``) at
    its deepest axis depth, for its default seeds. Identical to that notebook's runs, so they
    are cache hits when it ran first."""
    s = settings(PROFILES, params)
    lp = layer_params(s)
    top = max(settings(lt.PROFILES, lp)["axis_depths"])
    return [x for x in lt.specs(lp) if x.tag_dict["part"] == "axis" and (
        x.tag_dict["condition"] == "scratch"
        or (x.tag_dict["condition"] in ("AnB", "AnB+") and x.transfer.layers == top))]


def sample_specs(params: Mapping[str, Any]) -> dict[str, RunSpec]:
    """The runs whose training images a page shows (seed 0): each study's target (its whole
    training split) and the source network of each of its sources (pretrained weights have no
    source run and are not shown)."""
    check_params(params)
    s = settings(PROFILES, params)
    out: dict[str, RunSpec] = {}
    for study in studies(params):
        scratch = _cell(s, study, {"cnn8": None}, None, 1, 0, False)[0]
        out[f"target: {study.target}"] = scratch
        for src in study.sources:
            run = source_run(s, src, 0)
            if run is not None:
                out[f"{src.role} source: {src.name}"] = run
    return out
