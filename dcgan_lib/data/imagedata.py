"""The in-memory dataset every offline dataset of the book is: uint8 images with labels, attributes and boxes.

It sits below dcgan_lib.data.datasets (which generates, caches and loads datasets) and the modules that build single
datasets (dcgan_lib.data.mnist5k), so that each of them can produce one without importing the other.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


class DatasetError(ValueError):
    """Bad dataset request; message names the problem and the fix."""


# --------------------------------------------------------------------------------------------------------------------
# The in-memory dataset
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class ImageDataset:
    """Images as uint8 [N, C, H, W] in 0..255, with optional labels, attributes and object boxes."""

    name: str
    images: Tensor
    labels: Tensor | None = None
    class_names: list[str] | None = None
    attributes: dict[str, Tensor] = field(default_factory=dict)
    boxes: dict[str, Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise DatasetError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_size(self) -> int:
        """Height (= width) of the images in pixels."""
        return self.images.shape[-1]

    @property
    def channels(self) -> int:
        """Number of colour channels (1 or 3)."""
        return self.images.shape[1]

    def as_float(self, index: Tensor | Sequence[int] | slice | int | None = None) -> Tensor:
        """The images (or only rows `index`) as float32 in [-1, 1], the range of the generator's tanh."""
        images = self.images if index is None else self.images[_as_index(index)]
        return images.float() / 127.5 - 1.0

    def subset(self, index: Tensor | Sequence[int] | slice | int) -> ImageDataset:
        """A dataset with the same fields, keeping only rows `index` (tensor, list or slice)."""
        index = _as_index(index)
        return ImageDataset(
            name=self.name,
            images=self.images[index].contiguous(),
            labels=None if self.labels is None else self.labels[index],
            class_names=self.class_names,
            attributes={k: v[index] for k, v in self.attributes.items()},
            boxes={k: v[index] for k, v in self.boxes.items()},
        )


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] as uint8 0..255 (rounded, clipped): how every dataset is kept in memory."""
    return images.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def _as_index(index: Tensor | Sequence[int] | slice | int) -> Tensor | slice:
    """Turn an int, list or tensor into something that selects rows (keeping the batch dimension)."""
    if isinstance(index, slice):
        return index
    if isinstance(index, int):
        return torch.tensor([index])
    index = torch.as_tensor(index)
    return index if index.dtype == torch.bool else index.long()
