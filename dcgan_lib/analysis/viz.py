"""Figures the chapters share: image grids, training curves and distance histograms."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid


def image_grid(images: torch.Tensor, nrow: int | None = None) -> torch.Tensor:
    """Images in [-1, 1] (N×C×H×W) tiled into one H'×W'×3 array in [0, 1] for imshow."""
    nrow = nrow or int(math.ceil(math.sqrt(len(images))))
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=2, normalize=True, value_range=(-1, 1),
                     pad_value=1.0)
    return grid.permute(1, 2, 0).clamp(0, 1)


def show_images(images: torch.Tensor, title: str, nrow: int | None = None, ax: plt.Axes | None = None,
                size: float = 5.0) -> plt.Axes:
    """Show a titled grid of images in [-1, 1]."""
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size))
    ax.imshow(image_grid(images, nrow))
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_image_file(path: str | Path, title: str, ax: plt.Axes | None = None, size: float = 5.0) -> plt.Axes:
    """Show a saved PNG (e.g. a sample grid written during training) with a title."""
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size))
    ax.imshow(plt.imread(str(path)))
    ax.set_title(title)
    ax.axis("off")
    return ax


def plot_training_curves(history: dict[str, list[float]], steps_per_epoch: int, smooth: int = 20) -> plt.Figure:
    """Losses of D and G, and the mean D(x) and D(G(z)), per step (smoothed) against epochs."""
    fig, (ax_loss, ax_prob) = plt.subplots(1, 2, figsize=(11, 3.5))
    epochs = torch.arange(len(history["loss_d"])) / max(steps_per_epoch, 1)
    for ax, keys, labels in ((ax_loss, ("loss_d", "loss_g"), ("loss of D", "loss of G")),
                             (ax_prob, ("d_real", "d_fake"), ("D(x), real", "D(G(z)), fake"))):
        for i, (key, label) in enumerate(zip(keys, labels)):
            values, color = torch.tensor(history[key]), f"C{i}"
            ax.plot(epochs, values, alpha=0.2, color=color)
            if len(values) >= smooth:
                kernel = torch.ones(smooth) / smooth
                smoothed = torch.conv1d(values.view(1, 1, -1), kernel.view(1, 1, -1)).flatten()
                ax.plot(epochs[smooth - 1:], smoothed, color=color, label=f"{label} (mean of {smooth} steps)")
            else:
                ax.plot(epochs, values, color=color, label=label)
        ax.set_xlabel("epoch")
        ax.legend()
    ax_loss.set_title("Losses")
    ax_loss.set_ylabel("binary cross-entropy")
    ax_prob.set_title("What D says")
    ax_prob.set_ylabel("mean probability 'real'")
    fig.tight_layout()
    return fig


def plot_distance_histograms(distances: dict[str, torch.Tensor], title: str, xlabel: str) -> plt.Axes:
    """Overlaid histograms of distance distributions, with each median marked."""
    _, ax = plt.subplots(figsize=(7, 3.5))
    for i, (label, values) in enumerate(distances.items()):
        color = f"C{i}"
        ax.hist(values.numpy(), bins=40, alpha=0.5, density=True, color=color, label=label)
        ax.axvline(values.median().item(), color=color, linestyle="--")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    return ax
