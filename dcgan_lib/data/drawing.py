"""The drawing kit of the offline datasets (`scenes`): soft rectangles and ellipses over coordinate grids, random
parameters per image, painting with coverage masks. Every function works on a whole batch: each parameter is a [B]
tensor and each mask a [B, H, W] coverage in 0..1 on the 64×64 canvas."""
from __future__ import annotations

import math

import torch
from torch import Tensor

CANVAS = 64  # scenes are drawn at 64×64, then area-downsampled for 32×32

# ---- vectorised drawing helpers: every parameter is a [B] tensor, masks are [B, H, W] coverages in 0..1 ----------
_YS = torch.arange(CANVAS, dtype=torch.float32).view(1, CANVAS, 1)   # pixel top edges (rows)
_XS = torch.arange(CANVAS, dtype=torch.float32).view(1, 1, CANVAS)   # pixel left edges (columns)


def _each(v: Tensor | float) -> Tensor:
    """Each image's own value of a per-image scalar: [B] -> [B, 1, 1], ready to broadcast against the pixel grid."""
    return v.view(-1, 1, 1) if isinstance(v, Tensor) else torch.tensor(float(v)).view(1, 1, 1)


def _uniform(gen: torch.Generator, b: int, lo: float | Tensor, hi: float | Tensor) -> Tensor:
    return lo + (hi - lo) * torch.rand(b, generator=gen)


def _bernoulli(gen: torch.Generator, b: int, p: float) -> Tensor:
    return (torch.rand(b, generator=gen) < p).float()


def _choose(gen: torch.Generator, palette: list, b: int, jitter: float = 0.0) -> tuple[Tensor, Tensor]:
    """Pick a colour per image from `palette` (plus uniform jitter); returns colours [B, 3] and indices [B]."""
    idx = torch.randint(len(palette), (b,), generator=gen)
    colours = torch.tensor(palette, dtype=torch.float32)[idx]
    colours = colours + jitter * (2 * torch.rand(b, 3, generator=gen) - 1)
    return colours.clamp(0, 1), idx


def _rect(x0: Tensor, y0: Tensor, x1: Tensor, y1: Tensor) -> Tensor:
    """Exact area coverage of axis-aligned rectangles [x0, x1) x [y0, y1)."""
    cover_x = (torch.minimum(_each(x1), _XS + 1) - torch.maximum(_each(x0), _XS)).clamp(0, 1)
    cover_y = (torch.minimum(_each(y1), _YS + 1) - torch.maximum(_each(y0), _YS)).clamp(0, 1)
    return cover_x * cover_y


def _ellipse(cx: Tensor, cy: Tensor, rx: Tensor | float, ry: Tensor | float) -> Tensor:
    """Anti-aliased filled ellipses (approximate signed distance, one pixel of soft edge)."""
    rx, ry = _each(rx), _each(ry)
    rho = (((_XS + 0.5 - _each(cx)) / rx) ** 2 + ((_YS + 0.5 - _each(cy)) / ry) ** 2).sqrt()
    return ((1 - rho) * torch.minimum(rx, ry) + 0.5).clamp(0, 1)


def _soft(distance: Tensor) -> Tensor:
    """Coverage from a signed distance in pixels (positive inside)."""
    return (distance + 0.5).clamp(0, 1)


def _paint(img: Tensor, mask: Tensor, colour: Tensor) -> None:
    """In place: blend `colour` [B, 3] into `img` [B, 3, H, W] with coverage `mask` [B, H, W]."""
    img.lerp_(colour[:, :, None, None].expand_as(img), mask[:, None])


def _finish(img: Tensor, gen: torch.Generator, noise: tuple[float, float] = (0.01, 0.03)) -> Tensor:
    """Mild per-image lighting (brightness + a linear ramp) and per-pixel noise, so images are not flat."""
    b = img.shape[0]
    angle = _uniform(gen, b, 0, 2 * math.pi)
    ramp = (torch.cos(_each(angle)) * (_XS - 32) + torch.sin(_each(angle)) * (_YS - 32)) / 32      # -1..1 across image
    light = _each(_uniform(gen, b, 0.88, 1.08)) + _each(_uniform(gen, b, 0.0, 0.08)) * ramp
    img.mul_(light[:, None])
    sigma = _uniform(gen, b, *noise).view(-1, 1, 1, 1)
    img.add_(sigma * torch.randn(img.shape, generator=gen))
    return img.clamp_(0, 1)


def _nan_boxes(present: Tensor, x0: Tensor, y0: Tensor, x1: Tensor, y1: Tensor) -> Tensor:
    """Boxes [B, 4] (x0, y0, x1, y1), NaN rows where the object is absent."""
    box = torch.stack([x0, y0, x1, y1], dim=1)
    return torch.where(present.bool()[:, None], box, torch.full_like(box, float("nan")))
