"""Datasets for the DCGAN reproduction: small generated stand-ins that work offline, and the paper's real datasets.

Offline datasets (``rooms``, ``faces``, ``objects10``, ``digits``) come back as an :class:`ImageDataset` of uint8
tensors, generated deterministically and cached under ``data_dir()/"generated"``. Real datasets (``mnist``,
``cifar10``, ``svhn``, ``celeba``, ``lsun``, ``folder``) come back as a ``torch.utils.data.Dataset`` of
``(image in [-1, 1], label)`` pairs with the paper's preprocessing (resize, centre crop, no augmentation).
"""
from __future__ import annotations

import difflib
import math
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from dcgan_lib.paths import data_dir as default_data_dir

__all__ = [
    "DATASETS", "OFFLINE_DATASETS", "REAL_DATASETS", "DatasetError", "ImageDataset", "TorchvisionImages",
    "check_channels", "load_dataset",
]

OFFLINE_DATASETS = ("rooms", "faces", "objects10", "digits")
REAL_DATASETS = ("mnist", "cifar10", "svhn", "celeba", "lsun", "folder")
DATASETS: tuple[str, ...] = OFFLINE_DATASETS + REAL_DATASETS
SPLITS = ("train", "test")
OFFLINE_SIZES = (32, 64)
REAL_SIZES = (32, 64, 128)
DEFAULT_N = 20000        # default size of a generated dataset
CANVAS = 64              # generated scenes are drawn at 64x64, then area-downsampled
CHUNK = 256              # images drawn at once (small chunks stay in cache: much faster)
CACHE_VERSION = 2        # bump when a generator changes, so stale caches are not reused

OBJECT_CLASSES = ["circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon", "crescent", "arrow"]
REAL_CHANNELS = {"mnist": 1, "cifar10": 3, "svhn": 3, "celeba": 3, "lsun": 3, "folder": 3}


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


def _as_index(index: Tensor | Sequence[int] | slice | int) -> Tensor | slice:
    """Turn an int, list or tensor into something that selects rows (keeping the batch dimension)."""
    if isinstance(index, slice):
        return index
    if isinstance(index, int):
        return torch.tensor([index])
    index = torch.as_tensor(index)
    return index if index.dtype == torch.bool else index.long()


# --------------------------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------------------------
def load_dataset(name: str, image_size: int = 64, n: int | None = None, split: str = "train", seed: int = 0,
                 data_dir: str | Path | None = None, download: bool = False) -> ImageDataset | torch.utils.data.Dataset:
    """Load dataset `name` at `image_size`: offline ones as a cached ImageDataset, real ones as a torch Dataset.

    `n` limits the number of images (generated sets default to 20000), `seed` picks the generated images, and
    `data_dir` overrides the cache folder (offline) or the dataset root (real, default ``data_dir()/name``).
    """
    name = _check_name(name)
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    if n is not None and (not isinstance(n, int) or n <= 0):
        raise DatasetError(f"n must be a positive number of images (or None for the default), got {n!r}")
    sizes = OFFLINE_SIZES if name in OFFLINE_DATASETS else REAL_SIZES
    if image_size not in sizes:
        raise DatasetError(f"unsupported image_size {image_size} for {name!r}: supported sizes are "
                           f"{', '.join(map(str, sizes))}")
    if name in OFFLINE_DATASETS:
        return _load_offline(name, image_size, n, split, seed, data_dir)
    return _load_real(name, image_size, n, split, data_dir, download)


def sample_images(dataset: ImageDataset | torch.utils.data.Dataset, n: int, seed: int = 0) -> Tensor:
    """n images drawn without replacement (all if n >= len), as float32 in [-1, 1], from either kind of dataset."""
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    if isinstance(dataset, ImageDataset):
        return dataset.as_float(order)
    return torch.stack([dataset[int(i)][0] for i in order])


def check_channels(dataset: ImageDataset | torch.utils.data.Dataset, nc: int) -> None:
    """Raise DatasetError when the dataset's number of channels differs from the models' `nc`."""
    channels = getattr(dataset, "channels", None)
    if channels is None or channels == nc:
        return
    name = getattr(dataset, "name", "dataset")
    problem = f"{name!r} has {channels} channel{'s' if channels > 1 else ''} but the models expect nc={nc}"
    if channels == 1:
        fix = "pass nc=1 to the models, or use a grayscale->RGB conversion (e.g. images.repeat(1, 3, 1, 1))"
    else:
        fix = f"pass nc={channels} to the models, or convert the images to grayscale first"
    raise DatasetError(f"{problem}: {fix}")


def _check_name(name: str) -> str:
    """Normalise a dataset name, or raise a DatasetError listing the known names and the closest match."""
    key = str(name).strip().lower()
    if key in DATASETS:
        return key
    close = difflib.get_close_matches(key, DATASETS, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}.{hint}")


# --------------------------------------------------------------------------------------------------------------------
# Offline datasets: generation + cache
# --------------------------------------------------------------------------------------------------------------------
def _derived_seed(name: str, split: str, seed: int) -> int:
    """A stable seed per (dataset, split, seed), so train and test never draw the same images."""
    return zlib.crc32(f"{name}/{split}/{seed}".encode())


def _load_offline(name: str, image_size: int, n: int | None, split: str, seed: int,
                  data_dir: str | Path | None) -> ImageDataset:
    """Load a generated dataset from the cache, generating and caching it on a miss."""
    if name == "digits":
        n_text = "all" if n is None else str(n)
    else:
        n = DEFAULT_N if n is None else n
        n_text = str(n)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    path = root / "generated" / f"{name}_{split}_{image_size}px_n{n_text}_seed{seed}_v{CACHE_VERSION}.pt"
    if path.exists():
        try:
            return _from_dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:   # a truncated or stale file: regenerate it below
            pass
    dataset = _GENERATORS[name](image_size, n, split, seed)
    _save_atomic(_to_dict(dataset), path)
    return dataset


def _to_dict(dataset: ImageDataset) -> dict:
    """Plain tensors, strings and lists only, so the file loads with weights_only=True."""
    return {"name": dataset.name, "images": dataset.images, "labels": dataset.labels,
            "class_names": dataset.class_names, "attributes": dataset.attributes, "boxes": dataset.boxes}


def _from_dict(d: dict) -> ImageDataset:
    return ImageDataset(d["name"], d["images"], d["labels"], d["class_names"], dict(d["attributes"]), dict(d["boxes"]))


def _save_atomic(obj: dict, path: Path) -> None:
    """torch.save to a temporary file next to `path`, then rename it, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes the file private; give it normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _generate(draw: Callable[[int, torch.Generator], tuple[Tensor, dict, dict]], name: str, image_size: int, n: int,
              split: str, seed: int) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Run `draw(batch, generator)` chunk by chunk at 64x64; downsample to `image_size` and quantise to uint8."""
    gen = torch.Generator().manual_seed(_derived_seed(name, split, seed))
    images, attrs, boxes = [], [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # many small ops: thread hand-offs cost more than they save (up to 10x on small VMs)
    try:
        for start in range(0, n, CHUNK):
            img, a, b = draw(min(CHUNK, n - start), gen)
            if image_size != CANVAS:
                img = F.avg_pool2d(img, CANVAS // image_size)          # area downsampling
            images.append(img.clamp_(0, 1).mul_(255).round_().to(torch.uint8))
            attrs.append(a)
            boxes.append(b)
    finally:
        torch.set_num_threads(threads)
    scale = image_size / CANVAS
    attributes = {k: torch.cat([a[k] for a in attrs]).float() for k in attrs[0]}
    box_dict = {k: (torch.cat([b[k] for b in boxes]) * scale).clamp(0, image_size).float() for k in boxes[0]}
    return torch.cat(images).contiguous(), attributes, box_dict


# ---- vectorised drawing helpers: every parameter is a [B] tensor, masks are [B, H, W] coverages in 0..1 ----------
_YS = torch.arange(CANVAS, dtype=torch.float32).view(1, CANVAS, 1)   # pixel top edges (rows)
_XS = torch.arange(CANVAS, dtype=torch.float32).view(1, 1, CANVAS)   # pixel left edges (columns)


def _c(v: Tensor | float) -> Tensor:
    """Per-image scalar [B] -> [B, 1, 1], ready to broadcast against the pixel grid."""
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
    cover_x = (torch.minimum(_c(x1), _XS + 1) - torch.maximum(_c(x0), _XS)).clamp(0, 1)
    cover_y = (torch.minimum(_c(y1), _YS + 1) - torch.maximum(_c(y0), _YS)).clamp(0, 1)
    return cover_x * cover_y


def _ellipse(cx: Tensor, cy: Tensor, rx: Tensor | float, ry: Tensor | float) -> Tensor:
    """Anti-aliased filled ellipses (approximate signed distance, one pixel of soft edge)."""
    rx, ry = _c(rx), _c(ry)
    rho = (((_XS + 0.5 - _c(cx)) / rx) ** 2 + ((_YS + 0.5 - _c(cy)) / ry) ** 2).sqrt()
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
    ramp = (torch.cos(_c(angle)) * (_XS - 32) + torch.sin(_c(angle)) * (_YS - 32)) / 32      # -1..1 across image
    light = _c(_uniform(gen, b, 0.88, 1.08)) + _c(_uniform(gen, b, 0.0, 0.08)) * ramp
    img.mul_(light[:, None])
    sigma = _uniform(gen, b, *noise).view(-1, 1, 1, 1)
    img.add_(sigma * torch.randn(img.shape, generator=gen))
    return img.clamp_(0, 1)


def _nan_boxes(present: Tensor, x0: Tensor, y0: Tensor, x1: Tensor, y1: Tensor) -> Tensor:
    """Boxes [B, 4] (x0, y0, x1, y1), NaN rows where the object is absent."""
    box = torch.stack([x0, y0, x1, y1], dim=1)
    return torch.where(present.bool()[:, None], box, torch.full_like(box, float("nan")))


# ---- rooms: a stand-in for LSUN bedrooms ---------------------------------------------------------------------------
WALL_COLOURS = [(0.93, 0.89, 0.80), (0.78, 0.86, 0.93), (0.80, 0.88, 0.78), (0.95, 0.82, 0.82), (0.82, 0.82, 0.84),
                (0.90, 0.80, 0.62), (0.70, 0.76, 0.70), (0.96, 0.94, 0.90)]
FLOOR_COLOURS = [(0.55, 0.38, 0.22), (0.68, 0.52, 0.34), (0.42, 0.30, 0.20), (0.50, 0.50, 0.52), (0.55, 0.25, 0.25),
                 (0.36, 0.42, 0.52)]
WOOD_COLOURS = [(0.40, 0.25, 0.13), (0.55, 0.37, 0.20), (0.28, 0.18, 0.10), (0.90, 0.88, 0.84), (0.20, 0.20, 0.22)]
BLANKET_COLOURS = [(0.80, 0.20, 0.20), (0.20, 0.35, 0.75), (0.25, 0.60, 0.35), (0.95, 0.75, 0.30),
                   (0.55, 0.30, 0.65), (0.95, 0.95, 0.95), (0.30, 0.70, 0.75), (0.85, 0.45, 0.60)]


def _draw_rooms(b: int, gen: torch.Generator) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Draw `b` bedrooms at 64x64: wall, floor, then door, windows, picture, lamp and bed."""
    u = lambda lo, hi: _uniform(gen, b, lo, hi)                            # noqa: E731
    horizon = u(26, 40).round()
    wall, _ = _choose(gen, WALL_COLOURS, b, 0.05)
    floor, _ = _choose(gen, FLOOR_COLOURS, b, 0.05)
    img = wall[:, :, None, None] * (0.92 + 0.1 * _YS / _c(horizon)).clamp(max=1.02)[:, None].expand(b, 3, -1, CANVAS)
    img = img.contiguous()
    depth = ((_YS - _c(horizon)) / (64 - _c(horizon))).clamp(0, 1)        # floor gets lighter toward the viewer
    floor_mask = _rect(torch.zeros(b), horizon, torch.full((b,), 64.0), torch.full((b,), 64.0))
    img.lerp_(floor[:, :, None, None] * (0.8 + 0.25 * depth[:, None]), floor_mask[:, None])
    _paint(img, _rect(torch.zeros(b), horizon - 1, torch.full((b,), 64.0), horizon), wall * 0.7)  # skirting board

    # Door, windows and picture hang on the wall in four horizontal slots (a random permutation per image).
    slot = torch.argsort(torch.rand(b, 4, generator=gen), dim=1).float() * 16
    zeros = torch.zeros(b)

    has_door = _bernoulli(gen, b, 0.5)
    w = u(9, 13)
    x0 = slot[:, 0] + 1.5 + u(0, 1) * (13 - w)
    top = horizon * u(0.12, 0.25)
    door_colour, _ = _choose(gen, WOOD_COLOURS, b, 0.05)
    _paint(img, _rect(x0 - 1, top - 1, x0 + w + 1, horizon) * _c(has_door), door_colour * 0.55)   # frame
    _paint(img, _rect(x0, top, x0 + w, horizon) * _c(has_door), door_colour)
    inset = (_rect(x0 + 2, top + 2, x0 + w - 2, top + 0.45 * (horizon - top))
             + _rect(x0 + 2, top + 0.55 * (horizon - top), x0 + w - 2, horizon - 2))
    _paint(img, inset * _c(has_door), door_colour * 0.85)                  # two panels
    knob_x = torch.where(torch.rand(b, generator=gen) < 0.5, x0 + 1.8, x0 + w - 1.8)
    _paint(img, _ellipse(knob_x, top + 0.55 * (horizon - top), 1.1, 1.1) * _c(has_door),
           torch.tensor([0.85, 0.70, 0.25]).expand(b, 3))
    door_box = _nan_boxes(has_door, x0 - 1, top - 1, x0 + w + 1, horizon)

    has_window = _bernoulli(gen, b, 0.5)
    n_windows = has_window * (1 + _bernoulli(gen, b, 0.4))
    w, h = u(10, 14), torch.minimum(u(9, 14), horizon - 8)
    top = 3 + u(0, 1) * (horizon - h - 6)
    frame, _ = _choose(gen, [(0.96, 0.96, 0.94), (0.45, 0.30, 0.18), (0.25, 0.25, 0.28)], b, 0.03)
    sky = torch.stack([u(0.45, 0.65), u(0.70, 0.85), u(0.90, 1.0)], dim=1)
    window_boxes = []
    for k in range(2):
        present = (n_windows > k).float()
        x0 = slot[:, 1 + k] + 1 + u(0, 1) * (14 - w)
        x1, y1 = x0 + w, top + h
        _paint(img, _rect(x0, top, x1, y1) * _c(present), frame)
        pane = _rect(x0 + 1.5, top + 1.5, x1 - 1.5, y1 - 1.5) * _c(present)
        img.lerp_(sky[:, :, None, None] * (0.85 + 0.2 * ((_YS - _c(top)) / _c(h)).clamp(0, 1))[:, None], pane[:, None])
        bars = (_rect(x0 + w / 2 - 0.5, top, x0 + w / 2 + 0.5, y1)
                + _rect(x0, top + h / 2 - 0.5, x1, top + h / 2 + 0.5)).clamp(max=1)
        _paint(img, bars * _c(present), frame)
        window_boxes.append(_nan_boxes(present, x0, top, x1, y1))

    has_picture = _bernoulli(gen, b, 0.5)
    w, h = u(8, 13), u(7, 11)
    x0 = slot[:, 3] + 1.5 + u(0, 1) * (13 - w)
    top = 4 + u(0, 1) * (horizon - h - 10)
    x1, y1 = x0 + w, top + h
    frame, _ = _choose(gen, [(0.15, 0.12, 0.10), (0.80, 0.65, 0.25), (0.95, 0.95, 0.95)], b, 0.03)
    sky_colour = torch.rand(b, 3, generator=gen) * 0.6 + 0.4
    land_colour = torch.rand(b, 3, generator=gen) * 0.7
    split = top + 1.5 + u(0.3, 0.7) * (h - 3)
    _paint(img, _rect(x0, top, x1, y1) * _c(has_picture), frame)
    _paint(img, _rect(x0 + 1.5, top + 1.5, x1 - 1.5, split) * _c(has_picture), sky_colour)
    _paint(img, _rect(x0 + 1.5, split, x1 - 1.5, y1 - 1.5) * _c(has_picture), land_colour)
    sun = _ellipse(x0 + 1.5 + u(0.2, 0.8) * (w - 3), top + 3, 1.3, 1.3) * _rect(x0 + 1.5, top + 1.5, x1 - 1.5, split)
    _paint(img, sun * _c(has_picture), torch.tensor([1.0, 0.9, 0.3]).expand(b, 3))
    picture_box = _nan_boxes(has_picture, x0, top, x1, y1)

    # Bed geometry first (the lamp stands beside it), drawn last because it is nearest to the viewer.
    has_bed = _bernoulli(gen, b, 0.85)
    bed_w = u(26, 40)
    bed_x0 = 1 + u(0, 1) * (62 - bed_w)
    bed_x1 = bed_x0 + bed_w
    bed_y1 = horizon + 12 + u(0, 1) * (62 - horizon - 12)
    mattress_h = u(5, 8)
    mattress_top = bed_y1 - 5 - mattress_h
    head_top = mattress_top - u(6, 10)
    head_left = torch.rand(b, generator=gen) < 0.5

    has_lamp = _bernoulli(gen, b, 0.5)
    left_space, right_space = bed_x0 * has_bed, (64 - bed_x1) * has_bed
    lamp_x = torch.where(left_space >= right_space, left_space / 2, bed_x1 + right_space / 2)
    lamp_x = torch.where(has_bed.bool(), lamp_x, u(8, 56)).clamp(6, 58) + u(-1.5, 1.5)
    lamp_y1 = torch.minimum(horizon + u(3, 12), torch.full((b,), 62.0))
    stand_h = u(14, 20)
    shade_y1 = lamp_y1 - stand_h
    shade_y0 = shade_y1 - u(5, 7)
    shade_half = u(4, 5.5)
    shade_colour = torch.stack([u(0.9, 1.0), u(0.75, 0.9), u(0.35, 0.6)], dim=1)
    dark = torch.tensor([0.18, 0.16, 0.15]).expand(b, 3)
    _paint(img, _rect(lamp_x - 0.6, shade_y1, lamp_x + 0.6, lamp_y1) * _c(has_lamp), dark)                  # stand
    _paint(img, _rect(lamp_x - 3, lamp_y1 - 1.5, lamp_x + 3, lamp_y1) * _c(has_lamp), dark)                  # base
    t = ((_YS + 0.5 - _c(shade_y0)) / _c(shade_y1 - shade_y0)).clamp(0, 1)      # shade: a trapezoid
    half = _c(shade_half) * (0.55 + 0.45 * t)
    shade = _soft(half - (_XS + 0.5 - _c(lamp_x)).abs()) * _rect(zeros, shade_y0, zeros + 64, shade_y1)
    _paint(img, shade * _c(has_lamp), shade_colour)
    lamp_box = _nan_boxes(has_lamp, lamp_x - shade_half, shade_y0, lamp_x + shade_half, lamp_y1)

    frame, _ = _choose(gen, WOOD_COLOURS, b, 0.05)
    blanket, _ = _choose(gen, BLANKET_COLOURS, b, 0.08)
    bed = _c(has_bed)
    head_x0 = torch.where(head_left, bed_x0, bed_x1 - 3)
    foot_x0 = torch.where(head_left, bed_x1 - 2, bed_x0)
    _paint(img, _rect(head_x0, head_top, head_x0 + 3, bed_y1) * bed, frame)                               # headboard
    _paint(img, _rect(foot_x0, mattress_top + 2, foot_x0 + 2, bed_y1) * bed, frame)                       # footboard
    _paint(img, (_rect(bed_x0 + 3, bed_y1 - 5, bed_x0 + 5, bed_y1) + _rect(bed_x1 - 5, bed_y1 - 5, bed_x1 - 3, bed_y1))
           .clamp(max=1) * bed, frame * 0.8)                                                              # legs
    _paint(img, _rect(bed_x0 + 2, bed_y1 - 6, bed_x1 - 2, bed_y1 - 4) * bed, frame * 0.9)                 # rail
    _paint(img, _rect(bed_x0 + 3, mattress_top, bed_x1 - 2, bed_y1 - 4.5) * bed, blanket)                 # blanket
    _paint(img, _rect(bed_x0 + 3, bed_y1 - 6.5, bed_x1 - 2, bed_y1 - 5.5) * bed, blanket * 0.75)          # fold
    pillow_x = torch.where(head_left, bed_x0 + 3.5, bed_x1 - 11.5)
    _paint(img, _ellipse(pillow_x + 4, mattress_top - 0.5, 4.2, 2.2) * bed,
           torch.stack([u(0.9, 1), u(0.9, 1), u(0.85, 1)], dim=1))                                          # pillow
    bed_box = _nan_boxes(has_bed, bed_x0, head_top, bed_x1, bed_y1)

    attributes = {"bed": has_bed, "window": has_window, "lamp": has_lamp, "door": has_door, "picture": has_picture,
                  "n_windows": n_windows}
    boxes = {"bed": bed_box[:, None], "window": torch.stack(window_boxes, dim=1), "lamp": lamp_box[:, None],
             "door": door_box[:, None], "picture": picture_box[:, None]}
    return _finish(img, gen), attributes, boxes


def _make_rooms(image_size: int, n: int, split: str, seed: int) -> ImageDataset:
    """Generated bedrooms with presence attributes and boxes for bed, windows, lamp, door and picture."""
    images, attributes, boxes = _generate(_draw_rooms, "rooms", image_size, n, split, seed)
    return ImageDataset("rooms", images, attributes=attributes, boxes=boxes)


# ---- faces: a stand-in for the paper's Faces dataset ---------------------------------------------------------------
SKIN_TONES = [(1.00, 0.87, 0.77), (0.96, 0.80, 0.66), (0.87, 0.68, 0.52), (0.74, 0.53, 0.38), (0.55, 0.38, 0.26),
              (0.40, 0.27, 0.18)]
HAIR_COLOURS = [(0.08, 0.07, 0.07), (0.27, 0.16, 0.08), (0.48, 0.30, 0.14), (0.90, 0.76, 0.42), (0.70, 0.27, 0.10),
                (0.65, 0.65, 0.66)]
BACKGROUNDS = [(0.70, 0.80, 0.90), (0.75, 0.88, 0.75), (0.88, 0.78, 0.85), (0.80, 0.80, 0.80), (0.60, 0.70, 0.60),
               (0.92, 0.90, 0.75), (0.45, 0.55, 0.70)]


def _draw_faces(b: int, gen: torch.Generator) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Draw `b` portraits at 64x64 with smile, glasses, long hair, yaw, hair colour and skin tone."""
    u = lambda lo, hi: _uniform(gen, b, lo, hi)                            # noqa: E731
    smile, glasses, long_hair = _bernoulli(gen, b, 0.5), _bernoulli(gen, b, 0.5), _bernoulli(gen, b, 0.5)
    yaw = u(-1, 1)
    background, _ = _choose(gen, BACKGROUNDS, b, 0.06)
    skin, skin_tone = _choose(gen, SKIN_TONES, b, 0.02)
    hair, hair_colour = _choose(gen, HAIR_COLOURS, b, 0.03)
    shirt = torch.rand(b, 3, generator=gen) * 0.8 + 0.1

    img = background[:, :, None, None] * (1.05 - 0.12 * _YS / 64)[:, None]
    img = img.expand(b, 3, CANVAS, CANVAS).contiguous()
    cx, cy = 32 + u(-3, 3), 29 + u(-2, 2)
    ry, rx0 = u(16, 18), u(12.5, 14)
    rx = rx0 * (1 - 0.28 * yaw.abs())                  # the oval narrows as the head turns
    fx = cx + 0.38 * rx0 * yaw                         # features shift toward the turned side

    _paint(img, _ellipse(cx, 64 + 6 + u(0, 2), u(24, 28), 15), shirt)                                    # shoulders
    long = _rect(cx - rx - 5, cy, cx + rx + 5, 58 + u(0, 3)).maximum(_ellipse(cx, cy - 1, rx + 5, ry + 3))
    _paint(img, long * _c(long_hair), hair)                                                          # long hair
    _paint(img, _rect(cx - 5, cy + ry - 6, cx + 5, 59), skin * 0.85)                                     # neck
    _paint(img, _ellipse(cx, cy, rx, ry), skin)                                                          # face
    hairline = cy - ry * u(0.35, 0.5)
    cap = _ellipse(cx, cy - 1.5, rx + 2, ry + 2.5) * _rect(cx - 40, cy - 40, cx + 40, hairline)
    _paint(img, cap, hair)                                                                               # hair on top

    eye_y = cy - 2 + u(-0.5, 0.5)
    spacing = 0.43 * rx0 * (1 - 0.25 * yaw.abs())
    white = torch.tensor([0.97, 0.97, 0.97]).expand(b, 3)
    dark = torch.tensor([0.08, 0.06, 0.06]).expand(b, 3)
    for side in (-1, 1):
        ex = fx + side * spacing
        _paint(img, _rect(ex - 2.5, eye_y - 5.5, ex + 2.5, eye_y - 4.3), hair * 0.8)                    # eyebrow
        _paint(img, _ellipse(ex, eye_y, 2.6, 1.7), white)
        _paint(img, _ellipse(ex + 0.9 * yaw, eye_y, 1.4, 1.4), dark)
        ring = (_ellipse(ex, eye_y, 4.6, 3.8) - _ellipse(ex, eye_y, 3.1, 2.4)).clamp(min=0)
        _paint(img, ring * _c(glasses), dark)                                                            # glasses
        temple_x0, temple_x1 = (cx - rx, ex - 4.4) if side < 0 else (ex + 4.4, cx + rx)
        _paint(img, _rect(temple_x0, eye_y - 1.3, temple_x1, eye_y - 0.3) * _c(glasses), dark)          # temples
    _paint(img, _rect(fx - spacing + 4.2, eye_y - 1, fx + spacing - 4.2, eye_y + 0.3) * _c(glasses), dark)  # bridge
    _paint(img, _ellipse(fx + 1.5 * yaw, cy + 4, 1.6, 2.8), skin * 0.78)                                  # nose

    mx, my = fx, cy + 9.5
    lips = torch.tensor([0.62, 0.16, 0.16]).expand(b, 3)
    grin = (_ellipse(mx, my, 5.6, 3.4) - _ellipse(mx, my - 2.2, 6.4, 2.8)).clamp(min=0)                # curved
    straight = _rect(mx - 4.5, my - 0.2, mx + 4.5, my + 1.4)
    _paint(img, grin * _c(smile) + straight * _c(1 - smile), lips)

    attributes = {"smile": smile, "glasses": glasses, "long_hair": long_hair, "yaw": yaw,
                  "hair_color": hair_colour.float(), "skin_tone": skin_tone.float()}
    return _finish(img, gen), attributes, {}


def _make_faces(image_size: int, n: int, split: str, seed: int) -> ImageDataset:
    """Generated portraits with binary (smile, glasses, long_hair) and continuous (yaw) attributes."""
    images, attributes, _ = _generate(_draw_faces, "faces", image_size, n, split, seed)
    return ImageDataset("faces", images, attributes=attributes)


# ---- objects10: a stand-in for CIFAR-10 ----------------------------------------------------------------------------
def _regular_polygon(u: Tensor, v: Tensor, sides: int, apothem: float) -> Tensor:
    """Signed distance (in shape units) to a regular polygon with one vertex pointing up: min over half-planes."""
    angles = [math.pi / 2 + math.pi / sides + 2 * math.pi * k / sides for k in range(sides)]
    return torch.stack([apothem - (u * math.cos(a) - v * math.sin(a)) for a in angles]).amin(0)


def _star(u: Tensor, v: Tensor, outer: float = 1.0, inner: float = 0.45) -> Tensor:
    """Five-pointed star: fold the angle into one spike, then a half-plane test against the spike's edge."""
    sector = 2 * math.pi / 5
    phi = torch.atan2(u, -v)                                     # 0 at the top tip
    phi = ((phi + sector / 2) % sector - sector / 2).abs()
    rho = (u * u + v * v).sqrt()
    px, py = rho * torch.cos(phi), rho * torch.sin(phi)
    ax, ay = outer, 0.0                                          # tip
    bx, by = inner * math.cos(sector / 2), inner * math.sin(sector / 2)   # inner corner
    ex, ey = bx - ax, by - ay
    length = math.hypot(ex, ey)
    return ((px - ax) * ey - (py - ay) * ex) / length         # positive on the centre's side of the edge


def _shape_distance(label: int, u: Tensor, v: Tensor) -> Tensor:
    """Signed distance (shape units, circumradius about 1, positive inside) of class `label` at local coords u, v."""
    rho = (u * u + v * v).sqrt()
    name = OBJECT_CLASSES[label]
    if name == "circle":
        return 0.9 - rho
    if name == "square":
        return 0.72 - torch.maximum(u.abs(), v.abs())
    if name == "triangle":
        return _regular_polygon(u, v + 0.15, 3, 0.5)
    if name == "star":
        return _star(u, v)
    if name == "cross":
        bar = lambda a, b: torch.minimum(0.95 - a.abs(), 0.3 - b.abs())     # noqa: E731
        return torch.maximum(bar(u, v), bar(v, u))
    if name == "ring":
        return torch.minimum(0.95 - rho, rho - 0.55)
    if name == "diamond":
        w, h = 0.55, 1.0
        return (w * h - (u.abs() * h + v.abs() * w)) / math.hypot(w, h)
    if name == "hexagon":
        return _regular_polygon(u, v, 6, 0.8)
    if name == "crescent":
        return torch.minimum(0.95 - rho, ((u - 0.45) ** 2 + (v + 0.15) ** 2).sqrt() - 0.75)
    if name == "arrow":
        shaft = torch.minimum(torch.minimum(u + 0.95, 0.15 - u), 0.22 - v.abs())
        head = torch.minimum(u - 0.1, (0.6 * (1.0 - u) - 0.9 * v.abs()) / math.hypot(0.6, 0.9))
        return torch.maximum(shaft, head)
    raise AssertionError(name)


def _draw_objects(b: int, gen: torch.Generator, labels: Tensor) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Draw one object of class `labels[i]` per image over textured, cluttered backgrounds."""
    u = lambda lo, hi: _uniform(gen, b, lo, hi)                            # noqa: E731
    # Background: a two-colour gradient in a random direction, stripes and noise.
    c0, c1 = torch.rand(b, 3, generator=gen), torch.rand(b, 3, generator=gen)
    angle = u(0, 2 * math.pi)
    t = ((torch.cos(_c(angle)) * (_XS - 32) + torch.sin(_c(angle)) * (_YS - 32)) / 45 + 0.5).clamp(0, 1)
    img = c0[:, :, None, None] + (c1 - c0)[:, :, None, None] * t[:, None]
    stripe_angle, freq = u(0, math.pi), u(0.2, 0.9)
    stripes = torch.sin(_c(freq) * (torch.cos(_c(stripe_angle)) * _XS + torch.sin(_c(stripe_angle)) * _YS)
                        + _c(u(0, 2 * math.pi)))
    stripe_colour = torch.rand(b, 3, generator=gen) - 0.5
    img = img + (_c(u(0, 0.35)) * stripes)[:, None] * stripe_colour[:, :, None, None]
    img = img + _c(u(0, 0.08))[:, None] * torch.randn(img.shape, generator=gen)

    # Distractors: small blobs and thin lines in random colours.
    for _ in range(4):
        r = u(1.5, 4)
        _paint(img, _ellipse(u(0, 64), u(0, 64), r, r * u(0.5, 1.5)) * _c(_bernoulli(gen, b, 0.8)),
               torch.rand(b, 3, generator=gen))
    for _ in range(2):
        x, y, a, length = u(0, 64), u(0, 64), u(0, math.pi), u(6, 16)
        along = torch.cos(_c(a)) * (_XS + 0.5 - _c(x)) + torch.sin(_c(a)) * (_YS + 0.5 - _c(y))
        across = -torch.sin(_c(a)) * (_XS + 0.5 - _c(x)) + torch.cos(_c(a)) * (_YS + 0.5 - _c(y))
        line = _soft(torch.minimum(_c(length) / 2 - along.abs(), 0.7 - across.abs()))
        _paint(img, line * _c(_bernoulli(gen, b, 0.7)), torch.rand(b, 3, generator=gen))

    # The object: random size, position, rotation and a colour that contrasts with the local background.
    radius = u(11, 22)
    cx, cy = radius + 2 + u(0, 1) * (60 - 2 * radius), radius + 2 + u(0, 1) * (60 - 2 * radius)
    rot = u(0, 2 * math.pi)
    dx, dy = _XS + 0.5 - _c(cx), _YS + 0.5 - _c(cy)
    uu = (torch.cos(_c(rot)) * dx + torch.sin(_c(rot)) * dy) / _c(radius)
    vv = (-torch.sin(_c(rot)) * dx + torch.cos(_c(rot)) * dy) / _c(radius)
    distance = torch.empty(b, CANVAS, CANVAS)
    for k in range(len(OBJECT_CLASSES)):
        rows = (labels == k).nonzero().squeeze(1)
        if len(rows):
            distance[rows] = _shape_distance(k, uu[rows], vv[rows])
    mask = _soft(distance * _c(radius))
    colour = torch.rand(b, 3, generator=gen)
    local = (img * mask[:, None]).sum((2, 3)) / mask.sum((1, 2)).clamp(min=1)[:, None]
    luma = torch.tensor([0.299, 0.587, 0.114])
    flip = ((colour - local) @ luma).abs() < 0.3
    colour = torch.where(flip[:, None], ((local @ luma < 0.5).float()[:, None] * 0.7 + 0.3 * colour), colour)
    shading = 1 + 0.15 * (uu * _c(u(-1, 1)) + vv * _c(u(-1, 1))).clamp(-1, 1)
    img.lerp_(colour[:, :, None, None] * shading[:, None], mask[:, None])
    boxes = {"object": torch.stack([cx - radius, cy - radius, cx + radius, cy + radius], dim=1)[:, None]}
    return _finish(img, gen, noise=(0.01, 0.04)), {}, boxes


def _make_objects10(image_size: int, n: int, split: str, seed: int) -> ImageDataset:
    """Generated ten-class shapes dataset with balanced labels (a CIFAR-10 stand-in)."""
    label_gen = torch.Generator().manual_seed(_derived_seed("objects10-labels", split, seed))
    labels = (torch.arange(n) % len(OBJECT_CLASSES))[torch.randperm(n, generator=label_gen)]
    chunks = iter(labels.split(CHUNK))
    draw = lambda b, gen: _draw_objects(b, gen, next(chunks))             # noqa: E731
    images, _, boxes = _generate(draw, "objects10", image_size, n, split, seed)
    return ImageDataset("objects10", images, labels=labels, class_names=list(OBJECT_CLASSES), boxes=boxes)


# ---- digits: scikit-learn's real 8x8 handwritten digits --------------------------------------------------------------
def _make_digits(image_size: int, n: int | None, split: str, seed: int) -> ImageDataset:
    """scikit-learn's 1,797 handwritten digits, bilinearly resized, with a fixed stratified 75/25 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    train_idx, test_idx = train_test_split(range(len(digits.target)), test_size=0.25, stratify=digits.target,
                                           random_state=0)
    idx = torch.tensor(train_idx if split == "train" else test_idx)
    if n is not None and n > len(idx):
        raise DatasetError(f"n={n} is more than the {len(idx)} images in the digits {split} split: pass n <= {len(idx)}"
                           f" or n=None for all of them")
    idx = idx if n is None else idx[:n]
    x = torch.tensor(digits.images, dtype=torch.float32)[idx, None] / 16.0
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    images = x.clamp(0, 1).mul(255).round().to(torch.uint8).contiguous()
    labels = torch.tensor(digits.target, dtype=torch.int64)[idx]
    return ImageDataset("digits", images, labels=labels, class_names=[str(d) for d in range(10)])


_GENERATORS: dict[str, Callable[[int, int | None, str, int], ImageDataset]] = {
    "rooms": _make_rooms, "faces": _make_faces, "objects10": _make_objects10, "digits": _make_digits,
}


# --------------------------------------------------------------------------------------------------------------------
# Real datasets through torchvision
# --------------------------------------------------------------------------------------------------------------------
class TorchvisionImages(torch.utils.data.Dataset):
    """(image float32 [C, H, W] in [-1, 1], label int) pairs from a torchvision dataset, first `n` items only."""

    def __init__(self, name: str, base: torch.utils.data.Dataset, image_size: int, channels: int,
                 n: int | None = None):
        self.name, self.base, self.image_size, self.channels = name, base, image_size, channels
        self.n = len(base) if n is None else n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} images")
        image, target = self.base[i]
        if isinstance(target, Tensor):
            target = target.reshape(-1)[0] if target.numel() else 0
        return image, int(target) if target is not None else 0


def _paper_transform(image_size: int, channels: int) -> Callable:
    """The DCGAN preprocessing: resize, centre crop, scale to [-1, 1]; no augmentation."""
    from torchvision import transforms

    return transforms.Compose([
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize([0.5] * channels, [0.5] * channels),
    ])


def _load_rgb_image(path: str) -> PIL.Image.Image:
    """Open an image file as an RGB PIL image, raising DatasetError (naming the file) if it cannot be read."""
    from PIL import Image

    try:
        with open(path, "rb") as f:
            return Image.open(f).convert("RGB")
    except Exception as err:      # PIL raises several error types for broken files
        raise DatasetError(f"cannot read image file {path}: {err}. Delete or replace this file and retry.") from None


def _is_empty(root: Path) -> bool:
    return not root.is_dir() or not any(root.iterdir())


def _load_real(name: str, image_size: int, n: int | None, split: str, data_dir: str | Path | None,
               download: bool) -> TorchvisionImages:
    """Build a torchvision dataset with the paper's preprocessing, turning setup failures into DatasetErrors."""
    import torchvision.datasets as tvd

    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir() / name
    channels = REAL_CHANNELS[name]
    transform = _paper_transform(image_size, channels)
    train = split == "train"

    if name == "lsun":
        try:
            import lmdb  # noqa: F401
        except ImportError:
            raise DatasetError("the lsun dataset needs the lmdb package: pip install lmdb") from None
        if download:
            raise DatasetError("torchvision cannot download LSUN: fetch bedroom_train_lmdb with the LSUN download "
                               f"script (github.com/fyu/lsun) and unzip it into {root}")
    if name == "folder":
        if split != "train":
            for sub in ("test", "val"):
                if (root / sub).is_dir():
                    root = root / sub
                    break
        elif (root / "train").is_dir():
            root = root / "train"
        if _is_empty(root):
            raise DatasetError(f"the folder dataset needs images in an ImageFolder layout (<root>/<class>/<image>) "
                               f"but {root} is missing or empty: pass data_dir=<your image folder> or copy the "
                               f"images there")
    elif not download and _is_empty(root):
        raise DatasetError(f"{name} data not found: looked in {root}. Pass download=True (needs internet) or copy the "
                           f"files there (or pass data_dir=<folder that holds them>)")
    if download:
        root.mkdir(parents=True, exist_ok=True)

    try:
        if name == "mnist":
            base = tvd.MNIST(str(root), train=train, transform=transform, download=download)
        elif name == "cifar10":
            base = tvd.CIFAR10(str(root), train=train, transform=transform, download=download)
        elif name == "svhn":
            base = tvd.SVHN(str(root), split=split, transform=transform, download=download)
        elif name == "celeba":
            base = tvd.CelebA(str(root), split=split, target_type="identity", transform=transform, download=download)
        elif name == "lsun":
            base = tvd.LSUN(str(root), classes=["bedroom_train" if train else "bedroom_val"], transform=transform)
        else:
            base = tvd.ImageFolder(str(root), transform=transform, loader=_load_rgb_image)
    except DatasetError:
        raise
    except Exception as err:   # missing/corrupt files, failed downloads, ... -> one clear message
        hint = "check your internet connection or copy the files there" if download else \
            "pass download=True (needs internet) or copy the files there"
        raise DatasetError(f"could not load {name} from {root}: {err}. Fix: {hint}") from None

    if n is not None and n > len(base):
        raise DatasetError(f"n={n} is more than the {len(base)} images of {name} ({split}): pass a smaller n")
    return TorchvisionImages(name, base, image_size, channels, n)
