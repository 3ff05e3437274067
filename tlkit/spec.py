"""``RunSpec``: a frozen, JSON-serialisable, hashable description of one training run.

A spec names everything that determines a run's result: the target data (dataset, options,
classes, examples per class and the seed of that subsample), the model, the optimisation
hyperparameters, the transfer (a source spec, the layers copied, frozen or fine-tuned, the
regulariser) and the seed. Its :meth:`RunSpec.key` hashes the canonical JSON: the same run
has the same key in every process and on every machine, and a source is a spec too.

``tags`` are labels for tables and plots (``condition="AnB+"``); they are not part of the
run's identity and do not enter the key. The key also hashes :data:`CACHE_VERSION`, the
fingerprint of the code that computes it (:func:`tlkit.fingerprint.run_fingerprint`) and
``compute`` (where and in what precision: :data:`COMPUTES`), so a record made by other code,
on other hardware or in another precision is never taken for this run.

**Seeds.** ``seed`` is the replicate. The run's initial weights and batch order come from
streams derived from ``(seed, role)`` (:meth:`RunSpec.seed_for`), where the role is everything
else the spec says: baseA and baseB of one seed start from independent weights, and the
re-initialised layers of every transfer run are independent of its source's initial weights.
What runs of one seed share on purpose is in their data: the target subsample
(``DataSpec.subsample_seed``), the validation set held out of the training pool (the same for
every run of a dataset) and the test set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .checks import check_int as _check_int
from .checks import check_number as _check_number
from .checks import check_type as _check_type
from .checks import is_int as _is_int
from .config import TrainConfig
from .data.registry import drop_locations

__all__ = ["DataSpec", "ModelSpec", "TransferSpec", "RunSpec", "CACHE_VERSION",
           "BN_STATS", "COMPUTES", "CPU_PRECISIONS", "compute_for"]

#: Bumped when a spec's meaning or its record's format changes (3: records carry digests).
CACHE_VERSION = 3

#: Batch-norm statistics of frozen copied layers: the source's, or recomputed on the target.
BN_STATS = ("source", "target")
#: Where and in what precision a run computes (part of its key): the CPU in float32 or with
#: bfloat16 autocast (a design's choice: ``spec.on("cpu-bf16")``), CUDA with bfloat16 autocast.
COMPUTES = ("cpu-fp32", "cpu-bf16", "cuda-bf16")
CPU_PRECISIONS = ("fp32", "bf16")


def compute_for(device_type: str, precision: str = "fp32") -> str:
    """The ``compute`` of a run on ``"cpu"`` in ``precision`` or on ``"cuda"`` (bfloat16)."""
    if device_type == "cpu" and precision in CPU_PRECISIONS:
        return f"cpu-{precision}"
    if device_type == "cuda":
        return "cuda-bf16"
    if device_type == "cpu":
        raise ValueError(f"runs on the CPU compute in fp32 or bf16, not {precision!r}")
    raise ValueError(f"runs compute on cpu or cuda, not {device_type!r}")


def _freeze(value: Any) -> Any:
    """Lists become tuples and dicts sorted tuples of pairs, so values are hashable."""
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _options(options: Any) -> tuple[tuple[str, Any], ...]:
    items = options.items() if isinstance(options, dict) else tuple(options)
    return tuple(sorted((str(k), _freeze(v)) for k, v in items))


@dataclass(frozen=True)
class DataSpec:
    """Which images a run trains and tests on.

    Args:
        name: a dataset of :mod:`tlkit.data` (``"glyphs"``, ``"digits"``, ``"mnist"``, ...).
        options: dataset options, e.g. ``{"fonts": ["serif"], "shift": 0.5}``.
        classes: class names to keep, in label order (``None``: all).
        n_per_class: training examples per class, stratified (``None``: all that remain).
        subsample_seed: seed of that stratified subsample.
        validation: examples per class held out of the training pool for validation, before
            the subsample is drawn (the same held-out set for every run of the dataset).
    """

    name: str
    options: tuple[tuple[str, Any], ...] = ()
    classes: tuple[str, ...] | None = None
    n_per_class: int | None = None
    subsample_seed: int = 0
    validation: int = 0

    def __post_init__(self) -> None:
        _check_type("DataSpec", "name", self.name, str, "a dataset name (str)")
        _check_int("DataSpec", "subsample_seed", self.subsample_seed, 0)
        object.__setattr__(self, "options", _options(self.options))
        if isinstance(self.classes, str):
            raise TypeError("DataSpec.classes must be a sequence of class names, not a string")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
            if len(set(self.classes)) != len(self.classes):
                raise ValueError(f"repeated class names in {self.classes}")
        if self.n_per_class is not None:
            _check_int("DataSpec", "n_per_class", self.n_per_class, 1)
        _check_int("DataSpec", "validation", self.validation, 0)

    @property
    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class ModelSpec:
    """Architecture and input format: every image is converted to ``channels`` x ``size``^2."""

    arch: str = "cnn8"
    width: int = 16
    size: int = 32
    channels: int = 1
    weights: str | None = None

    def __post_init__(self) -> None:
        from .models import ARCHITECTURES

        _check_type("ModelSpec", "arch", self.arch, str, "an architecture name (str)")
        _check_int("ModelSpec", "width", self.width, 1)
        _check_int("ModelSpec", "size", self.size, 1)
        if self.weights is not None:
            _check_type("ModelSpec", "weights", self.weights, str, "a weights name or None")
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}; valid: "
                             f"{', '.join(ARCHITECTURES)}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")


@dataclass(frozen=True)
class TransferSpec:
    """How a run starts from a source.

    Args:
        source: the pretraining run whose final weights are copied (``None``: no source run).
        layers: number of leading layers copied from the source. With no source run and a model
            with pretrained weights (``ModelSpec.weights``), the first ``layers`` pretrained
            layers play the copied layers' part. With neither, that many layers keep their
            random initialisation and stay frozen (Yosinski's random-filter control).
        freeze: keep the copied layers fixed (``AnB``, ``True``) or fine-tune them (``AnB+``,
            ``False``); an integer ``k`` keeps the first ``k`` copied layers fixed and
            fine-tunes the others (fine-tuning the top blocks of a pretrained network).
        lr_mult: learning-rate multiplier of the copied layers when fine-tuned.
        regularizer: what training adds to the loss, a name of :mod:`tlkit.regularizers`.
        alpha, beta: the regulariser's strengths (L2-SP's and DELTA's on copied and on new
            layers, BSS's on the smallest singular value).
        sp_layers: with ``"l2sp"``, decay only the first ``sp_layers`` copied layers towards the
            source and the copied layers above them, like the new ones, towards zero with
            ``beta``: the mix of L2-SP on the lower and L2 on the upper layers of Plested,
            Shen & Gedeon (2021). ``None``: every copied layer towards the source.
        bn_stats: batch-norm statistics of frozen copied layers: the source's (``"source"``)
            or recomputed on the target's training images before training (``"target"``,
            AdaBN: Li et al., 2016, *Revisiting batch normalization for practical domain
            adaptation*, arXiv:1603.04779).
    """

    source: RunSpec | None = None
    layers: int = 0
    freeze: bool | int = True
    lr_mult: float = 1.0
    regularizer: str = "l2"
    alpha: float = 0.01
    beta: float = 0.0
    bn_stats: str = "source"
    sp_layers: int | None = None

    def __post_init__(self) -> None:
        if self.source is not None:
            _check_type("TransferSpec", "source", self.source, RunSpec, "a RunSpec or None")
        _check_int("TransferSpec", "layers", self.layers, 0)
        _check_type("TransferSpec", "freeze", self.freeze, (bool, int),
                    "True, False or a number of copied layers")
        for name in ("lr_mult", "alpha", "beta"):  # floats, so that alpha=0 and 0.0 share a key
            _check_number("TransferSpec", name, getattr(self, name))
            object.__setattr__(self, name, float(getattr(self, name)))
        from .regularizers import regularization

        regularizer = regularization(self.regularizer)  # a ValueError names the valid ones
        if self.bn_stats not in BN_STATS:
            raise ValueError(f"bn_stats must be one of {', '.join(BN_STATS)}, got "
                             f"{self.bn_stats!r}")
        if not isinstance(self.freeze, bool) and not (
                _is_int(self.freeze) and 0 <= self.freeze <= self.layers):
            raise ValueError(f"freeze must be True, False or a number of copied layers in "
                             f"0..{self.layers}, got {self.freeze!r}")
        if not isinstance(self.freeze, bool) and self.freeze in (0, self.layers):
            # all or none of the copied layers: the same run as freeze=True / False, one key
            object.__setattr__(self, "freeze", self.freeze == self.layers)

        if self.sp_layers is not None:
            if self.regularizer != "l2sp":
                raise ValueError("sp_layers splits the L2-SP penalty: it needs regularizer "
                                 "'l2sp'")
            if not _is_int(self.sp_layers) or not 0 <= self.sp_layers <= self.layers:
                raise ValueError(f"sp_layers must be a number of copied layers in "
                                 f"0..{self.layers}, got {self.sp_layers!r}")
            if self.sp_layers == self.layers:
                # every copied layer towards the source: plain L2-SP, one key
                object.__setattr__(self, "sp_layers", None)
        if regularizer.check is not None:
            regularizer.check(self)

    @property
    def sp_depth(self) -> int:
        """The number of leading layers that L2-SP decays towards the source."""
        if self.regularizer != "l2sp":
            return 0
        return self.layers if self.sp_layers is None else int(self.sp_layers)

    @property
    def frozen(self) -> int:
        """The number of leading layers that stay fixed during training."""
        if isinstance(self.freeze, bool):
            return self.layers if self.freeze else 0
        return int(self.freeze)


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run. See the module docstring."""

    data: DataSpec
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=TrainConfig)
    transfer: TransferSpec = field(default_factory=TransferSpec)
    seed: int = 0
    compute: str = "cpu-fp32"
    tags: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name, kind in (("data", DataSpec), ("model", ModelSpec), ("train", TrainConfig),
                           ("transfer", TransferSpec)):
            _check_type("RunSpec", name, getattr(self, name), kind, f"a {kind.__name__}")
        _check_int("RunSpec", "seed", self.seed, 0)
        object.__setattr__(self, "tags", _options(self.tags))
        if self.compute not in COMPUTES:
            raise ValueError(f"compute must be one of {', '.join(COMPUTES)}, got {self.compute!r}")
        from .models import num_layers
        from .regularizers import regularization

        top = num_layers(self.model.arch) - 1
        if self.transfer.layers > top:
            raise ValueError(f"cannot transfer {self.transfer.layers} layers: a {top + 1}-layer "
                             f"{self.model.arch} takes 0..{top} (never the classifier)")
        src = self.transfer.source
        pretrained = src is not None or self.model.weights is not None
        if not pretrained and self.transfer.frozen < self.transfer.layers:
            raise ValueError("random (source-less) layers can only be frozen")
        entry = regularization(self.transfer.regularizer)
        if not pretrained and entry.needs_start:
            raise ValueError(f"regularizer {self.transfer.regularizer!r} pulls towards the "
                             "starting weights: it needs a source run or pretrained weights")
        if entry.check_run is not None:  # e.g. DELTA: layers that output feature maps
            entry.check_run(self)
        if src is not None and src.compute != self.compute:
            raise ValueError("a source and the runs that copy it compute on the same device "
                             f"(source {src.compute}, target {self.compute})")
        if src is not None and src.model.arch != self.model.arch:
            raise ValueError("source and target must use the same architecture")
        if src is not None and (src.model.size, src.model.channels, src.model.width) != (
                self.model.size, self.model.channels, self.model.width):
            raise ValueError("source and target must share input size, channels and width")

    # --- identity -------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """The JSON-ready dict that defines the run (no tags)."""
        d = self.to_dict()
        _strip_tags(d)
        _drop_unset(d)
        drop_locations(d)
        return d

    def key(self) -> str:
        """Stable 16-hex-digit SHA-256 key of :data:`CACHE_VERSION`, the fingerprint of the
        code that computes this run (:func:`tlkit.fingerprint.run_fingerprint`) and the
        canonical JSON of :meth:`identity`."""
        from .fingerprint import run_fingerprint

        code = run_fingerprint(self)
        cached = self.__dict__.get("_key")  # a frozen spec's key changes only with the code
        if cached is not None and cached[0] == code:
            return cached[1]
        payload = json.dumps({"cache_version": CACHE_VERSION, "code": code,
                              "spec": self.identity()}, sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(payload.encode()).hexdigest()[:16]
        self.__dict__["_key"] = (code, key)
        return key

    def design_key(self) -> str:
        """16 hex digits of the spec alone: the same on every machine and for every version of
        the code, and for every ``compute`` (what a run *is*, not where or by what it ran)."""
        payload = json.dumps(_without_compute(self.identity()), sort_keys=True,
                             separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def seed_for(self, stream: str) -> int:
        """A seed for one random stream of this run (``"init"``, ``"batches"``), derived from
        ``(seed, role)``: the replicate and everything else the spec says (not ``compute``,
        so a run on another device starts from the same weights)."""
        from .data.source import stream_seed

        return stream_seed(self.seed, stream, self.design_key())

    def on(self, compute: str) -> RunSpec:
        """This run and its sources, computed on ``compute`` (the key changes)."""
        src = self.transfer.source
        transfer = self.transfer if src is None else replace(self.transfer,
                                                              source=src.on(compute))
        return replace(self, transfer=transfer, compute=compute)

    def __hash__(self) -> int:
        return hash(self.key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunSpec) and self.key() == other.key()

    # --- (de)serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return json.loads(json.dumps(d))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        t = dict(d["transfer"])
        t["source"] = None if t.get("source") is None else cls.from_dict(t["source"])
        data = dict(d["data"])
        data["options"] = tuple(tuple(pair) for pair in data.get("options", ()))
        return cls(
            data=DataSpec(**data),
            model=ModelSpec(**d["model"]),
            train=TrainConfig(**d["train"]),
            transfer=TransferSpec(**t),
            seed=d["seed"],
            compute=d.get("compute", "cpu-fp32"),
            tags=tuple(tuple(pair) for pair in d.get("tags", ())),
        )

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))

    # --- helpers --------------------------------------------------------------------------
    def with_tags(self, **tags: Any) -> RunSpec:
        """A copy with more tags (the key does not change)."""
        return replace(self, tags=tuple(dict(self.tags, **tags).items()))

    @property
    def tag_dict(self) -> dict[str, Any]:
        return dict(self.tags)

    def sources(self) -> list[RunSpec]:
        """The chain of source specs this run depends on, nearest first."""
        out, src = [], self.transfer.source
        while src is not None:
            out.append(src)
            src = src.transfer.source
        return out


def _without_compute(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in d.items() if k != "compute"}
    if isinstance(src := out.get("transfer", {}).get("source"), dict):
        out["transfer"] = dict(out["transfer"], source=_without_compute(src))
    return out


#: Transfer fields added after specs were first published, left out of a spec's identity at
#: their default so that the runs that do not use them keep their design keys.
_OPTIONAL_TRANSFER = {"sp_layers": None}


def _drop_unset(d: dict[str, Any]) -> None:
    t = d.get("transfer", {})
    for name, default in _OPTIONAL_TRANSFER.items():
        if name in t and t[name] == default:
            del t[name]
    if isinstance(t.get("source"), dict):
        _drop_unset(t["source"])


def _strip_tags(d: dict[str, Any]) -> None:
    d.pop("tags", None)
    if isinstance(src := d.get("transfer", {}).get("source"), dict):
        _strip_tags(src)

