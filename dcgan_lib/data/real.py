"""The paper's real datasets (MNIST, CIFAR-10, SVHN, CelebA, LSUN bedrooms, any image folder) with the paper's
preprocessing, and setup failures turned into messages that name the fix. torchvision downloads them; the
library reads MNIST, CIFAR-10, SVHN, CelebA and LSUN itself (`formats`), image folders through torchvision."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from PIL import Image
from torch import Tensor

from dcgan_lib.core.paths import real_data_root
from dcgan_lib.data.folders import (
    HELD_OUT_PERCENT,
    FolderScan,
    is_heif,
    open_image,
    outside_splits,
    scan_folder,
    split_folders,
    split_root,
    split_scan,
)
from dcgan_lib.data.formats import (
    ArrayImages,
    FileImages,
    LmdbImages,
    celeba_files,
    read_cifar10,
    read_mnist,
    read_svhn,
)
from dcgan_lib.data.imagedata import DatasetError
from dcgan_lib.data.specs import DATASET_SPECS


class TorchvisionImages(torch.utils.data.Dataset):
    """(image float32 [C, H, W] in [-1, 1], label int) pairs from a torchvision dataset; with `n`, a fixed random
    subset of n items (the same on every call and machine, in file order): the first n of a folder sorted by
    class would all be of its first classes."""

    def __init__(self, name: str, base: torch.utils.data.Dataset, image_size: int, channels: int,
                 n: int | None = None):
        self.name, self.base, self.image_size, self.channels = name, base, image_size, channels
        self.n = len(base) if n is None else n
        self.index = None if self.n >= len(base) else \
            torch.randperm(len(base), generator=torch.Generator().manual_seed(0))[:self.n].sort().values.tolist()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} images")
        image, target = self.base[i if self.index is None else self.index[i]]
        if isinstance(target, Tensor):
            target = target.reshape(-1)[0] if target.numel() else 0
        return image, int(target) if target is not None else 0


def paper_transform(image_size: int, channels: int) -> Callable:
    """The DCGAN preprocessing: resize, centre crop, scale to [-1, 1]; no augmentation."""
    from torchvision import transforms

    return transforms.Compose([
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize([0.5] * channels, [0.5] * channels),
    ])


class _ImageLoader:
    """Open an image file as an 8-bit RGB PIL image in any mode (`folders.open_image`), raising DatasetError
    (naming the file) if it cannot be read or is so small that it would be blown up more than twice to the
    training size (a picklable callable, so that DataLoader workers can use it)."""

    def __init__(self, image_size: int = 0):
        self.min_side = image_size // 2

    def __call__(self, path: str) -> Image.Image:
        try:
            image = open_image(path)
        except PermissionError as err:
            raise DatasetError(f"cannot read image file {path}: {err.strerror}: fix the permissions of the file or "
                               f"its folder (e.g. chmod -R u+rX on the folder), then retry.") from None
        except Image.DecompressionBombError:
            limit = 2 * Image.MAX_IMAGE_PIXELS / 1e6
            raise DatasetError(f"image file {path} is larger than PIL's safety limit of {limit:.0f} megapixels: "
                               f"downscale it, or remove it.") from None
        except Exception as err:      # PIL raises several error types for broken files
            if is_heif(Path(path)):
                raise DatasetError(f"image file {path} is a HEIC photo with another file name ending: convert it to "
                                   f"JPEG (e.g. with heif-convert or the Photos app), or remove it.") from None
            raise DatasetError(f"cannot read image file {path}: {err}. Delete or replace this file and retry "
                               f"(dcgan-data check lists every unreadable file).") from None
        if min(image.size) < self.min_side:
            smaller = "" if self.min_side <= 16 else ", or load the folder at a smaller image_size"
            raise DatasetError(f"image file {path} is {image.size[0]}×{image.size[1]} pixels: it would be blown up "
                               f"more than twice to {2 * self.min_side}×{2 * self.min_side}. Remove it{smaller}.")
        return image


# What each real dataset's folder holds at its top, as torchvision lays it out.
TOP_ENTRIES = {"mnist": "MNIST", "cifar10": "cifar-10-batches-py", "svhn": "train_32x32.mat", "celeba": "celeba",
               "lsun": "bedroom_train_lmdb"}


def layout_problem(name: str, root: Path) -> str | None:
    """What is wrong with a real dataset's folder that holds its files in another layout, with the fix: a folder
    one level too deep, an archive not yet unpacked, CelebA's files without their celeba/ folder, MNIST's files
    loose (None when the expected top entry is there, or nothing is recognised)."""
    top = TOP_ENTRIES[name]
    if (root / top).exists():
        return None
    if root.name == top or (name == "mnist" and root.name == "raw" and root.parent.name == "MNIST"):
        parent = root.parent.parent if root.name == "raw" else root.parent
        return f"{root} is the {name} data's own folder: pass the folder that holds it, {parent}"
    if name == "cifar10" and (root / "cifar-10-python.tar.gz").is_file():
        return f"{root} holds cifar-10-python.tar.gz still packed: unpack it there (tar xzf cifar-10-python.tar.gz)"
    if name == "celeba" and any((root / f).exists() for f in ("img_align_celeba", "list_eval_partition.txt",
                                                                "list_eval_partition.csv")):
        return (f"CelebA's files are in {root} itself: move img_align_celeba/ and the tables (the release's .txt "
                f"or Kaggle's .csv files) into a folder {root / 'celeba'}")
    loose = sorted(root.glob("*-images[-.]idx3-ubyte*")) if name == "mnist" and root.is_dir() else []
    if loose:
        return f"MNIST's files ({loose[0].name}, ...) lie in {root} itself: move them into {root / 'MNIST' / 'raw'}"
    return None


def _is_empty(root: Path) -> bool:
    return not root.is_dir() or not any(root.iterdir())


def folder_split(root: Path, split: str) -> FolderScan:
    """The images of `split` in a user's folder (flat, in class folders, nested; junk skipped and counted):
    <root>/train and <root>/test (or val) when they exist. Without a test/ or val/, a fixed tenth of the images,
    chosen by file name (`folders.held_out_paths`), is the held-out split and is never trained on."""
    if not root.is_dir():
        raise DatasetError(f"the folder dataset needs a folder of images, but {root} "
                           f"{'is a file' if root.exists() else 'does not exist'}: pass the folder that holds your "
                           f"images (dcgan-train --data <folder>, or data_dir=<folder>)")
    try:
        root = split_root(root)   # a Kaggle zip's top folder, or YOLO's images/: train/ and test/ one level down
    except ValueError as err:
        raise DatasetError(str(err)) from None
    train, held_out = split_folders(root)
    if split == "train" and held_out is not None and train is None:
        raise DatasetError(f"{root} has a {held_out.name}/ folder but no train/ folder: put the training images "
                           f"in {root / 'train'}/ so that held-out images are never trained on")
    if held_out is None:   # no held-out folder: a fixed share of the images, chosen by name, is held out
        scan = split_scan(scan_folder(train or root), split)
        if not scan.paths and split != "train":
            raise DatasetError(f"the folder {root} has too few images to hold {HELD_OUT_PERCENT}% out for "
                               f"measuring: add images, or put a few in {root / 'test'}/")
    else:
        scan = scan_folder(train if split == "train" else held_out)
        n_outside, example = outside_splits(root, train, held_out) if split == "train" else (0, "")
        if n_outside:   # loose images beside train/, or class folders next to it: not read, so said
            reason = (f"images outside {train.name}/ and {held_out.name}/ (move them into {train.name}/ to train on "
                      f"them)")
            scan.skipped[reason], scan.examples[reason] = n_outside, example
    if not scan.paths:
        raise DatasetError(f"no images found in {scan.note()}: put image files (.jpg, .png, ...) in the folder, "
                           f"flat or in class folders")
    return scan


# Downloads go through torchvision (which checks the official files' MD5); reading is the library's (formats).
TORCHVISION_DOWNLOADS: dict[str, Callable] = {
    "mnist": lambda tvd, root, split: tvd.MNIST(root, train=split == "train", download=True),
    "cifar10": lambda tvd, root, split: tvd.CIFAR10(root, train=split == "train", download=True),
    "svhn": lambda tvd, root, split: tvd.SVHN(root, split=split, download=True),
    "celeba": lambda tvd, root, split: tvd.CelebA(root, split=split, download=True),
}


def load_real(name: str, image_size: int, n: int | None, split: str, data_dir: str | Path | None,
               download: bool) -> TorchvisionImages:
    """A real dataset (image folders through torchvision, the others through `formats`) with the paper's
    preprocessing, turning setup failures into DatasetErrors."""
    import torchvision.datasets as tvd

    root = Path(data_dir).expanduser() if data_dir is not None else real_data_root(name)
    channels = DATASET_SPECS[name].channels
    transform = paper_transform(image_size, channels)
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
        scan = folder_split(root, split)
        print(scan.note())
    elif not download and _is_empty(root):
        raise DatasetError(f"{name} data not found: looked in {root}. Pass download=True (needs internet) or copy the "
                           f"files there (or pass data_dir=<folder that holds them>)")
    if download:
        root.mkdir(parents=True, exist_ok=True)
    elif name != "folder" and (problem := layout_problem(name, root)):
        raise DatasetError(problem)

    try:
        if download and name in TORCHVISION_DOWNLOADS:   # torchvision fetches the files and checks their MD5
            TORCHVISION_DOWNLOADS[name](tvd, str(root), split)
        if name == "mnist":
            base = ArrayImages(*read_mnist(root, train), transform)
        elif name == "cifar10":
            base = ArrayImages(*read_cifar10(root, train), transform)
        elif name == "svhn":
            base = ArrayImages(*read_svhn(root, split), transform)
        elif name == "celeba":
            base = FileImages(*celeba_files(root, split), transform, loader=_ImageLoader(image_size))
        elif name == "lsun":
            base = LmdbImages(root / f"bedroom_{'train' if train else 'val'}_lmdb", transform)
        else:
            base = FileImages(scan.paths, scan.labels, transform, loader=_ImageLoader(image_size),
                              classes=scan.classes)
    except DatasetError:
        raise
    except Exception as err:   # missing/corrupt files, failed downloads, ... -> one clear message
        if name == "folder":
            hint = "put readable images (png, jpg, ...) in the folder and pass it as --data <folder>"
        elif download:
            hint = "check your internet connection or copy the files there"
        else:
            hint = "pass download=True (needs internet) or copy the files there"
        raise DatasetError(f"could not load {name} from {root}: {err}. Fix: {hint}") from None

    if n is not None and n > len(base):
        raise DatasetError(f"n={n} is more than the {len(base)} images of {name} ({split}): pass a smaller n")
    return TorchvisionImages(name, base, image_size, channels, n)
