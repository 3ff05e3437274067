"""The runs of the layer-transfer experiment: its splits, its distance axes, and their specs.

Profiles: ``tlkit/experiments/profiles/layer_transfer.yaml``. A *split* is a class pool cut
into halves A (source) and B (target); an *axis* is one source (baseA of a split) and a family
of targets meant to lie at increasing distance from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ... import data
from ...checks import int_list, positive_int
from ...methods import transfer
from ...spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from ...train import TrainConfig
from ..experiment import checked_once
from ..profile import load_profiles, replicate_seeds, settings
from ..setting_checks import check_settings, train_recipe

__all__ = [
    "PROFILES",
    "design_settings",
    "recipe",
    "recipe_tasks",
    "seeds_of",
    "CONDITIONS",
    "CONDITION_METHODS",
    "FROZEN_CONDITIONS",
    "TARGET_BN",
    "Split",
    "Target",
    "Axis",
    "splits",
    "axes",
    "model_spec",
    "source_spec",
    "target_spec",
    "check_params",
    "specs",
    "sample_specs",
]

PROFILES = load_profiles("layer_transfer")


def design_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's settings with the parameters; a ``seeds`` parameter sets the seeds of
    every condition and of the axis (the profile's per-condition numbers no longer apply)."""
    s = settings(PROFILES, params)
    if params.get("seeds") is not None:
        s["condition_seeds"] = {}
        s["axis_seeds"] = s["seeds"]
    return s

#: Each condition of the protocol, in the order of Yosinski et al.'s figure 2: the transfer
#: method (:mod:`tlkit.methods`) and the base network copied (``"a"``, ``"b"`` or none).
CONDITION_METHODS: Mapping[str, tuple[str, str | None]] = {
    "BnB": ("frozen", "b"),
    "BnB+": ("fine-tune", "b"),
    "AnB": ("frozen", "a"),
    "AnB+": ("fine-tune", "a"),
    "random": ("random frozen", None),
}
CONDITIONS = tuple(CONDITION_METHODS)
FROZEN_CONDITIONS = tuple(c for c, (m, _) in CONDITION_METHODS.items() if "frozen" in m)
#: AnB at the deepest depth with the frozen layers' batch-norm statistics recomputed on B's
#: training images (AdaBN: Li et al., 2016) instead of kept from A, on every split that runs
#: AnB: the top-layer drop measured both ways (:func:`.protocol.batchnorm_both_ways`).
TARGET_BN = "AnB, B's statistics"


@dataclass(frozen=True)
class Split:
    """Halves A (source) and B (target) of one class pool; ``kind`` is ``near`` or ``far``;
    ``conditions`` are the protocol's conditions run on it. Half A is drawn from ``dataset``
    with ``options`` unless the split names its own (``a_dataset``, ``a_options``): a source
    from another domain, such as drawn shapes for a target of letters."""

    name: str
    kind: str
    group: str
    dataset: str
    options: Mapping[str, Any]
    a: tuple[str, ...]
    b: tuple[str, ...]
    a_options: Mapping[str, Any] | None = None
    conditions: tuple[str, ...] = CONDITIONS
    a_dataset: str | None = None

    @property
    def source_dataset(self) -> str:
        """The dataset half A is drawn from (that of B unless the split names another)."""
        return self.dataset if self.a_dataset is None else self.a_dataset

    @property
    def source_options(self) -> Mapping[str, Any]:
        """Dataset options of half A (those of B unless the split restyles A or draws it
        from another dataset)."""
        if self.a_options is not None:
            return self.a_options
        return self.options if self.a_dataset is None else {}


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
    s = design_settings(params)
    return [Split(d["name"], d["kind"], d["group"], d["dataset"], dict(d["options"]),
                  tuple(d["a"]), tuple(d["b"]),
                  None if d.get("a_options") is None else dict(d["a_options"]),
                  tuple(d.get("conditions", CONDITIONS)), d.get("a_dataset"))
            for d in s["splits"]]


def axes(params: Mapping[str, Any]) -> list[Axis]:
    """The distance axes of the profile."""
    s = design_settings(params)
    out = []
    for d in s["axes"]:
        targets = tuple(
            Target(t["name"], t["family"], t["dataset"], dict(t["options"]),
                   None if t["classes"] is None else tuple(t["classes"]))
            for t in d["targets"])
        out.append(Axis(d["name"], d["source"], targets))
    return out


def recipe(params: Mapping[str, Any], role: str) -> TrainConfig:
    """The training recipe of ``role`` (``"scratch"`` or ``"transfer"``) in the profile, as
    chosen on validation (:mod:`tlkit.experiments.recipes`)."""
    return train_recipe(design_settings(params)["recipes"], role)


def seeds_of(params: Mapping[str, Any], condition: str) -> int:
    """Seeds of a protocol condition: ``condition_seeds`` when it names it, else ``seeds``.
    A base network gets as many as the most of the conditions that copy it (baseB: all)."""
    s = design_settings(params)
    own = dict(s.get("condition_seeds") or {})
    if condition in CONDITIONS:
        return int(own.get(condition, s["seeds"]))
    users = {"baseA": [c for c, (_, half) in CONDITION_METHODS.items() if half == "a"],
             "baseB": list(CONDITIONS)}.get(condition)
    if users is None:
        raise ValueError(f"unknown condition {condition!r}")
    return max(seeds_of(params, c) for c in users)


def model_spec(params: Mapping[str, Any]) -> ModelSpec:
    """The cnn8 of the profile (width, input size, channels)."""
    s = design_settings(params)
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
    B target (``target_per_class`` per class, subsample seed = seed). Both train with the
    ``scratch`` recipe; their initial weights are independent (:meth:`RunSpec.seed_for`).
    """
    s = design_settings(params)
    if half == "b":
        return target_spec(params, split, seed)
    near = [x for x in splits(params) if x.group == split.group and x.kind == "near"]
    k_ref = len(near[0].a) if near else len(split.a)
    d = DataSpec(split.source_dataset, split.source_options, classes=split.a,
                 n_per_class=_per_class(split, s["source_per_class"], k_ref), subsample_seed=0,
                 validation=s["validation"])
    return RunSpec(d, model_spec(params), recipe(params, "scratch"), seed=seed)


def target_spec(params: Mapping[str, Any], target: Split | Target, seed: int,
                transfer_spec: TransferSpec | None = None) -> RunSpec:
    """A run on target B of a split (``target_per_class`` images per class) or on an axis
    target (``axis_per_class``), from scratch (the ``scratch`` recipe) or with a transfer (the
    ``transfer`` recipe)."""
    s = design_settings(params)
    if isinstance(target, Split):
        d = DataSpec(target.dataset, target.options, classes=target.b,
                     n_per_class=s["target_per_class"], subsample_seed=seed,
                     validation=s["validation"])
    else:
        d = DataSpec(target.dataset, target.options, classes=target.classes,
                     n_per_class=s["axis_per_class"], subsample_seed=seed,
                     validation=s["validation"])
    t = transfer_spec or TransferSpec()
    role = "scratch" if t.source is None and t.layers == 0 else "transfer"
    return RunSpec(d, model_spec(params), recipe(params, role), t, seed=seed)


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for fewer than 2 seeds, bad depths, an unknown dataset,
    class or option, or a target size that a class cannot supply."""
    check_settings("01_layer_transfer", params)
    s = design_settings(params)
    positive_int("seeds", s["seeds"], 2, why="intervals and paired tests need two")
    positive_int("axis_seeds", s["axis_seeds"], 2, why="intervals and paired tests need two")
    for condition, n in (s.get("condition_seeds") or {}).items():
        if condition not in CONDITIONS:
            raise ValueError(f"condition_seeds names an unknown condition {condition!r}; "
                             f"valid: {', '.join(CONDITIONS)}")
        positive_int(f"condition_seeds[{condition!r}]", n, 2,
                     why="intervals and paired tests need two")
    int_list("depths", s["depths"], low=1, high=7)
    int_list("axis_depths", s["axis_depths"], low=1, high=7)
    int_list("middle", s["middle"], low=1, high=7)
    for key in ("width", "size", "target_per_class", "axis_per_class"):
        positive_int(key, s[key])
    positive_int("validation", s["validation"], 0)
    for role in ("scratch", "transfer"):
        recipe(params, role)  # a bad recipe is a ValueError here, before any work
    _check_power(s.get("power") or {})
    names = [x.name for x in splits(params)]
    for pair in s["pairs"]:
        if len(pair) != 2 or any(p not in names for p in pair):
            raise ValueError(f"pairs must name a near and a far split of {names}, got {pair!r}")
    for split in splits(params):
        unknown = [c for c in split.conditions if c not in CONDITIONS]
        if unknown:
            raise ValueError(f"split {split.name!r} names unknown conditions {unknown}")
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
        data.check(d.name, classes=d.classes, n_per_class=(d.n_per_class or 1) + d.validation,
                   **d.option_dict)
    # every one of these is measured: the halves of each split, and each axis's targets
    most = max(len(d.classes or data.info(d.name).classes) for d in datasets)
    if positive_int("distance_samples", s["distance_samples"]) < most:
        raise ValueError(f"distance_samples must be at least the number of classes of each "
                         f"dataset whose distance is measured (up to {most} here), so that "
                         f"every class is sampled; got {s['distance_samples']}")


def _check_power(block: Mapping[str, Any]) -> None:
    """The pilot's record (``power``): spreads >= 0, at least two pilot seeds, and accuracies
    (``base_b``, ``random_relative``) between 0 and 1."""
    pilot = dict(block.get("pilot") or {})
    if "seeds" in pilot:
        positive_int("power.pilot.seeds", pilot["seeds"], 2, why="a spread needs two")
    for key in ("base_b", "random_relative"):
        value = pilot.get(key)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
            raise ValueError(f"power.pilot.{key} must be a fraction between 0 and 1, got "
                             f"{value!r}")
    for claim, sd in dict(block.get("sd") or {}).items():
        if not (isinstance(sd, int | float) and sd >= 0):
            raise ValueError(f"power.sd[{claim!r}] must be a spread >= 0, got {sd!r}")


def specs(params: Mapping[str, Any]) -> list[RunSpec]:
    """Every run: the protocol grid on each split, then the distance axes, for every seed.

    Tags: ``part`` (``protocol`` or ``axis``), ``split`` (protocol) or ``axis`` and ``target``
    (axis), ``condition`` (``baseA``, ``baseB``, :data:`CONDITIONS`, :data:`TARGET_BN`, or on an
    axis ``scratch``, ``AnB``, ``AnB+``). Runs that are the same in two places (baseB of two
    splits with the same B) appear once per place with its own tags and run once. The k-th
    seed (from ``first_seed``, 0 for the book,
    :func:`~tlkit.experiments.profile.replicate_seeds`) of a condition exists when k <
    :func:`seeds_of` that condition; the axis has ``axis_seeds`` seeds.
    """
    check_params(params)
    s = design_settings(params)
    by_name = {x.name: x for x in splits(params)}
    out: list[RunSpec] = []
    most = max([s["axis_seeds"], *(seeds_of(params, c) for c in CONDITIONS)])
    for k, seed in enumerate(replicate_seeds(s, most)):
        for split in by_name.values():
            base = {"a": source_spec(params, split, "a", seed),
                    "b": source_spec(params, split, "b", seed)}
            tag = dict(part="protocol", split=split.name, kind=split.kind, group=split.group)
            conditions = [c for c in split.conditions if k < seeds_of(params, c)]
            if any(CONDITION_METHODS[c][1] == "a" for c in conditions):
                out.append(base["a"].with_tags(condition="baseA", **tag))
            if conditions or k < seeds_of(params, "baseB"):
                out.append(base["b"].with_tags(condition="baseB", **tag))
            for n in s["depths"]:
                for condition in conditions:
                    name, half = CONDITION_METHODS[condition]
                    t = transfer(name, None if half is None else base[half], layers=n)
                    out.append(target_spec(params, split, seed, t)
                               .with_tags(condition=condition, **tag))
            if "AnB" in conditions:
                t = replace(transfer("frozen", base["a"], layers=max(s["depths"])),
                            bn_stats="target")
                out.append(target_spec(params, split, seed, t)
                           .with_tags(condition=TARGET_BN, **tag))
        if k >= s["axis_seeds"]:
            continue
        for ax in axes(params):
            base_a = source_spec(params, by_name[ax.source], "a", seed)
            for t in ax.targets:
                tag = dict(part="axis", axis=ax.name, target=t.name, family=t.family)
                out.append(target_spec(params, t, seed).with_tags(condition="scratch", **tag))
                for n in s["axis_depths"]:
                    for condition in ("AnB", "AnB+"):
                        name, _ = CONDITION_METHODS[condition]
                        out.append(target_spec(params, t, seed, transfer(name, base_a, layers=n))
                                   .with_tags(condition=condition, **tag))
    return out


def recipe_tasks(params: Mapping[str, Any]) -> dict[str, RunSpec | list[RunSpec]]:
    """The runs each recipe is chosen on (:mod:`tlkit.experiments.recipes`): ``scratch`` on
    baseB of the first split; ``transfer`` on AnB+ from that split's baseA (trained with the
    declared scratch recipe) at each of ``recipe_search.transfer_depths``, the shallowest and
    deepest depth it serves, so that one recipe fits every depth."""
    s = design_settings(params)
    split = splits(params)[0]
    base_b = source_spec(params, split, "b", 0)
    base_a = source_spec(params, split, "a", 0)
    name, _ = CONDITION_METHODS["AnB+"]
    return {"scratch": base_b,
            "transfer": [target_spec(params, split, 0, transfer(name, base_a, layers=n))
                         for n in s["recipe_search"]["transfer_depths"]]}




def sample_specs(params: Mapping[str, Any]) -> dict[str, dict[str, RunSpec]]:
    """The runs whose training images a page shows (seed 0): ``"splits"``, the target B and
    every source half A of the splits; ``"axis"``, every target of the distance axes."""
    parts: dict[str, dict[str, RunSpec]] = {"splits": {}, "axis": {}}
    split_list = splits(params)
    parts["splits"][f"B ({split_list[0].name} target)"] = source_spec(params, split_list[0],
                                                                      "b", 0)
    for split in split_list:
        parts["splits"][f"A ({split.name})"] = source_spec(params, split, "a", 0)
    for ax in axes(params):
        for t in ax.targets:
            parts["axis"][t.name] = target_spec(params, t, 0)
    return parts
