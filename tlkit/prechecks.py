"""What a notebook's runs need from this machine and this process, checked before any kernel
starts (:func:`tlkit.notebooks.check_notebooks`) and before a sweep trains:

* the device asked for is here (:func:`check_device`: CUDA asked for on a machine without it,
  or a GPU it does not have);
* ``$TLKIT_THREADS``, the torch threads of each run on the CPU, is a whole number >= 1
  (:func:`check_threads`);
* every run can start (:func:`check_specs`): each distinct model is built once (an image size
  too small for its architecture is refused), and each run's data can be drawn
  (:func:`tlkit.runner.validate`: the dataset, its options and classes, enough images per
  class).

Each problem is a ``ValueError`` of one line, which ``tlkit`` prints as ``tlkit: error: ...``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["check_device", "check_threads", "check_specs"]


def check_device(device: Any) -> None:
    """Raise ``ValueError`` when ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``) names a
    device this machine does not have."""
    import torch

    if device is None or device == "auto" or not str(device).startswith("cuda"):
        return
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asks for CUDA, which is not available on this "
                         "machine; use device auto (CUDA where there is one) or cpu")
    index = torch.device(device).index
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        raise ValueError(f"device {device!r} names GPU {index}, but this machine has {count} "
                         f"(cuda:0 to cuda:{count - 1}); use one of those, cuda or auto")


def check_threads() -> None:
    """Raise ``ValueError`` when ``$TLKIT_THREADS`` is not a whole number >= 1."""
    from .runner import cpu_threads

    try:
        cpu_threads()
    except ValueError as err:
        raise ValueError(f"{err} (the torch threads of each run on the CPU; default 1)"
                         ) from None


def check_specs(specs: Iterable[Any]) -> None:
    """Raise ``ValueError`` for the first of ``specs`` (or of their sources) that cannot start:
    a model its architecture cannot build (each distinct one built once, without weights), or
    data it cannot draw (:func:`tlkit.runner.validate`, once per distinct data)."""
    from .models import build_model
    from .runner import validate

    models: set[Any] = set()
    datas: set[Any] = set()
    for spec in specs:
        for s in (spec, *spec.sources()):
            m = s.model
            if m not in models:
                try:
                    build_model(m.arch, 2, in_channels=m.channels, input_size=m.size,
                                width=m.width)
                except ValueError as err:
                    raise ValueError(f"a run's model {m.arch} (width {m.width}) cannot take "
                                     f"images of size {m.size}: {err}") from None
                models.add(m)
        drawn = tuple(s.data for s in (spec, *spec.sources()))
        if drawn not in datas:
            validate(spec)
            datas.add(drawn)
