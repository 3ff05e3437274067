"""One pure function from a :class:`~tlkit.spec.RunSpec` to a :class:`~tlkit.record.Record`.

``run(spec, source=state)`` loads the data the spec names, builds the model with the spec's
seed, copies and freezes layers from the trained source weights it is given (the ``state_dict``
of the spec's source run), trains, evaluates on the held-out test split and returns the metrics
with their provenance. It reads no cache and writes nothing: the sweep (:mod:`tlkit.sweep`) is
the one writer of the run cache, and trains every source before the runs that copy it. Nothing
else influences the result: on one machine, at one thread count, the same spec gives a
bitwise-identical record (apart from timings).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from . import __version__
from .models import build_model, num_layers
from .record import Record
from .regularizers import Context, regularization
from .spec import RunSpec
from .train import fit, resolve_device
from .transfer import load_layers, recompute_batchnorm, reinitialize_layers

__all__ = ["MissingSourceError", "Trained", "run", "train", "train_many", "validate", "load_data",
           "initial_model", "provenance", "library_versions", "cpu_threads"]

State = Mapping[str, torch.Tensor]


class MissingSourceError(ValueError):
    """A run copies layers from a source run whose trained weights were not given."""


@dataclass
class Trained:
    """A finished run: its record and its final weights (CPU tensors)."""

    record: Record
    state: dict[str, torch.Tensor]


def library_versions() -> dict[str, str]:
    """The versions of tlkit, torch, torchvision, numpy and Python of this interpreter."""
    from importlib.metadata import version

    import numpy

    return {"tlkit": __version__, "torch": torch.__version__,
            "torchvision": version("torchvision"), "numpy": numpy.__version__,
            "python": platform.python_version()}


def provenance(spec: RunSpec, device: torch.device, wall_seconds: float,
               started: float) -> dict[str, Any]:
    """Library versions, the fingerprint of the code that computed ``spec``, device and timing
    of a run."""
    from .fingerprint import run_fingerprint

    return {
        **library_versions(),
        "platform": sys.platform,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "code": run_fingerprint(spec),
        "threads": torch.get_num_threads(),
        "wall_seconds": wall_seconds,
        "started_at": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(),
    }


def validate(spec: RunSpec) -> None:
    """Cheap checks of a spec and its sources (no data loaded, nothing trained).

    Raises ``ValueError`` for an unknown dataset, option or class, or more examples per class
    than the training split has.
    """
    from . import data

    for s in [spec, *spec.sources()]:
        d = s.data
        data.check(d.name, classes=d.classes, n_per_class=d.n_per_class, **d.option_dict)
        if d.validation:
            need = (d.n_per_class or 1) + d.validation
            try:
                data.check(d.name, classes=d.classes, n_per_class=need, **d.option_dict)
            except ValueError as err:
                raise ValueError(
                    f"{d.name}: {d.validation} validation and {d.n_per_class or 'some'} "
                    f"training examples per class do not fit in the training split ({err})"
                ) from None


#: Seed of the validation hold-out: the same held-out images for every run of a dataset.
VALIDATION_SEED = 0


def load_data(spec: RunSpec, split: str):
    """The :class:`tlkit.data.TensorData` a spec trains (``"train"``), validates (``"val"``)
    or tests on (``"test"``).

    ``val`` is ``spec.data.validation`` images per class held out of the training pool with
    :data:`VALIDATION_SEED`; ``train`` is the per-class subsample (``n_per_class``, seed
    ``subsample_seed``) of what remains. Test images come from the dataset's own test split.
    """
    from . import data

    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    d, m = spec.data, spec.model
    loaded = data.load(d.name, "test" if split == "test" else "train", size=m.size,
                       channels=m.channels, **d.option_dict)
    if d.classes is not None:
        loaded = data.select_classes(loaded, d.classes)
    if split == "test":
        return loaded
    rest, held = data.hold_out_per_class(loaded, d.validation, VALIDATION_SEED)
    if split == "val":
        return held
    if d.n_per_class is not None:
        rest = data.subsample_per_class(rest, d.n_per_class, d.subsample_seed)
    return rest


def cpu_threads() -> int:
    """Torch threads a run uses on the CPU: ``$TLKIT_THREADS``, default 1.

    Results are bitwise reproducible only at a fixed thread count, so every run uses the same
    one whichever executor runs it; parallelism comes from running several runs at once
    (:mod:`tlkit.executors`), which is also faster for networks this small.
    """
    value = os.environ.get("TLKIT_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        raise ValueError(f"TLKIT_THREADS must be a positive integer, got {value!r}") from None
    if threads < 1:
        raise ValueError(f"TLKIT_THREADS must be a positive integer, got {value!r}")
    return threads


@contextlib.contextmanager
def _torch_threads(device: torch.device):
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(cpu_threads())
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train(
    spec: RunSpec,
    *,
    source: State | None = None,
    device: str = "auto",
    progress: bool = False,
) -> Trained:
    """Execute one run and return its record and final weights.

    Args:
        spec: the run.
        source: the trained weights (``state_dict``) of ``spec.transfer.source``; required when
            the spec has a source run, ignored otherwise.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
        progress: show a progress bar over epochs.

    The device must be of the kind the spec computes on (``spec.compute``); ``"auto"`` picks
    it from the spec.

    Raises:
        ValueError: the spec names unknown data or asks for more examples than exist, or the
            device does not match ``spec.compute``.
        MissingSourceError: the spec copies a source run and ``source`` is ``None``.
    """
    validate(spec)
    if device == "auto":
        device = "cpu" if spec.compute.startswith("cpu") else "cuda"
    if spec.compute.split("-")[0] != resolve_device(device).type:
        raise ValueError(f"run {spec.key()} computes on {spec.compute}, not on device "
                         f"{device!r}; make the spec with spec.on(...) for that device")
    if spec.transfer.source is not None and source is None:
        raise MissingSourceError(
            f"run {spec.key()} copies {spec.transfer.layers} layer(s) of source run "
            f"{spec.transfer.source.key()}: pass that run's trained weights as source=..., or "
            "run both through tlkit.sweep.run, which trains every source first")
    dev = resolve_device(device)
    from .batched import enabled, signature

    if dev.type == "cpu" and enabled() and signature(spec) is not None:  # batched engine
        result = train_many([spec], [source])[0]
        if isinstance(result, Exception):
            raise result
        return result
    with _torch_threads(dev):
        return _train(spec, source, dev, progress)


def run(
    spec: RunSpec,
    *,
    source: State | None = None,
    device: str = "auto",
    progress: bool = False,
) -> Record:
    """Execute one run and return its record (see :func:`train`; the weights are dropped)."""
    return train(spec, source=source, device=device, progress=progress).record


def initial_model(spec: RunSpec, num_classes: int, source: State | None = None) -> Any:
    """The network of ``spec`` before training: built from the init seed, its first
    ``transfer.layers`` layers copied from ``source`` (the source run's weights) or kept from
    the architecture's pretrained weights (``model.weights``), every later layer at a fresh
    random initialisation, as after a copy from a source run."""
    m, t = spec.model, spec.transfer
    torch.manual_seed(spec.seed_for("init"))
    model = build_model(m.arch, num_classes, in_channels=m.channels, input_size=m.size,
                        width=m.width, weights=m.weights)
    if t.source is not None:
        load_layers(model, dict(source), t.layers)
    elif m.weights is not None:
        reinitialize_layers(model, t.layers)
    return model


@dataclass
class _Prepared:
    """A run ready to train: its network (built, copied, frozen layers' statistics set) and
    data, and the settings :func:`tlkit.train.fit` takes."""

    spec: RunSpec
    model: Any
    train: Any
    val: Any
    test: Any
    config: Any
    lr_mult: list[float]
    started: float
    t0: float

    def regularizer(self, dev: torch.device) -> Any:
        """The run's regulariser, built on its starting network (``None``: nothing added)."""
        entry = regularization(self.spec.transfer.regularizer)
        if entry.build is None:
            return None
        return entry.build(Context(self.model, self.spec, self.config, self.train.images,
                                   self.train.labels, self.spec.seed_for("regularizer"), dev))


def _prepare(spec: RunSpec, source: State | None, dev: torch.device) -> _Prepared:
    started, t0 = time.time(), time.perf_counter()
    train_data, test = load_data(spec, "train"), load_data(spec, "test")
    val = load_data(spec, "val") if spec.data.validation else None
    m, t = spec.model, spec.transfer
    model = initial_model(spec, train_data.num_classes, source)
    model.to(dev)
    if t.frozen and t.bn_stats == "target":
        recompute_batchnorm(model, train_data.images, t.frozen)
    L = num_layers(m.arch)
    lr_mult = [t.lr_mult] * t.layers + [1.0] * (L - t.layers)
    config = spec.train
    if not regularization(t.regularizer).weight_decay:  # the regulariser replaces it
        config = replace(config, weight_decay=0.0)
    return _Prepared(spec, model, train_data, val, test, config, lr_mult, started, t0)


def _trained(p: _Prepared, metrics: dict[str, Any], history: dict[str, Any],
             dev: torch.device, wall_seconds: float | None = None, **extra: Any) -> Trained:
    metrics = dict(metrics)
    fit_seconds = metrics.pop("seconds")
    metrics.update(n_train=len(p.train), n_val=0 if p.val is None else len(p.val),
                   n_test=len(p.test), num_classes=p.train.num_classes)
    if wall_seconds is None:
        wall_seconds = time.perf_counter() - p.t0
    prov = provenance(p.spec, dev, wall_seconds, p.started)
    prov.update(fit_seconds=fit_seconds, **extra)
    record = Record(spec=p.spec, key=p.spec.key(), metrics=metrics, history=history,
                    provenance=prov)
    state = {k: v.detach().cpu().contiguous() for k, v in p.model.state_dict().items()}
    return Trained(record, state)


def _train(spec: RunSpec, source: State | None, dev: torch.device, progress: bool) -> Trained:
    p = _prepare(spec, source, dev)
    result = fit(p.model, p.train.images, p.train.labels, p.test.images, p.test.labels,
                 p.config, frozen=spec.transfer.frozen, lr_mult=p.lr_mult,
                 regularizer=p.regularizer(dev),
                 seed=spec.seed_for("batches"), device=dev, amp=spec.compute.endswith("-bf16"),
                 progress=progress, x_val=None if p.val is None else p.val.images,
                 y_val=None if p.val is None else p.val.labels)
    return _trained(p, result.metrics, result.history, dev)


def train_many(specs: Sequence[RunSpec],
               sources: Sequence[State | None]) -> list[Trained | Exception]:
    """Execute several runs on the CPU, training those that can as one computation
    (:mod:`tlkit.batched`: runs with equal :func:`~tlkit.batched.signature` and equal amounts
    of data; a single such run trains beside a copy of itself, so that every run of that kind
    is computed the same way); every other run trains alone with :func:`tlkit.train.fit`.

    Returns, per spec, its :class:`Trained` or the exception it raised (a run whose loss
    stopped being finite gets a ``FloatingPointError``, as alone). A batched run's record
    says ``batched: K`` in its provenance and its wall time is the batch's divided by K.
    """
    if len(specs) != len(sources):
        raise ValueError("train_many takes one source (or None) per spec")
    dev = torch.device("cpu")
    with _torch_threads(dev):
        return _train_many(specs, sources, dev)


#: The most bytes of images a batch of runs holds (:func:`train_many`): a batch is trained as
#: soon as its runs' images reach it, so a sweep of large datasets never holds many at once.
BATCH_BYTES = 512 * 2**20


def _train_many(specs: Sequence[RunSpec], sources: Sequence[State | None],
                dev: torch.device) -> list[Trained | Exception]:
    from .batched import signature

    out: list[Trained | Exception | None] = [None] * len(specs)
    groups: dict[tuple, list[tuple[int, _Prepared]]] = {}
    sizes: dict[tuple, int] = {}
    extra: dict[int, Any] = {}
    for i, (spec, source) in enumerate(zip(specs, sources, strict=True)):
        if signature(spec) is None:
            out[i] = _safely(lambda spec=spec, source=source: train(spec, source=source,
                                                                     device="cpu"))
            continue
        try:
            validate(spec)
            if spec.transfer.source is not None and source is None:
                raise MissingSourceError(f"run {spec.key()} needs its source's weights")
            p = _prepare(spec, source, dev)
            reg = p.regularizer(dev)  # one that reads features adds its term in the batch
            extra[i] = reg if reg is not None and reg.depths else None
        except Exception as exc:  # noqa: BLE001 - reported per run
            out[i] = exc
            continue
        shape = (signature(spec), tuple(p.train.images.shape),
                 None if p.val is None else tuple(p.val.images.shape),
                 tuple(p.test.images.shape), p.train.num_classes)
        groups.setdefault(shape, []).append((i, p))
        sizes[shape] = sizes.get(shape, 0) + sum(
            d.images.nbytes for d in (p.train, p.val, p.test) if d is not None)
        if sizes[shape] >= BATCH_BYTES:  # train it now rather than hold more images
            _fit_group(groups.pop(shape), specs, out, dev, extra)
            del sizes[shape]
    for group in groups.values():
        _fit_group(group, specs, out, dev, extra)
    return out  # type: ignore[return-value]


def _fit_group(group: list[tuple[int, _Prepared]], specs: Sequence[RunSpec],
               out: list[Any], dev: torch.device, regularizers: dict[int, Any]) -> None:
    """Train prepared runs of one shape as one batch; their results go into ``out``."""
    from .batched import Member, fit_many

    batch = []
    for i, p in group:
        t = specs[i].transfer
        decay = regularization(t.regularizer).decay
        batch.append(Member(
            p.model, p.train.images, p.train.labels, p.test.images, p.test.labels,
            p.config, t.frozen, p.lr_mult, specs[i].seed_for("batches"),
            None if p.val is None else p.val.images, None if p.val is None else p.val.labels,
            decay=None if decay is None else decay(t), regularizer=regularizers.get(i)))
    try:
        results = fit_many(batch)
    except Exception as exc:  # noqa: BLE001 - the whole batch failed
        for i, _ in group:
            out[i] = exc
        return
    share = (time.perf_counter() - min(p.t0 for _, p in group)) / len(group)
    for (i, p), result in zip(group, results, strict=True):
        if "error" in result:
            out[i] = FloatingPointError(result["error"])
        else:
            out[i] = _trained(p, result["metrics"], result["history"], dev,
                              wall_seconds=share, batched=len(group))


def _safely(fn: Any) -> Trained | Exception:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - reported per run
        return exc
