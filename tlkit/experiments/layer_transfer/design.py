"""The runs of the layer-transfer experiment: its splits, its distance axes, and their specs.

Profiles: ``tlkit/experiments/profiles/layer_transfer.yaml``. A *split* is a class pool cut
into halves A (source) and B (target); an *axis* is one source (baseA of a split) and a family
of targets meant to lie at increasing distance from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ... import data
from ...methods import transfer
from ...spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from ...train import TrainConfig
from ..params import int_list, positive_int
from ..profile import load_profiles, settings

__all__ = [
    "PROFILES",
    "CONDITIONS",
    "CONDITION_METHODS",
    "FROZEN_CONDITIONS",
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
]

PROFILES = load_profiles("layer_transfer")

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


def model_spec(params: Mapping[str, Any]) -> ModelSpec:
    """The cnn8 of the profile (width, input size, channels)."""
    s = settings(PROFILES, params)
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
    return RunSpec(d, model_spec(params), train, seed=seed)


def target_spec(params: Mapping[str, Any], target: Split | Target, seed: int,
                transfer_spec: TransferSpec | None = None) -> RunSpec:
    """A run on target B of a split (or on an axis target), from scratch or with a transfer."""
    s = settings(PROFILES, params)
    if isinstance(target, Split):
        d = DataSpec(target.dataset, target.options, classes=target.b,
                     n_per_class=s["target_per_class"], subsample_seed=seed)
    else:
        d = DataSpec(target.dataset, target.options, classes=target.classes,
                     n_per_class=s["target_per_class"], subsample_seed=seed)
    train = TrainConfig(epochs=s["target_epochs"], batch_size=s["batch_size"], lr=s["lr"])
    return RunSpec(d, model_spec(params), train, transfer_spec or TransferSpec(), seed=seed)


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for fewer than 2 seeds, bad depths, an unknown dataset,
    class or option, or a target size that a class cannot supply."""
    s = settings(PROFILES, params)
    positive_int("seeds", s["seeds"], 2, why="intervals and paired tests need two")
    int_list("depths", s["depths"], low=1, high=7)
    int_list("axis_depths", s["axis_depths"], low=1, high=7)
    for key in ("target_epochs", "source_epochs", "width", "size"):
        positive_int(key, s[key])
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
            base = {"a": source_spec(params, split, "a", seed),
                    "b": source_spec(params, split, "b", seed)}
            tag = dict(part="protocol", split=split.name, kind=split.kind, group=split.group)
            out.append(base["a"].with_tags(condition="baseA", **tag))
            out.append(base["b"].with_tags(condition="baseB", **tag))
            for n in s["depths"]:
                for condition, (name, half) in CONDITION_METHODS.items():
                    t = transfer(name, None if half is None else base[half], layers=n)
                    out.append(target_spec(params, split, seed, t)
                               .with_tags(condition=condition, **tag))
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
