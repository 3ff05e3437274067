"""The runs of the hyperparameter experiment: taxonomy cells, settings and their specs.

Profiles: ``tlkit/experiments/profiles/hyperparameters.yaml``. Each *cell* of the survey's
taxonomy is a source, a relation (its near or its far target) and a size (small or large);
sources and targets are those of the pretrained chapter (:mod:`..pretrained`), whose
fine-tuning is the *default recipe*: every layer but the classifier transferred and
fine-tuned at one learning rate (chosen on validation by that chapter's search), SGD with
Nesterov momentum 0.9, plain L2 towards zero.

A :class:`Setting` gives the four hyperparameters Plested, Shen & Gedeon (2021, *Rethinking
binary hyperparameters for deep transfer learning*, ICONIP; arXiv:2107.08585) tune beyond
"pretrained or not":

* ``depth``: the number of transferred layers ``n``; the ``L - 1 - n`` layers above them, up
  to the classifier, are re-initialised (in a layer-indexed network the number of transferred
  layers and the number of re-initialised top layers are one choice, read from either end);
* ``lr_ratio``: the learning rate of the transferred layers over that of the new ones;
* ``momentum``: of SGD;
* ``regularization``: L2 towards zero, L2-SP towards the source weights (Li et al., 2018), or
  L2-SP on the lower transferred layers and L2 on the upper and new ones.

The first stage runs, in every cell, the default and each setting that changes one
hyperparameter from it (:func:`grid_settings`). Everything after it is chosen on validation
(:mod:`.claims`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...checks import is_int, number, positive_int
from ...spec import RunSpec
from ..experiment import checked_once
from ..pretrained import design as pt
from ..profile import load_profiles, merged, replicate_seeds, seed_params, settings
from ..setting_checks import check_settings
from ..small_targets.taxonomy import REGIONS

__all__ = ["PROFILES", "KNOBS", "KNOB_LABELS", "REGULARIZATIONS", "Setting", "Cell",
           "pretrained_params", "cells", "default_setting", "grid_settings", "check_params",
           "run_spec", "setting_specs", "specs", "rate_of", "knob_values"]

PROFILES = load_profiles("hyperparameters")

#: The hyperparameters of a setting, in the order of the page.
KNOBS = ("depth", "lr_ratio", "momentum", "regularization")
#: Axis labels of the hyperparameters.
KNOB_LABELS: Mapping[str, str] = {
    "depth": "transferred layers", "lr_ratio": "learning rate of transferred / new layers",
    "momentum": "momentum", "regularization": "regularization"}
#: The three regularizations.
REGULARIZATIONS = ("L2", "L2-SP", "L2-SP lower + L2 upper")


@dataclass(frozen=True, order=True)
class Setting:
    """One value of each hyperparameter (see the module docstring)."""

    depth: int
    lr_ratio: float
    momentum: float
    regularization: str

    def __post_init__(self) -> None:
        if self.regularization not in REGULARIZATIONS:
            raise ValueError(f"unknown regularization {self.regularization!r}; valid: "
                             f"{', '.join(REGULARIZATIONS)}")

    def value(self, knob: str) -> Any:
        return getattr(self, knob)

    def changes(self, default: Setting) -> str:
        """What this setting changes from ``default``, in words (``"default"`` if nothing)."""
        words = {"depth": lambda v: f"{v} layers transferred",
                 "lr_ratio": lambda v: f"lr ratio {v:g}",
                 "momentum": lambda v: f"momentum {v:g}",
                 "regularization": str}
        out = [words[k](self.value(k)) for k in KNOBS if self.value(k) != default.value(k)]
        return ", ".join(out) if out else "default"

    def label(self) -> str:
        """All four values, e.g. ``"7 layers, lr ratio 1, momentum 0.9, L2"``."""
        return (f"{self.depth} layers, lr ratio {self.lr_ratio:g}, momentum "
                f"{self.momentum:g}, {self.regularization}")

    def tags(self) -> dict[str, Any]:
        return dict(depth=self.depth, lr_ratio=self.lr_ratio, momentum_value=self.momentum,
                    regularization=self.regularization, setting=self.label())


@dataclass(frozen=True)
class Cell:
    """One cell of the taxonomy: a source, its near or far target, a size."""

    source: pt.Source
    relation: str
    scale: str
    target: pt.Target
    per_class: int | None

    def __hash__(self) -> int:
        return hash((self.source.name, self.relation, self.scale, self.target.name))

    @property
    def name(self) -> str:
        """``"<source>: <region>"``, unique on the page."""
        return f"{self.source.name}: {self.region}"

    @property
    def region(self) -> str:
        """The survey's name of the cell: ``"small & dissimilar"`` and so on."""
        return REGIONS[(self.scale == "small", self.relation == "near")]

    @property
    def arch(self) -> str:
        return "efficientnet_lite0" if self.source.kind == "imagenet" else "cnn8"

    def tags(self) -> dict[str, Any]:
        return dict(source=self.source.name, kind=self.source.kind, relation=self.relation,
                    scale=self.scale, region=self.region, target=self.target.name)


def pretrained_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of the pretrained chapter whose sources, targets and recipe this page
    tunes (the same profile and seeds, :func:`~tlkit.experiments.profile.seed_params`, with the
    ``pretrained`` overrides of this page's profile and then of its parameters, if any)."""
    pilot = seed_params(params)
    profile = params.get("profile", "quick")
    own = PROFILES[profile].get("pretrained") if profile in PROFILES else None
    return {"profile": profile, **pilot, **merged(own or {}, params.get("pretrained") or {})}


def cells(params: Mapping[str, Any]) -> list[Cell]:
    """Every cell of the profile: per source, large & similar, small & similar, large &
    dissimilar, small & dissimilar."""
    s = settings(PROFILES, params)
    pp = pretrained_params(params)
    by_source = {x.name: x for x in pt.sources(pp)}
    by_target = {x.name: x for x in pt.targets(pp)}
    out = []
    for c in s["cells"]:
        for relation in ("near", "far"):
            for scale in ("large", "small"):
                out.append(Cell(by_source[c["source"]], relation, scale,
                                by_target[c[relation]], s[scale]))
    return out


def sample_specs(params: Mapping[str, Any]) -> dict[str, RunSpec]:
    """The runs whose training images the page shows (seed 0, as
    :func:`tlkit.experiments.pretrained.sample_specs` gives them): each source of a cell that
    has images (a glyph source; ImageNet has none here), then each target of a cell once."""
    shown = pt.sample_specs(pretrained_params(params))
    listed = cells(params)
    keys = [*dict.fromkeys(f"source: {c.source.name}" for c in listed),
            *dict.fromkeys(f"target: {c.target.name}" for c in listed)]
    return {k: shown[k] for k in keys if k in shown}


def default_setting(s: Mapping[str, Any], arch: str) -> Setting:
    """The default recipe: the first value of each grid."""
    g = s["grid"][arch]
    return Setting(int(g["depth"][0]), float(g["lr_ratio"][0]), float(g["momentum"][0]),
                   str(g["regularization"][0]))


def knob_values(s: Mapping[str, Any], arch: str, knob: str) -> list[Any]:
    """The grid of one hyperparameter for an architecture, default first."""
    return list(s["grid"][arch][knob])


def grid_settings(s: Mapping[str, Any], arch: str) -> list[Setting]:
    """The first stage: the default, then each setting that changes one hyperparameter."""
    default = default_setting(s, arch)
    out = [default]
    for knob in KNOBS:
        for v in knob_values(s, arch, knob)[1:]:
            out.append(replace(default, **{knob: v}))
    return out


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for a bad seed count, size, cell, grid or strength, before any
    work; the pretrained chapter's own checks run too."""
    check_settings("04_hyperparameters", params)
    s = settings(PROFILES, params)
    pp = pretrained_params(params)
    pt.check_params(pp)
    pts = settings(pt.PROFILES, pp)
    positive_int("seeds", s["seeds"], 2, why="paired tests need two")
    for key in ("small", "large"):
        if s[key] is not None:
            positive_int(key, s[key])
    boundary = pts["size_boundary"]
    if s["small"] is None or s["small"] >= boundary:
        raise ValueError(f"small must be below the size boundary ({boundary} per class), got "
                         f"{s['small']!r}")
    if s["large"] is not None and s["large"] < boundary:
        raise ValueError(f"large must be at least the size boundary ({boundary} per class), "
                         f"got {s['large']!r}")
    sources = {x.name: x for x in pt.sources(pp)}
    targets = {x.name: x for x in pt.targets(pp)}
    if not s["cells"]:
        raise ValueError("cells must list at least one source")
    for c in s["cells"]:
        if c.get("source") not in sources:
            raise ValueError(f"cells: unknown source {c.get('source')!r}; valid: "
                             f"{', '.join(sources)}")
        for relation in ("near", "far"):
            if c.get(relation) not in targets:
                raise ValueError(f"cells: unknown {relation} target {c.get(relation)!r}; "
                                 f"valid: {', '.join(targets)}")
        if c["near"] == c["far"]:
            raise ValueError(f"cells: {c['source']!r} needs two different targets")
    if sorted(s["grid"]) != ["cnn8", "efficientnet_lite0"]:
        raise ValueError("the grid needs one entry per architecture: cnn8, efficientnet_lite0")
    for arch, top in (("cnn8", 7), ("efficientnet_lite0", 9)):
        g = s["grid"][arch]
        if sorted(g) != sorted(KNOBS):
            raise ValueError(f"the grid of {arch} needs exactly {', '.join(KNOBS)}; got "
                             f"{', '.join(g)}")
        for knob, vals in g.items():
            if not isinstance(vals, list) or not vals or len(set(vals)) != len(vals):
                raise ValueError(f"the {knob} grid of {arch} must be a list of distinct "
                                 f"values, got {vals!r}")
        if not all(is_int(d) and 1 <= d <= top for d in g["depth"]):
            raise ValueError(f"depths of {arch} must be integers in 1..{top}, got "
                             f"{g['depth']!r}")
        for v in g["lr_ratio"]:
            number(f"an lr_ratio of {arch}", v, positive=True)
        for v in g["momentum"]:
            if number(f"a momentum of {arch}", v) >= 1:
                raise ValueError(f"momentum values must lie in [0, 1), got {v!r}")
        if any(r not in REGULARIZATIONS for r in g["regularization"]):
            raise ValueError(f"regularizations must be among {', '.join(REGULARIZATIONS)}, "
                             f"got {g['regularization']!r}")
        sp = positive_int(f"sp_layers of {arch}", s["sp_layers"][arch])
        if sp >= g["depth"][0]:
            raise ValueError(f"sp_layers of {arch} must be below the default depth "
                             f"{g['depth'][0]}, got {sp}")
    number("weight_decay", s["weight_decay"])
    number("alpha", s["alpha"])
    for target in targets.values():
        smallest = min(pt.pool_per_class(target)) - pts["validation"]
        for n in (s["small"], s["large"]):
            if n is not None and n > smallest:
                raise ValueError(f"size {n} is larger than the {smallest} images left in the "
                                 f"smallest class of {target.name!r} after "
                                 f"{pts['validation']} are held out for validation")


def rate_of(cell: Cell, rates: Mapping[str, float]) -> float:
    """The default learning rate of a cell: the pretrained chapter's rate for fine-tuning
    from its source (ImageNet's ``fine-tune``, or fine-tuning from a glyph source)."""
    return float(rates["fine-tune" if cell.source.kind == "imagenet" else pt.GLYPH_FINE_TUNE])


def run_spec(params: Mapping[str, Any], cell: Cell, setting: Setting, seed: int,
             rates: Mapping[str, float], stage: str = "grid") -> RunSpec:
    """The run of ``setting`` in ``cell`` for ``seed``. The default is the very run of the
    pretrained chapter (the same key, shared through the run cache)."""
    s = settings(PROFILES, params)
    pts = settings(pt.PROFILES, pretrained_params(params))
    glyph = [cell.source] if cell.source.kind == "glyphs" else []
    runs = pt.run_specs(pts, cell.target, cell.per_class, seed, rates, glyph)
    base = next(r for r in runs if r.tag_dict["kind"] == cell.source.kind
                and r.tag_dict["method"] == "fine-tune")
    t = replace(base.transfer, layers=setting.depth, lr_mult=setting.lr_ratio)
    if setting.regularization != "L2":
        sp = None if setting.regularization == "L2-SP" else min(
            int(s["sp_layers"][cell.arch]), setting.depth)
        t = replace(t, regularizer="l2sp", alpha=float(s["alpha"]),
                    beta=float(s["weight_decay"]), sp_layers=sp)
    train = replace(base.train, momentum=setting.momentum,
                    weight_decay=float(s["weight_decay"]))
    return replace(base, transfer=t, train=train, tags=()).with_tags(
        **cell.tags(), **setting.tags(), stage=stage)


def setting_specs(params: Mapping[str, Any],
                  wanted: Sequence[tuple[Cell, Sequence[Setting]]] | Mapping[Cell, Any],
                  rates: Mapping[str, float], stage: str) -> list[RunSpec]:
    """The runs of the given settings of each cell (pairs of a cell and its settings), for
    every seed, tagged with ``stage``."""
    s = settings(PROFILES, params)
    pairs = wanted.items() if isinstance(wanted, Mapping) else wanted
    return [run_spec(params, cell, setting, seed, rates, stage)
            for cell, wanted_here in pairs for setting in wanted_here
            for seed in replicate_seeds(s)]


def specs(params: Mapping[str, Any], rates: Mapping[str, float] | None = None
          ) -> list[RunSpec]:
    """The first stage of the page (:func:`grid_settings` in every cell) at the pretrained
    chapter's chosen ``rates`` (``None``: the first rate of each of its grids, for listing
    the design before its search has run)."""
    check_params(params)
    s = settings(PROFILES, params)
    if rates is None:
        pts = settings(pt.PROFILES, pretrained_params(params))
        rates = {m: float(v[0]) for m, v in pts["search"]["grid"].items()}
    return setting_specs(params, {c: grid_settings(s, c.arch) for c in cells(params)},
                         rates, "grid")
