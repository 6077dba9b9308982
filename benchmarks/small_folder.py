"""A user's flat folder of a few hundred photos, trained with `dcgan-train`'s defaults: does the sample grid show
faces at the end? Measured, not looked at.

The photos are the book's drawn faces (`faces`, which a judge can read), written as PNGs flat in one folder with
no test/: the command holds a tenth out by name and picks a batch and a number of epochs for the folder's size.
Two Fréchet distances between the generator's samples and 1,000 other drawn faces are printed for every epoch
whose weights were kept, beside their floor (real against real) and the wall time: in the faces judge's features
(the book's stored judge, 32×32: samples are averaged down to it), and in the pixels of 8×8 thumbnails (192
numbers). The judge's measure rates an untrained generator's flat grey samples about as close as faces (its
features of a grey image sit near the mean of real faces' features), so the thumbnails' measure is the one that
says whether structure appeared; the sample grids are in the run folder.

    python benchmarks/small_folder.py --images 400
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

from dcgan_lib.analysis.metrics import frechet_distance
from dcgan_lib.data import load_dataset
from dcgan_lib.models import generate
from dcgan_lib.tooling.train_cli import main as train_main
from dcgan_lib.train.loop import load_trained
from dcgan_lib.zoo import judge_for

JUDGE_SIZE, JUDGE_EPOCHS = 32, 10     # the faces judge chapter 06 stores at the book profile


def write_flat_folder(folder: Path, n: int, size: int) -> None:
    """`n` drawn faces at `size`×`size`, as IMG_0000.png ... flat in `folder` (a camera dump, no test/)."""
    folder.mkdir(parents=True)
    faces = load_dataset("faces", size, n=n, seed=11).images
    for i, image in enumerate(faces):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"IMG_{i:04d}.png")


def to_judge(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] at the judge's size (area-averaged down)."""
    return F.adaptive_avg_pool2d(images, JUDGE_SIZE) if images.shape[-1] != JUDGE_SIZE else images


class Thumbnails(torch.nn.Module):
    """Images as their 8×8 thumbnails' pixels: a feature space for the Fréchet distance that needs no training."""

    num_features = 8 * 8 * 3

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)   # where it lives: the CPU

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(images, 8).flatten(1).double()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400, help="photos in the folder")
    parser.add_argument("--size", type=int, default=64, help="dcgan-train --size (its default)")
    parser.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="small-folder-"))
    folder, run = work / "my_photos", work / "run"
    write_flat_folder(folder, args.images, args.size)
    started = time.perf_counter()
    assert train_main(["--data", str(folder), "--size", str(args.size), "--out", str(run), "--quiet"]) == 0
    wall = time.perf_counter() - started
    judge = judge_for("faces", "book", image_size=JUDGE_SIZE, epochs=JUDGE_EPOCHS)
    real = load_dataset("faces", JUDGE_SIZE, n=1000, split="test", seed=12).as_float()
    other = load_dataset("faces", JUDGE_SIZE, n=1000, seed=13).as_float()
    floor, thumbnails = frechet_distance(real, other, judge), Thumbnails()
    result = load_trained(run, device="cpu")
    kept = sorted(int(p.stem.removeprefix("generator_epoch")) for p in run.glob("generator_epoch*.pt"))
    print(f"{args.images} photos, {result.config.batch_size} per batch, {result.epochs_done} epochs "
          f"({len(result.history['loss_d'])} steps) in {wall:.0f} s wall, load {os.getloadavg()[0]:.1f}")
    print(f"Fréchet distance, real against real: faces judge {floor:.2f}, 8×8 thumbnails "
          f"{frechet_distance(real, other, thumbnails):.2f}")
    for epoch in kept:
        samples = to_judge(generate(result.generator_at(epoch), 1000, seed=1))
        print(f"epoch {epoch:4d}: faces judge {frechet_distance(real, samples, judge):8.2f}, 8×8 thumbnails "
              f"{frechet_distance(real, samples, thumbnails):8.2f}")


if __name__ == "__main__":
    main()
