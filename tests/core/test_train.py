import pytest
import torch

from tlkit import train
from tlkit.models import LayerCNN
from tlkit.train import TrainConfig, fit, prefix_features, resolve_device, validation_epochs


def _bars(n_per_class=60, seed=0, size=16):
    """Two classes that a CNN must learn: a bright bar on the left vs on the right."""
    g = torch.Generator().manual_seed(seed)
    x = 0.3 * torch.rand(2 * n_per_class, 1, size, size, generator=g)
    y = torch.arange(2).repeat_interleave(n_per_class)
    x[y == 0, :, :, 2:5] += 0.7
    x[y == 1, :, :, -5:-2] += 0.7
    return x, y


def _fit(seed=0, frozen=0, cache_prefix=True, epochs=3):
    torch.manual_seed(seed)
    model = LayerCNN(2, 1, 16, width=4)
    x, y = _bars(seed=0)
    xt, yt = _bars(seed=1)
    result = fit(model, x, y, xt, yt, TrainConfig(epochs=epochs, batch_size=16, lr=0.05),
                 frozen=frozen, seed=seed, device="cpu", cache_prefix=cache_prefix)
    return model, result


def test_learns_a_learnable_task():
    _, result = _fit(epochs=4)
    assert result.metrics["test_acc"] >= 0.95
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]


def test_same_seed_is_bitwise_identical_and_another_seed_is_not():
    m1, r1 = _fit(seed=3)
    m2, r2 = _fit(seed=3)
    r1.metrics.pop("seconds"), r2.metrics.pop("seconds")
    assert r1.metrics == r2.metrics and r1.history == r2.history
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    m3, _ = _fit(seed=4)
    assert not torch.equal(m1.layers[7][1].weight, m3.layers[7][1].weight)


def test_cached_prefix_trains_the_same_network_as_recomputing_it():
    m1, r1 = _fit(frozen=5, cache_prefix=True)
    m2, r2 = _fit(frozen=5, cache_prefix=False)
    assert r1.metrics["test_acc"] == pytest.approx(r2.metrics["test_acc"], abs=0.02)
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-4)


def test_validation_points_are_spaced_out_end_at_the_last_epoch_and_change_no_training(
        monkeypatch):
    assert validation_epochs(6) == frozenset(range(1, 7))
    long = validation_epochs(200)
    assert len(long) == train.VALIDATION_POINTS and max(long) == 200
    assert sorted(long)[:2] == [20, 40]

    def run():
        torch.manual_seed(0)
        model = LayerCNN(2, 1, 16, width=4)
        x, y = _bars(seed=0)
        xt, yt = _bars(seed=1)
        xv, yv = _bars(n_per_class=20, seed=2)
        return fit(model, x, y, xt, yt, TrainConfig(epochs=12, batch_size=16, lr=0.05),
                   seed=0, device="cpu", x_val=xv, y_val=yv)

    every = run()
    monkeypatch.setattr(train, "validation_epochs", lambda epochs: frozenset([epochs]))
    last = run()
    assert every.history["val_epoch"][-1] == 12 and len(every.history["val_epoch"]) > 1
    assert last.history["val_epoch"] == [12]
    for name in ("train_loss", "train_acc", "val_acc", "test_acc"):  # evaluating trains nothing
        assert every.metrics[name] == last.metrics[name], name
    assert every.history["train_loss"] == last.history["train_loss"]


def test_frozen_layers_stay_in_evaluation_mode_through_every_step_and_evaluation():
    """The modes are set once before the first epoch; the validation evaluations between
    epochs must leave the frozen layers in evaluation mode (their batch-norm statistics are
    the source's) and the trained layers in training mode."""
    torch.manual_seed(0)
    model = LayerCNN(2, 1, 16, width=4)
    x, y = _bars(seed=0)
    xv, yv = _bars(n_per_class=10, seed=2)
    frozen = 3
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen: list[tuple[int, bool]] = []
    for i, layer in enumerate(model.layers):
        layer.register_forward_hook(
            lambda m, _i, _o, i=i: seen.append((i, m.training)) if torch.is_grad_enabled()
            else None)
    fit(model, x, y, x, y, TrainConfig(epochs=5, batch_size=16, lr=0.05), frozen=frozen,
        seed=0, device="cpu", cache_prefix=False, x_val=xv, y_val=yv)
    assert {i for i, _ in seen} == set(range(len(model.layers)))
    assert all(training == (i >= frozen) for i, training in seen)
    for k, v in model.state_dict().items():  # frozen statistics and weights are the start's
        if k.startswith(tuple(f"layers.{i}." for i in range(frozen))):
            assert torch.equal(v, before[k]), k


def test_prefix_features_use_evaluation_mode():
    model = LayerCNN(2, 1, 16, width=4).train()
    x, _ = _bars(8)
    f = prefix_features(model, x, 2)
    assert model.training  # mode restored
    assert torch.allclose(f, model.eval()(x, 0, 2))


def test_bad_inputs_fail_before_training():
    model = LayerCNN(2, 1, 16, width=4)
    x, y = _bars(4)
    with pytest.raises(ValueError, match="cannot transfer"):
        fit(model, x, y, x, y, frozen=8, device="cpu")
    with pytest.raises(ValueError, match="differ in length"):
        fit(model, x, y[:-1], x, y, device="cpu")
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="exponential")


def test_device_resolution():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")
