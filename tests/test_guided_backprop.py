import torch
from torch import nn

from dcgan_lib.analysis.guided_backprop import (
    discriminator_features_guided,
    guided_backprop,
    guided_forward,
    positive_energy_fraction,
    top_activating,
)
from dcgan_lib.models import Discriminator


def _tiny(act: nn.Module) -> nn.Sequential:
    """x (2) -> Linear(3) -> act -> Linear(1), with weights chosen so every gate case occurs."""
    net = nn.Sequential(nn.Linear(2, 3, bias=False), act, nn.Linear(3, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[2.0, 1.0], [1.0, 3.0], [1.0, 0.0]]))
        net[2].weight.copy_(torch.tensor([[-1.0, 1.0, 2.0]]))
    return net


def _grad(net, x, **kwargs):
    x = x.clone().requires_grad_(True)
    guided_forward(net, x, **kwargs).sum().backward()
    return x.grad


def test_guided_relu_matches_hand_computation():
    # x = (1, -1): pre-activations (1, -2, 1), ReLU gate (1, 0, 1); gradient from above (-1, 1, 2).
    net, x = _tiny(nn.ReLU()), torch.tensor([[1.0, -1.0]])
    # plain backprop: W1^T [(-1)(1), (1)(0), (2)(1)] = -1*(2, 1) + 2*(1, 0) = (0, -1)
    x_plain = x.clone().requires_grad_(True)
    net(x_plain).sum().backward()
    assert torch.allclose(x_plain.grad, torch.tensor([[0.0, -1.0]]))
    # guided: also drop the negative gradient (-1) -> (0, 0, 2) -> W1^T = (2, 0)
    assert torch.allclose(_grad(net, x), torch.tensor([[2.0, 0.0]]))


def test_guided_leaky_relu_gates():
    net, x = _tiny(nn.LeakyReLU(0.2)), torch.tensor([[1.0, -1.0]])
    # derivative gate: (0, 0.2·1, 2) -> 0.2·(1, 3) + 2·(1, 0) = (2.2, 0.6)
    assert torch.allclose(_grad(net, x), torch.tensor([[2.2, 0.6]]))
    # relu gate: the negative side is closed, as for a ReLU
    assert torch.allclose(_grad(net, x, leaky_gate="relu"), torch.tensor([[2.0, 0.0]]))
    # the forward pass is the network's own
    assert torch.allclose(guided_forward(net, x), net(x))


def test_gating_applies_at_every_layer():
    # two stacked rectifiers: a negative gradient reaching the lower one is dropped there too
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 1, bias=False), nn.ReLU(),
                        nn.Linear(1, 1, bias=False))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[2].weight.fill_(1.0)
        net[4].weight.fill_(-1.0)
    assert torch.allclose(_grad(net, torch.tensor([[1.0]])), torch.zeros(1, 1))


def test_discriminator_guided_features_equal_features_and_maps_have_image_shape():
    torch.manual_seed(0)
    D = Discriminator(32, ndf=8).eval()
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    for a, b in zip(discriminator_features_guided(D, x), D.features(x)):
        assert torch.allclose(a, b, atol=1e-6)
    maps = guided_backprop(D, x, layer=-1, channel=3)
    assert maps.shape == x.shape and torch.isfinite(maps).all() and maps.abs().sum() > 0
    # per-image channels, and "max" backpropagates one position only
    maps2 = guided_backprop(D, x, layer=-1, channel=torch.tensor([3, 3, 3, 3, 3]))
    assert torch.allclose(maps, maps2)


def test_top_activating_returns_best_images_first():
    torch.manual_seed(0)
    D = Discriminator(32, ndf=8).eval()
    x = torch.rand(40, 3, 32, 32) * 2 - 1
    top = top_activating(D, x, layer=-1, channels=[0, 1], k=3, batch_size=16)
    peaks = D.features(x)[-1][:, :2].flatten(2).amax(2)
    assert top.shape == (2, 3)
    assert torch.equal(top[0], peaks[:, 0].topk(3).indices)


def test_positive_energy_fraction():
    maps = torch.zeros(2, 3, 4, 4)
    maps[0, 0, 0, 0] = 2.0      # energy 4 inside
    maps[0, 1, 3, 3] = 1.0      # energy 1 outside
    maps[0, 2, 1, 1] = -5.0     # negative: ignored
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, 0, 0] = True
    frac = positive_energy_fraction(maps, masks)
    assert torch.isclose(frac[0], torch.tensor(0.8)) and torch.isnan(frac[1])
