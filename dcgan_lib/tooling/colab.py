"""Set-up for a chapter opened in Colab: name the runtime's device and choose the profile for it.

A chapter's first cell installs the library on Colab and calls `setup()`. The profile it picks is `book` on a GPU
runtime as on a CPU one: on a GPU `book` takes seconds to minutes, while `full` needs the real datasets
(gigabytes to download) and hours, more than a Colab session reliably gives. `full` stays one parameter away.
"""
from __future__ import annotations

import os


def gpu_name() -> str | None:
    """The name of the runtime's GPU, or None on a CPU-only runtime."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def choose_profile(gpu: str | None, cpu_count: int | None = None) -> tuple[str, str]:
    """The profile for a Colab runtime with this GPU (None: CPU only), and the message that explains it."""
    if gpu is not None:
        return "book", (f"Colab runtime: GPU ({gpu}). Profile: book, as in the rendered book (run time below). "
                        'The paper\'s scale is one parameter away: PROFILE = "full" in the next cell '
                        "(real datasets to download, hours of training).")
    cores = f"{cpu_count}-core " if cpu_count else ""
    return "book", (f"Colab runtime: {cores}CPU, no GPU. Profile: book, as in the rendered book (run time below). "
                    "Faster: Runtime > Change runtime type > GPU; a quick pass at toy sizes: "
                    'PROFILE = "ci" in the next cell.')


def setup(environ: dict | None = None) -> str:
    """Print the device and set $DCGAN_PROFILE for the parameters cell, unless it is already set; returns it."""
    environ = os.environ if environ is None else environ
    profile, message = choose_profile(gpu_name(), os.cpu_count())
    if "DCGAN_PROFILE" in environ:
        message = message.split(" Profile:")[0] + f" Profile: {environ['DCGAN_PROFILE']} (set by DCGAN_PROFILE)."
    environ.setdefault("DCGAN_PROFILE", profile)
    print(message)
    return environ["DCGAN_PROFILE"]
