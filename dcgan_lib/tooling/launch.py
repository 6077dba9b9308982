"""Train one of the book's models with DDP on several GPUs or machines: the command line torchrun launches.

    torchrun --standalone --nproc_per_node=4 -m dcgan_lib.tooling.launch --model rooms --profile full

How the work, the batch, the learning rate, BatchNorm and checkpoints are shared: see dcgan_lib.train.distributed.
This module sits above the model zoo (dcgan_lib.zoo), which maps a model name and profile to its config;
the data-parallel machinery below it knows nothing of the book's models.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from dcgan_lib.core.profiles import PROFILE_NAMES, get_profile
from dcgan_lib.data.datasets import DATASETS, load_dataset
from dcgan_lib.data.decode_once import decoded
from dcgan_lib.data.specs import DATASET_SPECS
from dcgan_lib.train.distributed import World, close, init
from dcgan_lib.train.loop import TRAIN_PRECISIONS, train
from dcgan_lib.zoo import MODEL_SPECS, model_config, run_dir_for


def parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m dcgan_lib.tooling.launch``."""
    p = argparse.ArgumentParser(prog="torchrun --nproc_per_node=N -m dcgan_lib.tooling.launch",
                                description="Train one of the book's DCGANs with DDP, one process per GPU.")
    p.add_argument("--model", default="rooms", choices=sorted(MODEL_SPECS), help="the book's model (default rooms)")
    p.add_argument("--dataset", default=None, help="train on another dataset, e.g. celeba (default: the model's "
                   "dataset at this profile, e.g. lsun for rooms at full)")
    p.add_argument("--profile", default=None, choices=PROFILE_NAMES, help="sizes (default $DCGAN_PROFILE or book)")
    p.add_argument("--epochs", type=int, default=None, help="override the profile's number of epochs")
    p.add_argument("--n-train", type=int, default=None, help="override the profile's number of training images")
    p.add_argument("--batch-size", type=int, default=None,
                   help="GLOBAL batch, split evenly over the processes (default: the profile's, 128 at full)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default the paper's 2e-4; never "
                   "rescaled with the batch)")
    p.add_argument("--device", default=None, choices=["cuda", "cpu"], help="default: cuda if available")
    p.add_argument("--sync-batchnorm", action="store_true", help="BatchNorm over the global batch (CUDA only)")
    p.add_argument("--precision", default="auto", choices=TRAIN_PRECISIONS)
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument("--checkpoint-every", type=int, default=None, help="also checkpoint every k steps in an epoch")
    p.add_argument("--stop-after-epoch", type=int, default=None, help="stop early, as an interruption would")
    p.add_argument("--run-dir", default=None, help="checkpoint folder (default: where the chapters look for it)")
    p.add_argument("--data-dir", default=None, help="dataset folder (real datasets) or cache (generated ones)")
    p.add_argument("--no-resume", action="store_true", help="start over even if run-dir holds a checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def check_args(args: argparse.Namespace, world_size: int) -> None:
    """Reject bad arguments before any process group or dataset is touched, naming the fix."""
    if args.dataset is not None and args.dataset not in DATASETS:
        raise ValueError(f"Unknown --dataset {args.dataset!r}: choose one of {', '.join(DATASETS)}.")
    for name in ("epochs", "n_train", "batch_size", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive number, got {value}.")
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}.")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda but PyTorch sees no GPU here: use --device cpu (Gloo) or run on a GPU machine.")
    if args.sync_batchnorm and world_size > 1 and (args.device == "cpu" or not torch.cuda.is_available()):
        raise ValueError("--sync-batchnorm needs CUDA (PyTorch's SyncBatchNorm is GPU-only): drop it on the CPU.")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``torchrun ... -m dcgan_lib.tooling.launch``: check arguments, join the group, load data,
    train."""
    args = parser().parse_args(argv)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    try:
        check_args(args, world_size)
        profile = get_profile(args.profile)
        overrides = {k: v for k, v in [("dataset", args.dataset), ("epochs", args.epochs), ("n_train", args.n_train),
                                       ("batch_size", args.batch_size), ("lr", args.lr)] if v is not None}
        config = model_config(args.model, profile, **overrides)
        World(0, world_size).local_batch(config.batch_size)  # divisibility, before any process waits on another
    except ValueError as err:
        parser().error(str(err))
    world, device = init(args.device)
    try:
        run_dir = Path(args.run_dir) if args.run_dir else run_dir_for(args.model, config)
        if world.is_main:
            print(f"{world.size} process(es) × {world.local_batch(config.batch_size)} images = global batch "
                  f"{config.batch_size}, lr {config.lr:g}, {config.dataset} at {config.image_size}px on "
                  f"{device.type}; checkpoints in {run_dir}", flush=True)
        if not world.is_main:
            world.barrier()  # process 0 generates or decodes the dataset first; the others then read its cache
        if DATASET_SPECS[config.dataset].offline:
            data = load_dataset(config.dataset, config.image_size, n=config.n_train, split="train",
                                seed=config.data_seed, data_dir=args.data_dir)
        else:                # real image files: decoded once into a memory-mapped file that every process maps
            data = decoded(config.dataset, config.image_size, n=config.n_train, split="train", data_dir=args.data_dir)
        if world.is_main:
            world.barrier()
        result = train(config, run_dir, device=device, data=data, resume=not args.no_resume,
                       stop_after_epoch=args.stop_after_epoch, checkpoint_every=args.checkpoint_every
                       or profile.checkpoint_every, progress=False if args.quiet else None,
                       channels_last=not args.no_channels_last, precision=args.precision, compile=args.compile,
                       sync_batchnorm=args.sync_batchnorm)
        if world.is_main:
            print(f"done: {result.epochs_done} epochs, {len(result.history['loss_d'])} steps, {run_dir}", flush=True)
    finally:
        close()


if __name__ == "__main__":
    sys.exit(main())
