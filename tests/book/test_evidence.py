"""What makes the evidence trustworthy: independent seeds, selection on validation only, keys
that change with the code and the hardware, and a validation set that never trains."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec
from tlkit.analysis import choose_on_validation
from tlkit.experiments import layer_transfer as lt
from tlkit.fingerprint import code_fingerprint, source_fingerprint
from tlkit.models import build_model
from tlkit.runner import load_data
from tlkit.spec import CACHE_VERSION

SMOKE = {"profile": "smoke"}


def _initial(spec: RunSpec) -> dict[str, torch.Tensor]:
    """The weights a run starts from before any layer is copied (as the runner draws them)."""
    torch.manual_seed(spec.seed_for("init"))
    m = spec.model
    model = build_model(m.arch, len(spec.data.classes or ()) or 10, in_channels=m.channels,
                        input_size=m.size, width=m.width)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_base_networks_and_reinitialised_layers_start_independently():
    split = lt.splits(SMOKE)[0]
    base_a = lt.source_spec(SMOKE, split, "a", 0)
    base_b = lt.source_spec(SMOKE, split, "b", 0)
    bnb = lt.target_spec(SMOKE, split, 0, TransferSpec(source=base_b, layers=1, freeze=True))
    a, b, n = _initial(base_a), _initial(base_b), _initial(bnb)
    for key in b:
        if key.startswith("layers.") and key.endswith("weight") and b[key].ndim >= 2:
            if a[key].shape == b[key].shape:
                assert not torch.equal(a[key], b[key]), f"baseA and baseB share {key}"
            assert not torch.equal(n[key], b[key]), f"BnB starts from baseB's initial {key}"
    # the replicate and the role both matter, and the same run always draws the same weights
    assert base_b.seed_for("init") != lt.source_spec(SMOKE, split, "b", 1).seed_for("init")
    assert base_b.seed_for("init") == lt.source_spec(SMOKE, split, "b", 0).seed_for("init")
    assert base_b.seed_for("init") != base_b.seed_for("batches")


def test_what_a_seed_shares_on_purpose():
    split = lt.splits(SMOKE)[0]
    base_b = lt.source_spec(SMOKE, split, "b", 1)
    anb = lt.target_spec(SMOKE, split, 1, TransferSpec(
        source=lt.source_spec(SMOKE, split, "a", 1), layers=2, freeze=False))
    assert anb.data == base_b.data  # the same target subsample, validation set and test set
    train, val = load_data(base_b, "train"), load_data(base_b, "val")
    assert val.class_counts() == [base_b.data.validation] * len(val.classes)
    # no validation image is a training image
    flat = {tuple(x.flatten().tolist()) for x in train.images}
    assert not any(tuple(x.flatten().tolist()) in flat for x in val.images)
    # the held-out set is the same for every seed; the training subsample is not
    other = lt.source_spec(SMOKE, split, "b", 0)
    assert torch.equal(load_data(other, "val").images, val.images)
    assert not torch.equal(load_data(other, "train").images, train.images)


def test_choices_read_validation_only():
    table = pd.DataFrame(dict(group="g", layers=[0, 1, 2, 0, 1, 2], seed=[0, 0, 0, 1, 1, 1],
                              val_acc=[0.5, 0.7, 0.6, 0.5, 0.8, 0.6],
                              test_acc=[0.9, 0.1, 0.2, 0.9, 0.1, 0.2]))
    chosen = choose_on_validation(table, ["group"], "layers")
    assert chosen["layers"].tolist() == [1]
    # scrambling the test column changes nothing; removing validation is an error
    scrambled = table.assign(test_acc=table["test_acc"].sample(frac=1, random_state=0).values)
    assert choose_on_validation(scrambled, ["group"], "layers").equals(chosen)
    with pytest.raises(ValueError, match="validation"):
        choose_on_validation(table.drop(columns="val_acc"), ["group"], "layers")
    # ties go to the smaller choice
    tied = table.assign(val_acc=0.5)
    assert choose_on_validation(tied, ["group"], "layers")["layers"].tolist() == [0]


def test_the_dip_depth_is_chosen_on_validation_not_test():
    rows = []
    for seed in range(3):
        rows.append(dict(part="protocol", split="near", kind="near", condition="baseB",
                         layers=0, seed=seed, test_acc=0.9, val_acc=0.9))
        for n, (val, test) in {1: (0.9, 0.9), 3: (0.85, 0.89), 5: (0.89, 0.80)}.items():
            for c in ("BnB", "BnB+"):
                rows.append(dict(part="protocol", split="near", kind="near", condition=c,
                                 layers=n, seed=seed, test_acc=test, val_acc=val))
    df = pd.DataFrame(rows)
    # validation says the dip is at n = 3; test (which must not be read) would say n = 5
    depth, diffs = lt.dip(df, "near", middle=[3, 5])
    assert depth == 3 and diffs.round(6).tolist() == [-0.01] * 3


def test_keys_change_with_the_code_and_the_hardware_but_not_the_design_key():
    spec = RunSpec(DataSpec("digits", n_per_class=5), ModelSpec(width=2, size=8),
                   TrainConfig(epochs=1))
    gpu = spec.on("cuda-bf16")
    assert gpu.key() != spec.key() and gpu.design_key() == spec.design_key()
    assert gpu.seed_for("init") == spec.seed_for("init")  # same weights on either device
    assert CACHE_VERSION >= 2 and len(code_fingerprint()) == 16


def test_the_fingerprint_sees_code_not_docs():
    code = 'def f(x):\n    """Docs."""\n    return x + 1  # comment\n'
    assert source_fingerprint(code) == source_fingerprint(
        'def f(x):\n    """Other docs."""\n\n    return x + 1\n')
    assert source_fingerprint(code) != source_fingerprint(
        'def f(x):\n    """Docs."""\n    return x + 2\n')


def test_a_run_refuses_a_device_other_than_its_compute():
    import tlkit

    spec = RunSpec(DataSpec("digits", n_per_class=2), ModelSpec(width=2, size=8),
                   TrainConfig(epochs=1), compute="cuda-bf16")
    with pytest.raises(ValueError, match="computes on cuda-bf16"):
        tlkit.run(spec, device="cpu")


def test_protocol_sanity_on_a_converged_toy_reference():
    """Retraining a converged baseB's upper layers on its own frozen first layer gives baseB's
    accuracy back (Yosinski et al.: .627 against .625): within 0.02, over three seeds, on real
    handwritten digits at their native 8 x 8 pixels."""
    from tlkit import sweep
    from tlkit.analysis import t_interval

    model = ModelSpec(width=4, size=8)
    recipe = TrainConfig(epochs=30, batch_size=64, lr=0.1, warmup_epochs=2)
    base = [RunSpec(DataSpec("digits", classes=tuple("01234"), n_per_class=80,
                             subsample_seed=s, validation=20), model, recipe, seed=s)
            for s in range(3)]
    bnb = [RunSpec(b.data, model, recipe, TransferSpec(source=b, layers=1, freeze=True),
                   seed=b.seed) for b in base]
    records = sweep.run(base + bnb, progress=False)
    acc = {(r.spec.transfer.layers, r.spec.seed): r.metrics["test_acc"] for r in records}
    diffs = [acc[(1, s)] - acc[(0, s)] for s in range(3)]
    assert min(r.metrics["train_acc"] for r in records[:3]) >= 0.99  # a converged reference
    assert abs(sum(diffs) / 3) <= 0.02, diffs
    low, high = t_interval(diffs, 0.95)
    assert low <= 0.03 and high >= -0.03
