"""Runtime helpers every layer of the library uses: the device, progress bars, and a model's modes.

This module imports nothing from the rest of the library, so that data, models, training and analysis can
all build on it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw progress bars: `progress` if given, else unless $DCGAN_PROGRESS is '0' (as in book builds)."""
    return progress if progress is not None else os.environ.get("DCGAN_PROGRESS", "1") != "0"


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to use: `device` if given, else cuda, then mps, then cpu."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def machine_busy(load: float | None = None, factor: float = 1.5) -> bool:
    """Whether other work is slowing timings down: the 1-minute load average (`load`, else now) above `factor`
    times the CPU count. The chapters judge their speed bars only on a machine that is not busy, and record
    the figures with the load either way."""
    load = os.getloadavg()[0] if load is None else load
    return load > factor * (os.cpu_count() or 1)


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, `model`'s parameters get no gradients (backward passes still flow through it)."""
    model.requires_grad_(False)
    try:
        yield model
    finally:
        model.requires_grad_(True)


@contextmanager
def evaluating(*models: nn.Module) -> Iterator[None]:
    """Within the block the models are in eval mode (BatchNorm uses its running statistics); afterwards each
    is back in the mode it was in, also when the block raises."""
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)
