import pytest
import torch

from tlkit.models import LayerCNN
from tlkit.regularizers.l2sp import L2SP
from tlkit.train import TrainConfig, fit
from tlkit.transfer import (
    check_depth,
    copy_layers,
    freeze_layers,
    l2_penalty,
    layerwise_param_groups,
    penalised_weights,
)


def _pair(seed_a=0, seed_b=1, classes_b=3):
    torch.manual_seed(seed_a)
    src = LayerCNN(5, 1, 16, width=2)
    torch.manual_seed(seed_b)
    dst = LayerCNN(classes_b, 1, 16, width=2)
    return src, dst


@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_copied_layers_equal_the_source_and_the_rest_stay_fresh(n):
    src, dst = _pair()
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    copy_layers(src, dst, n)
    for i in range(8):
        for key, value in dst.layers[i].state_dict().items():
            if i < n:
                assert torch.equal(value, src.layers[i].state_dict()[key])
            else:
                assert torch.equal(value, before[f"layers.{i}.{key}"])


def test_impossible_depths_are_rejected():
    src, dst = _pair()
    for bad in (-1, 8, 9, 2.5):
        with pytest.raises(ValueError, match="cannot transfer"):
            check_depth(dst, bad)
    with pytest.raises(ValueError, match="shape"):
        copy_layers(src, dst, 8)  # classifiers differ: 5 vs 3 classes


def _toy(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 16, 16, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return x, y


@pytest.mark.parametrize("frozen", [1, 3, 6])
def test_frozen_layers_do_not_change_during_training(frozen):
    src, model = _pair()
    copy_layers(src, model, frozen)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = _toy()
    fit(model, x, y, x, y, TrainConfig(epochs=2, batch_size=16, lr=0.1), frozen=frozen,
        device="cpu")
    after = model.state_dict()
    for key in before:
        layer = int(key.split(".")[1])
        same = torch.equal(before[key], after[key])
        if layer < frozen:
            assert same, f"frozen {key} changed"  # weights and batch-norm statistics
        elif key.endswith("weight") and "layers" in key and after[key].dim() > 1:
            assert not same, f"trainable {key} did not train"


def test_l2sp_penalty_and_gradient_match_a_hand_computation():
    src, model = _pair()
    copy_layers(src, model, 2)
    alpha, beta = 0.3, 0.05
    penalty = L2SP(model, 2, alpha, beta)
    w0 = {name: w.detach().clone() for name, w in penalised_weights(model)}
    with torch.no_grad():  # move the weights away from their starting point
        for _, w in penalised_weights(model):
            w.add_(0.01 * torch.arange(w.numel(), dtype=w.dtype).reshape(w.shape) / w.numel())
    expected = 0.0
    grads = {}
    for name, w in penalised_weights(model):
        layer = int(name.split(".")[1])
        if layer < 2:
            diff = (w.detach() - w0[name]).double()
            expected += alpha / 2 * float((diff ** 2).sum())
            grads[name] = alpha * diff
        else:
            expected += beta / 2 * float((w.detach().double() ** 2).sum())
            grads[name] = beta * w.detach().double()
    value = penalty()
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    for name, w in penalised_weights(model):
        assert torch.allclose(w.grad.double(), grads[name], rtol=1e-4, atol=1e-9), name


def test_l2sp_is_zero_at_the_source_weights_and_ignores_frozen_layers():
    src, model = _pair()
    copy_layers(src, model, 3)
    assert L2SP(model, 3, alpha=1.0, beta=0.0)().item() == 0.0
    freeze_layers(model, 8)
    assert L2SP(model, 3, alpha=1.0, beta=1.0)().item() == 0.0
    params = [w for _, w in penalised_weights(model.layers[0])]
    assert l2_penalty(params, 2.0).item() == pytest.approx(
        sum(float((p ** 2).sum()) for p in params), rel=1e-6)


def test_layerwise_learning_rates():
    _, model = _pair()
    mult = [0.1] * 3 + [1.0] * 5
    groups = layerwise_param_groups(model, 0.5, mult, weight_decay=1e-3)
    lr_of = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    decayed = {id(w) for _, w in penalised_weights(model)}
    for i, layer in enumerate(model.layers):
        for p in layer.parameters():
            assert lr_of[id(p)] == (pytest.approx(0.5 * mult[i]),
                                    1e-3 if id(p) in decayed else 0.0)
    freeze_layers(model, 2)
    kept = {id(p) for g in layerwise_param_groups(model, 0.5, start=2) for p in g["params"]}
    assert kept == {id(p) for layer in model.layers[2:] for p in layer.parameters()}
    with pytest.raises(ValueError, match="8 values"):
        layerwise_param_groups(model, 0.5, [1.0])


def test_the_runner_splits_l2sp_at_sp_layers(monkeypatch):
    """L2-SP on the lower copied layers only: the copied layers above ``sp_layers`` are pulled
    towards zero with the new ones (the mix of Plested, Shen & Gedeon)."""
    from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec, batched, runner
    from tlkit.regularizers import l2sp

    built = []
    real = l2sp.L2SP

    def spy(model, n, alpha, beta):
        built.append((n, alpha, beta))
        return real(model, n, alpha, beta)

    real_many = batched.fit_many

    def spy_many(members):
        built.extend((m.decay.depth, m.decay.alpha, m.decay.beta) for m in members
                     if m.decay is not None)
        return real_many(members)

    monkeypatch.setattr(l2sp, "L2SP", spy)
    monkeypatch.setattr(batched, "fit_many", spy_many)
    tiny, train = ModelSpec(width=2, size=16), TrainConfig(epochs=1, batch_size=32, lr=0.05)
    src = RunSpec(DataSpec("digits", classes=("5", "6", "7"), n_per_class=10), tiny, train)
    state = runner.train(src, device="cpu").state
    for alone in ("0", "1"):  # trained alone with tlkit.train.fit, and by the batched engine
        monkeypatch.setenv("TLKIT_BATCH", alone)
        for sp, expected in ((2, 2), (None, 4)):
            t = TransferSpec(source=src, layers=4, freeze=False, regularizer="l2sp", alpha=0.1,
                             beta=0.001, sp_layers=sp)
            spec = RunSpec(DataSpec("digits", classes=("0", "1"), n_per_class=10), tiny, train,
                           t)
            runner.train(spec, source=state, device="cpu")
            assert built[-1] == (expected, 0.1, 0.001)
