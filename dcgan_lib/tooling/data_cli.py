"""`dcgan-data`: fetch the paper's datasets before a `full` run, and check that a folder holds readable ones.

    dcgan-data get celeba cifar10 --root /content/datasets     # torchvision downloads both splits
    dcgan-data check lsun --root /content/datasets             # reads both splits, or says what is missing

`--root` is what the chapters' `--data-dir` is (the folder that holds torchvision's downloads, or for `folder`
the folder of images itself); without it each dataset goes to `$DCGAN_REAL_DATA`, else `data/<name>`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dcgan_lib.core.paths import real_data_root
from dcgan_lib.data import DATASET_SPECS, REAL_DATASETS, DatasetError, load_dataset

SPLITS = ("train", "test")
NO_DOWNLOAD = {
    "lsun": "torchvision cannot download LSUN: fetch bedroom_train_lmdb and bedroom_val_lmdb with the LSUN "
            "script (github.com/fyu/lsun: python download.py -c bedroom -o {root}; 43 GB), unzip them there, then run "
            "dcgan-data check lsun --root {root}",
    "folder": "your own images need no download: put them in <folder>/<class>/<image> and pass that folder",
}


def parser() -> argparse.ArgumentParser:
    """The command-line options of `dcgan-data`."""
    p = argparse.ArgumentParser(prog="dcgan-data", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("get", "check"), help="get: download with torchvision; check: read only")
    p.add_argument("datasets", nargs="+", metavar="DATASET", help=f"one or more of {', '.join(REAL_DATASETS)}")
    p.add_argument("--root", default=None, help="the folder that holds the datasets (the chapters' --data-dir)")
    return p


def fetch(name: str, root: Path, download: bool) -> dict[str, int]:
    """{split: number of images} of dataset `name` under `root`, downloading it first if `download`."""
    if download and name in NO_DOWNLOAD:
        raise DatasetError(NO_DOWNLOAD[name].format(root=root))
    size = DATASET_SPECS[name].sizes[0]
    counts = {}
    for split in SPLITS:
        if name == "folder" and split == "test" and not any((root / s).is_dir() for s in ("test", "val")):
            continue                      # a folder without test/ is a training set only
        counts[split] = len(load_dataset(name, size, split=split, data_dir=root, download=download))
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0 when every dataset is readable, 2 otherwise."""
    args = parser().parse_args(argv)
    unknown = [name for name in args.datasets if name not in REAL_DATASETS]
    if unknown:
        print(f"error: {', '.join(unknown)}: not a real dataset; choose from {', '.join(REAL_DATASETS)} (the "
              f"generated ones need no files)", file=sys.stderr)
        return 2
    status = 0
    for name in args.datasets:
        root = Path(args.root).expanduser() if args.root else real_data_root(name)
        try:
            counts = fetch(name, root, download=args.action == "get")
        except DatasetError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 2
            continue
        splits = ", ".join(f"{n:,} {split}" for split, n in counts.items())
        print(f"{name}: {splits} images, readable in {root}")
    return status


if __name__ == "__main__":
    sys.exit(main())
