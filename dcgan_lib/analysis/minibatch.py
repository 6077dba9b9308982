"""The mini-batch training loop of the analysis's small networks: the judges, the object locators and the
hashing autoencoder. Each brings its own loss of a batch; the loop shuffles, steps and draws the progress bar.

The loss of a batch may draw from the loop's generator too (a judge's blends, a locator's blur): its draws come
after the shuffle of their pass, in the order of the batches, so a run is repeated draw for draw by its seed.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from dcgan_lib.core.runtime import show_progress


def fit_minibatches(model: nn.Module, loss_of_batch: Callable[[Tensor], Tensor], n_items: int, batch_size: int,
                    steps_per_epoch: int, epochs: int, optimizer: torch.optim.Optimizer,
                    schedule: torch.optim.lr_scheduler.LRScheduler, rng: torch.Generator, desc: str,
                    progress: bool | None = None, loss_name: str = "loss") -> list[float]:
    """Train `model` for `epochs` passes, each shuffling `n_items` with `rng` and stepping on `loss_of_batch` of its
    first `steps_per_epoch` slices of `batch_size` indices (the last may be short); returns each pass's mean loss."""
    history = []
    with tqdm(total=epochs * steps_per_epoch, desc=desc, disable=not show_progress(progress)) as bar:
        for _ in range(epochs):
            model.train()
            order, total = torch.randperm(n_items, generator=rng), 0.0
            for step in range(steps_per_epoch):
                loss = loss_of_batch(order[step * batch_size:(step + 1) * batch_size])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total = total + loss.detach().double()   # summed on the loss's device: no wait for it each step
                bar.update()
            history.append(float(total) / steps_per_epoch if steps_per_epoch else float("nan"))
            bar.set_postfix({loss_name: f"{history[-1]:.4f}"})
    return history
