"""The run cache and sweeps: identical records, cache hits, shared sources, crash and resume."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import tlkit.runner
from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec, sweep
from tlkit.store import Store

TINY_MODEL = ModelSpec(width=2, size=16)
TINY_TRAIN = TrainConfig(epochs=1, batch_size=32, lr=0.05)


def tiny(seed=0, classes=("0", "1", "2"), n=10, transfer=None):
    return RunSpec(DataSpec("digits", classes=classes, n_per_class=n, subsample_seed=seed),
                   TINY_MODEL, TINY_TRAIN, transfer or TransferSpec(), seed=seed)


def source(seed=0):
    return tiny(seed, classes=("5", "6", "7", "8", "9"), n=20)


def transfer(n, seed=0, freeze=True):
    return tiny(seed, transfer=TransferSpec(source=source(), layers=n, freeze=freeze))


def test_same_spec_gives_identical_record():
    weights = tlkit.runner.train(source()).state
    a = tlkit.run(transfer(3), source=weights)
    b = tlkit.run(transfer(3), source=weights)
    assert a.key == b.key and a.metrics == b.metrics and a.history == b.history
    c = tlkit.run(transfer(3, seed=1), source=weights)
    assert c.metrics != a.metrics


def test_run_neither_trains_nor_stores_a_missing_source(count_fits):
    """``tlkit.run`` is pure: a missing source is an error, and nothing is written."""
    with pytest.raises(tlkit.runner.MissingSourceError, match="sweep.run"):
        tlkit.run(transfer(3))
    assert count_fits == [] and not Store().root.exists()


def test_cache_hit_trains_nothing(count_fits):
    specs = [tiny(s) for s in range(3)]
    first = sweep.run(specs)
    assert len(count_fits) == 3
    second = sweep.run(specs)
    assert len(count_fits) == 3
    assert [r.metrics for r in first] == [r.metrics for r in second]
    assert [r.key for r in second] == [s.key() for s in specs]


def test_source_checkpoint_is_trained_once_and_shared(count_fits):
    specs = [transfer(n) for n in (1, 3, 5)] + [transfer(2, freeze=False)]
    records = sweep.run(specs)
    assert len(count_fits) == 1 + 4
    store = Store()
    assert store.has(source()) and store.has_checkpoint(source())
    records2 = sweep.run(specs + [transfer(4)])
    assert len(count_fits) == 1 + 4 + 1
    assert [r.metrics for r in records2[:4]] == [r.metrics for r in records]


def test_source_record_without_checkpoint_is_rerun_for_its_weights(count_fits):
    sweep.run([source()])
    assert not Store().has_checkpoint(source())
    sweep.run([transfer(2)])
    assert Store().has_checkpoint(source()) and len(count_fits) == 3


def test_tags_come_from_the_request_not_the_cache():
    sweep.run([tiny().with_tags(condition="first")])
    (record,) = sweep.run([tiny().with_tags(condition="second")])
    assert record.spec.tag_dict == {"condition": "second"}


def test_bad_spec_fails_before_anything_runs(count_fits):
    bad = tiny(n=10_000)
    with pytest.raises(ValueError, match="per class"):
        sweep.run([tiny(0), tiny(1), bad])
    assert count_fits == [] and not any(Store().root.rglob("*.json"))


def test_a_failing_run_is_recorded_and_the_others_are_kept(monkeypatch):
    monkeypatch.setenv("TLKIT_BATCH", "0")  # a fault in one run trained alone
    real = tlkit.runner.fit

    def flaky(*args, **kwargs):
        if kwargs.get("seed") == tiny(1).seed_for("batches"):
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(tlkit.runner, "fit", flaky)
    with pytest.raises(sweep.SweepError, match="boom") as info:
        sweep.run([tiny(0), tiny(1), tiny(2)])
    assert len(info.value.records) == 2 and list(info.value.failures) == [tiny(1).key()]
    assert "boom" in Store().failure(tiny(1))
    monkeypatch.setattr(tlkit.runner, "fit", real)
    assert len(sweep.run([tiny(0), tiny(1), tiny(2)])) == 3
    assert Store().failure(tiny(1)) is None


def test_a_diverged_run_is_not_trained_again(monkeypatch, count_fits):
    """Divergence is a property of the spec: a rerun reports it without training it (a crash
    is retried); code that changes the run's key trains it afresh."""
    monkeypatch.setenv("TLKIT_BATCH", "0")  # a run trained alone (batched: test_batched.py)
    real = tlkit.runner.fit

    def diverging(*args, **kwargs):
        if kwargs.get("seed") == tiny(1).seed_for("batches"):
            real(*args, **kwargs)
            raise FloatingPointError("training diverged: the loss is not finite; lower lr")
        return real(*args, **kwargs)

    monkeypatch.setattr(tlkit.runner, "fit", diverging)
    specs = [tiny(0), tiny(1), tiny(2)]
    with pytest.raises(sweep.SweepError, match="diverged"):
        sweep.run(specs)
    assert len(count_fits) == 3 and Store().diverged(tiny(1)) is not None
    with pytest.raises(sweep.SweepError, match="diverged") as info:
        sweep.run(specs)
    assert len(count_fits) == 3, "the diverged run was trained again"
    assert list(info.value.failures) == [tiny(1).key()] and len(info.value.records) == 2
    assert sweep.plan(specs, Store()) == []
    dependent = tiny(1, transfer=TransferSpec(source=tiny(1), layers=2))
    with pytest.raises(sweep.SweepError) as info:
        sweep.run([dependent])
    assert "not run: its source run" in info.value.failures[dependent.key()]
    assert len(count_fits) == 3


def test_sources_first_then_the_longest_runs_and_targets_once_their_source_is_stored(
        count_fits):
    from dataclasses import replace

    from tlkit.schedule import ReadyQueue, cost

    short, long_ = tiny(0), replace(tiny(1), train=replace(TINY_TRAIN, epochs=3))
    targets = [transfer(1), transfer(3)]
    assert cost(long_) > cost(short) and cost(transfer(5)) < cost(transfer(1))
    queue = ReadyQueue([(short, False), (long_, False), *[(t, False) for t in targets],
                         (source(), True)])
    assert queue.pop()[:2] == (source(), True), "the source goes first"
    assert queue.pop()[0] == long_ and queue.pop()[0] == short and not queue.ready
    assert queue, "the targets still wait for their source"
    queue.finished(source().key())
    assert {queue.pop()[0].key() for _ in targets} == {t.key() for t in targets}
    assert not queue

    sweep.run([short, long_, *targets])
    order = list(count_fits)
    assert order[0] == source().seed_for("batches")
    assert order.index(long_.seed_for("batches")) < order.index(short.seed_for("batches"))


def test_serial_sweep_stores_each_run_before_training_the_next(monkeypatch):
    """A run that has finished is on disk before the next one starts, so a kill or a crash
    in the middle of a serial sweep loses at most the run in progress."""
    monkeypatch.setenv("TLKIT_BATCH", "0")  # runs trained alone (batched: test_batched.py)
    real = tlkit.runner.fit
    seen: list[int] = []

    def checking(*args, **kwargs):
        seen.append(sum(Store().has(tiny(s)) for s in range(4)))
        return real(*args, **kwargs)

    monkeypatch.setattr(tlkit.runner, "fit", checking)
    sweep.run([tiny(s) for s in range(4)], executor="serial")
    assert seen == [0, 1, 2, 3]


def test_kill_9_loses_nothing_and_rerun_only_runs_the_missing(tmp_path, count_fits):
    results = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import os
        import sys
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        os.environ["TLKIT_BATCH"] = "0"  # runs trained alone (batched: test_batched.py)
        import time
        import test_sweep as t
        import tlkit.runner
        from tlkit import sweep
        from tlkit.store import Store

        real = tlkit.runner.fit
        calls = []

        def slow(*args, **kwargs):  # the sixth training never ends: the kill lands mid-sweep
            calls.append(1)
            if len(calls) > 5:
                time.sleep(3600)
            time.sleep(0.1)
            return real(*args, **kwargs)

        tlkit.runner.fit = slow
        sweep.run([t.tiny(s, n=30) for s in range(40)], store=Store({str(results)!r}),
                  progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while time.time() < deadline and len(list(results.glob("runs/*/*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.stem for p in results.glob("runs/*/*.json")}
    assert 3 <= len(done) <= 5, "the sweep should have been killed part-way"
    specs = [tiny(s, n=30) for s in range(40)]
    records = sweep.run(specs, store=Store(results))
    assert len(records) == 40
    assert len(count_fits) == 40 - len(done)
    # a write cut short leaves at most a stray temporary file, which is never read as a record
    assert len(list(results.glob("runs/*/*.json"))) == 40
    assert all(p.name.startswith(".") for p in results.glob("runs/*/*.tmp"))


def test_missing_real_dataset_fails_before_any_training(tmp_path, monkeypatch, count_fits):
    from tlkit.preflight import PreflightError

    monkeypatch.setenv("TLKIT_DATA", str(tmp_path / "nowhere"))
    mnist = RunSpec(DataSpec("mnist", n_per_class=5), TINY_MODEL, TINY_TRAIN)
    with pytest.raises(PreflightError, match="mnist"):
        sweep.run([tiny(0), mnist])
    assert count_fits == []


_TWIN = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    os.environ["TLKIT_BATCH"] = "0"  # runs trained alone, each slowed down
    import tlkit.runner
    from tlkit import sweep
    from tests.core.test_sweep import tiny, transfer

    me, other = Path(sys.argv[1]), Path(sys.argv[2])
    fits = []
    real = tlkit.runner.fit

    def slow(*args, **kwargs):
        fits.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    tlkit.runner.fit = slow
    if __name__ == "__main__":
        me.write_text("ready")
        while not other.exists():  # start both sweeps together
            time.sleep(0.01)
        records = sweep.run([*(tiny(s) for s in range(4)), transfer(2), transfer(3)],
                            executor="serial", progress=False)
        print("FITS", len(fits), "RECORDS", len(records))
""")


def test_two_processes_on_one_results_folder_never_compute_a_run_twice(tmp_path):
    """Two real sweeps of the same seven runs (a source and six), started together on one
    results folder: every run is trained once in all, and both get every record."""
    script = tmp_path / "twin.py"
    script.write_text(_TWIN)
    env = dict(os.environ, TLKIT_RESULTS=str(tmp_path / "results"), TLKIT_PROGRESS="0",
               PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    a, b = tmp_path / "a", tmp_path / "b"
    procs = [subprocess.Popen([sys.executable, str(script), str(x), str(y)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for x, y in ((a, b), (b, a))]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    counts = [[int(w) for w in out.split() if w.isdigit()] for out, _ in outs]
    assert sum(c[0] for c in counts) == 7, counts  # 7 distinct runs, each trained once
    assert all(c[1] == 6 for c in counts)


def test_a_script_without_a_main_guard_is_told_what_to_add_in_a_few_lines(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        from tlkit import sweep
        from tests.core.test_sweep import tiny
        sweep.run([tiny(s) for s in range(4)], executor="process", progress=False)
    """))
    env = dict(os.environ, TLKIT_RESULTS=str(tmp_path / "results"), TLKIT_PROGRESS="0",
               PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert 'if __name__ == "__main__":' in done.stderr.splitlines()[-1]
    assert not (tmp_path / "results" / "failed").exists(), "no misleading failure notes"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert sum("main guard" in line for line in lines) == 1, lines  # said once, not per worker
    assert "4 of 4 runs not run" in lines[-1]


def test_a_sweep_keeps_a_batch_per_worker_in_flight_and_one_waiting(tmp_path):
    """Runs that can start wait in the sweep's queue, not the executor's: with two workers at
    most three batches are submitted and unfinished, and runs of one signature that are ready
    together leave as few batches as the workers can share."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    class Counting(ThreadPoolExecutor):
        def __init__(self) -> None:
            super().__init__(max_workers=2)
            self.live = self.most = 0
            self.sizes: list[int] = []
            self.guard = threading.Lock()

        def submit(self, fn, *args, **kwargs):
            with self.guard:
                self.live += 1
                self.most = max(self.most, self.live)
                self.sizes.append(len(args[0]))
            future = super().submit(fn, *args, **kwargs)
            future.add_done_callback(self._done)
            return future

        def _done(self, _future) -> None:
            with self.guard:
                self.live -= 1

    alone = [tiny(s, n=10 + s) for s in range(6)]  # six training-set sizes: six signatures
    executor = Counting()
    with executor:
        records = sweep.run(alone, store=Store(tmp_path / "a"), executor=executor)
    assert len(records) == 6 and executor.most <= 3 and len(executor.sizes) == 6
    alike = [tiny(s) for s in range(12)]  # one signature, all ready at the start
    executor = Counting()
    with executor:
        sweep.run(alike, store=Store(tmp_path / "b"), executor=executor)
    assert executor.sizes == [6, 6]
