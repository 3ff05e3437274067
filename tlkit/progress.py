"""The progress of sweeps: a bar in the terminal, and a report that crosses into notebooks.

A sweep counts its runs (:class:`SweepProgress`): the distinct runs it needs, how many the run
cache already holds, and how many are done so far, each counted apart: trained here, taken from
the cache (held before, or stored meanwhile by another process), or failed
(:func:`outcomes`). Run from a terminal or a script, it draws a ``tqdm`` bar (off with
``TLKIT_PROGRESS=0``). Inside a notebook kernel started by ``tlkit notebook`` or ``tlkit book``
the bar is off (it would end up on the page), and the sweep writes its counts instead to the
file named by ``$TLKIT_PROGRESS_FILE``, a small JSON document replaced atomically after each
run; the command watches that file (:class:`ProgressMonitor`) and shows the counts in the
terminal: a bar on a terminal, a line at every quarter in a log. Each sweep, when it ends, also
appends its counts to a log beside that file (:func:`sweeps_log`), which the command sums into
the executed notebook's metadata (:meth:`ProgressMonitor.summary`) for the book's page of
execution statistics. The process keeps the same counts as it goes (:func:`runs_seen`), so that
a page states the number of runs the execution statistics give for it, counted the same way:
distinct runs over every sweep, each trained, taken from the cache or failed.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["ENV_FILE", "LARGE_SWEEP", "SweepProgress", "ProgressMonitor", "bar_enabled",
           "describe", "outcomes", "sweeps_log", "runs_seen"]

#: The environment variable that names the file a sweep reports its counts to.
ENV_FILE = "TLKIT_PROGRESS_FILE"
#: Sweeps of at least this many runs say so before planning (hashing and cache look-ups).
LARGE_SWEEP = 5000

_SWEEPS = itertools.count(1)
#: The keys of every run the sweeps of this process needed, trained, and failed.
_NEEDED: dict[str, None] = {}
_TRAINED: dict[str, None] = {}
_FAILED: dict[str, None] = {}


def runs_seen() -> dict[str, int]:
    """The runs the sweeps of this process have needed so far, counted as
    :meth:`ProgressMonitor.summary` counts a notebook's: ``runs`` (distinct keys over every
    sweep), ``trained`` (trained by these sweeps), ``failed`` (failed, and never trained) and
    ``cached`` (the others: from the cache, or stored meanwhile by another process)."""
    trained = set(_TRAINED)
    failed = set(_FAILED) - trained
    return {"runs": len(_NEEDED), "trained": len(trained), "failed": len(failed),
            "cached": len(set(_NEEDED) - trained - failed)}


def bar_enabled() -> bool:
    """Whether sweeps draw a bar: ``$TLKIT_PROGRESS`` is not ``0``, ``false`` or ``no``."""
    return os.environ.get("TLKIT_PROGRESS", "1").strip().lower() not in ("0", "false", "no")


def sweeps_log(report: Path) -> Path:
    """The file beside ``report`` to which each sweep appends one JSON line when it ends."""
    return report.with_name(f"{report.stem}-sweeps.jsonl")


def _write(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)
    except OSError:  # a report is a courtesy: never let it stop a sweep
        pass


class SweepProgress:
    """The counts of one sweep, drawn as a bar and/or reported to ``$TLKIT_PROGRESS_FILE``.

    Args:
        runs: the distinct runs the sweep needs (sources included).
        to_do: how many of them the cache does not hold.
        bar: draw a ``tqdm`` bar on standard error.
        compute: where the runs compute (``cpu-fp32``, ``cuda-bf16``), for the log.
        keys: the keys of those runs, for the log (so that a run two sweeps of one notebook
            share is counted once).
    """

    def __init__(self, runs: int, to_do: int, bar: bool, compute: str | None = None,
                 keys: Sequence[str] = (), workers: int | None = None) -> None:
        self.runs, self.to_do, self.cached = runs, to_do, runs - to_do
        self.workers = workers  # runs at once (None: not known, e.g. a remote cluster)
        self.run_seconds = 0.0  # wall time of the runs trained, summed over workers
        self.compute, self.keys = compute, list(keys)
        _NEEDED.update(dict.fromkeys(self.keys))
        self.trained: list[str] = []  # keys trained and stored by this sweep
        self.failed: list[str] = []
        self.done = 0  # of the runs to do
        self.outcomes = {"trained": 0, "stored": 0, "failed": 0}  # of those done
        self.started = time.time()
        self.id = f"{os.getpid()}-{next(_SWEEPS)}"
        file = os.environ.get(ENV_FILE)
        self._file = Path(file) if file else None
        self._bar = None
        if bar and to_do:
            from tqdm import tqdm

            self._bar = tqdm(total=to_do, unit="run", desc="runs")
            self._bar.set_postfix_str(outcomes(self._state(False)), refresh=False)
        self._report(finished=False)

    def _state(self, finished: bool) -> dict[str, Any]:
        return {"id": self.id, "runs": self.runs, "cached": self.cached, "to_do": self.to_do,
                "done": self.done, "outcomes": dict(self.outcomes), "started": self.started,
                "finished": finished}

    def _report(self, finished: bool) -> None:
        if self._file is not None and self.to_do:  # a cached sweep has nothing to show
            _write(self._file, self._state(finished))

    def advance(self, key: str | None = None, outcome: str = "trained",
                seconds: float = 0.0) -> None:
        """One more run of the sweep is done: ``"trained"`` here (in ``seconds`` of a
        worker's time), ``"stored"`` meanwhile by another process, or ``"failed"`` (``key`` is
        kept for the log). Each outcome is counted apart (:func:`outcomes`)."""
        if outcome not in self.outcomes:
            raise ValueError(f"outcome must be trained, stored or failed, got {outcome!r}")
        self.done += 1
        self.outcomes[outcome] += 1
        self.run_seconds += seconds
        if key is not None and outcome in ("trained", "failed"):
            (self.trained if outcome == "trained" else self.failed).append(key)
            (_TRAINED if outcome == "trained" else _FAILED)[key] = None
        if self._bar is not None:
            self._bar.set_postfix_str(outcomes(self._state(False)), refresh=False)
            self._bar.update()
        self._report(finished=False)

    def close(self) -> None:
        """End the sweep: close its bar, report it finished and append its line to the log."""
        if self._bar is not None:
            self._bar.close()
        self._report(finished=True)
        if self._file is not None:
            line = {"runs": self.runs, "cached": self.cached, "to_do": self.to_do,
                    "done": self.done, "compute": self.compute,
                    "seconds": round(time.time() - self.started, 2),
                    "workers": self.workers, "run_seconds": round(self.run_seconds, 2),
                    "keys": self.keys, "trained": self.trained, "failed": self.failed}
            try:
                with sweeps_log(self._file).open("a") as log:
                    log.write(json.dumps(line) + "\n")
            except OSError:
                pass


def outcomes(state: dict[str, Any]) -> str:
    """``"10 trained, 81 from the cache, 1 failed"``: the runs of a sweep's report
    (:class:`SweepProgress`) trained here so far, taken from the cache (held when the sweep
    planned, or stored meanwhile by another process) and failed."""
    done = state.get("outcomes", {})
    return (f"{done.get('trained', 0)} trained, "
            f"{state.get('cached', 0) + done.get('stored', 0)} from the cache, "
            f"{done.get('failed', 0)} failed")


def describe(state: dict[str, Any]) -> str:
    """``"runs: 10 trained, 81 from the cache, 1 failed; 28 to go, 0:35 elapsed"`` (no
    ``to go`` once every run is done)."""
    seconds = int(time.time() - float(state.get("started", time.time())))
    left = state["to_do"] - state["done"]
    return (f"runs: {outcomes(state)}; {f'{left} to go, ' if left else ''}"
            f"{seconds // 60}:{seconds % 60:02d} elapsed")


class ProgressMonitor:
    """Shows in the terminal the sweeps of a notebook that runs in another process.

    ``with ProgressMonitor(sys.stderr) as monitor:`` gives ``monitor.env``, the environment
    the kernel must inherit; a thread polls the report file every ``interval`` seconds. On a
    terminal a bar follows each sweep; otherwise a line is printed when a sweep starts, at each
    quarter of its runs, and when it ends. With ``stream=None`` nothing is shown and only
    :meth:`summary` is kept.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.5,
                 tty: bool | None = None) -> None:
        self.stream = stream
        self.interval = interval
        self.tty = bool(stream is not None and stream.isatty()) if tty is None else tty
        self._dir = Path(tempfile.mkdtemp(prefix="tlkit-progress-"))
        self.path = self._dir / "sweep.json"
        self.env = {ENV_FILE: str(self.path)}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tlkit-progress", daemon=True)
        self._current: str | None = None
        self._quarter = -1
        self._finished = False
        self._bar: Any = None
        self._summary: list[dict[str, Any]] | None = None  # the sweeps log, read on exit

    def __enter__(self) -> ProgressMonitor:
        if self.stream is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.stream is not None:
            self.poll()  # the last report
        if self._bar is not None:
            self._bar.close()
        self._summary = self._read_log()
        for path in (self.path, sweeps_log(self.path)):
            path.unlink(missing_ok=True)
        try:
            self._dir.rmdir()
        except OSError:
            pass

    def _read_log(self) -> list[dict[str, Any]]:
        try:
            lines = sweeps_log(self.path).read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def summary(self) -> dict[str, Any]:
        """The sweeps seen: ``{"sweeps", "runs", "runs_trained", "runs_cached", "runs_failed",
        "computes"}`` over distinct runs: ``runs`` needed, ``runs_trained`` trained by these
        sweeps, ``runs_failed`` failed (and never trained), and ``runs_cached`` the others
        (from the cache, or stored meanwhile by another process); and, where runs were
        trained, ``"busy"``: the fraction of the workers' time (sweep seconds times workers)
        spent in runs."""
        sweeps = self._summary if self._summary is not None else self._read_log()
        needed = {k for s in sweeps for k in s.get("keys", ())}
        trained = {k for s in sweeps for k in s.get("trained", ())}
        failed = {k for s in sweeps for k in s.get("failed", ())} - trained
        out = {"sweeps": len(sweeps), "runs": len(needed), "runs_trained": len(trained),
               "runs_cached": len(needed - trained - failed), "runs_failed": len(failed),
               "computes": sorted({s["compute"] for s in sweeps if s.get("compute")})}
        training = [s for s in sweeps if s.get("trained") and s.get("workers")]
        if training:  # how much of the workers' time went into runs
            out["busy"] = round(sum(s["run_seconds"] for s in training) / sum(
                s["seconds"] * s["workers"] for s in training), 3)
        return out

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def _read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def poll(self) -> None:
        """Read the report and show what changed."""
        state = self._read()
        if state is None or not state.get("to_do"):
            return  # nothing to train: a cached sweep is not worth a line
        if state["id"] != self._current:
            self._start(state)
        elif self._finished:
            return
        finished = bool(state.get("finished"))
        if self._bar is not None:
            self._bar.n = state["done"]
            self._bar.set_postfix_str(outcomes(state), refresh=False)
            self._bar.refresh()
            if finished:
                self._bar.close()
                self._bar = None
        else:
            quarter = 4 * state["done"] // state["to_do"]
            if quarter > self._quarter or (finished and self._quarter < 4):
                self._quarter = 4 if finished else quarter
                print(f"      {describe(state)}", file=self.stream, flush=True)
        self._finished = finished

    def _start(self, state: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._current, self._quarter, self._finished = state["id"], -1, False
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=state["to_do"], file=self.stream, desc="      runs",
                             unit="run", leave=True, dynamic_ncols=True)
