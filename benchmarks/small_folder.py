"""A user's flat folder of a few hundred photos, trained with `dcgan-train`'s defaults: does the sample grid show
faces at the end? Measured, not looked at.

The photos are the book's drawn faces (`faces`, which a judge can read), written as PNGs flat in one folder with
no test/: the command holds a tenth out by name and picks a batch and a number of epochs for the folder's size.
The Fréchet distance in the faces judge's features (the book's stored judge, 32×32: samples are averaged down to
it) between the generator's samples and 1,000 other drawn faces is printed for every epoch whose weights were
kept, beside the floor (real against real) and the wall time.

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
    floor = frechet_distance(real, load_dataset("faces", JUDGE_SIZE, n=1000, seed=13).as_float(), judge)
    result = load_trained(run, device="cpu")
    kept = sorted(int(p.stem.removeprefix("generator_epoch")) for p in run.glob("generator_epoch*.pt"))
    print(f"{args.images} photos, {result.config.batch_size} per batch, {result.epochs_done} epochs "
          f"({len(result.history['loss_d'])} steps) in {wall:.0f} s wall, load {os.getloadavg()[0]:.1f}")
    print(f"Fréchet distance (faces judge) real vs real: {floor:.2f}")
    for epoch in kept:
        samples = to_judge(generate(result.generator_at(epoch), 1000, seed=1))
        print(f"epoch {epoch:4d}: {frechet_distance(real, samples, judge):8.2f}")


if __name__ == "__main__":
    main()
