"""De-duplication, the evaluation: planted near-duplicates, the baselines, precision and recall over pairs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dcgan_lib.analysis.dedup.grouping import group_equal
from dcgan_lib.analysis.dedup.inputs import DedupError, iter_batches
from dcgan_lib.data.datasets import ImageDataset


@dataclass
class PlantedDuplicates:
    """A dataset with hidden near-copies: `images` (originals and copies, shuffled) and the true `groups`."""

    images: Tensor                   # uint8 [N + copies, C, H, W]
    groups: list[list[int]]          # each planted original with its copies (indices into `images`, sorted)
    source: Tensor                   # for every image, the index of the original image it comes from
    is_copy: Tensor                  # bool: True for the planted copies


def shifted(x: Tensor, dy: int, dx: int) -> Tensor:
    """Images [..., C, H, W] shifted by (dy, dx) pixels, the uncovered border filled by replicating the edge
    (float; one image or a batch)."""
    c, h, w = x.shape[-3:]
    p = max(abs(dy), abs(dx))
    if p == 0:
        return x
    padded = F.pad(x.float().reshape(-1, c, h, w), (p, p, p, p), mode="replicate")
    return padded[..., p - dy:p - dy + h, p - dx:p - dx + w].reshape(x.shape)


def near_copy(image: Tensor, generator: torch.Generator, max_shift: int = 2, noise_std: float = 0.02,
              max_brightness: float = 0.05, max_contrast: float = 0.05,
              jpeg_quality: tuple[int, int] = (75, 95)) -> Tensor:
    """One near-duplicate of a uint8 image [C, H, W]: shifted by up to `max_shift` px, either its brightness (± a
    fraction of the range) or its contrast (× 1 ± max_contrast) changed a little, Gaussian noise (std a fraction
    of the range) added, then re-encoded as JPEG at a random quality in `jpeg_quality`."""
    def uniform(a: float, b: float) -> float:
        return a + (b - a) * torch.rand((), generator=generator).item()

    dy, dx = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    x = shifted(image, dy, dx).float()
    if torch.rand((), generator=generator) < 0.5:
        x = x + 255 * uniform(-max_brightness, max_brightness)
    else:
        mean = x.mean()
        x = (x - mean) * uniform(1 - max_contrast, 1 + max_contrast) + mean
    x = x + 255 * noise_std * torch.randn(x.shape, generator=generator)
    x = x.round().clamp(0, 255).to(torch.uint8)
    quality = int(torch.randint(jpeg_quality[0], jpeg_quality[1] + 1, (), generator=generator))
    return jpeg_roundtrip(x, quality)


def jpeg_roundtrip(image: Tensor, quality: int) -> Tensor:
    """Encode a uint8 image [C, H, W] as JPEG at `quality` with PIL and decode it again."""
    import io

    from PIL import Image

    array = image.permute(1, 2, 0).numpy()
    pil = Image.fromarray(array[:, :, 0] if image.shape[0] == 1 else array)
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=quality)
    decoded = torch.from_numpy(np.array(Image.open(io.BytesIO(buffer.getvalue())))).clone()
    return decoded.unsqueeze(0) if decoded.dim() == 2 else decoded.permute(2, 0, 1).contiguous()


def plant_near_duplicates(images: Tensor, fraction: float = 0.1, max_copies: int = 3, seed: int = 0,
                          **copy_kwargs) -> PlantedDuplicates:
    """Give a `fraction` of the images 1 to `max_copies` near-copies each (see :func:`near_copy`), shuffle all
    images together, and return them with the ground-truth groups of duplicates."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise DedupError(f"images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    if len(images) == 0:
        raise DedupError("no images to plant duplicates in: the dataset is empty")
    gen = torch.Generator().manual_seed(seed)
    n = len(images)
    originals = torch.randperm(n, generator=gen)[:max(1, round(fraction * n))]
    n_copies = torch.randint(1, max_copies + 1, (len(originals),), generator=gen)
    source = torch.cat([torch.arange(n), originals.repeat_interleave(n_copies)])
    copies = [near_copy(images[i], gen, **copy_kwargs) for i in source[n:].tolist()]
    all_images = torch.cat([images, torch.stack(copies)])
    perm = torch.randperm(len(all_images), generator=gen)
    all_images, source = all_images[perm].contiguous(), source[perm]
    is_copy = perm >= n
    groups = group_equal(source.unsqueeze(1))
    return PlantedDuplicates(all_images, groups, source, is_copy)


def pair_precision_recall(found: Tensor, true: Tensor) -> dict[str, float]:
    """Precision (fraction of found pairs that are true) and recall (fraction of true pairs found), pairs [P, 2]."""
    def as_set(p: Tensor) -> set[tuple[int, int]]:
        p = torch.sort(p, dim=1).values if len(p) else p
        return set(map(tuple, p.tolist()))

    found_s, true_s = as_set(found), as_set(true)
    hits = len(found_s & true_s)
    return {"precision": hits / len(found_s) if found_s else 1.0, "recall": hits / len(true_s) if true_s else 1.0,
            "found": len(found_s), "true_pairs": len(true_s), "true_found": hits}


def pixel_hash_groups(images: Tensor | ImageDataset) -> list[list[int]]:
    """Baseline: groups of byte-for-byte identical images (catches exact copies only)."""
    images = images.images if isinstance(images, ImageDataset) else images
    return group_equal(images.reshape(len(images), -1))


@torch.no_grad()
def brute_force_pairs(images: Tensor | ImageDataset, max_distance: float, block: int = 1024) -> tuple[Tensor, Tensor]:
    """Baseline: every pair of images whose prepared 32×32 versions are within RMS pixel distance `max_distance`
    (in [-1, 1] units), by comparing all pairs: O(N²). Returns (pairs [P, 2] with i < j, their distances)."""
    images = images.images if isinstance(images, ImageDataset) else images
    x = torch.cat(list(iter_batches(images))).flatten(1)
    sq = (x ** 2).sum(1)
    pairs, dists = [], []
    for start in range(0, len(x), block):
        rows = x[start:start + block]
        d2 = (sq[start:start + block, None] - 2 * rows @ x[start:].T + sq[None, start:]).clamp_min_(0) / x.shape[1]
        d2.add_(torch.ones_like(d2).tril_() * 1e9)                       # keep j > i only
        i, j = torch.nonzero(d2 <= max_distance ** 2, as_tuple=True)
        pairs.append(torch.stack([i + start, j + start], 1))
        dists.append(d2[i, j].sqrt())
    return torch.cat(pairs), torch.cat(dists)
