"""Measuring generated images: Fréchet distance in a judge's feature space, and nearest-neighbour distances."""
from __future__ import annotations

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


@torch.no_grad()
def frechet_distance(real: torch.Tensor, fake: torch.Tensor, judge: nn.Module | None = None,
                     batch_size: int = 500) -> float:
    """Fréchet distance between real and generated images (both in [-1, 1]) in the judge's feature space.

    With judge=None it is the standard Inception FID (needs the `torch-fidelity` weights, i.e. internet).
    """
    if judge is not None:
        judge.eval()
        fid = FrechetInceptionDistance(feature=JudgeFeatures(judge), reset_real_features=True)
        fid = fid.to(next(judge.parameters()).device)
        prepare = lambda x: x  # noqa: E731 - the judge takes [-1, 1] floats
    else:
        fid = FrechetInceptionDistance(feature=2048, normalize=True)
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
