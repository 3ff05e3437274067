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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch

from . import __version__
from .models import build_model, num_layers
from .record import Record
from .spec import RunSpec
from .train import fit, resolve_device
from .transfer import L2SP, load_layers

__all__ = ["MissingSourceError", "Trained", "run", "train", "validate", "load_data",
           "provenance", "cpu_threads"]

State = Mapping[str, torch.Tensor]


class MissingSourceError(ValueError):
    """A run copies layers from a source run whose trained weights were not given."""


@dataclass
class Trained:
    """A finished run: its record and its final weights (CPU tensors)."""

    record: Record
    state: dict[str, torch.Tensor]


def provenance(device: torch.device, wall_seconds: float, started: float) -> dict[str, Any]:
    """Library versions, device and timing of a run."""
    import numpy
    import torchvision

    return {
        "tlkit": __version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": sys.platform,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
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


def load_data(spec: RunSpec, split: str):
    """The :class:`tlkit.data.TensorData` a spec trains (``"train"``) or tests on."""
    from . import data

    d, m = spec.data, spec.model
    loaded = data.load(d.name, split, size=m.size, channels=m.channels, **d.option_dict)
    if d.classes is not None:
        loaded = data.select_classes(loaded, d.classes)
    if split == "train" and d.n_per_class is not None:
        loaded = data.subsample_per_class(loaded, d.n_per_class, d.subsample_seed)
    return loaded


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

    Raises:
        ValueError: the spec names unknown data or asks for more examples than exist.
        MissingSourceError: the spec copies a source run and ``source`` is ``None``.
    """
    validate(spec)
    if spec.transfer.source is not None and source is None:
        raise MissingSourceError(
            f"run {spec.key()} copies {spec.transfer.layers} layer(s) of source run "
            f"{spec.transfer.source.key()}: pass that run's trained weights as source=..., or "
            "run both through tlkit.sweep.run, which trains every source first")
    dev = resolve_device(device)
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


def _train(spec: RunSpec, source: State | None, dev: torch.device, progress: bool) -> Trained:
    started, t0 = time.time(), time.perf_counter()

    train_data, test = load_data(spec, "train"), load_data(spec, "test")
    m, t = spec.model, spec.transfer
    torch.manual_seed(spec.seed)
    model = build_model(m.arch, train_data.num_classes, in_channels=m.channels,
                        input_size=m.size, width=m.width, weights=m.weights)
    if t.source is not None:
        load_layers(model, dict(source), t.layers)
    frozen = t.layers if t.freeze else 0
    L = num_layers(m.arch)
    lr_mult = [t.lr_mult] * t.layers + [1.0] * (L - t.layers)
    config, penalty = spec.train, None
    if t.regularizer == "l2sp":
        model.to(dev)
        penalty = L2SP(model, t.layers, t.alpha, t.beta)
        config = replace(config, weight_decay=0.0)
    result = fit(model, train_data.images, train_data.labels, test.images, test.labels, config,
                 frozen=frozen, lr_mult=lr_mult, penalty=penalty, seed=spec.seed, device=dev,
                 progress=progress)
    metrics = dict(result.metrics)
    fit_seconds = metrics.pop("seconds")
    metrics.update(n_train=len(train_data), n_test=len(test), num_classes=train_data.num_classes)
    prov = provenance(dev, time.perf_counter() - t0, started)
    prov["fit_seconds"] = fit_seconds
    record = Record(spec=spec, key=spec.key(), metrics=metrics, history=result.history,
                    provenance=prov)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return Trained(record, state)
