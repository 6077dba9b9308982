"""The book's chapters by short name (``training`` for ``book/02_training.ipynb``), for the command-line tools."""
from __future__ import annotations

import re
from pathlib import Path

from dcgan_lib.core.paths import repo_root

FINGERPRINT_KEY = "dcgan_book_build"  # the metadata `make book` writes into each executed chapter


def book_dir() -> Path:
    """The folder of the chapter notebooks (needs a checkout of the book's repository)."""
    root = repo_root()
    if root is None:
        raise FileNotFoundError("The chapters live in the book's repository: run this from a clone of it "
                                "(git clone the repository and `pip install -e .` inside it).")
    return root / "book"


def short_name(stem: str) -> str:
    """A chapter's name without its number prefix ("training" for 02_training): how sizes, results and the
    book's models name it."""
    return re.sub(r"^\d+_", "", stem)


def chapters() -> dict[str, Path]:
    """Every chapter notebook, keyed by its short name, in book order."""
    return {short_name(path.stem): path for path in sorted(book_dir().glob("*.ipynb"))}


def resolve(names: list[str]) -> list[Path]:
    """Notebook paths for chapter names (or file names); a clear error lists the known chapters."""
    known = chapters()
    paths = []
    for name in names:
        key = short_name(Path(name).stem)
        if key not in known:
            raise ValueError(f"Unknown chapter {name!r}: the chapters are {', '.join(known)}.")
        paths.append(known[key])
    return paths


def repository_url() -> str:
    """The book's repository as _config.yml names it: the one place the Colab install cell takes it from."""
    import yaml

    return yaml.safe_load((book_dir().parent / "_config.yml").read_text())["repository"]["url"]


def colab_cell_source() -> str:
    """Every chapter's first code cell: on Colab only, install dcgan_lib, name the device and choose the profile."""
    return ("# Colab only: install the book's library, name the device, choose the profile\n"
            "# (nothing elsewhere).\n"
            "import sys\n\n"
            'if "google.colab" in sys.modules:\n'
            "    import subprocess\n"
            '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
            '                    "dcgan_lib[full] @ "  # with what the full profile needs\n'
            f'                    "git+{repository_url()}"],\n'
            "                   check=True)\n"
            "    from dcgan_lib.tooling.colab import setup\n"
            "    setup()  # sets DCGAN_PROFILE, which the parameters cell reads")


def run_time_cell_source(notebook: str | Path) -> str:
    """The cell under a chapter's parameters cell that shows its measured run times (dcgan_lib.tooling.timings)."""
    return ("from dcgan_lib.tooling.timings import run_time_note\n\n"
            f'run_time_note("{Path(notebook).stem}")')
