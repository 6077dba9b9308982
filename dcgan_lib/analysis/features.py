"""The paper's discriminator features for classification (§5.1): every layer of D, max-pooled to 4×4, concatenated.

"We use the discriminator's convolutional features from all layers, maxpooling each layers representation to
produce a 4×4 spatial grid. These features are then flattened and concatenated." With D's layers of
``ndf·2^i`` maps (i = 0 … L-1, L = 3 at 32×32, 4 at 64×64), an image gives ``16 · ndf · (2^L - 1)`` numbers.

Features are written chunk by chunk into a preallocated tensor (float16 by default: half the memory, and
exact enough for a linear classifier), so CIFAR-10-sized sets never hold more than one batch of activations.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lib.core.runtime import evaluating
from dcgan_lib.models.dcgan import num_layers


def layer_widths(image_size: int, ndf: int) -> list[int]:
    """Feature maps of each of D's hidden layers (e.g. 64, 128, 256, 512 at 64×64 with ndf=64)."""
    return [ndf * 2 ** i for i in range(num_layers(image_size))]


def feature_dim(image_size: int, ndf: int, grid: int = 4, layers: Sequence[int] | None = None) -> int:
    """Length of the concatenated max-pooled feature vector of a D built for `image_size` with width `ndf`."""
    widths = layer_widths(image_size, ndf)
    layers = range(len(widths)) if layers is None else layers
    return sum(widths[i] for i in layers) * grid * grid


def pool_features(activations: Sequence[torch.Tensor], grid: int = 4) -> torch.Tensor:
    """Max-pool each [N, C, H, W] activation to [N, C, grid, grid] (non-overlapping windows when H is a multiple
    of `grid`), flatten and concatenate: [N, Σ C·grid²]."""
    return torch.cat([F.adaptive_max_pool2d(a, grid).flatten(1) for a in activations], dim=1)


@torch.no_grad()
def discriminator_features(D: nn.Module, images: torch.Tensor, grid: int = 4, layers: Sequence[int] | None = None,
                           batch_size: int = 256, dtype: torch.dtype = torch.float16,
                           device: torch.device | str | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's feature vector for every image: D's layers (all, or `layers`) max-pooled to grid×grid.

    `images` are float in [-1, 1] or uint8 (converted per batch, so a uint8 set of 50,000 images never exists
    in float). D runs in eval mode (BatchNorm with its running statistics), on `device` (default: D's). Returns a
    CPU tensor [N, dim] of `dtype`, or fills `out` (e.g. a memory-mapped tensor) and returns it.
    """
    device = torch.device(device) if device is not None else next(D.parameters()).device
    n = len(images)
    chosen = None if layers is None else list(layers)
    with evaluating(D):
        for start in range(0, n, batch_size):
            x = images[start:start + batch_size].to(device)
            x = x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()
            acts = D.features(x)
            acts = acts if chosen is None else [acts[i] for i in chosen]
            chunk = pool_features(acts, grid)
            if out is None:
                out = torch.empty(n, chunk.shape[1], dtype=dtype)
            out[start:start + len(chunk)] = chunk.to("cpu", out.dtype)
    return out


def layer_slices(image_size: int, ndf: int, grid: int = 4) -> list[slice]:
    """Columns of the concatenated feature vector that come from each layer (to drop or study one layer)."""
    slices, start = [], 0
    for width in layer_widths(image_size, ndf):
        slices.append(slice(start, start + width * grid * grid))
        start += width * grid * grid
    return slices
