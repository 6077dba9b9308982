"""Bad input: every value a user can pass that no run can use is refused where it enters (a config, a dataset, a
path, the command line), with a message that names the field, the value and the fix.

Each entry of `BAD_INPUTS` is one kind of wrong value a careful new user tries. The test asserts the error type and
the key words of its message. `python tests/test_bad_input.py` (or `make bad-input-tally`) tries every entry here
and every fault trial of `test_faults.py` and prints the tally: clear / unclear (another error type, or a message
without its key words) / wrong (accepted silently).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import pytest
import torch

from dcgan_lib import zoo
from dcgan_lib.analysis.dissection import load_hand_boxes
from dcgan_lib.core import paths, store
from dcgan_lib.data import DatasetError, ImageDataset, check_channels, load_dataset
from dcgan_lib.tooling import launch
from dcgan_lib.tooling.run import check, parse_params
from dcgan_lib.tooling.train_cli import check_args as check_train_args
from dcgan_lib.tooling.train_cli import check_source
from dcgan_lib.tooling.train_cli import parser as train_parser
from dcgan_lib.tooling.words import refuse_repeated
from dcgan_lib.train.configs import ConditionalConfig, ConfigError, TrainConfig
from dcgan_lib.train.loop import train

TINY = dict(dataset="rooms", image_size=32, n_train=64, ngf=4, ndf=4, batch_size=32, epochs=1, n_fixed=4)


@dataclass(frozen=True)
class Bad:
    """One wrong value: where it enters (`call`, given a fresh folder), the error it must raise and the words
    (a regular expression) its message must contain."""

    name: str
    call: Callable[[Path], Any]
    error: type[BaseException]
    words: str


def uint8_images(n: int = 64, channels: int = 3, size: int = 32) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))


def _with_nan(tmp: Path) -> Any:
    images = uint8_images().float() / 127.5 - 1
    images[5, 0, 3, 3] = float("nan")
    return train(TrainConfig(**TINY), tmp, data=images, progress=False)


def _image_folder(root: Path, sizes: tuple[tuple[int, int], ...] = ((48, 40), (40, 48))) -> Path:
    from PIL import Image

    for i, size in enumerate(sizes):
        (root / f"class_{i}").mkdir(parents=True)
        Image.new("RGB", size, (200, 30 * i, 30)).save(root / f"class_{i}" / "a.png")
    return root


def _tiny_image_folder(tmp: Path) -> Any:
    root = _image_folder(tmp / "images", ((48, 40), (1, 1)))
    dataset = load_dataset("folder", 32, data_dir=root)
    return [dataset[i] for i in range(len(dataset))]


def _corrupt_image_folder(tmp: Path) -> Any:
    root = _image_folder(tmp / "images")
    (root / "class_0" / "broken.png").write_bytes(b"\x89PNG this is not really an image")
    dataset = load_dataset("folder", 32, data_dir=root)
    return [dataset[i] for i in range(len(dataset))]


def _only_test_folder(tmp: Path) -> Any:
    _image_folder(tmp / "images" / "test")
    return load_dataset("folder", 32, data_dir=tmp / "images")


def _lsun_without_lmdb(tmp: Path) -> Any:
    saved = sys.modules.get("lmdb")
    sys.modules["lmdb"] = None                      # import lmdb -> ImportError (only lmdb: other new imports stay)
    try:
        return load_dataset("lsun", 64)
    finally:
        del sys.modules["lmdb"]
        if saved is not None:
            sys.modules["lmdb"] = saved


def _env(variable: str, value: Callable[[Path], Path], then: Callable[[], Any]) -> Callable[[Path], Any]:
    def call(tmp: Path) -> Any:
        with mock.patch.dict(os.environ, {variable: str(value(tmp))}):
            return then()
    return call


def _saved(tmp: Path, value: Any) -> str:
    torch.save(value, tmp / "boxes.pt")
    return str(tmp / "boxes.pt")


def _a_file(tmp: Path) -> Path:
    (tmp / "a_file").write_text("")
    return tmp / "a_file"


def _read_only_runs(tmp: Path) -> Any:
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    with mock.patch.object(store.tempfile, "mkstemp", refused):   # a read-only folder, also for root
        return store.save_atomic({"x": 1}, tmp / "runs" / "x.pt")


def _run_args(**kw: Any) -> argparse.Namespace:
    base = dict(profile="full", chapters="training", param=[], data_dir=None, out=None, force=False)
    return argparse.Namespace(**{**base, **kw})


def _run_check(**kw: Any) -> Callable[[Path], Any]:
    return lambda tmp: check(_run_args(**kw), gpu_available=False)


def _launch(*argv: str) -> Callable[[Path], Any]:
    def call(tmp: Path) -> Any:
        args = launch.parser().parse_args(list(argv))
        return launch.check_args(args, world_size=1)
    return call


def _mnist(root: Path) -> None:
    from real_fixtures import write_mnist

    write_mnist(root)


def _celeba_flat(root: Path) -> None:
    """CelebA's images and tables straight in `root`, without the celeba/ folder (probe 3 S13)."""
    from real_fixtures import write_celeba

    write_celeba(root / "tmp")
    for entry in (root / "tmp" / "celeba").iterdir():
        entry.rename(root / entry.name)


def _swapped_mnist(root: Path) -> None:
    """MNIST's training images and labels files with their names swapped (probe H07)."""
    from real_fixtures import write_mnist

    write_mnist(root)
    raw = root / "MNIST" / "raw"
    images, labels = raw / "train-images-idx3-ubyte", raw / "train-labels-idx1-ubyte"
    images.rename(raw / "swap"), labels.rename(images), (raw / "swap").rename(labels)


def _train_cli(*argv: str) -> Callable[[Path], Any]:
    return lambda tmp: check_train_args(train_parser().parse_args(list(argv)))


def _exits_saying(call: Callable[[], Any]) -> Callable[[Path], Any]:
    """An argparse refusal (SystemExit, its message on stderr) as a ValueError carrying that message."""
    def run(tmp: Path) -> Any:
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            try:
                return call()
            except SystemExit:
                raise ValueError(said.getvalue()) from None
    return run


def _data_cli(*argv: str) -> Callable[[Path], Any]:
    """`dcgan-data` with `argv` (paths under the fresh folder: "{tmp}"): its refusal as a ValueError."""
    from dcgan_lib.tooling.data_cli import main as data_main

    def run(tmp: Path) -> Any:
        (tmp / "photos").mkdir()
        (tmp / "photos" / "notes.txt").write_text("x")
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            try:
                status = data_main([a.format(tmp=tmp) for a in argv])
            except SystemExit as stop:   # argparse's refusal
                status = stop.code
            if status == 2:
                raise ValueError(said.getvalue())
    return run


def _config(cls: type, **fields: Any) -> Callable[[Path], Any]:
    return lambda tmp: cls(**fields)


def _field(cls: type, field: str, value: Any, rule: str) -> Bad:
    """A config field with a value no run can use: the message must name the field, the value and the rule."""
    return Bad(f"{cls.__name__}.{field}={value!r}", _config(cls, **{field: value}), ConfigError,
               re.escape(f"{cls.__name__}.{field}={value!r} is not valid") + ".*" + rule)


BAD_INPUTS = [
    # ---- configs: refused where they are made ------------------------------------------------------------------
    _field(TrainConfig, "epochs", 0, "at least 1"),
    _field(TrainConfig, "epochs", -1, "at least 1"),
    _field(TrainConfig, "epochs", 2.5, "whole number"),
    _field(TrainConfig, "batch_size", 0, "at least 1"),
    _field(TrainConfig, "batch_size", -4, "at least 1"),
    _field(TrainConfig, "nz", 0, "at least 1"),
    _field(TrainConfig, "image_size", "32", r"built for \[32, 64, 128\]"),
    _field(TrainConfig, "image_size", 32.0, r"built for \[32, 64, 128\]"),
    _field(TrainConfig, "image_size", 48, r"built for \[32, 64, 128\]"),
    _field(TrainConfig, "n_train", True, "None"),
    _field(TrainConfig, "n_train", 0, "at least 1"),
    _field(TrainConfig, "lr", 1e6, "between 0 and 1"),
    _field(TrainConfig, "lr", 0.0, "between 0 and 1"),
    _field(TrainConfig, "lr", float("nan"), "between 0 and 1"),
    _field(TrainConfig, "beta1", 1.0, r"\[0, 1\)"),
    _field(TrainConfig, "prior", "gauss", "uniform"),
    _field(TrainConfig, "nc", 2, r"1 \(grayscale\) or 3"),
    _field(TrainConfig, "ngf", 0, "at least 1"),
    _field(TrainConfig, "seed", -1, r"from 0 to 2\*\*63 - 1"),
    _field(TrainConfig, "seed", 2 ** 64, r"from 0 to 2\*\*63 - 1"),
    _field(TrainConfig, "bn_affine", "yes", "True or False"),
    _field(TrainConfig, "dataset", "", "dataset name"),
    _field(ConditionalConfig, "arch", "gan", r"\('dcgan', 'fc'\)"),
    _field(ConditionalConfig, "n_classes", 1, "at least 2"),
    _field(ConditionalConfig, "width", 0, "at least 1"),
    # ---- train(): the data and the options, refused before any work ----------------------------------------------
    Bad("float images in 0..255", lambda tmp: train(TrainConfig(**TINY), tmp, data=uint8_images().float(),
                                                    progress=False), ValueError, r"not in \[-1, 1\].*x / 127.5 - 1"),
    Bad("images with a NaN", _with_nan, ValueError, r"not in \[-1, 1\]"),
    Bad("precision='fp16'", lambda tmp: train(TrainConfig(**TINY), tmp, precision="fp16"), ValueError,
        "precision='fp16' is not valid.*'fp32'"),
    Bad("checkpoint_every=-1", lambda tmp: train(TrainConfig(**TINY), tmp, checkpoint_every=-1), ValueError,
        "checkpoint_every=-1 is not valid.*at least"),
    Bad("stop_after_epoch=-1", lambda tmp: train(TrainConfig(**TINY), tmp, stop_after_epoch=-1), ValueError,
        "stop_after_epoch=-1 is not valid.*at least 0"),
    Bad("fewer images than one batch", lambda tmp: train(TrainConfig(**TINY), tmp, data=uint8_images(8),
                                                         progress=False), ValueError, "8 images, fewer than one batch"),
    Bad("64-pixel data for a 32-pixel model", lambda tmp: train(TrainConfig(**TINY), tmp, data=uint8_images(size=64),
                                                               progress=False), ValueError, "image_size=32"),
    Bad("grayscale data for a colour model", lambda tmp: train(TrainConfig(**TINY), tmp, data=uint8_images(channels=1),
                                                              progress=False), ValueError, "channel"),
    Bad("a conditional model on unlabelled data",
        lambda tmp: train(ConditionalConfig(dataset="random", width=4, batch_size=16, epochs=1), tmp,
                          data=ImageDataset("random", uint8_images(64, 1)), progress=False), ValueError, "no labels"),
    # ---- datasets: refused where they are loaded -----------------------------------------------------------------
    Bad("an unknown dataset", lambda tmp: load_dataset("cifar"), DatasetError,
        "unknown dataset 'cifar'.*Did you mean 'cifar10'"),
    Bad("a misspelt dataset", lambda tmp: load_dataset("room"), DatasetError, "Did you mean 'rooms'"),
    Bad("rooms at 48 pixels", lambda tmp: load_dataset("rooms", 48), DatasetError, "48.*32.*64"),
    Bad("digits at 128 pixels", lambda tmp: load_dataset("digits", 128), DatasetError, "128.*supported"),
    Bad("mnist at 100 pixels", lambda tmp: load_dataset("mnist", 100), DatasetError, "100.*128"),
    Bad("split='valid'", lambda tmp: load_dataset("faces", split="valid"), DatasetError, "valid.*train.*test"),
    Bad("n=0", lambda tmp: load_dataset("faces", n=0), DatasetError, "n=0 is not valid.*at least 1"),
    Bad("n=-5", lambda tmp: load_dataset("objects10", n=-5), DatasetError, "n=-5 is not valid.*at least 1"),
    Bad("n=True", lambda tmp: load_dataset("rooms", n=True), DatasetError, "n=True is not valid.*whole number"),
    Bad("image_size='32'", lambda tmp: load_dataset("rooms", image_size="32"), DatasetError,
        "image_size='32' is a str.*whole number"),
    Bad("image_size=32.0", lambda tmp: load_dataset("rooms", image_size=32.0), DatasetError,
        "image_size=32.0 is a float"),
    Bad("more digits than exist", lambda tmp: load_dataset("digits", n=5000), DatasetError, "5000.*1347"),
    Bad("MNIST that is not there", lambda tmp: load_dataset("mnist", 32, data_dir=tmp / "nowhere"), DatasetError,
        "mnist.*download=True"),
    Bad("a folder that is not CIFAR-10",
        lambda tmp: (tmp.joinpath("junk.txt").write_text("x"), load_dataset("cifar10", 32, data_dir=tmp)),
        DatasetError, "CIFAR-10 file .*data_batch_1 not found.*download=True"),
    Bad("LSUN without lmdb", _lsun_without_lmdb, DatasetError, "pip install lmdb"),
    Bad("an image folder that does not exist", lambda tmp: load_dataset("folder", 32, data_dir=tmp / "absent"),
        DatasetError, "does not exist"),
    Bad("an image folder without images",
        lambda tmp: (tmp.joinpath("x", "class_a").mkdir(parents=True), load_dataset("folder", 32, data_dir=tmp / "x")),
        DatasetError, "^(?!.*download).*no images found"),                    # not download=True: the wrong fix
    Bad("the test split of a folder too small to hold images out",
        lambda tmp: load_dataset("folder", 32, split="test", data_dir=_image_folder(tmp / "images")),
        DatasetError, "too few images to hold 10% out.*test/"),
    Bad("a folder with test/ but no train/", _only_test_folder, DatasetError, "no train/ folder"),
    Bad("more images than the folder holds",
        lambda tmp: load_dataset("folder", 32, n=10, data_dir=_image_folder(tmp / "images")), DatasetError,
        "smaller n"),
    Bad("a 1×1 image in a folder", _tiny_image_folder, DatasetError, r"1×1 pixels.*more than twice to 32×32"),
    Bad("a broken image in a folder", _corrupt_image_folder, DatasetError,
        "cannot read image .*broken.png.*Delete or replace this file"),
    Bad("grayscale data for nc=3", lambda tmp: check_channels(load_dataset("digits", 32, n=8), 3), DatasetError,
        "nc=1.*grayscale->RGB"),
    # ---- chapter parameters that name files --------------------------------------------------------------------
    Bad("BOXES_FILE not given on real data", lambda tmp: load_hand_boxes(None), ValueError,
        "BOXES_FILE is None.*no locator.*draw boxes"),
    Bad("BOXES_FILE without boxes", lambda tmp: load_hand_boxes(_saved(tmp, {"z": torch.zeros(2, 100)})),
        ValueError, "BOXES_FILE=.*keys 'z' and 'boxes'"),
    Bad("BOXES_FILE with boxes of the wrong shape",
        lambda tmp: load_hand_boxes(_saved(tmp, {"z": torch.zeros(2, 100), "boxes": torch.zeros(2, 4)})),
        ValueError, r"BOXES_FILE=.*expected z \[N, nz\] and boxes \[N, K, 4\]"),
    # ---- folders: the variables that place the data and the runs -------------------------------------------------
    Bad("DCGAN_DATA_DIR is a file", _env("DCGAN_DATA_DIR", _a_file, paths.data_dir), NotADirectoryError,
        "is a file. Set DCGAN_DATA_DIR"),
    Bad("DCGAN_DATA_DIR under a file", _env("DCGAN_DATA_DIR", lambda t: _a_file(t) / "below", paths.data_dir),
        NotADirectoryError, "Set DCGAN_DATA_DIR"),
    Bad("DCGAN_RUNS_DIR is a file", _env("DCGAN_RUNS_DIR", _a_file, paths.runs_dir), NotADirectoryError,
        "Set DCGAN_RUNS_DIR"),
    Bad("a read-only runs folder", _read_only_runs, PermissionError, "read-only. Set DCGAN_RUNS_DIR"),
    # ---- the model zoo -------------------------------------------------------------------------------------------
    Bad("an unknown model", lambda tmp: zoo.model_config("bedrooms", "ci"), ValueError,
        "Unknown model 'bedrooms'.*rooms"),
    Bad("an unknown profile", lambda tmp: zoo.model_config("rooms", "huge"), ValueError,
        "Unknown profile 'huge'"),
    Bad("a model on an unknown dataset",
        lambda tmp: zoo.model_config("rooms", "book", dataset="imagenet"), ValueError,
        "Unknown dataset 'imagenet'"),
    Bad("a judge for a real dataset", lambda tmp: zoo.judge_config("celeba", "ci"),
        ValueError, "No judge for 'celeba'.*offline"),
    # ---- the chapter runner: python -m dcgan_lib.tooling.run -----------------------------------------------------
    Bad("an unknown chapter", _run_check(chapters="trainnig"), ValueError, "Unknown chapter 'trainnig'"),
    Bad("no chapter", _run_check(chapters=","), ValueError, "No chapter given"),
    Bad("an unknown dataset parameter", _run_check(param=["DATASET=imagenet21k"]), ValueError,
        "Unknown dataset 'imagenet21k'"),
    Bad("a data folder that does not exist", _run_check(data_dir="/no/such/folder"), ValueError, "does not exist"),
    Bad("the full profile without a GPU", _run_check(), ValueError, "none is available.*--force"),
    Bad("a misspelt parameter name", _run_check(param=["DATSET=celeba"]), ValueError,
        "--param DATSET: no chosen chapter .* DATASET"),
    Bad("PROFILE as a parameter", _run_check(param=["PROFILE=full"]), ValueError, "choose the profile with --profile"),
    Bad("a parameter of the wrong type", _run_check(chapters="forgetting", param=["OBJECT=3"]), ValueError,
        r"OBJECT=3 is a int.*'window' \(str\)"),
    Bad("a parameter without =", lambda tmp: parse_params(["DATASET"]),
        ValueError, "NAME=VALUE"),
    # ---- dcgan-train: a DCGAN on a folder of images or a named dataset --------------------------------------------
    Bad("dcgan-train --data with no such folder", _train_cli("--data", "/no/such/photos"), ValueError,
        "neither a folder.*nor a dataset name"),
    Bad("dcgan-train --epochs 0", _train_cli("--data", "rooms", "--epochs", "0"), ValueError,
        "--epochs must be a positive whole number, got 0"),
    Bad("dcgan-train --data-root for a folder", lambda tmp: check_train_args(train_parser().parse_args(
        ["--data", str(tmp), "--data-root", str(tmp)])), ValueError, "--data-root is for a named dataset"),
    Bad("dcgan-train --data-root that does not exist", _train_cli("--data", "cifar10", "--data-root", "/no/such"),
        ValueError, "--data-root /no/such does not exist"),
    Bad("dcgan-train --lr 5", _train_cli("--data", "rooms", "--lr", "5"), ValueError, "--lr 5.0 is not valid"),
    Bad("dcgan-train --seed 2**64", _train_cli("--data", "rooms", "--seed", str(2 ** 64)), ValueError,
        r"--seed 18446744073709551616 is not valid.*2\*\*63"),
    Bad("dcgan-train --ngf 10000000", _train_cli("--data", "rooms", "--ngf", "10000000"), ValueError,
        "--ngf 10000000 is far beyond any DCGAN"),
    Bad("dcgan-train --out ''", _train_cli("--data", "rooms", "--out", ""), ValueError, "--out is empty"),
    Bad("dcgan-train --out a file", lambda tmp: (tmp.joinpath("notes.txt").write_text("x"), check_train_args(
        train_parser().parse_args(["--data", "rooms", "--out", str(tmp / "notes.txt")])))[1], ValueError,
        "--out .*notes.txt is a file"),
    Bad("dcgan-train --out inside the image folder", lambda tmp: check_train_args(train_parser().parse_args(
        ["--data", str(_image_folder(tmp / "photos")), "--out", str(tmp / "photos" / "run")])), ValueError,
        "is inside --data .*sample grids would be read as training images"),
    Bad("dcgan-train --data-root for a generated dataset", _train_cli("--data", "rooms", "--data-root", "/tmp"),
        ValueError, "--data-root is for a real dataset's files; rooms is generated"),
    Bad("dcgan-train --download with a folder", lambda tmp: check_train_args(train_parser().parse_args(
        ["--data", str(_image_folder(tmp / "photos")), "--download"])), ValueError, "--download fetches"),
    # ---- the training launcher: python -m dcgan_lib.tooling.launch -----------------------------------------------
    Bad("dcgan-train --data given twice", _exits_saying(lambda: refuse_repeated(
        train_parser(), ["--data", "a", "--data=b"], ("--data", "--out"))), ValueError,
        r"--data is given 2 times \(a, b\): give it once"),
    Bad("runner --data-dir empty", _run_check(param=["DATASET=folder"], data_dir=""), ValueError,
        "--data-dir is empty.*leave --data-dir out"),
    Bad("runner DATASET=celeba with no CelebA where the chapters look", _run_check(
        profile="ci", param=["DATASET=celeba"]), ValueError, "without --data-dir .*pass --data-dir"),
    Bad("runner --out empty", _run_check(out=" "), ValueError, "--out is empty"),
    # ---- probe 3: a new user's files and options ------------------------------------------------------------------
    Bad("dcgan-train --data a photo", lambda tmp: (_image_folder(tmp / "photos"), check_train_args(
        train_parser().parse_args(["--data", str(tmp / "photos" / "class_0" / "a.png")])))[1], ValueError,
        "--data .*a.png is a file: pass the folder that holds it"),
    Bad("dcgan-train --data a zip", lambda tmp: (tmp.joinpath("photos.zip").write_bytes(b"PK"), check_train_args(
        train_parser().parse_args(["--data", str(tmp / "photos.zip")])))[1], ValueError,
        "photos.zip is a file: unpack it into a folder"),
    Bad("dcgan-train --out inside a file", lambda tmp: (tmp.joinpath("photo.jpg").write_text("x"), check_train_args(
        train_parser().parse_args(["--data", "rooms", "--out", str(tmp / "photo.jpg" / "run")])))[1], ValueError,
        "photo.jpg is a file, so no folder can be made in it"),
    Bad("dcgan-train --ou (an abbreviation) beside --out", _exits_saying(lambda: train_parser().parse_args(
        ["--data", "rooms", "--out", "a", "--ou", "b"])), ValueError, "unrecognized arguments: --ou b"),
    Bad("MNIST --root one level too deep", lambda tmp: (_mnist(tmp), load_dataset(
        "mnist", 32, data_dir=tmp / "MNIST"))[1], DatasetError, "is the mnist data's own folder: pass the folder "
        "that holds it"),
    Bad("CIFAR-10 still packed", lambda tmp: (tmp.joinpath("cifar-10-python.tar.gz").write_bytes(b"x"),
        load_dataset("cifar10", 32, data_dir=tmp))[1], DatasetError, "still packed: unpack it there"),
    Bad("CelebA without its celeba/ folder", lambda tmp: (_celeba_flat(tmp), load_dataset(
        "celeba", 32, data_dir=tmp))[1], DatasetError, "CelebA's files are in .* itself: move"),
    Bad("runner OBJECT=chair", _run_check(profile="ci", chapters="forgetting", param=["OBJECT='chair'"]),
        ValueError, "OBJECT='chair' is not one of the chapter's choices: bed, window"),
    Bad("runner TRANSFER=imagenet", _run_check(profile="ci", chapters="classification", param=[
        "TRANSFER='imagenet'"]), ValueError, "TRANSFER='imagenet' is not one of .*rooms, faces, folder"),
    Bad("runner BOXES_FILE that is not there", _run_check(profile="ci", chapters="forgetting", param=[
        "BOXES_FILE='/no/such.pt'"]), ValueError, "BOXES_FILE='/no/such.pt' is not a file"),
    Bad("runner --out inside --data-dir", lambda tmp: (tmp.joinpath("photos").mkdir(), check(_run_args(
        param=["DATASET=folder"], data_dir=str(tmp / "photos"), out=str(tmp / "photos" / "run")),
        gpu_available=False)), ValueError, "--out .* is inside --data-dir"),
    Bad("dcgan-train --out a broken link", lambda tmp: (tmp.joinpath("run").symlink_to(tmp / "unmounted"),
        check_train_args(train_parser().parse_args(["--data", "rooms", "--out", str(tmp / "run")]))), ValueError,
        "--out .* is a broken link .*mount the drive"),
    Bad("dcgan-train --out holding another project's checkpoint", lambda tmp: (
        tmp.joinpath("run").mkdir(), torch.save({"model": torch.zeros(2)}, tmp / "run" / "checkpoint.pt"),
        check_source(tmp / "run", "rooms", fresh=False)), ValueError, "did not write.*--fresh"),
    Bad("dcgan-train --data-root empty", _train_cli("--data", "cifar10", "--data-root", ""), ValueError,
        "--data-root is empty.*leave --data-root out"),
    Bad("dcgan-train --epochs given twice", _exits_saying(lambda: refuse_repeated(
        train_parser(), ["--data", "a", "--epochs", "1", "--epochs=3"])), ValueError,
        r"--epochs is given 2 times \(1, 3\): give it once"),
    Bad("dcgan-train --data-root that is a file", lambda tmp: (tmp.joinpath("root").write_text("x"), check_train_args(
        train_parser().parse_args(["--data", "cifar10", "--data-root", str(tmp / "root")])))[1], ValueError,
        "--data-root .*root is a file"),
    Bad("MNIST with its images and labels files swapped", lambda tmp: (_swapped_mnist(tmp), load_dataset(
        "mnist", 32, data_dir=tmp))[1], DatasetError, "holds labels and .* holds images: the two files were swapped"),
    Bad("dcgan-data --root given twice", _data_cli("check", "cifar10", "--root", "{tmp}/a", "--root", "{tmp}/b"),
        ValueError, r"--root is given 2 times .*give it once"),
    Bad("dcgan-data check <a folder>", _data_cli("check", "{tmp}/photos", "--quiet"), ValueError,
        "is a folder: .*dcgan-data check folder --root"),
    Bad("dcgan-data check cifar10 --root <a file>", _data_cli("check", "cifar10", "--root", "{tmp}/photos/notes.txt"),
        ValueError, "--root .* is a file: pass the folder"),
    Bad("launch --dataset imagenet", _launch("--dataset", "imagenet"), ValueError, "Unknown --dataset 'imagenet'"),
    Bad("launch --epochs 0", _launch("--epochs", "0"), ValueError, "--epochs must be a positive number, got 0"),
    Bad("launch --lr -1", _launch("--lr", "-1"), ValueError, "--lr must be positive, got -1"),
    Bad("launch --device cuda without a GPU", _launch("--device", "cuda"), ValueError, "sees no GPU.*--device cpu"),
]


def judge(bad: Bad, tmp: Path) -> tuple[str, str]:
    """Try one bad input: 'clear' (the right error with its key words), 'unclear' (another error, or a message
    without them) or 'wrong' (accepted silently); with what was raised."""
    try:
        with mock.patch.dict(os.environ):
            bad.call(tmp)
    except BaseException as err:  # noqa: BLE001 - a tally counts every outcome
        said = f"{type(err).__name__}: {err}"
        clear = isinstance(err, bad.error) and re.search(bad.words, str(err), re.S) is not None
        return ("clear" if clear else "unclear"), said
    return "wrong", "accepted without an error"


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b.name for b in BAD_INPUTS])
def test_a_bad_input_is_refused_clearly(bad, tmp_cache):
    (tmp_cache / "work").mkdir()
    verdict, said = judge(bad, tmp_cache / "work")
    assert verdict == "clear", f"{bad.name}: {verdict} ({said[:400]}); expected {bad.error.__name__} ~ {bad.words!r}"


def tally() -> int:
    """Try every bad input and every fault trial in fresh folders; print the counts; 0 if all are handled."""
    from test_faults import FAULTS, survives

    verdicts: dict[str, list[str]] = {"clear": [], "unclear": [], "wrong": []}
    survived = []
    with tempfile.TemporaryDirectory() as root, mock.patch.dict(os.environ, {
            "DCGAN_DATA_DIR": f"{root}/data", "DCGAN_RUNS_DIR": f"{root}/runs", "DCGAN_PROGRESS": "0"}):
        for i, bad in enumerate(BAD_INPUTS):
            (Path(root) / f"in{i}").mkdir()
            verdict, said = judge(bad, Path(root) / f"in{i}")
            verdicts[verdict].append(f"{bad.name}: {said[:160]}")
        for i, trial in enumerate(FAULTS):
            (Path(root) / f"fault{i}").mkdir()
            ok, said = survives(trial, Path(root) / f"fault{i}")
            survived.append(ok)
            print(f"fault {'survived' if ok else 'NOT SURVIVED'}: {trial.__doc__.splitlines()[0]} {said}")
    for verdict in ("unclear", "wrong"):
        for line in verdicts[verdict]:
            print(f"{verdict}: {line}")
    print(f"bad inputs tried {len(BAD_INPUTS)} / clear {len(verdicts['clear'])} / unclear "
          f"{len(verdicts['unclear'])} / wrong {len(verdicts['wrong'])}; "
          f"faults tried {len(FAULTS)} / survived {sum(survived)}")
    return 0 if len(verdicts["clear"]) == len(BAD_INPUTS) and all(survived) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(tally())
