"""Transfer methods own their behaviour: the registry, and DELTA's and BSS's penalties against
computations written out by hand on small batches."""

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec, batched, methods, runner
from tlkit.models import LayerCNN
from tlkit.regularizers import REGULARIZATIONS, regularization
from tlkit.regularizers.bss import BSS
from tlkit.regularizers.delta import DELTA, TEMPERATURE, channel_attention
from tlkit.train import fit

TINY, TRAIN = ModelSpec(width=2, size=16), TrainConfig(epochs=2, batch_size=16, lr=0.05)


def _source():
    return RunSpec(DataSpec("digits", classes=("5", "6", "7"), n_per_class=10), TINY, TRAIN)


def _target(transfer):
    return RunSpec(DataSpec("digits", classes=("0", "1"), n_per_class=10, validation=4), TINY,
                   TRAIN, transfer)


def test_every_method_builds_its_transfer_and_every_regulariser_is_registered():
    src = _source()
    assert list(methods.METHODS) == ["scratch", "frozen", "fine-tune", "linear probe",
                                     "linear probe, target BN", "random frozen", "L2-SP",
                                     "DELTA", "BSS"]
    probe = methods.transfer("linear probe", src)
    target_bn = methods.transfer("linear probe, target BN", src, layers=3)  # always all layers
    assert (probe.bn_stats, target_bn.bn_stats) == ("source", "target")
    assert replace(probe, bn_stats="target") == target_bn  # the method declares its BN handling
    assert methods.transfer("DELTA", src, layers=4, alpha=0.1).regularizer == "delta"
    assert methods.transfer("BSS", src, alpha=0.01).regularizer == "bss"
    assert methods.transfer("L2-SP", src).layers == 7
    for t in (methods.transfer(name, src, layers=3) for name in methods.METHODS):
        assert regularization(t.regularizer).name == t.regularizer
    assert list(REGULARIZATIONS) == ["bss", "delta", "l2", "l2sp"]
    with pytest.raises(ValueError, match="unknown regularizer 'l1'; valid: bss, delta, l2, l2sp"):
        TransferSpec(regularizer="l1")
    with pytest.raises(ValueError, match="DELTA regularises the copied layers that train"):
        TransferSpec(source=src, layers=3, freeze=True, regularizer="delta")
    with pytest.raises(ValueError, match="BSS has one strength"):
        TransferSpec(source=src, layers=3, freeze=False, regularizer="bss", beta=0.1)


def test_bss_is_the_square_of_the_smallest_singular_value_by_hand():
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(6, 10, generator=gen, requires_grad=True)
    got = BSS(7, eta=0.3)({7: f})
    gram = (f.detach().double() @ f.detach().double().T).numpy()  # 6 x 6: its eigenvalues
    smallest = min(np.linalg.eigvalsh(gram))  # are the squared singular values of f
    assert got.item() == pytest.approx(0.3 * smallest, rel=1e-4)
    got.backward()  # differentiable: a gradient reaches the features
    assert f.grad is not None and torch.isfinite(f.grad).all()
    wide = torch.randn(12, 4, generator=gen)  # more images than features: 4 singular values
    eig = np.linalg.eigvalsh((wide.double().T @ wide.double()).numpy())
    assert BSS(3, eta=1.0, k=2)({3: wide}).item() == pytest.approx(sum(sorted(eig)[:2]),
                                                                   rel=1e-4)


def _delta_by_hand(model, reference, x, frozen, attention, alpha, beta, layers):
    """The DELTA penalty with every sum written out."""
    total = 0.0
    h_w, h_0 = x, x
    for d in range(frozen + 1, max(attention) + 1):
        h_w, h_0 = model(h_w, d - 1, d), reference(h_0, d - 1, d)
        if d not in attention:
            continue
        fw, f0 = h_w.detach().double(), h_0.detach().double()
        batch, channels = fw.shape[0], fw.shape[1]
        positions = int(np.prod(fw.shape[2:])) if fw.dim() > 2 else 1
        for c in range(channels):
            s = sum(float(((fw[b, c] - f0[b, c]) ** 2).sum()) for b in range(batch)) / batch
            total += channels / positions * float(attention[d][c]) * s
    new = sum(float((m.weight.detach().double() ** 2).sum()) for layer in model.layers[layers:]
              for m in layer.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear))
    return 0.5 * alpha * total + 0.5 * beta * new


def test_delta_is_its_formula_by_hand_and_zero_at_the_start():
    torch.manual_seed(0)
    model = LayerCNN(3, 1, 16, width=2)
    model.train()
    frozen, layers = 1, 6
    gen = torch.Generator().manual_seed(1)
    attention = {d: torch.softmax(torch.randn(c, generator=gen), 0)
                 for d, c in ((2, 4), (3, 8), (5, 8), (6, 32))}  # depths 4 read nothing
    x = torch.randn(5, 1, 16, 16, generator=gen)
    reg = DELTA(model, frozen, layers, attention, alpha=0.7, beta=0.0)
    start = model(x, 0, frozen)
    features = {}
    h, at = start, frozen
    for d in reg.depths[1:]:
        h = model(h, at, d)
        features[d] = h
        at = d
    features[frozen] = start
    assert reg(features).item() == pytest.approx(0.0, abs=1e-12)  # w = w0: no pull
    reference = copy.deepcopy(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    reg.beta = 0.2
    h, at = start, frozen
    for d in reg.depths[1:]:
        h = model(h, at, d)
        features[d] = h
        at = d
    want = _delta_by_hand(model, reference, start, frozen, attention, 0.7, 0.2, layers)
    assert reg(features).item() == pytest.approx(want, rel=1e-5)


def test_channel_attention_is_the_softmax_of_the_standardised_loss_increase():
    torch.manual_seed(2)
    model = LayerCNN(3, 1, 16, width=2).eval()
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(9, 1, 16, 16, generator=gen), torch.randint(0, 3, (9,), generator=gen)
    got = channel_attention(model, x, y, [2], batch_size=4)
    with torch.no_grad():
        base = torch.nn.functional.cross_entropy(model(x), y).item()
        h = model(x, 0, 2)
        rise = []
        for c in range(h.shape[1]):
            cut = h.clone()
            cut[:, c] = 0
            rise.append(torch.nn.functional.cross_entropy(model(cut, 2), y).item() - base)
    z = (np.array(rise) - np.mean(rise)) / np.std(rise)
    want = np.exp(z / TEMPERATURE) / np.exp(z / TEMPERATURE).sum()
    assert got[2].numpy() == pytest.approx(want, rel=1e-4)
    assert math.isclose(float(got[2].sum()), 1.0, rel_tol=1e-6)


def test_a_regulariser_that_reads_frozen_layers_is_refused():
    model = LayerCNN(2, 1, 16, width=2)
    x, y = torch.randn(8, 1, 16, 16), torch.randint(0, 2, (8,))
    with pytest.raises(ValueError, match="reads depth 1, below the first trained layer"):
        fit(model, x, y, x, y, TRAIN, frozen=2, regularizer=BSS(1, 0.1), device="cpu")


@pytest.mark.parametrize("name", ["DELTA", "BSS"])
def test_delta_and_bss_runs_train_batched_and_differ_from_fine_tuning(name):
    src = _source()
    state = runner.train(src, device="cpu").state
    spec = _target(methods.transfer(name, src, layers=5, alpha=0.5))
    plain = _target(methods.transfer("fine-tune", src, layers=5))
    assert batched.signature(spec) == batched.signature(plain) is not None  # they batch
    record = runner.run(spec, source=state, device="cpu")
    assert 0.0 <= record.metrics["test_acc"] <= 1.0 and math.isfinite(record.metrics["val_loss"])
    again = runner.run(spec, source=state, device="cpu")
    assert again.metrics == {**record.metrics}  # the same spec: the same record
    other = runner.run(plain, source=state, device="cpu")
    assert other.metrics["train_loss"] != record.metrics["train_loss"]


@pytest.mark.parametrize("arch", ["cnn8", "efficientnet_lite0", "resnet18"])
def test_each_architecture_declares_the_layers_that_output_feature_maps(arch):
    from tlkit.models import ARCHITECTURES, build_model
    from tlkit.regularizers.delta import feature_map_depths

    entry = ARCHITECTURES[arch]
    model = build_model(arch, 3, in_channels=1, input_size=32)
    found = feature_map_depths(model, torch.randn(1, 1, 32, 32), 0, entry.num_layers - 1)
    assert found == list(range(1, entry.feature_maps + 1))


def test_delta_is_refused_when_the_spec_is_made_where_no_trained_layer_has_maps():
    src = _source()
    with pytest.raises(ValueError, match="layers 6..7 of cnn8 output none"):
        _target(TransferSpec(source=src, layers=7, freeze=5, regularizer="delta", alpha=0.1,
                             beta=0.01))
    _target(TransferSpec(source=src, layers=7, freeze=4, regularizer="delta", alpha=0.1,
                         beta=0.01))  # conv5 trains: its maps are read


def test_delta_reads_the_feature_maps_of_the_copied_layers_that_train():
    from tlkit.regularizers.delta import feature_map_depths

    model = LayerCNN(3, 1, 16, width=2)
    x = torch.randn(2, 1, 16, 16)
    assert feature_map_depths(model, x, frozen=0, layers=7) == [1, 2, 3, 4, 5]  # conv1-conv5
    assert feature_map_depths(model, x, frozen=2, layers=4) == [3, 4]
    assert feature_map_depths(model, x, frozen=5, layers=7) == []  # fc6, fc7: no maps
