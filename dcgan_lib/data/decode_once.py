"""Decode once: a real dataset's images at the training resolution, kept as one memory-mapped uint8 file.

Decoding and resizing a JPEG (CelebA), WebP (LSUN) or PNG file costs milliseconds, and a DataLoader over the
files pays it for every image of every epoch. `decoded` pays it once: the first call streams the dataset through
the paper's preprocessing into ``<data_dir>/decoded/<name>-<split>-<size>px-<key>/images.u8`` (N×C×H×W bytes,
written atomically); every later call maps that file into memory, so epochs read bytes, not image files. CelebA
at 64×64 is 2.5 GB; LSUN's three million bedrooms are 37 GB, so the free space is checked before writing.
Every open checks the file's size and a checksum of evenly spaced blocks of it; a damaged decoded folder (the
file truncated or zeroed in place, the index unreadable) is a cache, not data: it is decoded again, with a note.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dcgan_lib.core import store
from dcgan_lib.core.paths import data_dir as default_data_dir
from dcgan_lib.core.paths import real_data_root
from dcgan_lib.core.runtime import show_progress
from dcgan_lib.data.datasets import load_dataset
from dcgan_lib.data.folders import folder_fingerprint
from dcgan_lib.data.imagedata import DatasetError, ImageDataset, to_uint8

DECODED_VERSION = 4      # bump when the preprocessing, the index or a folder's split changes (old files go unused)
IMAGES_FILE, INDEX_FILE = "images.u8", "index.pt"
CHECKSUM_BLOCKS, CHECKSUM_BLOCK_BYTES = 256, 1 << 16   # 16 MB read per open, whatever the file's size


class DamagedDecoded(DatasetError):
    """A decoded folder whose images file or index no longer matches what was written."""


@dataclass(frozen=True)
class DecodedSpec:
    """What a decoded file is made from: its key in the store (a changed source folder is decoded again)."""

    name: str
    split: str
    image_size: int
    n: int | None            # the first n images of the split (None: all)
    source: str              # the folder the images were read from, resolved
    fingerprint: str         # paths, sizes and modification times of every file under the source
    version: int = DECODED_VERSION


def source_fingerprint(root: Path, images_only: bool = False) -> str:
    """A hash of the path, size and modification time of every file under `root` at any depth
    (`folders.folder_fingerprint`): adding, removing, renaming or rewriting any image changes it. A folder of
    images (`images_only`) is fingerprinted by the files its scan reads, so a cache kept inside it changes nothing."""
    return folder_fingerprint(root, images_only) if root.is_dir() else "missing"


def decoded(name: str, image_size: int, n: int | None = None, split: str = "train",
            data_dir: str | Path | None = None, download: bool = False, workers: int | None = None,
            progress: bool | None = None, cache_root: str | Path | None = None) -> ImageDataset:
    """Dataset `name` as an `ImageDataset` of uint8 images: a real one backed by a memory-mapped file that is
    decoded from the image files on the first call only (`workers` decode in parallel; default: min(8, CPUs)),
    a generated or shipped one as `load_dataset` gives it (already in memory)."""
    dataset = load_dataset(name, image_size, n=n, split=split, data_dir=data_dir, download=download)
    if isinstance(dataset, ImageDataset):
        return dataset
    name = dataset.name
    source = Path(data_dir).expanduser() if data_dir is not None else real_data_root(name)
    spec = DecodedSpec(name, split, image_size, n, str(source.resolve()), source_fingerprint(source, name == "folder"))
    workers = min(8, os.cpu_count() or 1) if workers is None else workers

    def fit(folder: Path) -> ImageDataset:
        _check_space(folder, len(dataset) * dataset.channels * image_size ** 2)
        _decode_into(dataset, folder, workers, show_progress(progress))
        return build(folder)

    def build(folder: Path) -> ImageDataset:
        return open_decoded(folder, name)

    root = Path(cache_root).expanduser() if cache_root is not None else default_data_dir()
    label = f"{name}-{split}-{image_size}px"
    try:
        return store.load_or_train("decoded", spec, build, fit, root=root, label=label)
    except DamagedDecoded as err:   # derived from the image files, so nothing is lost by decoding again
        folder = store.artefact_dir("decoded", spec, root, label=label)
        print(f"note: {err}; decoding the images again.", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
        return store.load_or_train("decoded", spec, build, fit, root=root, label=label)


def open_decoded(folder: str | Path, name: str = "decoded") -> ImageDataset:
    """The `ImageDataset` of a decoded folder: its images file mapped copy-on-write (nothing is read until a
    batch asks for it, and a change in memory never reaches the file), its labels in memory."""
    folder = Path(folder)
    try:
        index = store.load(folder / INDEX_FILE)
        shape = tuple(int(s) for s in index["shape"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError):
        raise DamagedDecoded(f"the index of the decoded images in {folder} is missing or damaged") from None
    path = folder / IMAGES_FILE
    expected = int(np.prod(shape))
    if not path.exists() or path.stat().st_size != expected:
        raise DamagedDecoded(f"{path} is missing or damaged (it should hold {expected:,} bytes)")
    if index.get("checksum") != checksum(path):
        raise DamagedDecoded(f"{path} was changed after it was written (its checksum differs)")
    images = torch.from_numpy(np.memmap(path, dtype=np.uint8, mode="c", shape=shape))
    return ImageDataset(name, images, labels=index["labels"], class_names=index["class_names"])


def worker_message(err: Exception) -> str:
    """The message of an error raised in a DataLoader worker, without the traceback torch writes into it."""
    text = str(err)
    if "Original Traceback" not in text:
        return text
    last = text.strip().splitlines()[-1]
    return last.split(": ", 1)[1] if last.startswith(("dcgan_lib.", "DatasetError")) and ": " in last else last


def checksum(path: Path) -> str:
    """A blake2b hash of `CHECKSUM_BLOCKS` evenly spaced blocks of the file (all of it when small) and its size:
    cheap on a 37 GB file, and it sees a file truncated, zeroed or rewritten in place."""
    size, digest = path.stat().st_size, hashlib.blake2b(digest_size=16)
    digest.update(str(size).encode())
    span = CHECKSUM_BLOCKS * CHECKSUM_BLOCK_BYTES
    starts = [0] if size <= span else np.linspace(0, size - CHECKSUM_BLOCK_BYTES, CHECKSUM_BLOCKS).astype(np.int64)
    with open(path, "rb") as f:
        for start in starts:
            f.seek(int(start))
            digest.update(f.read(span if size <= span else CHECKSUM_BLOCK_BYTES))
    return digest.hexdigest()


def _check_space(folder: Path, nbytes: int) -> None:
    """Raise DatasetError before decoding when the disk of `folder` cannot hold `nbytes` (plus 1 GB to spare)."""
    free = shutil.disk_usage(folder).free
    if free < nbytes + (1 << 30):
        raise DatasetError(f"decoding needs {nbytes / 1e9:.1f} GB in {folder} but its disk has {free / 1e9:.1f} GB "
                           f"free: set DCGAN_DATA_DIR to a larger disk, train on fewer images (n_train), or read "
                           f"the image files every epoch instead (pass data=load_dataset(...) to train, or "
                           f"--no-cache to dcgan-train)")


def _decode_into(dataset: torch.utils.data.Dataset, folder: Path, workers: int, progress: bool) -> None:
    """Stream `dataset` through a DataLoader into the images file (atomically), then write the index."""
    from tqdm.auto import tqdm

    loader = torch.utils.data.DataLoader(dataset, batch_size=256, num_workers=workers)
    labels: list[torch.Tensor] = []

    def write(f) -> None:
        with tqdm(total=len(dataset), desc=f"decoding {getattr(dataset, 'name', 'images')} once", unit="img",
                  disable=not progress) as bar:
            for images, batch_labels in loader:
                f.write(to_uint8(images).numpy().tobytes())
                labels.append(torch.as_tensor(batch_labels).long())
                bar.update(len(images))

    try:
        store.write_atomic(folder / IMAGES_FILE, write)
    except DatasetError as err:   # raised in a worker: torch adds its traceback to the message; keep the message
        raise DatasetError(worker_message(err)) from None
    classes = getattr(getattr(dataset, "base", None), "classes", None)
    shape = [len(dataset), dataset.channels, dataset.image_size, dataset.image_size]
    store.save_atomic({"shape": shape, "labels": torch.cat(labels), "checksum": checksum(folder / IMAGES_FILE),
                       "class_names": list(classes) if classes else None}, folder / INDEX_FILE)
