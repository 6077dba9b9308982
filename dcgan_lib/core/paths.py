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
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Folder for checkpoints and metric records: $DCGAN_RUNS_DIR, else <data_dir>/runs."""
    path = Path(os.environ["DCGAN_RUNS_DIR"]).expanduser() if os.environ.get("DCGAN_RUNS_DIR") else data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
