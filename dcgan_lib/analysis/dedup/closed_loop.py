"""De-duplication, closed loop: what removing near-copies from a training set changes in what G draws.

The paper de-duplicates LSUN "to further decrease the likelihood of the generator memorizing input examples"
(§4.1.1). To see that effect, a small training set gets many near-copies of a few of its images
(:func:`loop_sets`); generators trained on it with the copies, after the hash's de-duplication, and after every
planted copy is removed are then compared by :func:`pull`: how close their samples sit to the training images
(chapter 02's memorisation ratio) and how many of them sit nearest one of the copied images.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dcgan_lib.analysis.dedup.autoencoder import HashAutoencoder
from dcgan_lib.analysis.dedup.evaluation import PlantedDuplicates, plant_near_duplicates
from dcgan_lib.analysis.dedup.pipeline import find_duplicates
from dcgan_lib.analysis.metrics import nearest_neighbour_distances


@dataclass
class LoopSets:
    """The closed loop's training sets (uint8 images) and what they hold."""

    originals: Tensor          # the small training set before any copy was planted
    copied: Tensor             # bool per original: it was given near-copies
    planted: PlantedDuplicates  # the originals with the copies, shuffled
    sets: dict[str, Tensor]    # "with copies", "hash de-duplicated", "copies removed": the images each G learns
    copies_left: dict[str, int]  # planted copies still in each set


def loop_sets(originals: Tensor, model: HashAutoencoder, radius: int, fraction: float, max_copies: int,
              seed: int = 0) -> LoopSets:
    """Give a `fraction` of `originals` (uint8 [N, C, H, W]) 1 to `max_copies` near-copies each, then make the
    three training sets: with the copies, de-duplicated by `model`'s hash at `radius`, and without any copy
    (what a hash of perfect recall would leave)."""
    planted = plant_near_duplicates(originals, fraction=fraction, max_copies=max_copies, seed=seed)
    found = find_duplicates(planted.images, model, radius=radius, progress=False)
    kept = torch.zeros(len(planted.images), dtype=torch.bool)
    kept[found.keep] = True
    keep = {"with copies": torch.ones_like(kept), "hash de-duplicated": kept, "copies removed": ~planted.is_copy}
    copied = torch.zeros(len(originals), dtype=torch.bool)
    copied[planted.source[planted.is_copy]] = True
    return LoopSets(originals, copied, planted, {name: planted.images[k] for name, k in keep.items()},
                    {name: int((k & planted.is_copy).sum()) for name, k in keep.items()})


def pull(samples: Tensor, originals: Tensor, copied: Tensor, real: Tensor) -> dict[str, float]:
    """How `samples` (float in [-1, 1]) sit against the `originals` (uint8), measured against new `real` images:
    the memorisation ratio (median distance to the nearest original, over that of the real images: below 1,
    closer than new real images are) and the share of samples, and of real images, nearest a copied original."""
    references = originals.float() / 127.5 - 1
    ours, ours_at = nearest_neighbour_distances(samples, references)
    theirs, theirs_at = nearest_neighbour_distances(real, references)
    return {"memorisation ratio": float(ours.median() / theirs.median()),
            "share nearest a copied image": float(copied[ours_at].float().mean()),
            "real images' share": float(copied[theirs_at].float().mean())}
