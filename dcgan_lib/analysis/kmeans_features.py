"""The paper's strongest classical baseline: single-layer K-means features (Coates, Lee & Ng 2011; Coates & Ng 2012).

1. Take random `patch`×`patch` patches from the (unlabelled) training images.
2. Normalise each patch's brightness and contrast: subtract its mean, divide by sqrt(variance + 10)
   (pixels in 0..255, as in the original code).
3. ZCA-whiten the patches (eigenvalues regularised by `zca_eps`).
4. Learn K centroids with K-means (scikit-learn).
5. Encode every patch of an image (stride 1) with the "triangle" activation
   f_k(x) = max(0, mean_j z_j − z_k), where z_k = ‖x − c_k‖: a centroid fires only when the patch is closer to it
   than to the average centroid, which gives sparse codes.
6. Sum-pool the codes over the four quadrants of the image: 4K features per image.

Table 1's "1 Layer K-means" row (80.6% on CIFAR-10) is this pipeline with K = 1,600 (4,800 in the table's
wider setting); a linear L2-SVM goes on top, as for the DCGAN features.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from dcgan_lib.core.memo import Remembered


def _to_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 images as float 0..255; float images in [-1, 1] mapped to 0..255."""
    return images.float() if images.dtype == torch.uint8 else (images.float() + 1) * 127.5


def _normalise(patches: torch.Tensor, eps: float) -> torch.Tensor:
    """Per-patch brightness and contrast normalisation of [..., D] patches."""
    mean = patches.mean(-1, keepdim=True)
    var = patches.var(-1, keepdim=True, unbiased=True)
    return (patches - mean) / (var + eps).sqrt()


class KMeansFeatures:
    """Coates & Ng's single-layer pipeline: fit on unlabelled images, then `transform` images to 4K features."""

    def __init__(self, n_centroids: int = 1600, patch: int = 6, n_patches: int = 100_000, norm_eps: float = 10.0,
                 zca_eps: float = 0.1, max_iter: int = 50, seed: int = 0, kmeans_threads: int | None = 1):
        self.k, self.patch, self.n_patches = n_centroids, patch, n_patches
        self.norm_eps, self.zca_eps, self.max_iter, self.seed = norm_eps, zca_eps, max_iter, seed
        self.kmeans_threads = kmeans_threads
        self.mean: torch.Tensor | None = None        # whitening mean [D]
        self.whiten: torch.Tensor | None = None      # ZCA matrix [D, D]
        self.centroids: torch.Tensor | None = None   # [K, D] in whitened space

    @property
    def n_features(self) -> int:
        """Features per image: K centroids × 4 quadrants."""
        return 4 * self.k

    def random_patches(self, images: torch.Tensor) -> torch.Tensor:
        """`n_patches` random patches [n_patches, C·patch²] (pixel scale), one random image and position each."""
        gen = torch.Generator().manual_seed(self.seed)
        n, c, h, w = images.shape
        p = self.patch
        idx = torch.randint(n, (self.n_patches,), generator=gen)
        ys = torch.randint(h - p + 1, (self.n_patches,), generator=gen)
        xs = torch.randint(w - p + 1, (self.n_patches,), generator=gen)
        offsets = torch.arange(p)
        rows = (ys[:, None] + offsets)[:, None, :, None]          # [P, 1, p, 1]
        cols = (xs[:, None] + offsets)[:, None, None, :]          # [P, 1, 1, p]
        chans = torch.arange(c)[None, :, None, None]              # [1, C, 1, 1]
        patches = _to_pixels(images[idx[:, None, None, None], chans, rows, cols])   # [P, C, p, p]
        return patches.flatten(1)                                  # channel-major, like F.unfold

    def fit(self, images: torch.Tensor) -> KMeansFeatures:
        """Learn the whitening and the K centroids from random patches of unlabelled `images` [N, C, H, W]."""
        from sklearn.cluster import KMeans

        x = _normalise(self.random_patches(images).double(), self.norm_eps)
        self.mean = x.mean(0)
        cov = torch.cov((x - self.mean).T)
        eigvals, eigvecs = torch.linalg.eigh(cov)
        self.whiten = (eigvecs @ torch.diag((eigvals.clamp(min=0) + self.zca_eps).rsqrt()) @ eigvecs.T).float()
        self.mean = self.mean.float()
        xw = ((x.float() - self.mean) @ self.whiten).numpy()
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.kmeans_threads):   # None: all cores; 1 avoids OpenMP spinning on a busy machine
            km = KMeans(self.k, n_init=1, max_iter=self.max_iter, random_state=self.seed).fit(xw)
        self.centroids = torch.as_tensor(km.cluster_centers_, dtype=torch.float32)
        return self

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Triangle codes of every patch (stride 1): [N, K, H−p+1, W−p+1]."""
        if self.centroids is None:
            raise RuntimeError("KMeansFeatures.encode called before fit")
        n, _, h, w = images.shape
        p = self.patch
        cols = F.unfold(_to_pixels(images), p).transpose(1, 2)        # [N, L, C·p²]
        x = (_normalise(cols, self.norm_eps) - self.mean) @ self.whiten
        c2 = self.centroids.pow(2).sum(1)
        z = (x.pow(2).sum(-1, keepdim=True) - 2 * x @ self.centroids.T + c2).clamp(min=0).sqrt()   # [N, L, K]
        codes = (z.mean(-1, keepdim=True) - z).clamp(min=0)
        return codes.transpose(1, 2).reshape(n, self.k, h - p + 1, w - p + 1)

    @torch.no_grad()
    def transform(self, images: torch.Tensor, batch_size: int = 128,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Quadrant sum-pooled triangle codes: [N, 4K] (K values for each of the four quadrants)."""
        out = torch.empty(len(images), self.n_features, dtype=dtype)
        for start in range(0, len(images), batch_size):
            codes = self.encode(images[start:start + batch_size])
            hh, ww = codes.shape[-2] // 2, codes.shape[-1] // 2
            quadrants = [codes[..., :hh, :ww], codes[..., :hh, ww:], codes[..., hh:, :ww], codes[..., hh:, ww:]]
            out[start:start + len(codes)] = torch.cat([q.sum((-2, -1)) for q in quadrants], 1).to(dtype)
        return out


def kmeans_features(images: dict[str, torch.Tensor], n_centroids: int, n_patches: int, seed: int = 0
                    ) -> dict[str, torch.Tensor]:
    """The K-means pipeline fitted on `images["train"]` alone, then every split's features (float16)."""
    kmeans = KMeansFeatures(n_centroids, n_patches=n_patches, seed=seed).fit(images["train"])
    return {split: kmeans.transform(x, dtype=torch.float16) for split, x in images.items()}


# kmeans_features through the store: the same images and sizes again (a rebuild) load the features.
stored_kmeans_features = Remembered("results/kmeans", kmeans_features, dict, dict)
