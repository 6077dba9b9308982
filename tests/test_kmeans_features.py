import torch

from dcgan_lib.analysis.kmeans_features import KMeansFeatures


def test_pipeline_shapes_and_sparsity():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (30, 3, 16, 16), dtype=torch.uint8, generator=g)
    km = KMeansFeatures(n_centroids=8, patch=6, n_patches=2000, max_iter=20).fit(images)
    assert km.centroids.shape == (8, 108) and km.whiten.shape == (108, 108)
    codes = km.encode(images[:4])
    assert codes.shape == (4, 8, 11, 11) and (codes >= 0).all()
    assert (codes == 0).float().mean() > 0.2            # the triangle activation gives sparse codes
    feats = km.transform(images, batch_size=7)
    assert feats.shape == (30, km.n_features) == (30, 32) and torch.isfinite(feats).all()
    # quadrant pooling: the four quadrants add up to the sum over all positions
    total = codes.sum((-2, -1))
    assert torch.allclose(feats[:4].view(4, 4, 8).sum(1), total, rtol=1e-4)


def test_whitening_decorrelates_patches():
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (50, 1, 12, 12), dtype=torch.uint8, generator=g)
    images = torch.nn.functional.avg_pool2d(images.float(), 3, 1, 1).round().to(torch.uint8)  # correlated pixels
    km = KMeansFeatures(n_centroids=4, patch=4, n_patches=5000, zca_eps=1e-6, max_iter=5)
    km.fit(images)
    from dcgan_lib.analysis.kmeans_features import _normalise
    x = (_normalise(km.random_patches(images), km.norm_eps) - km.mean) @ km.whiten
    cov = torch.cov(x.T)
    # each patch has its mean removed, so one direction (the constant patch) has no variance: whitened, the
    # covariance is the identity on the other D-1 directions, I - 11ᵀ/D
    d = cov.shape[0]
    assert torch.allclose(cov, torch.eye(d) - torch.ones(d, d) / d, atol=0.05)


def test_float_images_equal_uint8():
    g = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (10, 3, 12, 12), dtype=torch.uint8, generator=g)
    km = KMeansFeatures(n_centroids=4, n_patches=500, max_iter=5).fit(images)
    a = km.transform(images)
    b = km.transform(images.float() / 127.5 - 1)
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-3)
