"""What a training run leaves in its folder besides the checkpoint: G's weights after each epoch (or every k-th),
and a grid of samples from the fixed z; and how a run started over clears an old run's files."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from dcgan_lib.core import store
from dcgan_lib.core.runtime import evaluating
from dcgan_lib.train.configs import GANConfig, build_models


@torch.no_grad()
def save_sample_grid(G: nn.Module, z: torch.Tensor, path: Path, labels: torch.Tensor | None = None) -> None:
    """Write G(z) (or G(z, labels)) as an image grid (G in eval mode, restored afterwards)."""
    from torchvision.utils import save_image

    y = () if labels is None else (labels.to(z.device),)
    with evaluating(G):
        images = G(z, *y).float()
    nrow = int(labels.max()) + 1 if labels is not None else int(math.sqrt(len(z)))
    save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1))


def clear_run(run_dir: Path) -> None:
    """Remove the files an earlier run wrote into `run_dir` (checkpoint, snapshots, sample grids)."""
    for pattern in ("checkpoint.pt", "generator_epoch*.pt", "samples_epoch*.png"):
        for path in run_dir.glob(pattern):
            path.unlink()


def save_generator_snapshot(G: nn.Module, run_dir: Path, epoch: int) -> None:
    """Keep G's weights after `epoch` epochs, so curves over training can be measured again later."""
    store.save_atomic({k: v.cpu() for k, v in G.state_dict().items()}, run_dir / f"generator_epoch{epoch:03d}.pt")


def load_generator_snapshot(run_dir: str | Path, config: GANConfig, epoch: int) -> nn.Module:
    """A generator with the weights it had after `epoch` epochs of the run in run_dir (eval mode, CPU)."""
    G, _ = build_models(config)
    path = Path(run_dir) / f"generator_epoch{epoch:03d}.pt"
    if not path.exists():
        kept = sorted(int(p.stem.removeprefix("generator_epoch")) for p in path.parent.glob("generator_epoch*.pt"))
        raise FileNotFoundError(f"No generator was kept after epoch {epoch} in {run_dir}: the run kept epochs "
                                f"{', '.join(map(str, kept)) or 'none'} (train with snapshot_every=1 to keep each).")
    G.load_state_dict(store.load(path))
    return G.eval()
