"""Many cnn8 runs as one grouped network: the same records as alone, whatever the neighbours.

The stated tolerance: a run trained by the batched engine and the same run trained alone by
``tlkit.train.fit`` (``TLKIT_BATCH=0``) differ only in the order of floating-point sums, so
their losses agree to within :data:`LOSS_TOL` and their accuracies to within :data:`ACC_TOL`
(a couple of images of these test sets). Within the engine a run's record does not depend on
the runs it is batched with: bitwise, on a machine whose grouped convolution computes each
group on its own (checked first, :func:`groups_computed_alone`), else within the tolerance.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import tlkit
from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec, batched, runner, sweep
from tlkit.store import Store

LOSS_TOL, ACC_TOL = 0.02, 0.03

MODEL = ModelSpec(width=4, size=8)
TRAIN = TrainConfig(epochs=6, batch_size=16, lr=0.05, warmup_epochs=1.0)


def run(seed=0, transfer=None, lr=0.05, classes=("0", "1", "2", "3")):
    return RunSpec(DataSpec("digits", classes=classes, n_per_class=12, subsample_seed=seed,
                            validation=5),
                   MODEL, TrainConfig(epochs=6, batch_size=16, lr=lr, warmup_epochs=1.0),
                   transfer or TransferSpec(), seed=seed)


def source(seed=0):
    return RunSpec(DataSpec("digits", classes=("5", "6", "7", "8", "9"), n_per_class=20),
                   MODEL, TRAIN, seed=seed)


def family():
    """Scratch, frozen, fine-tuned and L2-SP runs of one signature each kind."""
    src = source()
    out = [run(s) for s in range(3)]
    out += [run(s, TransferSpec(source=src, layers=3, freeze=True)) for s in range(2)]
    out += [run(s, TransferSpec(source=src, layers=4, freeze=False)) for s in range(2)]
    out += [run(s, TransferSpec(source=src, layers=4, freeze=False, regularizer="l2sp",
                                alpha=0.1, beta=0.01, sp_layers=2)) for s in range(2)]
    return out


def groups_computed_alone() -> bool:
    """Whether this machine's grouped layers give a network the same bits whatever the other
    networks of its batch are (the condition for bitwise neighbour independence): one
    network's gradients first in a batch of 4 and last in a batch of 8 (width 4)."""
    import copy

    from tlkit.grouped import Grouped
    from tlkit.models import LayerCNN

    torch.manual_seed(0)
    nets = [LayerCNN(4, 1, 8, 4).to(memory_format=torch.channels_last) for _ in range(8)]
    x = torch.randn(8, 16, 1, 8, 8)

    def grads(order):
        g = Grouped([copy.deepcopy(nets[i]) for i in order], 0)
        g.forward(x[order], True)[0].pow(2).sum().backward()
        pos, c = order.index(0), g.layers[0]["out"]
        return [g.layers[0]["weight"].grad[pos * c:(pos + 1) * c], g.layers[-1]["weight"].grad[pos]]

    first, last = grads([0, 1, 2, 3]), grads([1, 2, 3, 4, 5, 6, 7, 0])
    return all(torch.equal(a, b) for a, b in zip(first, last, strict=True))


def close(a, b):
    for name in ("train_loss", "val_loss", "test_loss"):
        assert abs(a.metrics[name] - b.metrics[name]) <= LOSS_TOL, name
    for name in ("train_acc", "val_acc", "test_acc"):
        assert abs(a.metrics[name] - b.metrics[name]) <= ACC_TOL, name


def test_a_batched_run_agrees_with_the_same_run_trained_alone(monkeypatch, tmp_path):
    specs = family()
    batched_records = sweep.run(specs, store=Store(tmp_path / "batched"))
    assert {r.provenance.get("batched") for r in batched_records} == {7, 2}  # by frozen depth
    monkeypatch.setenv("TLKIT_BATCH", "0")
    alone = sweep.run(specs, store=Store(tmp_path / "alone"))
    assert all("batched" not in r.provenance for r in alone)
    for a, b in zip(batched_records, alone, strict=True):
        assert a.key == b.key, "batching is not part of a run's key"
        close(a, b)
        assert len(a.history["val_acc"]) == len(b.history["val_acc"]) == 6


def test_a_record_does_not_depend_on_its_neighbours(tmp_path):
    me = run(0)
    weights = runner.train(source(), device="cpu").state
    others = [run(1, lr=0.2), run(2, classes=("6", "7", "8", "9"))]
    transfer = run(3, TransferSpec(source=source(), layers=4, freeze=False))
    results = [
        runner.train(me, device="cpu").record,  # alone: beside a copy of itself
        runner.train_many([me, others[0]], [None, None])[0].record,
        runner.train_many([others[1], transfer, me, others[0]], [None, weights, None, None])[2]
        .record,
    ]
    bitwise = groups_computed_alone()
    for r in results[1:]:
        if bitwise:
            assert r.metrics == results[0].metrics and r.history == results[0].history
        else:  # pragma: no cover - depends on the machine's convolution kernels
            close(r, results[0])
    assert [r.provenance["batched"] for r in results] == [1, 2, 3]  # 6-9: its own test size


def test_sweeps_give_the_same_records_whatever_the_batches(tmp_path):
    specs = family()
    together = sweep.run(specs, store=Store(tmp_path / "together"))
    one_by_one = [sweep.run([s], store=Store(tmp_path / "apart"))[0] for s in specs]
    for a, b in zip(together, one_by_one, strict=True):
        if groups_computed_alone():
            assert a.metrics == b.metrics and a.history == b.history
        else:  # pragma: no cover
            close(a, b)


def test_the_serial_sweep_trains_runs_of_one_signature_together(monkeypatch):
    sizes = []
    real = batched.fit_many

    def spy(members):
        sizes.append(len(members))
        return real(members)

    monkeypatch.setattr(batched, "fit_many", spy)
    specs = [run(s) for s in range(5)] + [run(0, classes=("0", "1"))]
    sweep.run(specs)
    assert sorted(sizes) == [1, 5], "five runs of one signature as one, the other alone"
    assert batched.signature(specs[0]) == batched.signature(specs[1])
    assert batched.signature(specs[0]) != batched.signature(specs[-1])
    assert batched.signature(specs[0].on("cuda-bf16")) is None
    assert batched.signature(specs[0].on("cpu-bf16")) is None, "bfloat16 runs train alone"
    large = RunSpec(specs[0].data, ModelSpec(width=16, size=16), TRAIN)
    assert batched.signature(large) is None, "grouping does not pay at 16 px width 16"


def test_a_diverging_network_fails_alone_in_its_batch(count_fits, tmp_path):
    specs = [run(0), run(1, lr=1e6), run(2)]
    with pytest.raises(sweep.SweepError, match="diverged") as info:
        sweep.run(specs)
    assert list(info.value.failures) == [specs[1].key()]
    assert len(info.value.records) == 2
    assert Store().diverged(specs[1]) is not None
    with pytest.raises(sweep.SweepError):
        sweep.run(specs)
    assert len(count_fits) == 3, "nothing trained again"
    alone = [r.metrics for r in sweep.run([run(0), run(2)], store=Store(tmp_path / "elsewhere"))]
    assert [r.metrics for r in info.value.records] == alone or not groups_computed_alone()


def test_fit_many_rejects_networks_that_cannot_train_together():
    a = runner._prepare(run(0), None, torch.device("cpu"))
    b = runner._prepare(run(1, classes=("0", "1")), None, torch.device("cpu"))

    def member(p):
        return batched.Member(p.model, p.train.images, p.train.labels, p.test.images,
                              p.test.labels, p.config, 0, p.lr_mult, 0, p.val.images,
                              p.val.labels)

    with pytest.raises(ValueError, match="same frozen depth"):
        batched.fit_many([member(a), member(b)])
    assert batched.fit_many([]) == []


def test_a_kill_during_a_batch_loses_only_that_batch(tmp_path, count_fits):
    results = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.dirname(__file__)))!r})
        from tests.core import test_batched as t
        from tlkit import batched, sweep
        from tlkit.store import Store

        real, calls = batched.fit_many, []

        def second_hangs(members):
            calls.append(1)
            if len(calls) > 1:
                time.sleep(3600)
            return real(members)

        batched.fit_many = second_hangs
        specs = [t.run(s) for s in range(20)] + [t.run(s, classes=("0", "1")) for s in range(3)]
        sweep.run(specs, store=Store({str(results)!r}), progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while time.time() < deadline and not list(results.glob("runs/*/*.json")):
        time.sleep(0.05)
    time.sleep(1.0)  # the second batch is under way (and never ends)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(results.glob("runs/*/*.json")))
    assert done == batched.K_MAX, "the first batch is stored whole, the second lost whole"
    specs = [run(s) for s in range(20)] + [run(s, classes=("0", "1")) for s in range(3)]
    assert len(sweep.run(specs, store=Store(results))) == 23
    assert len(count_fits) == 23 - done


def test_tlkit_run_uses_the_engine_and_batching_can_be_turned_off(monkeypatch, count_fits):
    record = tlkit.run(run(0))
    assert record.provenance["batched"] == 1
    monkeypatch.setenv("TLKIT_BATCH", "0")
    assert "batched" not in tlkit.run(run(0)).provenance


def test_regularisers_that_read_features_train_batched_as_alone(monkeypatch, tmp_path):
    """DELTA and BSS add their term per network on its own slice of the grouped features."""
    src = source()
    specs = [run(s, TransferSpec(source=src, layers=4, freeze=False, regularizer=reg,
                                 alpha=alpha, beta=beta))
             for s in range(2) for reg, alpha, beta in (("delta", 5.0, 0.01), ("bss", 0.5, 0))]
    specs.append(run(0, TransferSpec(source=src, layers=4, freeze=False)))
    together = sweep.run(specs, store=Store(tmp_path / "batched"))
    assert {r.provenance.get("batched") for r in together} == {5}
    monkeypatch.setenv("TLKIT_BATCH", "0")
    alone = sweep.run(specs, store=Store(tmp_path / "alone"))
    for a, b in zip(together, alone, strict=True):
        assert a.key == b.key
        close(a, b)
    plain = together[-1].metrics["train_loss"]
    for r in together[:2]:  # strong enough that a term left out would show beyond tolerance
        assert abs(r.metrics["train_loss"] - plain) > 10 * LOSS_TOL, r.spec.transfer.regularizer
