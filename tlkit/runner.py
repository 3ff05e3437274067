"""One pure function from a :class:`~tlkit.spec.RunSpec` to a :class:`Record`.

``run(spec)`` loads the data the spec names, builds the model with the spec's seed, copies and
freezes layers from the source run (training the source first if its checkpoint is not in the
store), trains, evaluates on the held-out test split and returns the metrics with their
provenance. Nothing else influences the result: on the CPU the same spec gives a
bitwise-identical record (apart from timings).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from . import __version__
from .models import build_model, num_layers
from .spec import RunSpec
from .store import Store
from .train import fit, resolve_device
from .transfer import L2SP, load_layers

__all__ = ["Record", "run", "validate", "load_data", "provenance"]


@dataclass
class Record:
    """The result of one run: its spec and key, metrics, per-epoch history and provenance."""

    spec: RunSpec
    key: str
    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "spec": self.spec.to_dict(), "metrics": self.metrics,
                "history": self.history, "provenance": self.provenance}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        return cls(spec=RunSpec.from_dict(d["spec"]), key=d["key"], metrics=d["metrics"],
                   history=d.get("history", {}), provenance=d.get("provenance", {}))


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


def _source_state(source: RunSpec, store: Store, device: str, progress: bool) -> dict:
    state = store.load_checkpoint(source)
    if state is None:
        record = run(source, store=store, device=device, progress=progress,
                     save_checkpoint=True)
        store.put(record)
        state = store.load_checkpoint(source)
        assert state is not None
    return state


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


def run(
    spec: RunSpec,
    *,
    store: Store | None = None,
    device: str = "auto",
    progress: bool = False,
    save_checkpoint: bool = False,
) -> Record:
    """Execute one run and return its record (the caller decides whether to store it).

    A source run that the spec depends on is taken from ``store`` or, if missing, trained and
    stored there first. With ``save_checkpoint`` the final weights are saved in ``store``.
    """
    validate(spec)
    store = store if store is not None else Store()
    dev = resolve_device(device)
    with _torch_threads(dev):
        return _run(spec, store, dev, device, progress, save_checkpoint)


def _run(spec: RunSpec, store: Store, dev: torch.device, device: str, progress: bool,
         save_checkpoint: bool) -> Record:
    started, t0 = time.time(), time.perf_counter()

    train, test = load_data(spec, "train"), load_data(spec, "test")
    m, t = spec.model, spec.transfer
    torch.manual_seed(spec.seed)
    model = build_model(m.arch, train.num_classes, in_channels=m.channels, input_size=m.size,
                        width=m.width, weights=m.weights)
    if t.source is not None:
        load_layers(model, _source_state(t.source, store, device, progress), t.layers)
    frozen = t.layers if t.freeze else 0
    L = num_layers(m.arch)
    lr_mult = [t.lr_mult] * t.layers + [1.0] * (L - t.layers)
    config, penalty = spec.train, None
    if t.regularizer == "l2sp":
        model.to(dev)
        penalty = L2SP(model, t.layers, t.alpha, t.beta)
        config = replace(config, weight_decay=0.0)
    result = fit(model, train.images, train.labels, test.images, test.labels, config,
                 frozen=frozen, lr_mult=lr_mult, penalty=penalty, seed=spec.seed, device=dev,
                 progress=progress)
    metrics = dict(result.metrics)
    fit_seconds = metrics.pop("seconds")
    metrics.update(n_train=len(train), n_test=len(test), num_classes=train.num_classes)
    if save_checkpoint:
        store.save_checkpoint(spec, model.state_dict())
    prov = provenance(dev, time.perf_counter() - t0, started)
    prov["fit_seconds"] = fit_seconds
    return Record(spec=spec, key=spec.key(), metrics=metrics, history=result.history,
                  provenance=prov)
