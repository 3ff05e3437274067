"""Executors for sweeps: anything with the ``concurrent.futures`` ``submit`` interface.

* ``"serial"``: :class:`~tlkit.sweep.SerialExecutor`, in this process (the default).
* ``"process"``: a local :class:`~concurrent.futures.ProcessPoolExecutor` whose workers each use
  one torch thread. Small networks train faster as two one-thread processes than as one
  two-thread process on a 2-core machine, and are not slowed as much by other load.

All executors share the run cache: records are written by the process that calls
:func:`tlkit.sweep.run`, source checkpoints by the worker that trains them.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["EXECUTORS", "make_executor"]

EXECUTORS = ("serial", "process")


def _one_thread_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    os.environ.setdefault("TLKIT_PROGRESS", "0")
    import torch

    torch.set_num_threads(1)


def make_executor(kind: str = "serial", workers: int | None = None) -> Any:
    """An executor by name (see the module docstring); ``workers`` defaults to the CPU count."""
    if kind == "serial":
        from .sweep import SerialExecutor

        return SerialExecutor()
    if kind == "process":
        n = workers or os.cpu_count() or 1
        return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_one_thread_worker)
    raise ValueError(f"unknown executor {kind!r}; valid: {', '.join(EXECUTORS)}")
