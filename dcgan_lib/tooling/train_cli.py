"""`dcgan-train`: a DCGAN on a folder of your own images, or on one of the paper's datasets, in one command.

pytorch/examples' `dcgan/main.py` experience with this library's checks: a progress bar, a checkpoint after
every epoch (and every `--checkpoint-every` steps), an exact resume when the same command runs again, and a
grid of samples from a fixed batch of z after every epoch.

    dcgan-train --data ~/my_faces --size 64 --epochs 25 --out runs/faces
    dcgan-train --data celeba --data-root ~/datasets --size 64 --epochs 5 --out runs/celeba

A folder of images may hold class subfolders (any names) or the images themselves, and `train/` is used when
present; the paper's datasets are read from `--data-root` in torchvision's layout (see the README). The first
run decodes the images once into a memory-mapped file at `--size` (see `dcgan_lib.data.decode_once`), so that later
epochs and runs do not decode JPEGs again; `--no-cache` reads the files every epoch instead.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import signal
import sys
from pathlib import Path

from dcgan_lib.core import store
from dcgan_lib.core.runtime import device_unavailable, free_memory, pick_device
from dcgan_lib.data import DATASET_SPECS, DATASETS, DatasetError, decoded, load_dataset
from dcgan_lib.data.folders import ARCHIVES, folder_fingerprint
from dcgan_lib.tooling.words import TRAIN, refuse_repeated, reword
from dcgan_lib.train.configs import (
    ConfigError,
    RunConfigMismatch,
    TrainConfig,
    check_resumable,
    config_from_record,
    training_memory,
)
from dcgan_lib.train.loop import TrainingDiverged, train

SIZES = (32, 64, 128)
PAPER_BATCH, LARGE_EPOCHS = 128, 5   # the paper's batch; passes over a large dataset (CelebA: 5 give faces)
SMALL_STEPS = 1500                   # steps a small folder gets at least (drawn faces show at about 1,000)
MAX_SNAPSHOTS = 10                   # G's weights kept after about this many epochs by default (and the last)


class _Defaults(argparse.HelpFormatter):
    """Adds '(default: x)' to an option's help where x says something (not None, not False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help or ""
        return f"{action.help or ''} (default: {action.default})".strip()


def parser() -> argparse.ArgumentParser:
    """The command-line options of `dcgan-train` (`--help` lists them with their defaults)."""
    p = argparse.ArgumentParser(prog="dcgan-train", description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                formatter_class=_Defaults)
    p.add_argument("--data", required=True,
                   help=f"a folder of images, or a dataset name: {', '.join(DATASETS)}")
    p.add_argument("--data-root", default=None,
                   help="for a named real dataset, the folder that holds it (default $DCGAN_REAL_DATA or data/<name>)")
    p.add_argument("--download", action="store_true", help="let torchvision download a named dataset (needs internet)")
    p.add_argument("--size", type=int, default=64, choices=SIZES, help="image size the DCGAN is built for")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"passes over the training images (default: {LARGE_EPOCHS}, or enough for {SMALL_STEPS:,} "
                        f"steps on a small folder)")
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"images per step (default: the paper's {PAPER_BATCH}, smaller for a small folder, so that an "
                        f"epoch has at least 40 steps)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (the paper's)")
    p.add_argument("--beta1", type=float, default=0.5, help="Adam β1 (the paper's)")
    p.add_argument("--nz", type=int, default=100, help="size of z")
    p.add_argument("--ngf", type=int, default=64, help="G's width")
    p.add_argument("--ndf", type=int, default=64, help="D's width")
    p.add_argument("--n-images", type=int, default=None,
                   help="train on N of the images, drawn at random (the same N in every run; default: all)")
    p.add_argument("--seed", type=int, default=0, help="the weights' initialisation (data order and z follow it)")
    p.add_argument("--out", default=None, help="run folder: checkpoints and sample grids (default runs/<data name>)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="also checkpoint every k steps within an epoch")
    p.add_argument("--fresh", action="store_true", help="start over even if --out holds a checkpoint")
    p.add_argument("--keep-every", type=int, default=None,
                   help=f"keep G's weights after every k-th epoch and the last (default: about {MAX_SNAPSHOTS} "
                        f"kept; 1 keeps every epoch's)")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    p.add_argument("--no-cache", action="store_true",
                   help="read and decode the image files every epoch instead of once into a memory-mapped file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def resolve_data(data: str) -> tuple[str, Path | None]:
    """(dataset name, the folder of images for `folder`): `data` is an existing folder or a dataset name; a bare
    name that is both is refused rather than guessed."""
    if not data.strip():
        raise ValueError("--data is empty: pass the folder of your images (e.g. --data ~/photos) or a dataset name.")
    path = Path(data).expanduser()
    if data in DATASETS and path.is_dir():
        raise ValueError(f"--data {data} is both a dataset name and a folder here: write --data ./{data} for the "
                         f"folder, or run from another folder for the {data} dataset.")
    if path.is_dir():
        return "folder", path
    if data in DATASETS:
        return data, None
    if path.is_file():
        fix = "unpack it into a folder and pass that folder" if path.suffix.lower() in ARCHIVES else \
            f"pass the folder that holds it (--data {path.parent})"
        raise ValueError(f"--data {data} is a file: {fix}.")
    raise ValueError(f"--data {data!r} is neither a folder (no such directory) nor a dataset name: pass the "
                     f"folder of your images, or one of {', '.join(DATASETS)}.")


def check_args(args: argparse.Namespace) -> tuple[TrainConfig, Path, Path | None]:
    """The config, the run folder and the data folder, or a ValueError naming the option and the fix."""
    name, folder = resolve_data(args.data)
    for option in ("epochs", "batch_size", "nz", "ngf", "ndf", "n_images", "checkpoint_every", "keep_every"):
        value = getattr(args, option)
        if value is not None and value <= 0:
            raise ValueError(f"--{option.replace('_', '-')} must be a positive whole number, got {value}.")
    if args.data_root is not None and not args.data_root.strip():
        raise ValueError("--data-root is empty (an unset variable?): pass the folder that holds the dataset, or "
                         "leave --data-root out.")
    if args.data_root is not None and folder is not None:
        raise ValueError("--data-root is for a named dataset; with a folder of images, --data is the folder itself.")
    root = folder if folder is not None else (Path(args.data_root).expanduser() if args.data_root else None)
    if root is not None and root.exists() and not root.is_dir():
        raise ValueError(f"--data-root {root} is a file: pass the folder that holds the {name} files.")
    if root is not None and not root.exists() and not args.download:
        raise ValueError(f"--data-root {root} does not exist: pass the folder that holds the {name} files, or add "
                         f"--download to fetch them into it.")
    problem = device_unavailable(args.device) if args.device is not None else None
    if problem:
        raise ValueError(f"--device {args.device}: {problem}. Leave --device out to use the best device there is.")
    try:
        config = TrainConfig(dataset=name, image_size=args.size, nc=DATASET_SPECS[name].channels, nz=args.nz,
                             ngf=args.ngf, ndf=args.ndf, batch_size=args.batch_size or PAPER_BATCH,
                             epochs=args.epochs or LARGE_EPOCHS, lr=args.lr, beta1=args.beta1,
                             n_train=args.n_images, seed=args.seed)
    except ConfigError as err:
        raise ValueError(option_words(str(err))) from None
    if args.data_root is not None and DATASET_SPECS[name].offline:
        raise ValueError(f"--data-root is for a real dataset's files; {name} is generated or ships with the "
                         f"library: leave --data-root out.")
    if args.download and (folder is not None or DATASET_SPECS[name].offline):
        raise ValueError(f"--download fetches one of the paper's datasets; {args.data} needs no download: leave "
                         f"--download out.")
    for option in ("nz", "ngf", "ndf"):
        if getattr(args, option) > MAX_WIDTH:
            raise ValueError(f"--{option} {getattr(args, option)} is far beyond any DCGAN (the paper's widths are "
                             f"100 for --nz and 128 for --ngf/--ndf): give at most {MAX_WIDTH}.")
    return config, check_out(args.out, folder or Path(name)), root


def check_out(out_text: str | None, data: Path) -> Path:
    """The run folder --out names (default runs/<data name>), refused where a run cannot live: empty, a file,
    inside the image folder (its sample grids would become training images), or on a read-only disk."""
    if out_text is not None and not out_text.strip():
        raise ValueError("--out is empty: pass the folder for the run (e.g. --out runs/mine), or leave --out out.")
    out = Path(out_text).expanduser() if out_text else Path("runs") / data.name
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out {out} is a broken link (to {os.readlink(out)}): mount the drive it points to, or "
                         f"pass another --out.")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: pass a folder for the run (it is made if missing).")
    if data.is_dir() and out.resolve().is_relative_to(data.resolve()):
        elsewhere = data.resolve().parent / "runs" / data.resolve().name
        raise ValueError(f"--out {out} is inside --data {data}: the run's sample grids would be read as training "
                         f"images. Put the run elsewhere, e.g. --out {elsewhere}.")
    existing = next(p for p in (out.resolve(), *out.resolve().parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} is a file, so no folder can be made in it: choose another --out.")
    if not os.access(existing, os.W_OK):
        raise ValueError(f"--out {out}: {existing} is read-only: choose a folder you can write to.")
    return out


def check_source(out: Path, data: str, fresh: bool, files: str | None = None, n_images: int | None = None,
                 config: TrainConfig | None = None) -> str:
    """Refuse to resume or extend a run in `out` that was trained on other data (two folders of one name share
    the default --out) or with another `config` (RunConfigMismatch), and record the data of this run: its source,
    and for a folder of images the fingerprint of its files and their number. Returns a note when the same files
    moved, or the folder changed since."""
    record = out / SOURCE_FILE
    if not fresh and (out / "checkpoint.pt").exists() and not _is_run_checkpoint(out / "checkpoint.pt"):
        raise ValueError(f"--out {out} holds a checkpoint.pt that dcgan-train did not write (or cannot read): pass "
                         f"another --out, or --fresh to replace it.")
    if not fresh and config is not None and (out / "checkpoint.pt").exists():   # before the record is rewritten
        check_resumable(config_from_record(store.load(out / "checkpoint.pt")["config"]), config, out)
    note = ""
    if not fresh and (out / "checkpoint.pt").exists() and record.exists():
        before = json.loads(record.read_text())
        same_files = files is not None and before.get("files") == files
        if before.get("data") != data and not same_files:
            raise ValueError(f"--out {out} holds a run trained on {before.get('data')}, not on {data}: pass another "
                             f"--out for this data, or --fresh to start that run over.")
        if before.get("data") != data:
            note = f"the run's images moved from {before.get('data')} to {data} (the same files): resuming on them"
        elif files is not None and before.get("files") not in (None, files):
            counts = f"{before.get('images')} training images then, {n_images} now" \
                if before.get("images") != n_images else "files added, removed or replaced"
            note = (f"note: {data} changed since this run began ({counts}): it goes on with the images there now; "
                    f"--fresh starts over on them")
    out.mkdir(parents=True, exist_ok=True)
    facts = {"data": data} | ({"files": files, "images": n_images} if files is not None else {})
    store.write_text_atomic(json.dumps(facts) + "\n", record)
    return note


def check_memory(config: TrainConfig, device: str | None) -> None:
    """Refuse, before any training, a config whose weights, Adam's state and one batch's activations do not fit
    in the memory free here (an allocator error an hour in, or at once, names no option)."""
    where = pick_device(device)
    need, free = training_memory(config), free_memory(where)
    if free is not None and need > free:
        raise ValueError(f"--ngf {config.ngf} --ndf {config.ndf} at --size {config.image_size} with --batch-size "
                         f"{config.batch_size} need about {need / 1e9:.1f} GB to train, and {free / 1e9:.1f} GB is "
                         f"free on {where}: give smaller widths (the paper's are 128, the default 64) or a smaller "
                         f"--batch-size.")


def _mismatch(out: Path, err: RunConfigMismatch) -> str:
    """The options that differ from the run's in --out, in this command's words (an option left out: "all")."""
    differs = {name: values for name, values in err.fields.items()   # more epochs alone would extend the run
               if not (name == "epochs" and values[0] > values[1])}
    said = ", ".join(f"{OPTIONS.get(name, name)} {'all' if here is None else here} here, "
                     f"{'all' if there is None else there} in the run" for name, (here, there) in differs.items())
    return (f"--out {out} holds a run trained with other options ({said}): give the run's options to resume it (a "
            f"larger --epochs extends it), another --out, or --fresh to start over.")


def _is_run_checkpoint(path: Path) -> bool:
    """Whether `path` is a checkpoint of the library's training loop (loaded safely; weights and plain values)."""
    try:
        state = store.load(path)
    except Exception:   # noqa: BLE001 - damaged, or not a checkpoint at all: either way not one to resume
        return False
    return isinstance(state, dict) and isinstance(state.get("config"), dict) and "epoch" in state


def option_words(message: str) -> str:
    """A library message in this command's words: its options for the library's argument names."""
    return reword(message, TRAIN)


SOURCE_FILE = "data.json"    # in a run folder: the data it was trained on
MAX_WIDTH = 4096
# The config's fields as the options of this command name them.
OPTIONS = {"dataset": "--data", "image_size": "--size", "epochs": "--epochs", "batch_size": "--batch-size",
           "lr": "--lr", "beta1": "--beta1", "nz": "--nz", "ngf": "--ngf", "ndf": "--ndf", "n_train": "--n-images",
           "seed": "--seed"}


def _progress(out: Path) -> str:
    """How far the run in `out` got, from its last checkpoint ("after epoch 3 of 25")."""
    try:
        state = store.load(out / "checkpoint.pt")
        return f"after epoch {state['epoch']} of {state['config']['epochs']}" + \
            (f" (and {state['step_in_epoch']} step{'s' * (state['step_in_epoch'] > 1)} of the next)"
             if state.get("step_in_epoch") else "")
    except Exception:     # no checkpoint yet, or one from another version: say so plainly
        return "before the first checkpoint"


def schedule(n_images: int, batch_size: int | None, epochs: int | None) -> tuple[int, int, str]:
    """(batch size, epochs, a note on what was chosen) for `n_images`: the paper's batch of 128 and 5 epochs on a
    large dataset; on a small folder a batch that gives an epoch 40 steps or more (at least 16 images) and enough
    epochs for `SMALL_STEPS` steps, since 3 epochs of 4 steps learn nothing visible. Given values are kept."""
    chosen_batch = batch_size or min(max(16, min(PAPER_BATCH, 2 ** int(math.log2(max(n_images // 40, 1))))),
                                     max(n_images, 1))
    steps = max(n_images // chosen_batch, 1)
    chosen_epochs = epochs or max(LARGE_EPOCHS, math.ceil(SMALL_STEPS / steps))
    picked = [f"--batch-size {chosen_batch}" for _ in [1] if batch_size is None] + \
             [f"--epochs {chosen_epochs}" for _ in [1] if epochs is None]
    note = (f"chose {' and '.join(picked)} for {n_images:,} images ({steps * chosen_epochs:,} steps); pass them "
            f"to choose yourself" if picked and (chosen_batch, chosen_epochs) != (PAPER_BATCH, LARGE_EPOCHS) else "")
    return chosen_batch, chosen_epochs, note


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 for a bad option or dataset, 1 for a diverged run, 130
    when stopped); any other error is one line unless --debug asks for its traceback."""
    argv = sys.argv[1:] if argv is None else argv
    options = parser()
    refuse_repeated(options, argv)
    args = options.parse_args(argv)
    try:
        status = run(args)
        if status == 130:   # stopped and said so: a second Ctrl-C while torch shuts down adds no traceback
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return status
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - a tool's user gets one line, not a traceback
        if args.debug:
            raise
        first = " ".join(str(err).split())   # the whole message on one line, never cut mid-sentence
        print(f"error: {type(err).__name__}: {first} (run again with --debug for the details)", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    """Check the options, then hold the run folder (a second command into it is refused at once, before it
    changes anything there), load the data and train; the exit status (see `main`)."""
    try:
        config, out, root = check_args(args)
    except (ValueError, DatasetError, ConfigError) as err:
        print(f"error: {option_words(str(err))}", file=sys.stderr)
        return 2
    new_folder = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:   # /proc, a full or vanished drive: said before anything is read
        print(f"error: --out {out}: the folder cannot be made there ({err.strerror}): choose a folder you can "
              f"write to.", file=sys.stderr)
        return 2
    try:
        with store.sole_writer(out, inner=True):   # train() inside re-enters it
            status = _load_and_train(args, config, out, root)
    except store.RunInUse as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if status in (2, 130) and new_folder and {p.name for p in out.iterdir()} <= {"writer.lock"}:
        shutil.rmtree(out)   # refused before anything was trained: leave no empty run folder behind
    return status


def _load_and_train(args: argparse.Namespace, config: TrainConfig, out: Path, root: Path | None) -> int:
    """Load the data, record it in the run folder (refusing another run's folder) and train."""
    try:
        real = not DATASET_SPECS[config.dataset].offline
        if args.download and root is not None:
            root.mkdir(parents=True, exist_ok=True)   # --download fetches into a new --data-root as torchvision does
        where = {"n": config.n_train, "split": "train", "data_dir": root if real else None,
                 "download": args.download and real}
        data = (load_dataset(config.dataset, config.image_size, **where) if args.no_cache
                else decoded(config.dataset, config.image_size, progress=False if args.quiet else None, **where))
        batch_size, epochs, note = schedule(len(data), args.batch_size, args.epochs)
        config = dataclasses.replace(config, batch_size=batch_size, epochs=epochs)
        if config.batch_size > len(data):
            raise ValueError(f"--batch-size {config.batch_size} is more than the {len(data)} training images: pass "
                             f"--batch-size {len(data)} or less, or leave --batch-size out.")
        check_memory(config, args.device)
        source = str(root.resolve()) if config.dataset == "folder" else \
            config.dataset + (f" from {root.resolve()}" if root is not None else "")
        files = folder_fingerprint(root, images_only=True) if config.dataset == "folder" else None
        moved_or_changed = check_source(out, source, args.fresh, files, len(data), config)
    except RunConfigMismatch as err:  # a checkpoint in --out from other options
        print(f"error: {_mismatch(out, err)}", file=sys.stderr)
        return 2
    except (ValueError, DatasetError, ConfigError) as err:
        print(f"error: {option_words(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:   # Ctrl-C while the images are read: nothing was trained yet
        print("\nstopped while reading the images, before any training: run the same command to start again.",
              file=sys.stderr)
        return 130
    print(f"{config.dataset}: {len(data):,} training images at {config.image_size}×{config.image_size}; "
          f"run folder {out}" + "".join(f"\n{n}" for n in (note, moved_or_changed) if n))
    if not args.fresh and (out / "checkpoint.pt").exists():
        print(f"resuming the run in {out}, {_progress(out)}")
    keep_every = args.keep_every or max(1, math.ceil(config.epochs / MAX_SNAPSHOTS))
    try:
        result = train(config, out, device=args.device, data=data, resume=not args.fresh,
                       checkpoint_every=args.checkpoint_every, progress=False if args.quiet else None,
                       snapshot_every=keep_every)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except RunConfigMismatch as err:
        print(f"error: {_mismatch(out, err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nstopped {_progress(out)}: run the same command to resume.", file=sys.stderr)
        return 130
    print(f"done: {result.epochs_done} epochs in {result.train_seconds:.0f} s; samples after each epoch, the "
          f"checkpoint and G's weights every {keep_every} epoch(s) are in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
