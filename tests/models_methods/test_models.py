import urllib.error

import pytest
import torch

from tlkit.models import LayerCNN, LayerResNet, WeightsUnavailableError, build_model, num_layers


def test_layer_cnn_has_yosinski_structure():
    model = LayerCNN(num_classes=7, in_channels=1, input_size=32, width=4)
    assert model.num_layers == 8 == num_layers("cnn8")
    assert model.layer_names == ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
    convs = [m for layer in model.layers[:5] for m in layer.modules()
             if isinstance(m, torch.nn.Conv2d)]
    linears = [m for layer in model.layers[5:] for m in layer.modules()
               if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 5 and len(linears) == 3
    assert model(torch.rand(3, 1, 32, 32)).shape == (3, 7)


@pytest.mark.parametrize("size,channels", [(16, 1), (28, 1), (32, 3)])
def test_slices_compose_to_the_full_network(size, channels):
    torch.manual_seed(0)
    model = LayerCNN(5, channels, size, width=4).eval()
    x = torch.rand(4, channels, size, size)
    full = model(x)
    for n in range(9):
        assert torch.allclose(model(model.features(x, n), n), full, atol=1e-6)


def test_bad_slice_and_arch_are_clear_errors():
    model = LayerCNN(3, width=2)
    with pytest.raises(ValueError, match="outside 0..8"):
        model(torch.rand(1, 1, 32, 32), 0, 9)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg", 3)


def test_resnet18_is_layer_indexed():
    model = build_model("resnet18", 4, in_channels=1, input_size=32).eval()
    assert isinstance(model, LayerResNet) and model.num_layers == 6 == num_layers("resnet18")
    x = torch.rand(2, 1, 32, 32)
    assert torch.allclose(model(model.features(x, 3), 3), model(x), atol=1e-5)
    assert model(x).shape == (2, 4)


def test_pretrained_weights_offline_fail_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError, match="IMAGENET1K_V1.*checkpoints"):
        build_model("resnet18", 10, in_channels=3, input_size=224, weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="unknown ResNet-18 weights"):
        build_model("resnet18", 10, weights="IMAGENET9K")


def test_every_registered_architecture_builds_the_layers_it_declares():
    from tlkit.models import ARCHITECTURES

    assert {"cnn8", "resnet18"} <= set(ARCHITECTURES)
    for name, arch in ARCHITECTURES.items():
        model = build_model(name, 3, in_channels=1, input_size=32, width=4)
        assert model.layer_names == arch.layer_names, name
        assert model.num_layers == num_layers(name) == arch.num_layers
        assert model(torch.rand(2, 1, 32, 32)).shape == (2, 3)
