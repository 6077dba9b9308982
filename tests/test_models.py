import pytest
import torch
from torch import nn

from dcgan_lib.models import Discriminator, Generator, count_parameters, generate, guideline_checks, sample_z


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_for_each_size(size):
    G, D = Generator(size, ngf=8), Discriminator(size, ndf=8)
    images = G(sample_z(3))
    assert images.shape == (3, 3, size, size)
    assert D(images).shape == (3,)
    features = D.features(images)
    assert [f.shape[-1] for f in features] == [size // 2 ** (i + 1) for i in range(len(features))]
    assert features[-1].shape[-1] == 4


def test_parameter_counts_match_the_reference_implementation():
    assert count_parameters(Generator(64, nz=100, ngf=64, nc=3)) == 3_576_704
    assert count_parameters(Discriminator(64, ndf=64, nc=3)) == 2_765_568


def test_batchnorm_without_scale_and_bias_has_fewer_parameters():
    G = Generator(64, ngf=64, bn_affine=False)
    assert count_parameters(G) == 3_576_704 - 2 * (512 + 256 + 128 + 64)
    assert all(not m.affine for m in G.modules() if isinstance(m, nn.BatchNorm2d))


def test_initialisation_statistics():
    torch.manual_seed(0)
    G, D = Generator(64), Discriminator(64)
    convs = torch.cat([m.weight.flatten() for m in list(G.modules()) + list(D.modules())
                       if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))])
    assert abs(convs.mean().item()) < 1e-3
    assert abs(convs.std().item() - 0.02) < 1e-3
    bn = [m for m in list(G.modules()) + list(D.modules()) if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight for m in bn]).detach()
    assert abs(scales.mean().item() - 1) < 5e-3 and abs(scales.std().item() - 0.02) < 5e-3
    assert all((m.bias == 0).all() for m in bn)


@pytest.mark.parametrize("size", [32, 64])
def test_every_guideline_holds(size):
    checks = guideline_checks(Generator(size, ngf=8), Discriminator(size, ndf=8))
    assert len(checks) == 9 and all(checks.values()), checks


def test_guideline_check_catches_a_violation():
    D = Discriminator(32, ndf=8)
    D.blocks[0].append(nn.BatchNorm2d(8))  # BatchNorm on D's input layer breaks a guideline
    G = Generator(32, ngf=8)
    G.blocks[1].append(nn.MaxPool2d(1))
    checks = guideline_checks(G, D)
    assert not checks["BatchNorm in every D layer but the input"]
    assert not checks["no pooling layers"]


def test_latent_priors():
    z = sample_z(10_000, 100, generator=torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.01
    n = sample_z(10_000, 100, prior="normal", generator=torch.Generator().manual_seed(0))
    assert abs(n.std() - 1) < 0.01
    with pytest.raises(ValueError, match="prior"):
        sample_z(2, prior="cauchy")


def test_unsupported_size_has_a_clear_message():
    with pytest.raises(ValueError, match="image_size=48 is not supported"):
        Generator(48)


def test_dropping_feature_maps_zeroes_them_everywhere():
    torch.manual_seed(0)
    G = Generator(32, ngf=8).eval()
    z = sample_z(4)
    _, features = G(z, return_features=True)
    _, dropped = G(z, drop={1: [0, 3]}, return_features=True)
    assert (dropped[1][:, [0, 3]] == 0).all()
    assert torch.equal(dropped[1][:, 1], features[1][:, 1])
    assert not torch.equal(G(z), G(z, drop={1: [0, 3]}))


def test_generate_is_deterministic_and_in_range():
    G = Generator(32, ngf=8)
    a, b = generate(G, 10, seed=3), generate(G, 10, seed=3)
    assert torch.equal(a, b) and a.shape == (10, 3, 32, 32)
    assert a.min() >= -1 and a.max() <= 1
