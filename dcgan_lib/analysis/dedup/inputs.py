"""De-duplication, the input: any images -> the paper's 32×32 RGB centre crops in [-1, 1], streamed in batches."""
from __future__ import annotations

import os
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from dcgan_lib.data.datasets import ImageDataset

INPUT_SIZE = 32                    # the paper's 32×32 downsampled centre crops
INPUT_DIM = 3 * INPUT_SIZE ** 2    # 3072


class DedupError(ValueError):
    """A bad de-duplication request (empty dataset, images too small, ...); the message names the fix."""


def prepare_images(images: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Images of any size ≥ 32 (uint8 in 0..255, or float in `value_range`) → float [N, 3, 32, 32] in [-1, 1].

    Takes the centre square crop, downsamples it to 32×32 (area average when the size is a multiple of 32,
    antialiased bilinear otherwise) and repeats a single grayscale channel three times. Accepts [N, C, H, W],
    [C, H, W] (one image) or [N, H, W] (grayscale) tensors.
    """
    if not isinstance(images, Tensor):
        raise DedupError(f"expected a tensor of images, got {type(images).__name__}")
    if images.dim() == 3:
        images = images.unsqueeze(0) if images.shape[0] in (1, 3) else images.unsqueeze(1)
    if images.dim() != 4:
        raise DedupError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if n == 0:
        raise DedupError("no images to hash: the dataset is empty")
    if c not in (1, 3):
        raise DedupError(f"images must have 1 (grayscale) or 3 (RGB) channels, got {c}: convert them first "
                         f"(e.g. drop an alpha channel with images[:, :3])")
    if min(h, w) < INPUT_SIZE:
        raise DedupError(f"images of {h}×{w} pixels are smaller than the autoencoder's {INPUT_SIZE}×{INPUT_SIZE} "
                         f"input: upsample them first (e.g. torch.nn.functional.interpolate(x, size={INPUT_SIZE}))")
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = images[:, :, top:top + s, left:left + s]
    if images.dtype == torch.uint8:
        lo, hi = 0.0, 255.0
    elif images.is_floating_point():
        lo, hi = value_range
    else:
        raise DedupError(f"images must be uint8 or floating point, got {images.dtype}")
    if s % INPUT_SIZE == 0:
        k = s // INPUT_SIZE
        x = _block_mean_uint8(x, k) if images.dtype == torch.uint8 and k > 1 else \
            (F.avg_pool2d(x.float(), k) if k > 1 else x.float())
    else:
        x = x.float()
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
    x = x.mul_(2.0 / (hi - lo)).sub_(2.0 * lo / (hi - lo) + 1.0)
    return x.expand(-1, 3, -1, -1) if c == 1 else x


def _block_mean_uint8(x: Tensor, k: int) -> Tensor:
    """Mean of each k×k block of uint8 images, by integer additions of strided views: several times faster on a
    CPU than converting every pixel to float and average-pooling (the hashing pipeline's bottleneck)."""
    acc = torch.int16 if k * k * 255 <= torch.iinfo(torch.int16).max else torch.int32
    x = x.to(acc)
    rows = sum(x[:, :, i::k, :] for i in range(k))
    blocks = sum(rows[:, :, :, j::k] for j in range(k))
    return blocks.float().div_(k * k)


def _item_to_tensor(item) -> Tensor:
    """One dataset item ((image, label) or image; tensor or PIL) → a [C, H, W] tensor."""
    if isinstance(item, (tuple, list)):
        item = item[0]
    if isinstance(item, Tensor):
        return item
    try:
        from PIL import Image
        if isinstance(item, Image.Image):
            from torchvision.transforms.functional import pil_to_tensor
            return pil_to_tensor(item.convert("RGB") if item.mode not in ("L", "RGB") else item)
    except ImportError:  # pragma: no cover - PIL comes with torchvision
        pass
    raise DedupError(f"dataset items must be image tensors or PIL images (or (image, label) pairs), "
                     f"got {type(item).__name__}")


class _PrepareCollate:
    """collate_fn for DataLoader: prepare every item on its own (sizes may differ), then stack (picklable)."""

    def __init__(self, value_range: tuple[float, float]):
        self.value_range = value_range

    def __call__(self, items: list) -> Tensor:
        return torch.cat([prepare_images(_item_to_tensor(it), self.value_range) for it in items])


def iter_batches(images: Tensor | ImageDataset | torch.utils.data.Dataset, batch_size: int = 2048,
                 value_range: tuple[float, float] = (-1.0, 1.0), num_workers: int | None = None) -> Iterator[Tensor]:
    """Stream a dataset as prepared batches ([B, 3, 32, 32] in [-1, 1]); only one batch is in memory at a time.

    `images` is a tensor ([N, C, H, W], uint8 or float in `value_range`), an :class:`ImageDataset`, or any torch
    Dataset whose items are images or (image, label) pairs (tensors or PIL images, e.g. torchvision's
    ImageFolder, LSUN or MNIST); those are read through a DataLoader with `num_workers` processes (default: up
    to 4, one per core).
    """
    n = _length(images)
    if isinstance(images, ImageDataset):
        images = images.images
    if isinstance(images, Tensor):
        for start in range(0, n, batch_size):
            yield prepare_images(images[start:start + batch_size], value_range)
        return
    if num_workers is None:
        num_workers = min(4, os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                                         collate_fn=_PrepareCollate(value_range))
    yield from loader


def _length(images) -> int:
    try:
        n = len(images)
    except TypeError:
        raise DedupError(f"the dataset must have a length (a tensor, ImageDataset or map-style torch Dataset), "
                         f"got {type(images).__name__}") from None
    if n == 0:
        raise DedupError("no images to hash: the dataset is empty")
    return n


