"""Progress where it is long: a sweep's counts reach the terminal of ``tlkit notebook`` and
``tlkit book`` through a report file, and a very large sweep says what it is planning."""

import io
import json
import sys

import pytest

from tests.core.test_sweep import tiny
from tlkit import sweep
from tlkit.progress import ENV_FILE, ProgressMonitor, SweepProgress, describe, outcomes


def test_a_sweep_reports_its_counts_to_the_named_file(tmp_path, monkeypatch):
    report = tmp_path / "sweep.json"
    monkeypatch.setenv(ENV_FILE, str(report))
    sweep.run([tiny(0), tiny(1)])
    first = json.loads(report.read_text())
    assert (first["runs"], first["to_do"], first["done"], first["finished"]) == (2, 2, 2, True)
    sweep.run([tiny(0), tiny(1), tiny(2)])
    second = json.loads(report.read_text())
    assert (second["cached"], second["to_do"], second["done"]) == (2, 1, 1)
    assert second["id"] != first["id"]
    sweep.run([tiny(0), tiny(1), tiny(2)])  # nothing to train: the last report stays
    assert json.loads(report.read_text()) == second


def test_the_monitor_prints_a_line_per_quarter_in_a_log(monkeypatch):
    stream = io.StringIO()
    with ProgressMonitor(stream, interval=3600, tty=False) as monitor:
        monkeypatch.setenv(ENV_FILE, monitor.env[ENV_FILE])
        progress = SweepProgress(runs=10, to_do=8, bar=False)
        monitor.poll()
        for _ in range(8):
            progress.advance()
            monitor.poll()
        progress.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(";")[0].strip() for line in lines] == [
        f"runs: {n} trained, 2 from the cache, 0 failed" for n in (0, 2, 4, 6, 8)]
    assert [line.split(";")[1].split(",")[0].strip() for line in lines[:-1]] == [
        "8 to go", "6 to go", "4 to go", "2 to go"]
    assert "to go" not in lines[-1] and "elapsed" in lines[-1]


def test_the_monitor_draws_a_bar_on_a_terminal_and_ignores_cached_sweeps(monkeypatch):
    stream = io.StringIO()
    with ProgressMonitor(stream, interval=0.05, tty=True) as monitor:
        monkeypatch.setenv(ENV_FILE, monitor.env[ENV_FILE])
        sweep.run([tiny(0), tiny(1), tiny(2)])
        monitor.poll()
        shown = stream.getvalue()
        sweep.run([tiny(0), tiny(1), tiny(2)])  # all cached: nothing more to show
    assert "3/3" in shown and stream.getvalue() == shown
    assert not (monitor.path.exists() or monitor.path.parent.exists())


def test_a_large_sweep_says_how_many_runs_it_plans(monkeypatch, capsys):
    import tlkit.sweep

    monkeypatch.setattr(tlkit.sweep, "LARGE_SWEEP", 3)
    sweep.run([tiny(s) for s in range(3)])
    assert "planning a sweep of 3 runs" in capsys.readouterr().err


def test_a_notebook_counts_its_runs_as_its_execution_statistics_do(tmp_path, monkeypatch):
    from tlkit.progress import runs_seen

    monkeypatch.setenv(ENV_FILE, str(tmp_path / "sweep.json"))
    before = runs_seen()
    with ProgressMonitor(stream=None) as monitor:
        monitor.path = tmp_path / "sweep.json"
        first = SweepProgress(3, 2, bar=False, keys=["new-a", "new-b", "new-c"])
        first.advance("new-a")
        first.advance("new-b", outcome="failed")
        first.close()
        second = SweepProgress(2, 0, bar=False, keys=["new-a", "new-d"])  # a shares a run
        second.close()
        summary = monitor.summary()
    now = runs_seen()
    assert summary["runs"] == 4 == now["runs"] - before["runs"]
    assert summary["runs_trained"] == 1 == now["trained"] - before["trained"]
    assert summary["runs_cached"] == 2 == now["cached"] - before["cached"]  # c and d
    assert summary["runs_failed"] == 1 == now["failed"] - before["failed"]  # b


def _state_after(*done: str, runs: int = 7, to_do: int = 7) -> dict:
    progress = SweepProgress(runs, to_do, bar=False)
    for n, outcome in enumerate(done):
        progress.advance(f"outcome-{outcome}-{n}", outcome)
    return progress._state(finished=True)


def test_runs_stored_by_another_process_count_as_from_the_cache_not_trained():
    state = _state_after(*["stored"] * 7)
    assert outcomes(state) == "0 trained, 7 from the cache, 0 failed"
    assert describe(state).startswith("runs: 0 trained, 7 from the cache, 0 failed; ")


def test_each_outcome_is_counted_apart():
    state = _state_after("trained", "trained", "stored", "failed", runs=10, to_do=5)
    assert state["outcomes"] == {"trained": 2, "stored": 1, "failed": 1}
    assert outcomes(state) == "2 trained, 6 from the cache, 1 failed"  # 5 held, 1 stored
    assert "; 1 to go, " in describe(state)
    assert outcomes(_state_after("failed", "failed")) == "0 trained, 0 from the cache, 2 failed"
    assert outcomes(_state_after("trained")) == "1 trained, 0 from the cache, 0 failed"
    with pytest.raises(ValueError, match="outcome"):
        SweepProgress(1, 1, bar=False).advance("x", "skipped")


def test_the_bars_show_each_count(monkeypatch):
    stream = io.StringIO()
    with ProgressMonitor(stream, interval=3600, tty=True) as monitor:
        monkeypatch.setenv(ENV_FILE, monitor.env[ENV_FILE])
        progress = SweepProgress(runs=4, to_do=3, bar=False)
        for outcome in ("trained", "stored", "failed"):
            progress.advance(None, outcome)
        monitor.poll()
        progress.close()
    assert "1 trained, 2 from the cache, 1 failed" in stream.getvalue()
    assert "runs trained" not in stream.getvalue()
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv(ENV_FILE)
    own = SweepProgress(runs=3, to_do=3, bar=True)
    own.advance("k1", "stored")
    own.advance("k2", "failed")
    own.close()
    assert "0 trained, 1 from the cache, 1 failed" in terminal.getvalue()


def test_the_summary_of_a_notebook_counts_runs_stored_meanwhile_as_cached(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "sweep.json"))
    with ProgressMonitor(stream=None) as monitor:
        monitor.path = tmp_path / "sweep.json"
        progress = SweepProgress(7, 7, bar=False, keys=[f"elsewhere-{n}" for n in range(7)])
        for n in range(7):
            progress.advance(f"elsewhere-{n}", "stored")
        progress.close()
        summary = monitor.summary()
    assert (summary["runs"], summary["runs_trained"], summary["runs_cached"],
            summary["runs_failed"]) == (7, 0, 7, 0)
