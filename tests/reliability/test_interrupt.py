"""Ctrl-C: a terminal sends SIGINT to every process of the job. A sweep stops at once, keeps
what finished, leaves no worker behind, and ``tlkit`` says so in one line."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

REPO = Path(__file__).resolve().parents[2]

#: Runs long enough (thousands of epochs of a tiny network) to be interrupted mid-training.
_LONG_SWEEP = """
from dataclasses import replace
from tlkit import TrainConfig
from tests.core.test_sweep import tiny
SPECS = [replace(tiny(s), train=TrainConfig(epochs=20000, batch_size=32, lr=0.05))
         for s in range(4)]
"""

_SCRIPT = _LONG_SWEEP + """
from tlkit import sweep
if __name__ == "__main__":
    sweep.run(SPECS, executor="process", progress=False)
"""


def _start(args, tmp_path):
    env = dict(os.environ, TLKIT_RESULTS=str(tmp_path / "results"), TLKIT_PROGRESS="0",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _cmdline(process):
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # ended, or a zombie, since it was listed
        return ""


def _alive(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_for_workers(proc, n, timeout=120):
    """The descendants of ``proc`` once ``n`` pool workers are running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited early: {proc.communicate()[1]}")
        family = psutil.Process(proc.pid).children(recursive=True)
        workers = [p for p in family if "spawn_main" in _cmdline(p)]
        if len(workers) >= n:
            time.sleep(3)  # let them import and start training
            return psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.2)
    pytest.fail("the workers did not start")


def _ctrl_c(proc, family):
    """SIGINT to the process group, as a terminal sends it; ``(stderr, seconds to stop)``."""
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    stopped = time.monotonic() - start
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p.pid for p in family if _alive(p)]
    assert not left, f"processes outlived Ctrl-C: {left}"
    return err, stopped


def test_ctrl_c_ends_a_script_sweep_and_its_workers_at_once(tmp_path):
    script = tmp_path / "long.py"
    script.write_text(_SCRIPT)
    proc = _start([sys.executable, str(script)], tmp_path)
    family = _wait_for_workers(proc, 2)
    err, stopped = _ctrl_c(proc, family)
    assert proc.returncode != 0
    assert stopped < 20, "the sweep waited for its workers' runs instead of ending them"
    assert "tlkit: sweep interrupted after 0 of 4 runs" in err
    assert err.count("Traceback") == 1, err  # the script's own; none from the workers
    assert not list((tmp_path / "results").rglob("failures/**/*.json"))  # not a failure


def test_ctrl_c_of_tlkit_notebook_prints_one_line(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(_LONG_SWEEP + textwrap.dedent("""
        from tlkit import sweep
        records = sweep.run(SPECS, executor="process")
    """))]
    path = tmp_path / "long.ipynb"
    nbformat.write(notebook, str(path))
    proc = _start([sys.executable, "-m", "tlkit", "notebook", str(path), "--output",
                   str(tmp_path / "out.ipynb"), "--root", str(REPO)], tmp_path)
    family = _wait_for_workers(proc, 2)
    err, _ = _ctrl_c(proc, family)
    assert proc.returncode == 130
    lines = [line for line in err.splitlines() if line.strip()]
    lines = [line for line in lines if "runs trained" not in line]  # the sweep's progress
    assert len(lines) == 1 and lines[0].startswith("tlkit: error: interrupted"), err
