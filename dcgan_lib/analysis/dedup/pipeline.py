"""De-duplication, the whole pipeline: stream a dataset, hash it, group it, return what to remove."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from dcgan_lib.analysis.dedup.autoencoder import HashAutoencoder
from dcgan_lib.analysis.dedup.grouping import group_equal, groups_from_pairs, near_pairs, pairs_from_groups
from dcgan_lib.analysis.dedup.hashes import hash_images
from dcgan_lib.data.datasets import ImageDataset


@dataclass
class DedupResult:
    """Duplicates found in a dataset of `n` images."""

    n: int
    groups: list[list[int]]          # sets of duplicates (≥ 2 indices each, sorted; groups sorted by first index)
    keep: Tensor                     # indices to keep: every singleton and the first image of each group
    hashes: Tensor = field(repr=False)  # packed hashes, uint8 [n, code_size/8]
    pairs: Tensor = field(repr=False)   # the matched pairs [P, 2] (i < j) behind the groups
    radius: int = 0

    @property
    def remove(self) -> Tensor:
        """Indices of the images to drop (all but the first of each group)."""
        mask = torch.ones(self.n, dtype=torch.bool)
        mask[self.keep] = False
        return torch.nonzero(mask).flatten()


def find_duplicates(images: Tensor | ImageDataset | torch.utils.data.Dataset, model: HashAutoencoder,
                    radius: int = 0, batch_size: int = 2048, threshold: float | Tensor = 0.0,
                    value_range: tuple[float, float] = (-1.0, 1.0), num_workers: int | None = None,
                    progress: bool | None = None) -> DedupResult:
    """Find the near-duplicates in any image dataset with the semantic hash of `model`.

    Images are streamed in batches of `batch_size` (any size ≥ 32, RGB or grayscale, uint8 or float in
    `value_range`; see :func:`iter_batches`) and only their packed hashes are kept (16 bytes per image for a
    128-bit code), so millions of images fit in memory. With ``radius=0`` images are grouped by equal hashes (one
    sort); with ``radius > 0`` pairs within that Hamming distance are found by band matching and joined into
    groups (connected components).
    """
    hashes = hash_images(images, model, batch_size, threshold, value_range, num_workers, progress)
    n = len(hashes)
    if radius == 0:
        groups = group_equal(hashes)
        pairs = pairs_from_groups(groups)
    else:
        pairs, _ = near_pairs(hashes, radius, code_size=model.code_size)
        groups = groups_from_pairs(n, pairs)
    keep = torch.ones(n, dtype=torch.bool)
    for g in groups:
        keep[g[1:]] = False
    return DedupResult(n, groups, torch.nonzero(keep).flatten(), hashes, pairs, radius)


