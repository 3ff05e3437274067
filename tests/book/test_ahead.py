"""Runs computed ahead: the very runs a notebook asks for, failures left to the notebook, and a
background process that ends with the build."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from tlkit import ahead
from tlkit.book import _ahead
from tlkit.notebooks import check_notebooks, resolve_parameters

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_layer_transfer"


def _params(profile: str = "smoke") -> dict:
    return resolve_parameters(REPO / "notebooks" / f"{NOTEBOOK}.ipynb", {"profile": profile})


def test_runs_computed_ahead_are_the_runs_the_notebook_asks_for() -> None:
    params = _params()
    assert check_notebooks([(NOTEBOOK, params)], REPO)[NOTEBOOK] > 0
    out = io.StringIO()
    ahead.run_all([("no_such_notebook", {}), (NOTEBOOK, params)], out)
    log = out.getvalue()
    assert "no_such_notebook: stopped: ValueError: unknown notebook" in log  # and it went on
    assert f"{NOTEBOOK}: runs:" in log
    assert check_notebooks([(NOTEBOOK, params)], REPO)[NOTEBOOK] == 0  # nothing left to train


def test_stop_ends_the_process_and_its_workers(tmp_path: Path) -> None:
    process = ahead.start([(NOTEBOOK, _params("quick"))], REPO, tmp_path / "ahead.log")
    assert process is not None and ahead.start([], REPO, tmp_path / "none.log") is None
    for _ in range(100):  # it lowers its priority once its imports are done
        if os.getpriority(os.PRIO_PROCESS, process.pid) == ahead.NICE:
            break
        time.sleep(0.2)
    assert os.getpriority(os.PRIO_PROCESS, process.pid) == ahead.NICE
    group = Path(f"/proc/{process.pid}/autogroup")  # where Linux groups processes by session
    if group.exists():
        assert group.read_text().split()[-1] == str(ahead.NICE)
    assert os.getsid(process.pid) == process.pid != os.getsid(0)
    assert process.poll() is None  # still computing the quick profile's runs
    ahead.stop(process, grace=5)
    assert process.poll() is not None
    with pytest.raises(ProcessLookupError):  # its whole group (the pool's workers) is gone
        for _ in range(50):
            os.killpg(process.pid, 0)
            time.sleep(0.1)


def test_runs_go_ahead_only_for_several_notebooks_training_on_the_cpu(monkeypatch) -> None:
    a, b = Path("a.ipynb"), Path("b.ipynb")
    params = {a: {"executor": "process", "device": "cpu"},
              b: {"executor": "process", "device": "auto"}}
    assert _ahead([a, b], params) == (os.environ.get("TLKIT_AHEAD", "1") != "0")
    assert not _ahead([a], params)
    assert not _ahead([a, b], {**params, b: {"executor": "serial", "device": "cpu"}})
    monkeypatch.setenv("TLKIT_AHEAD", "0")
    assert not _ahead([a, b], params)


def test_the_book_computed_later_notebooks_ahead(smoke_book: Path) -> None:
    log = (smoke_book.parent / "ahead.log").read_text()
    assert "02_small_targets: runs:" in log and "00_quickstart" not in log
