"""MNIST, CIFAR-10, SVHN and CelebA read from their on-disk formats by the library itself.

torchvision downloads them (and checks the download's MD5), but its readers also refuse any file whose MD5
differs from the official release, so a re-packed copy, or the small fixtures in the real formats that the
tests build, could never be read. These readers check the layout and the shapes instead, name the file that is
wrong, and never unpickle code: CIFAR-10's batches are Python pickles, read with an unpickler that accepts
only plain containers and numpy arrays. The layouts are torchvision's, so a folder it downloaded works as is:

* MNIST: ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (or the same names with ``.gz``);
* CIFAR-10: ``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``;
* SVHN: ``{train,test,extra}_32x32.mat``;
* CelebA: ``celeba/img_align_celeba/*.jpg``, ``celeba/list_eval_partition.txt``, ``celeba/identity_CelebA.txt``;
* LSUN: ``bedroom_{train,val}_lmdb/`` (an lmdb database of encoded images; torchvision's reader would also write
  a pickled key list into the working directory and load it back later, from whatever folder it is run in).
"""
from __future__ import annotations

import gzip
import io
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dcgan_lib.data.folders import open_image
from dcgan_lib.data.imagedata import DatasetError


class ArrayImages(torch.utils.data.Dataset):
    """(transform(PIL image), label) pairs from uint8 images in memory, [N, H, W] or [N, H, W, 3]."""

    def __init__(self, images: np.ndarray, labels: Sequence[int], transform: Callable | None = None):
        self.images, self.labels, self.transform = images, np.asarray(labels, dtype=np.int64), transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image = Image.fromarray(self.images[i])
        return (self.transform(image) if self.transform else image), int(self.labels[i])


def _open_rgb(path: str) -> Image.Image:
    return open_image(path)   # any mode decoded right (16-bit, palette, CMYK, alpha), not Image.convert's clipping


class FileImages(torch.utils.data.Dataset):
    """(transform(image), label) pairs from image files, opened with `loader` (PIL by default); `classes` names
    the labels (a folder's class folders)."""

    def __init__(self, paths: Sequence[Path], labels: Sequence[int], transform: Callable | None = None,
                 loader: Callable[[str], Image.Image] | None = None, classes: Sequence[str] | None = None):
        self.paths, self.labels, self.transform = list(paths), list(labels), transform
        self.loader, self.classes = loader or _open_rgb, list(classes) if classes else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        image = self.loader(str(self.paths[i]))
        return (self.transform(image) if self.transform else image), int(self.labels[i])


# ---- MNIST: idx files -------------------------------------------------------------------------------------------
def _idx_file(folder: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")   # Kaggle's copy: train-images.idx3-ubyte
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / dotted):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"MNIST file {folder / stem} (or {stem}.gz) not found: download MNIST with torchvision "
                       f"(download=True) or copy its raw files into {folder}")


def read_idx(path: Path) -> np.ndarray:
    """An idx file (MNIST's format: a magic number, the sizes, then unsigned bytes) as a uint8 array."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetError(f"{path} is not an idx file of unsigned bytes (wrong magic number): re-download MNIST")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)):
        raise DatasetError(f"{path} holds {len(body)} bytes of data but its header says {shape}: the file is "
                           f"truncated or damaged, re-download MNIST")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def read_mnist(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's images [N, 28, 28] and labels [N] from `root`/MNIST/raw."""
    folder, prefix = root / "MNIST" / "raw", "train" if train else "t10k"
    images = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim == 1 and labels.ndim == 3:
        raise DatasetError(f"MNIST in {folder}: {prefix}-images-idx3-ubyte holds labels and {prefix}-labels-idx1-ubyte "
                           f"holds images: the two files were swapped; give each its own name back")
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"MNIST in {folder}: {prefix}-images-idx3-ubyte holds {len(images):,} images of shape "
                           f"{tuple(images.shape[1:])} and {prefix}-labels-idx1-ubyte {len(labels):,} labels: they "
                           f"are from different downloads or damaged; download MNIST again")
    return images, labels


# ---- CIFAR-10: pickled batches, unpickled without code ----------------------------------------------------------
class _ArraysOnly(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, and refuses every other global (no code can run)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: a CIFAR-10 batch holds only arrays and lists")
        return super().find_class(module, name)


def _unpickle_batch(path: Path) -> dict:
    if not path.is_file():
        raise DatasetError(f"CIFAR-10 file {path} not found: download CIFAR-10 with torchvision (download=True) or "
                           f"copy cifar-10-batches-py there")
    try:
        batch = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise DatasetError(f"cannot read CIFAR-10 batch {path}: {err}. Re-download CIFAR-10.") from None
    if not isinstance(batch, dict):
        raise DatasetError(f"CIFAR-10 batch {path} is not a dictionary: re-download CIFAR-10")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}


def read_cifar10(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10's images [N, 32, 32, 3] and labels [N] from `root`/cifar-10-batches-py."""
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    images, labels = [], []
    for name in names:
        batch = _unpickle_batch(folder / name)
        data = np.asarray(batch.get("data"))
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or "labels" not in batch:
            raise DatasetError(f"CIFAR-10 batch {folder / name} does not hold uint8 [N, 3072] data and labels")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


# ---- SVHN: MATLAB files -----------------------------------------------------------------------------------------
def read_svhn(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """SVHN's images [N, 32, 32, 3] and labels [N] (digit 0 is stored as 10) from `root`/<split>_32x32.mat."""
    from scipy.io import loadmat

    path = root / f"{split}_32x32.mat"
    if not path.is_file():
        raise DatasetError(f"SVHN file {path} not found: download SVHN with torchvision (download=True) or copy "
                           f"{path.name} there")
    try:
        mat = loadmat(str(path))
    except Exception as err:  # scipy raises several error types for damaged files
        raise DatasetError(f"cannot read SVHN file {path}: {err}. Re-download it.") from None
    X, y = mat.get("X"), mat.get("y")
    if X is None or y is None or X.ndim != 4 or X.shape[:3] != (32, 32, 3) or X.shape[3] != y.size:
        raise DatasetError(f"SVHN file {path} does not hold X [32, 32, 3, N] and y [N, 1]")
    labels = y.reshape(-1).astype(np.int64) % 10
    return np.ascontiguousarray(X.transpose(3, 0, 1, 2)).astype(np.uint8), labels


# ---- CelebA: a folder of JPEGs and text tables --------------------------------------------------------------------
CELEBA_SPLITS = {"train": 0, "valid": 1, "test": 2}


def _kaggle_csv(path: Path) -> tuple[list[str], dict[str, list[int]]] | None:
    """Kaggle's copy of a CelebA table (`<name>.csv`: a header 'image_id,col,...', then 'image,v,...' rows), read
    where the release's `<name>.txt` is missing; None when there is no such file."""
    csv = path.with_suffix(".csv")
    if path.is_file() or not csv.is_file():
        return None
    lines = [line.split(",") for line in csv.read_text().splitlines() if line.strip()]
    if not lines or lines[0][0].strip() != "image_id":   # else its first image would be taken for the header
        raise DatasetError(f"{csv} does not start with Kaggle's header line (image_id,...): download it again")
    try:
        return lines[0][1:], {row[0]: [int(v) for v in row[1:]] for row in lines[1:]}
    except (IndexError, ValueError):
        raise DatasetError(f"{csv} is not a CelebA table (image_id, then whole numbers): download it again") from None


def _table(path: Path) -> dict[str, int]:
    if (kaggle := _kaggle_csv(path)) is not None:
        return {name: values[0] for name, values in kaggle[1].items()}
    if not path.is_file():
        raise DatasetError(f"CelebA file {path} not found: download CelebA (torchvision, needs gdown) or copy its "
                           f"text files into {path.parent}")
    rows = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if len(fields) == 2 and fields[1].lstrip("-").isdigit():
            rows[fields[0]] = int(fields[1])
        elif fields:
            raise DatasetError(f"{path}, line {number}: expected '<image>.jpg <number>', got {line!r}")
    return rows


def celeba_files(root: Path, split: str) -> tuple[list[Path], list[int]]:
    """The image files of a CelebA split (train, valid, test or all) and their identities."""
    folder = root / "celeba"
    partition = _table(folder / "list_eval_partition.txt")    # or Kaggle's list_eval_partition.csv
    has_identity = (folder / "identity_CelebA.txt").is_file()   # Kaggle's copy has none: identity 0 then
    identity = _table(folder / "identity_CelebA.txt") if has_identity else {}
    images = folder / "img_align_celeba"
    if (images / "img_align_celeba").is_dir() and not any(images.glob("*.jpg")):
        images = images / "img_align_celeba"   # the zip unpacked into a folder of its own name: one level deeper
    if not images.is_dir():
        raise DatasetError(f"CelebA images not found: {images} is missing (unzip img_align_celeba.zip there)")
    wanted = [name for name, part in partition.items() if split == "all" or part == CELEBA_SPLITS[split]]
    missing = [name for name in wanted[:1000] if not (images / name).is_file()]
    if missing and (images / missing[0]).with_suffix(".png").is_file():
        raise DatasetError(f"CelebA's images in {images} are PNGs (the img_align_celeba_png release), but its tables "
                           f"name .jpg files: use the JPEG release, img_align_celeba.zip")
    if missing:
        raise DatasetError(f"CelebA image {images / missing[0]} is listed in list_eval_partition.txt but missing "
                           f"({len(missing)} of the first {min(len(wanted), 1000)} are): unzip img_align_celeba "
                           f"again")
    return [images / name for name in wanted], [identity.get(name, 0) for name in wanted]


def _wide_table(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    """A CelebA table with a count line, a line of column names, then '<image>.jpg v1 v2 ...' rows (or Kaggle's
    .csv of it)."""
    if (kaggle := _kaggle_csv(path)) is not None:
        return kaggle
    if not path.is_file():
        raise DatasetError(f"CelebA file {path} not found: download CelebA (torchvision, needs gdown) or copy its "
                           f"text files into {path.parent}")
    lines = path.read_text().splitlines()
    names, rows = lines[1].split() if len(lines) > 1 else [], {}
    for number, line in enumerate(lines[2:], 3):
        fields = line.split()
        if fields and len(fields) != len(names) + 1:
            raise DatasetError(f"{path}, line {number}: expected an image name and {len(names)} numbers, got "
                               f"{len(fields) - 1}")
        if fields:
            rows[fields[0]] = [int(v) for v in fields[1:]]
    return names, rows


class CelebAAttributes(torch.utils.data.Dataset):
    """(transform(image), (attributes [40] in {0, 1}, landmarks [10])) for a CelebA split, as torchvision's
    CelebA with target_type=["attr", "landmarks"] gives them; `attr_names` names the 40 attributes."""

    def __init__(self, root: Path, split: str = "train", transform: Callable | None = None):
        self.paths, _ = celeba_files(root, split)
        self.attr_names, attributes = _wide_table(root / "celeba" / "list_attr_celeba.txt")
        _, landmarks = _wide_table(root / "celeba" / "list_landmarks_align_celeba.txt")
        missing = [p.name for p in self.paths if p.name not in attributes or p.name not in landmarks]
        if missing:
            raise DatasetError(f"CelebA image {missing[0]} has no row in list_attr_celeba.txt or "
                               f"list_landmarks_align_celeba.txt ({len(missing)} images): download the tables again")
        self.attributes = torch.tensor([attributes[p.name] for p in self.paths]).add(1).div(2, rounding_mode="floor")
        self.landmarks = torch.tensor([landmarks[p.name] for p in self.paths])
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        image = _open_rgb(str(self.paths[i]))
        return (self.transform(image) if self.transform else image), (self.attributes[i], self.landmarks[i])


# ---- LSUN: an lmdb database of encoded images -------------------------------------------------------------------
class LmdbImages(torch.utils.data.Dataset):
    """(transform(image), 0) pairs from an LSUN lmdb database (keys: image ids, values: WebP or JPEG bytes). The
    database is opened read-only for each read and closed again: an lmdb environment must not cross a fork
    into DataLoader workers, and opening a read-only one costs far less than decoding the image."""

    def __init__(self, database: Path, transform: Callable | None = None):
        if not (database / "data.mdb").is_file():
            raise DatasetError(f"LSUN database {database} not found (no data.mdb): download it with the LSUN script "
                               f"(github.com/fyu/lsun) and unzip it there")
        self.database, self.transform = database, transform
        with self._open() as env, env.begin() as txn:
            self.keys = list(txn.cursor().iternext(keys=True, values=False))

    def _open(self):
        import lmdb

        return lmdb.open(str(self.database), readonly=True, lock=False, readahead=False, meminit=False)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int):
        with self._open() as env, env.begin() as txn:
            data = txn.get(self.keys[i])
        try:
            image = Image.open(io.BytesIO(data)).convert("RGB")
        except Exception as err:  # PIL raises several error types for broken images
            raise DatasetError(f"LSUN image {self.keys[i].decode(errors='replace')} in {self.database} cannot be "
                               f"read: {err}") from None
        return (self.transform(image) if self.transform else image), 0
