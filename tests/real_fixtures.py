"""Tiny datasets in the exact on-disk formats of the paper's real datasets, generated in code (no download).

Each writer puts its files where torchvision (and `dcgan_lib.data.formats`) look for them under `root`, with
random pixel content and labels, and returns the labels it wrote so that a test can check what comes back.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _idx(array: np.ndarray) -> bytes:
    """MNIST's idx format: 0, 0, type 0x08 (unsigned byte), the number of dimensions, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """`root`/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte."""
    raw, rng, labels = root / "MNIST" / "raw", _rng(seed), {}
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels[prefix] = rng.integers(0, 10, n).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (n, 28, 28))))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(labels[prefix]))
    return labels


def write_cifar10(root: Path, per_batch: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """`root`/cifar-10-batches-py: five training batches, a test batch and batches.meta, pickled (protocol 2)
    as the release's are: dicts of 'data' (uint8 [N, 3072], channel-major rows), 'labels', 'filenames'."""
    folder, rng, labels = root / "cifar-10-batches-py", _rng(seed), {"train": [], "test": []}
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch_labels = rng.integers(0, 10, per_batch).tolist()
        batch = {"batch_label": name, "labels": batch_labels,
                 "data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                 "filenames": [f"{name}_{i}.png" for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        labels["test" if name == "test_batch" else "train"] += batch_labels
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                            "truck"], "num_cases_per_batch": per_batch, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {k: np.asarray(v) for k, v in labels.items()}


def write_svhn(root: Path, n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """`root`/{train,test}_32x32.mat: MATLAB files with X [32, 32, 3, N] and y [N, 1] (digit 0 stored as 10)."""
    from scipy.io import savemat

    rng, labels = _rng(seed), {}
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        y = rng.integers(1, 11, (n, 1)).astype(np.uint8)
        savemat(str(root / f"{split}_32x32.mat"), {"X": rng.integers(0, 256, (32, 32, 3, n)).astype(np.uint8),
                                                   "y": y})
        labels[split] = y.reshape(-1) % 10
    return labels


CELEBA_ATTRIBUTES = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
                     "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
                     "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
                     "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
                     "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie "
                     "Young").split()


def write_celeba(root: Path, n: int = 30, seed: int = 0) -> dict[str, list[str]]:
    """`root`/celeba: img_align_celeba/ (178×218 JPEGs) and the release's five text tables."""
    folder, rng = root / "celeba", _rng(seed)
    images = folder / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    parts = [0 if i < n * 0.6 else 1 if i < n * 0.8 else 2 for i in range(n)]
    for name in names:
        Image.fromarray(rng.integers(0, 256, (218, 178, 3)).astype(np.uint8)).save(images / name, quality=90)
    (folder / "list_eval_partition.txt").write_text("".join(f"{m} {p}\n" for m, p in zip(names, parts)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{m} {rng.integers(1, 10)}\n" for m in names))
    attrs = "".join(f"{m} " + " ".join(str(v) for v in rng.choice([-1, 1], len(CELEBA_ATTRIBUTES))) + "\n"
                    for m in names)
    (folder / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(CELEBA_ATTRIBUTES)}\n{attrs}")
    boxes = "".join(f"{m} 95 71 226 313\n" for m in names)
    (folder / "list_bbox_celeba.txt").write_text(f"{n}\nimage_id x_1 y_1 width height\n{boxes}")
    marks = "".join(f"{m} 69 109 106 113 77 142 73 152 108 154\n" for m in names)
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x "
        f"rightmouth_y\n{marks}")
    split_names = {"train": 0, "valid": 1, "test": 2}
    return {split: [m for m, p in zip(names, parts) if p == code] for split, code in split_names.items()}


def write_lsun(root: Path, n_train: int = 12, n_val: int = 6, seed: int = 0, shape: tuple[int, int] = (256, 342)
               ) -> dict[str, int]:
    """`root`/bedroom_{train,val}_lmdb: lmdb databases of WebP images keyed by 40-character hex ids, as the
    LSUN release stores its bedrooms (about 256 pixels on the short side; `shape` is height, width)."""
    import io

    import lmdb

    rng, counts = _rng(seed), {}
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val)):
        env = lmdb.open(str(root / f"bedroom_{split}_lmdb"), map_size=64 << 20)
        with env.begin(write=True) as txn:
            for _ in range(n):
                buffer = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (*shape, 3)).astype(np.uint8)).save(buffer, "WEBP")
                txn.put(rng.bytes(20).hex().encode(), buffer.getvalue())
        env.close()
        counts[split] = n
    return counts


def write_image_folder(root: Path, per_class: int = 3, split: bool = False, seed: int = 0) -> Path:
    """A user's photographs: JPEGs and PNGs of mixed sizes (all at least 40 pixels a side) in class folders,
    in `root`/train and `root`/test when `split`, else directly in `root`."""
    rng = _rng(seed)
    for part in (("train", "test") if split else ("",)):
        for cls in ("cats", "dogs"):
            folder = root / part / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                w, h = int(rng.integers(40, 120)), int(rng.integers(40, 120))
                image = Image.fromarray(rng.integers(0, 256, (h, w, 3)).astype(np.uint8))
                image.save(folder / f"{i}.{'jpg' if i % 2 else 'png'}")
    return root


def write_flat_photos(root: Path, n: int = 400, seed: int = 0) -> Path:
    """A camera dump: `n` JPEGs named IMG_0000.JPG ... of mixed sizes, flat in `root`, no test/ folder."""
    rng = _rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        w, h = int(rng.integers(48, 96)), int(rng.integers(48, 96))
        Image.fromarray(rng.integers(0, 256, (h, w, 3)).astype(np.uint8)).save(root / f"IMG_{i:04d}.JPG")
    return root


def write_hand_boxes(path: Path, n: int = 150, nz: int = 100, seed: int = 0) -> Path:
    """Chapter 05's BOXES_FILE on real data: z of `n` generated samples and one or two window boxes drawn on
    each (pixels of a 64×64 image; NaN rows for no box), as a person labelling them would save it."""
    import torch

    g = torch.Generator().manual_seed(seed)
    z = torch.rand(n, nz, generator=g) * 2 - 1
    corner = torch.randint(0, 40, (n, 2, 2), generator=g).float()
    boxes = torch.cat([corner, corner + torch.randint(8, 24, (n, 2, 2), generator=g)], -1)
    boxes[torch.rand(n, generator=g) < 0.5, 1] = float("nan")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"z": z, "boxes": boxes}, path)
    return path


def write_all(root: Path, seed: int = 0) -> Path:
    """Every real dataset under one root, in torchvision's layout, large enough for the `full` smoke run's
    sizes (DCGAN_FULL_SMOKE=1, which takes the ci profile's numbers): point DCGAN_REAL_DATA at it."""
    write_mnist(root, n_train=1000, n_test=500, seed=seed)
    write_cifar10(root, per_batch=200, seed=seed)
    write_svhn(root, n_train=1200, n_test=300, seed=seed)
    write_celeba(root, n=300, seed=seed)
    write_lsun(root, n_train=1024, n_val=300, seed=seed, shape=(72, 96))
    write_hand_boxes(root / "hand_boxes.pt", seed=seed)
    return root
