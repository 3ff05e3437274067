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
    lines = [line for line in lines if not line.strip().startswith("runs:")]  # the progress
    assert len(lines) == 1 and lines[0].startswith("tlkit: error: interrupted"), err


#: A stand-in for ``jupyter-book build``: it starts a child, writes both pids, and sleeps; with
#: ``stubborn`` both ignore SIGTERM, so that only SIGKILL ends them.
_FAKE_BUILD = """
import os, signal, subprocess, sys, time
stubborn = sys.argv[2] == "1"
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1] + ".tmp", "w").write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("building ...", flush=True)
time.sleep(60)
"""

#: ``tlkit book`` whose build_book goes straight to the HTML step, run by the fake above.
_BOOK_HTML_STEP = """
import sys
from pathlib import Path
import tlkit.book, tlkit.processes
from tlkit.cli import main

tlkit.processes.STOP_SECONDS = 1.0
pids, stubborn, root = sys.argv[1:4]
tlkit.book.jupyter_book_command = lambda: [sys.executable, "-c", FAKE, pids, stubborn]
(Path(root) / "_build" / "src").mkdir(parents=True)
tlkit.book.build_book = lambda root, **_: tlkit.book._run_jupyter_book(Path(root) / "_build")
sys.exit(main(["book", "--root", root]))
"""


def _stop_html_step(tmp_path, signum, stubborn):
    """Start ``tlkit book`` at its HTML step, send ``signum`` once the fake build and its child
    run; ``(return code, stderr, seconds to stop)``, after checking that neither is left."""
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    script = tmp_path / "book_html.py"
    script.write_text(f"FAKE = {_FAKE_BUILD!r}\n" + _BOOK_HTML_STEP)
    pids = tmp_path / "pids"
    proc = _start([sys.executable, str(script), str(pids), "1" if stubborn else "0",
                   str(tmp_path)], tmp_path)
    deadline = time.monotonic() + 15
    while not pids.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the fake build did not start: {proc.communicate()[1]}")
        time.sleep(0.1)
    group = [psutil.Process(int(pid)) for pid in pids.read_text().split()]
    start = time.monotonic()
    os.kill(proc.pid, signum)  # to tlkit only, as `kill` sends it
    _, err = proc.communicate(timeout=20)
    stopped = time.monotonic() - start
    left = [p for p in group if _alive(p)]
    for process in left:  # not to leave them behind when the test fails
        process.kill()
    assert not left, f"processes of jupyter-book's group outlived tlkit: {left}"
    return proc.returncode, err, stopped


def test_sigterm_during_the_html_step_ends_jupyter_book_and_its_children(tmp_path):
    code, err, stopped = _stop_html_step(tmp_path, signal.SIGTERM, stubborn=True)
    assert code == -signal.SIGTERM, err  # status 143 in a shell, as before
    assert stopped < 8, "SIGKILL follows SIGTERM after STOP_SECONDS"


def test_ctrl_c_during_the_html_step_ends_jupyter_book_and_prints_one_line(tmp_path):
    code, err, stopped = _stop_html_step(tmp_path, signal.SIGINT, stubborn=False)
    assert code == 130
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tlkit: error: interrupted"), err
    assert stopped < 8


def test_the_html_step_still_reads_jupyter_books_output_and_status(tmp_path, monkeypatch):
    import tlkit.book

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(tlkit.book, "jupyter_book_command", lambda: [
        sys.executable, "-c", "print('a.md:1: WARNING: a broken reference'); raise SystemExit(1)"])
    (tmp_path / "_build" / "src").mkdir(parents=True)
    with pytest.raises(tlkit.book.BookBuildError, match="(?s)exit code 1.*a broken reference"):
        tlkit.book._run_jupyter_book(tmp_path / "_build")
    assert signal.getsignal(signal.SIGTERM) is before, "SIGTERM's handler is given back"
