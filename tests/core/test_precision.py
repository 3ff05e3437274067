"""The ``cpu-bf16`` compute setting: a run on the CPU with bfloat16 autocast is a run of its own
(its own key, never standing in for a float32 record), placed on the CPU as its design made it,
and trained by ``fit`` with autocast on (never by the batched float32 engine)."""

import pytest
import torch

from tests.core.test_sweep import tiny, transfer
from tlkit import runner, sweep
from tlkit.spec import COMPUTES, compute_for
from tlkit.store import Store


def test_bf16_on_the_cpu_is_a_compute_of_its_own():
    assert "cpu-bf16" in COMPUTES
    assert compute_for("cpu", "bf16") == "cpu-bf16" and compute_for("cpu") == "cpu-fp32"
    assert compute_for("cuda", "fp32") == "cuda-bf16"  # CUDA always computes in bfloat16
    with pytest.raises(ValueError, match="fp32 or bf16"):
        compute_for("cpu", "fp16")
    fp32, bf16 = tiny(0), tiny(0).on("cpu-bf16")
    assert fp32.key() != bf16.key()
    assert fp32.seed_for("init") == bf16.seed_for("init")  # same run, other arithmetic


def test_placed_keeps_the_precision_a_spec_was_made_with(monkeypatch):
    monkeypatch.delenv("TLKIT_COMPUTE", raising=False)
    made = [tiny(0), transfer(2).on("cpu-bf16")]
    got = sweep.placed(made, "cpu")
    assert [s.compute for s in got] == ["cpu-fp32", "cpu-bf16"]
    assert got[1].transfer.source.compute == "cpu-bf16"
    assert sweep.placed([tiny(0).on("cuda-bf16")], "cpu")[0].compute == "cpu-fp32"
    monkeypatch.setenv("TLKIT_COMPUTE", "cpu-bf16")
    assert {s.compute for s in sweep.placed(made, "cpu")} == {"cpu-bf16"}
    assert sweep.compute_of("cpu") == "cpu-bf16"


def test_a_bf16_run_trains_with_autocast_and_is_stored_apart(tmp_path, monkeypatch):
    monkeypatch.delenv("TLKIT_COMPUTE", raising=False)
    seen = []
    real = runner.fit

    def spying(*args, **kwargs):
        seen.append(kwargs.get("amp"))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "fit", spying)
    store = Store(tmp_path)
    bf16 = tiny(0).on("cpu-bf16")
    got = sweep.run([bf16, tiny(0)], store=store, device="cpu")
    assert seen[0] is True  # the bf16 run went through fit with autocast, never batched
    assert [r.spec.compute for r in got] == ["cpu-bf16", "cpu-fp32"]
    assert got[0].key != got[1].key and len(list(store.records())) == 2
    assert 0.0 <= got[0].metrics["test_acc"] <= 1.0
    # the rounding of bfloat16 shows in the losses, where a float32 run would repeat exactly
    assert got[0].history["train_loss"] != got[1].history["train_loss"]
    again = runner.train(bf16).record
    assert again.history == got[0].history  # bitwise reproducible on one machine


def test_autocast_on_the_cpu_computes_in_bfloat16():
    layer = torch.nn.Linear(4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
