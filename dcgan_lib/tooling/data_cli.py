"""`dcgan-data`: fetch the paper's datasets before a `full` run, and check that a folder holds readable ones.

    dcgan-data get celeba cifar10 --root /content/datasets     # torchvision downloads both splits
    dcgan-data check lsun --root /content/datasets             # decodes every image, or says what is wrong

`--root` is what the chapters' `--data-dir` is (the folder that holds torchvision's downloads, or for `folder`
the folder of images itself); without it each dataset goes to `$DCGAN_REAL_DATA`, else `data/<name>`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from tqdm.auto import tqdm

from dcgan_lib.core.paths import real_data_root
from dcgan_lib.core.runtime import show_progress
from dcgan_lib.data import REAL_DATASETS, DatasetError, load_dataset
from dcgan_lib.data.folders import scan_folder
from dcgan_lib.tooling.words import DATA, refuse_repeated, reword

SPLITS = ("train", "test")
NO_DOWNLOAD = {
    "lsun": "torchvision cannot download LSUN: fetch bedroom_train_lmdb and bedroom_val_lmdb with the LSUN "
            "script (github.com/fyu/lsun: python download.py -c bedroom -o {root}; 43 GB), unzip them there, then run "
            "dcgan-data check lsun --root {root}",
    "folder": "your own images need no download: put them in <folder>/<class>/<image> and pass that folder",
}


def parser() -> argparse.ArgumentParser:
    """The command-line options of `dcgan-data`."""
    p = argparse.ArgumentParser(prog="dcgan-data", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("action", choices=("get", "check"), help="get: download with torchvision; check: read only")
    p.add_argument("datasets", nargs="+", metavar="DATASET", help=f"one or more of {', '.join(REAL_DATASETS)}")
    p.add_argument("--root", default=None, help="the folder that holds the datasets (the chapters' --data-dir)")
    p.add_argument("--size", type=int, default=64, choices=(32, 64, 128),
                   help="the --size you will train at: images too small for it are reported (default: 64, as "
                        "dcgan-train's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar while every image is decoded")
    return p


class _Probe(torch.utils.data.Dataset):
    """Item i of a dataset as what is wrong with it (None when it decodes to finite values): one bad file must not
    stop the check of the others."""

    def __init__(self, dataset: torch.utils.data.Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> str | None:
        try:
            image = self.dataset[i][0]
        except Exception as err:          # PIL and the readers raise many kinds of error for a bad file
            return str(err)
        return None if torch.isfinite(image).all() else f"image {i} decodes to values that are not finite"


def unreadable(dataset: torch.utils.data.Dataset, workers: int | None = None, progress: bool | None = None,
               label: str = "") -> list[str]:
    """What is wrong with each image of `dataset` that cannot be decoded, reading every one (in `workers`
    processes, default: up to 4)."""
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    loader = torch.utils.data.DataLoader(_Probe(dataset), batch_size=64, num_workers=workers, collate_fn=list)
    problems = []
    for batch in tqdm(loader, desc=f"decoding {label}", unit="batch", disable=not show_progress(progress), leave=False):
        problems += [p for p in batch if p]
    return problems


def fetch(name: str, root: Path, download: bool, decode: bool = True, progress: bool | None = None,
          size: int = 64) -> dict[str, int]:
    """{split: number of images} of dataset `name` under `root`, downloading it first if `download`, and with
    `decode` opening every image as training at `size` will: a DatasetError lists the files that cannot be read
    (or are too small for `size`), or says there are none."""
    if download and name in NO_DOWNLOAD:
        raise DatasetError(NO_DOWNLOAD[name].format(root=root))
    counts, problems = {}, []
    for split in SPLITS:
        try:
            dataset = load_dataset(name, size, split=split, data_dir=root, download=download)
        except DatasetError:
            if name == "folder" and split == "test" and not any((root / s).is_dir() for s in ("test", "val")):
                continue      # a folder too small to hold a tenth out: it is a training set only
            raise
        if len(dataset) == 0:
            raise DatasetError(f"{name} ({split}) in {root} holds no images")
        problems += unreadable(dataset, progress=progress, label=f"{name} {split}") if decode else []
        counts[split] = len(dataset)
    if name == "celeba":   # the tables chapter 06's judge reads at full: missing, it fails hours into a run
        tables = ("list_attr_celeba.txt", "list_landmarks_align_celeba.txt")
        problems += [f"{root / 'celeba' / t}: missing (chapter 06's faces judge reads it)" for t in tables
                     if not any((root / "celeba" / t).with_suffix(x).is_file() for x in (".txt", ".csv"))]
    if name == "folder":   # folders the walk could not open hold images that were never checked
        scan = scan_folder(root)
        problems += [f"{scan.examples[reason]}: {reason}, with whatever images it holds"
                     for reason in scan.skipped if reason.startswith("folders that could not be read")]
    if problems:
        shown = "\n  ".join(problems[:10]) + (f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise DatasetError(f"{len(problems)} of the {sum(counts.values()):,} images ({' and '.join(counts)}) of "
                           f"{name} in {root} cannot be read:\n  {shown}\nFix, delete or replace them (each line says "
                           f"how), then check again.")
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0 when every dataset is readable, 2 otherwise."""
    options, argv = parser(), sys.argv[1:] if argv is None else argv
    refuse_repeated(options, argv)   # `--root a ... --root b` would check b alone
    args = options.parse_args(argv)
    unknown = [name for name in args.datasets if name not in REAL_DATASETS]
    folders = [name for name in unknown if Path(name).expanduser().is_dir()]
    if folders:
        print(f"error: {folders[0]} is a folder: check a folder of images with `dcgan-data check folder --root "
              f"{folders[0]}`", file=sys.stderr)
        return 2
    if unknown:
        print(f"error: {', '.join(unknown)}: not a real dataset; choose from {', '.join(REAL_DATASETS)} (the "
              f"generated ones need no files)", file=sys.stderr)
        return 2
    if args.root is not None and Path(args.root).expanduser().is_file():
        print(f"error: --root {args.root} is a file: pass the folder that holds the dataset's files or "
              f"folders", file=sys.stderr)
        return 2
    if args.root is not None and not args.root.strip():
        print("error: --root is empty (an unset variable?): pass the folder that holds the data, or leave --root "
              "out.", file=sys.stderr)
        return 2
    status = 0
    for name in args.datasets:
        root = Path(args.root).expanduser() if args.root else real_data_root(name)
        try:
            counts = fetch(name, root, download=args.action == "get", progress=False if args.quiet else None,
                           size=args.size)
        except DatasetError as err:
            print(f"error: {reword(str(err), DATA)}", file=sys.stderr)
            status = 2
            continue
        splits = ", ".join(f"{n:,} {split}" for split, n in counts.items())
        print(f"{name}: {splits} images, every one decoded at {args.size}×{args.size}, in {root}")
    return status


if __name__ == "__main__":
    sys.exit(main())
