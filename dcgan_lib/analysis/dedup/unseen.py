"""De-duplication against copies the hash was not trained for.

The book's autoencoder is corrupted in training by the kind of change chapter 03 plants (small shifts, noise, a
little brightness), so its recall on those copies is no evidence for others. Each transformation here makes one
copy of every image by a change the training never applied (a mirror image, a larger shift, a zoom, a blur, lower
resolution, grey, heavy JPEG, a brighter exposure), and `recall_per_transform` says, for each kind, how many of
those copies the hash still matches with their original within the radius.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from dcgan_lib.analysis.dedup.autoencoder import HashAutoencoder
from dcgan_lib.analysis.dedup.evaluation import jpeg_roundtrip, shifted
from dcgan_lib.analysis.dedup.hashes import hamming_distance, hash_images
from dcgan_lib.analysis.dedup.inputs import DedupError


def _as_uint8(x: Tensor) -> Tensor:
    return x.round().clamp(0, 255).to(torch.uint8)


def _shifted(x: Tensor, pixels: int = 4) -> Tensor:
    """Moved down and right by `pixels` (the border repeats the edge): twice the training's largest shift."""
    return _as_uint8(shifted(x, pixels, pixels))


def _zoomed(x: Tensor, fraction: float = 0.1) -> Tensor:
    """The centre (1 - fraction) of the image, scaled back up to its size."""
    h, w = x.shape[-2:]
    dy, dx = round(h * fraction / 2), round(w * fraction / 2)
    crop = x[..., dy:h - dy, dx:w - dx].float()
    return _as_uint8(F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False))


def _half_resolution(x: Tensor) -> Tensor:
    """Averaged down to half the size and scaled back up: the detail of a thumbnail."""
    small = F.avg_pool2d(x.float(), 2)
    return _as_uint8(F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False))


def _blurred(x: Tensor) -> Tensor:
    """A 3×3 box blur."""
    return _as_uint8(F.avg_pool2d(x.float(), 3, stride=1, padding=1, count_include_pad=False))


def _grey(x: Tensor) -> Tensor:
    """Luma (ITU-R 601) in every channel."""
    if x.shape[1] != 3:
        return x.clone()
    luma = (x.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return _as_uint8(luma.expand_as(x))


def _jpeg(x: Tensor, quality: int = 20) -> Tensor:
    """Re-encoded as JPEG at `quality` (the planted copies use 75 to 95)."""
    return torch.stack([jpeg_roundtrip(image, quality) for image in x])


def _brighter(x: Tensor, offset: float = 0.2) -> Tensor:
    """`offset` of the range added to every pixel (the training's brightness change is up to 0.05)."""
    return _as_uint8(x.float() + 255 * offset)


# Each kind of copy the hash never saw in training: a function from uint8 images [N, C, H, W] to their copies.
TRANSFORMS: dict[str, Callable[[Tensor], Tensor]] = {
    "mirrored": lambda x: x.flip(-1),
    "shifted 4 px": _shifted,
    "zoomed 10%": _zoomed,
    "half resolution": _half_resolution,
    "blurred 3×3": _blurred,
    "grey": _grey,
    "JPEG quality 20": _jpeg,
    "brighter by 20%": _brighter,
}


def recall_per_transform(images: Tensor, model: HashAutoencoder, radius: int,
                         transforms: dict[str, Callable[[Tensor], Tensor]] | None = None) -> dict[str, dict]:
    """For each kind of copy: the share of copies whose hash is within `radius` bits of their original's
    ("recall") and the median distance in bits. `images` are uint8 [N, C, H, W], none a copy of another."""
    if images.dtype != torch.uint8 or images.dim() != 4 or len(images) == 0:
        raise DedupError(f"images must be a non-empty uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    originals = hash_images(images, model, progress=False)
    found = {}
    for kind, transform in (transforms or TRANSFORMS).items():
        distance = hamming_distance(originals, hash_images(transform(images), model, progress=False))
        found[kind] = {"recall": (distance <= radius).float().mean().item(),
                       "median_bits": distance.float().median().item()}
    return found
