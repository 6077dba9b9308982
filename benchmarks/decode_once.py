"""Images per second into the training loop: from image files every epoch, against decoding them once.

A folder of CelebA-like JPEGs (178×218 pixels, the aligned CelebA size, drawn from the generated faces) is read
at 64×64 the two ways the library offers, side by side in one run:

* files: `load_dataset("folder")` through `epoch_batches` (a DataLoader: in-process on a CPU, as the training
  loop does there, and with worker processes, as it does on a GPU);
* decoded: `data.decoded` writes the memory-mapped uint8 file once (timed: the first epoch's price), after which
  `epoch_batches` indexes it (timed over later epochs).

    python benchmarks/decode_once.py --images 2000 --workers 2
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from dcgan_lib.data import decoded, load_dataset
from dcgan_lib.train.loop import epoch_batches

CELEBA_SIZE = (178, 218)      # width, height of img_align_celeba's JPEGs


def write_jpegs(folder: Path, n: int) -> float:
    """n face JPEGs at CelebA's size and JPEG quality 90 in `folder`/faces; returns their mean size in KB."""
    faces = load_dataset("faces", 64, n=n).as_float()
    photos = F.interpolate(faces, size=CELEBA_SIZE[::-1], mode="bilinear", align_corners=False)
    photos = (photos + 0.04 * torch.randn_like(photos)).clamp(-1, 1).add(1).mul(127.5).byte()
    (folder / "faces").mkdir(parents=True)
    for i, photo in enumerate(photos.permute(0, 2, 3, 1).numpy()):
        Image.fromarray(photo).save(folder / "faces" / f"{i:06d}.jpg", quality=90)
    return sum(p.stat().st_size for p in (folder / "faces").iterdir()) / n / 1024


def epoch_rate(data, batch_size: int, epochs: int = 1, workers: int = 0) -> float:
    """Images per second `epoch_batches` delivers on the CPU over `epochs` passes."""
    order = torch.randperm(len(data)).repeat(epochs)
    count, start = 0, time.perf_counter()
    if workers:             # as the loop's GPU path: a DataLoader with workers over the files
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(data, order.tolist()), batch_size,
                                             drop_last=True, num_workers=workers)
        count = sum(len(images) for images, _ in loader)
    else:
        count = sum(len(images) for images, _ in epoch_batches(data, order, batch_size, torch.device("cpu"), True))
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print images per second for each path, with the machine's load."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DCGAN_DATA_DIR"] = str(Path(tmp) / "cache")
        kb = write_jpegs(Path(tmp) / "photos", args.images)
        files = load_dataset("folder", 64, data_dir=Path(tmp) / "photos")
        rates = {"files, in-process": epoch_rate(files, args.batch_size),
                 f"files, {args.workers} workers": epoch_rate(files, args.batch_size, workers=args.workers)}
        start = time.perf_counter()
        images = decoded("folder", 64, data_dir=Path(tmp) / "photos", workers=args.workers, progress=False)
        rates[f"decoding once ({args.workers} workers)"] = len(images) / (time.perf_counter() - start)
        rates["decoded file, later epochs"] = epoch_rate(images.images, args.batch_size, epochs=5)
    print(f"{args.images} JPEGs of {CELEBA_SIZE[0]}×{CELEBA_SIZE[1]} ({kb:.1f} KB each) at 64×64, batch "
          f"{args.batch_size}; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for path, rate in rates.items():
        print(f"  {path:32s} {rate:10,.0f} images/s")
    cached = rates["decoded file, later epochs"]
    print(f"  later epochs from the decoded file: {cached / rates['files, in-process']:.0f}× the in-process files, "
          f"{cached / rates[f'files, {args.workers} workers']:.0f}× the workers")


if __name__ == "__main__":
    main()
