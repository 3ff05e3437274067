"""Progress where it is long: a sweep's counts reach the terminal of ``tlkit notebook`` and
``tlkit book`` through a report file, and a very large sweep says what it is planning."""

import io
import json

from tests.core.test_sweep import tiny
from tlkit import sweep
from tlkit.progress import ENV_FILE, ProgressMonitor, SweepProgress


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
    assert [line.split(" runs")[0].strip() for line in lines] == [
        "0 of 8", "2 of 8", "4 of 8", "6 of 8", "8 of 8"]
    assert "(2 more from the cache)" in lines[-1]


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
