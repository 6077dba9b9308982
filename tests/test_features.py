import torch

from dcgan_lib.analysis.features import discriminator_features, feature_dim, layer_slices, pool_features
from dcgan_lib.models import Discriminator


def test_feature_dim_formula():
    assert feature_dim(32, 64) == (64 + 128 + 256) * 16 == 7168
    assert feature_dim(64, 64) == (64 + 128 + 256 + 512) * 16 == 15360
    assert feature_dim(32, 128) == 14336
    assert feature_dim(64, 32, layers=[3]) == 256 * 16


def test_pool_features_max_pools_each_layer_to_4x4():
    a = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8)
    b = torch.randn(2, 3, 4, 4)
    out = pool_features([a, b])
    assert out.shape == (2, 16 + 48)
    # the first pooled cell of `a` is the max of its top-left 2×2 window
    assert out[0, 0] == a[0, 0, :2, :2].max()
    assert torch.equal(out[:, 16:], b.flatten(1))  # a 4×4 layer is kept as it is


def test_discriminator_features_shape_dtype_and_values():
    torch.manual_seed(0)
    D = Discriminator(32, ndf=8)
    x = torch.rand(10, 3, 32, 32) * 2 - 1
    feats = discriminator_features(D, x, batch_size=4, dtype=torch.float32)
    assert feats.shape == (10, feature_dim(32, 8)) and torch.isfinite(feats).all()
    D.eval()
    expected = pool_features(D.features(x))
    assert torch.allclose(feats, expected, atol=1e-5)
    assert D.training is False or True
    # uint8 input gives the same as its float version; float16 storage by default
    u8 = ((x + 1) * 127.5).round().to(torch.uint8)
    half = discriminator_features(D, u8, batch_size=3)
    assert half.dtype == torch.float16
    assert torch.allclose(half.float(), discriminator_features(D, u8.float() / 127.5 - 1, dtype=torch.float32),
                          atol=1e-2, rtol=1e-2)
    # one layer's columns
    s = layer_slices(32, 8)
    assert [sl.stop - sl.start for sl in s] == [8 * 16, 16 * 16, 32 * 16]
    only_last = discriminator_features(D, x, layers=[2], dtype=torch.float32)
    assert torch.allclose(only_last, feats[:, s[2]], atol=1e-5)


def test_extraction_keeps_training_mode():
    D = Discriminator(32, ndf=8).train()
    discriminator_features(D, torch.zeros(2, 3, 32, 32))
    assert D.training
