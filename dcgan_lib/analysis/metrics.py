"""Measuring generated images: Fréchet distance in a judge's feature space, and nearest-neighbour distances."""
from __future__ import annotations

import os
import warnings

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance


class JudgeFeatures(nn.Module):
    """Wraps a judge as the `feature` module of torchmetrics' FrechetInceptionDistance."""

    def __init__(self, judge: nn.Module):
        super().__init__()
        self.judge = judge
        self.num_features = judge.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.judge.features(images.float())


class StandInFeatures(nn.Module):
    """A fixed, untrained stand-in for Inception's 2048 features (two seeded random convolutions, pooled): it
    exercises the Inception FID's code path where the weights cannot be downloaded (DCGAN_FID_STANDIN=1, as in
    the `full` smoke run). Its distances mean nothing about image quality."""

    num_features = 64

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 64, 4, 2, 1), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten())
        for p in self.net.parameters():
            p.data = torch.randn(p.shape, generator=generator) * 0.1

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.float()).double()


def inception_fid() -> FrechetInceptionDistance:
    """torchmetrics' Inception FID (its weights come from torch-fidelity's release, so the first call needs
    internet); with DCGAN_FID_STANDIN=1 and no weights to be had, the code path on stand-in features."""
    try:
        return FrechetInceptionDistance(feature=2048, normalize=True)
    except (OSError, RuntimeError) as err:        # urllib's URLError is an OSError
        if os.environ.get("DCGAN_FID_STANDIN") != "1":
            raise RuntimeError(f"the Inception FID needs the Inception weights, which could not be downloaded "
                               f"({err}): connect to the internet once (they are cached in ~/.cache/torch), or "
                               f"pass a judge to frechet_distance; DCGAN_FID_STANDIN=1 tests the code path on "
                               f"untrained stand-in features (meaningless numbers)") from None
        warnings.warn("Inception weights unavailable: DCGAN_FID_STANDIN=1 uses untrained stand-in features, the "
                      "Fréchet distances mean nothing", stacklevel=2)
        return FrechetInceptionDistance(feature=StandInFeatures(), normalize=True)


def fid_features(judge: nn.Module | None) -> str:
    """Which features `frechet_distance(..., judge)` will use: "judge", "Inception", or "stand-in" (meaningless
    numbers, DCGAN_FID_STANDIN=1). Called before training, it fails at once where Inception's weights are missing,
    not after hours; the name goes into the record beside every distance, so a stand-in figure is never taken for
    a real one."""
    if judge is not None:
        return "judge"
    return "stand-in" if isinstance(inception_fid().inception, StandInFeatures) else "Inception"


@torch.no_grad()
def frechet_distance(real: torch.Tensor, fake: torch.Tensor, judge: nn.Module | None = None,
                     batch_size: int = 500) -> float:
    """Fréchet distance between real and generated images (both in [-1, 1]) in the judge's feature space.

    With judge=None it is the standard Inception FID (`inception_fid`: the `torch-fidelity` weights, downloaded
    once).
    """
    if judge is not None:
        judge.eval()
        fid = FrechetInceptionDistance(feature=JudgeFeatures(judge), reset_real_features=True)
        fid = fid.to(next(judge.parameters()).device)
        prepare = lambda x: x  # noqa: E731 - the judge takes [-1, 1] floats
    else:
        fid = inception_fid()
        prepare = lambda x: ((x + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)  # noqa: E731
    device = fid.device
    for images, is_real in ((real, True), (fake, False)):
        for chunk in images.split(batch_size):
            fid.update(prepare(chunk.to(device)), real=is_real)
    return float(fid.compute())


@torch.no_grad()
def nearest_neighbour_distances(queries: torch.Tensor, references: torch.Tensor, batch_size: int = 256,
                                exclude_self: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query image, the L2 pixel distance to its nearest reference image and that image's index."""
    refs = references.flatten(1).float()
    ref_sq = (refs ** 2).sum(1)
    distances, indices = [], []
    for start in range(0, len(queries), batch_size):
        q = queries[start:start + batch_size].flatten(1).float()
        d2 = (q ** 2).sum(1, keepdim=True) - 2 * q @ refs.T + ref_sq
        if exclude_self:
            rows = torch.arange(len(q))
            d2[rows, rows + start] = float("inf")
        best, idx = d2.min(1)
        distances.append(best.clamp_min(0).sqrt())
        indices.append(idx)
    return torch.cat(distances), torch.cat(indices)
