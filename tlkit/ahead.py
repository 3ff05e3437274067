"""Runs ahead: while a build executes one notebook, the runs of the notebooks after it are
computed in the background, on the CPU time that notebook leaves unused.

A notebook that trains does not keep the cores busy all the time: its kernel starts, imports,
analyses and draws between its sweeps, and a stage waits for the last batch of the stage
before it. In a cold build of the quick book that is about a fifth of the cores' time. So
:func:`build_book <tlkit.book.build_book>` starts one more process, which runs the
experiments of the later notebooks stage by stage
(:meth:`Run.stage <tlkit.experiments.experiment.Run.stage>`, in the book's order, with each
notebook's own parameters: the very runs that notebook asks for when it executes) on a pool of
its own, at the lowest scheduling priority (``nice`` 19). The operating system then gives it a
core only where the build's own processes leave one idle.

It changes nothing in the book:
- the records it stores are those the notebook would have computed, under the same keys;
- the run cache's locks (:mod:`tlkit.sweep`) keep two processes from computing one run: a
  notebook takes a run computed ahead from the cache, and waits for one being computed;
- a failure ahead (a run that fails, a notebook whose runs cannot be listed yet) is written to
  its log (``<build>/ahead.log``) and left to the notebook, which meets it and reports it as
  usual;
- the build stops it when the notebooks that train have run, when the build fails and when
  it is interrupted; it stops by itself if the build's process dies. A run it had started is
  then lost, as with any interrupted sweep; nothing stored is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["start", "stop", "main", "NICE"]

#: The scheduling priority of the process and its workers: the lowest.
NICE = 19


def start(notebooks: Sequence[tuple[str, Mapping[str, Any]]], root: str | os.PathLike[str],
          log: str | os.PathLike[str]) -> subprocess.Popen | None:
    """Start computing the runs of ``notebooks`` (``(stem, parameters)`` pairs, in the order
    the build executes them) in a background process, in ``root`` (the book's folder, whose
    run cache the notebooks use), logging to ``log``. ``None`` when there is nothing to run."""
    if not notebooks:
        return None
    from .notebooks import EXECUTION_ENV

    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    plan = log.with_suffix(".json")
    plan.write_text(json.dumps([[stem, dict(params)] for stem, params in notebooks]))
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(plan), str(os.getpid())],
            cwd=str(root), env={**os.environ, **EXECUTION_ENV}, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT)


#: The process's first lines: a session of its own (the terminal's Ctrl-C reaches the build,
#: which stops it), so that it runs in a scheduling group of its own where Linux groups
#: processes by session (autogroups, as it does for the notebooks' kernels): the group's
#: priority is then lowered too, else it would get as large a share of the CPU as a kernel's
#: group whatever the priority of its processes; then the process's own priority.
_BOOT = ("import os; os.setsid()\n"
         "try:\n    open('/proc/self/autogroup', 'w').write('" + str(NICE) + "')\n"
         "except OSError:\n    pass\n"
         "os.nice(" + str(NICE) + "); "
         "from tlkit.ahead import main; main()")


def stop(process: subprocess.Popen | None, grace: float = 10.0) -> None:
    """Stop the process :func:`start` returned and its workers (its process group)."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:  # not yet the leader of its group: it has no workers
            process.send_signal(sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _watch(parent: int) -> None:
    """End this process group when the build's process ``parent`` is gone."""
    while os.getppid() == parent:
        time.sleep(2.0)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def run_all(notebooks: Sequence[tuple[str, Mapping[str, Any]]], out: TextIO) -> None:
    """Run every stage of every notebook's experiment, in order, on the process pool; a failure
    is written to ``out`` and ends that notebook's stages (the notebook reports it itself)."""
    from .experiments import experiment

    for stem, params in notebooks:
        try:
            exp = experiment(stem)
            run = exp.start(params, device=params.get("device") or "auto", executor="process")
            for stage in exp.stages:
                began = time.perf_counter()
                records = run.stage(stage.name)
                print(f"{stem}: {stage.name}: {len(records)} runs in "
                      f"{time.perf_counter() - began:.1f} s", file=out, flush=True)
        except Exception:  # noqa: BLE001 - left to the notebook, which reports it
            print(f"{stem}: stopped: {traceback.format_exc().strip().splitlines()[-1]}",
                  file=out, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """``main(PLAN, PARENT)``: the process :func:`start` launches, at priority :data:`NICE`
    (which the pool's workers inherit), reading the notebooks from ``PLAN``."""
    plan, parent = (sys.argv[1:] if argv is None else list(argv))[:2]
    threading.Thread(target=_watch, args=(int(parent),), daemon=True).start()
    notebooks = [(stem, params) for stem, params in json.loads(Path(plan).read_text())]
    run_all(notebooks, sys.stdout)

