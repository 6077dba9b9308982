"""Where the library keeps datasets, checkpoints and recorded metrics."""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the dcgan_lib folder


def repo_root() -> Path | None:
    """The book's repository root when the library runs from a checkout, else None."""
    candidate = _PACKAGE_ROOT.parent
    return candidate if (candidate / "_toc.yml").exists() else None


def data_dir() -> Path:
    """Cache folder for generated datasets and downloads: $DCGAN_DATA_DIR, else <repo>/data, else ~/.cache/dcgan_lib."""
    if os.environ.get("DCGAN_DATA_DIR"):
        path = Path(os.environ["DCGAN_DATA_DIR"]).expanduser()
    elif repo_root() is not None:
        path = repo_root() / "data"
    else:
        path = Path.home() / ".cache" / "dcgan_lib"
    return _usable_folder(path, "DCGAN_DATA_DIR")


def real_data_root(name: str) -> Path:
    """Where a real dataset is read from: $DCGAN_REAL_DATA (what `--data-dir` sets) if given, else
    <data_dir>/<name>. For `folder` that is the folder of images itself (class subfolders, and train/ and
    test/ when present); for the torchvision datasets it is the folder that holds them, laid out as
    torchvision downloads them (``MNIST/``, ``cifar-10-batches-py/``, ``*_32x32.mat``, ``celeba/``,
    ``bedroom_train_lmdb/``)."""
    if os.environ.get("DCGAN_REAL_DATA"):
        return Path(os.environ["DCGAN_REAL_DATA"]).expanduser()
    return data_dir() / name


def runs_dir() -> Path:
    """Folder for checkpoints and metric records: $DCGAN_RUNS_DIR, else <data_dir>/runs."""
    path = Path(os.environ["DCGAN_RUNS_DIR"]).expanduser() if os.environ.get("DCGAN_RUNS_DIR") else data_dir() / "runs"
    return _usable_folder(path, "DCGAN_RUNS_DIR")


def _usable_folder(path: Path, variable: str) -> Path:
    """`path`, created if needed; otherwise an error that names the folder and the variable to set (a read-only
    folder is fine for reading a filled cache; writing into it fails with the store's message)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(f"{path} cannot be a folder: it, or a folder above it, is a file. Set {variable} to "
                                 f"a folder (or remove the file).") from None
    except PermissionError:
        raise PermissionError(f"{path} cannot be created: no permission. Set {variable} to a folder you can write "
                              f"to.") from None
    return path
