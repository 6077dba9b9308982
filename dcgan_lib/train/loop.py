"""Adversarial training as in the paper (§4): Adam(2e-4, β1=0.5), batch 128, non-saturating G loss.

The loop is the one of pytorch/examples' dcgan: (1) update D on a real and a fake batch, (2) update G
to make D call its fakes real. The same loop trains the class-conditional models of §8.1 (a `ConditionalConfig`):
then G and D also see each batch's labels. Around it: checkpoints that resume exactly, a NaN guard, sample grids
after every epoch, speed switches (channels_last, bf16 autocast and fused Adam on CUDA, torch.compile) and
data parallelism over several processes when launched by torchrun (see dcgan_lib.train.distributed).
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from dcgan_lib.core import store
from dcgan_lib.core.runtime import frozen, pick_device, show_progress
from dcgan_lib.data.datasets import ImageDataset, check_channels, load_dataset
from dcgan_lib.data.decode_once import decoded
from dcgan_lib.data.specs import DATASET_SPECS
from dcgan_lib.models.dcgan import sample_z
from dcgan_lib.train.configs import (
    ConditionalConfig,
    GANConfig,
    TrainConfig,
    build_models,
    check_resumable,
    config_from_record,
    config_record,
    describe,
    is_conditional,
)
from dcgan_lib.train.distributed import World, parallel
from dcgan_lib.train.run_files import clear_run, load_generator_snapshot, save_generator_snapshot, save_sample_grid

__all__ = ["ConditionalConfig", "TrainConfig", "TrainResult", "TrainingDiverged", "build_models", "load_trained",
           "make_optimizers", "train", "train_step"]

HISTORY_KEYS = ("loss_d", "loss_g", "d_real", "d_fake")
STEP_PRECISIONS = ("fp32", "bf16")             # what a training step computes in (bf16: autocast)
TRAIN_PRECISIONS = ("auto", *STEP_PRECISIONS)  # what `train` accepts: "auto" is bf16 where CUDA supports it


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    """A trained (or loaded) pair of models with the per-step history and where the run is stored."""

    generator: nn.Module
    discriminator: nn.Module
    config: GANConfig
    history: dict[str, list[float]]
    run_dir: Path
    epochs_done: int
    steps_per_epoch: int = 0
    fixed_z: torch.Tensor = field(default=None, repr=False)
    train_seconds: float = 0.0   # time spent in training steps, over every session of the run

    def generator_at(self, epoch: int) -> nn.Module:
        """The generator's weights as they were after `epoch` epochs (0: untrained), loaded from the run."""
        return load_generator_snapshot(self.run_dir, self.config, epoch)


def make_optimizers(G: nn.Module, D: nn.Module, config: GANConfig, fused: bool = False):
    """Adam with the paper's settings for each network."""
    kwargs = dict(lr=config.lr, betas=(config.beta1, config.beta2), fused=fused or None)
    return torch.optim.Adam(G.parameters(), **kwargs), torch.optim.Adam(D.parameters(), **kwargs)


def train_step(G: nn.Module, D: nn.Module, opt_g, opt_d, real: torch.Tensor, z: torch.Tensor,
               autocast: torch.autocast, labels: torch.Tensor | None = None) -> torch.Tensor:
    """One D update then one G update; returns [loss_D, loss_G, mean D(x), mean D(G(z))] (detached).

    With `labels` (conditional models) every network call also gets them: D judges (image, label) pairs."""
    y = () if labels is None else (labels,)
    # (1) Update D: maximise log D(x) + log(1 - D(G(z)))
    with autocast:
        fake = G(z, *y)
        logit_real, logit_fake = D(real, *y), D(fake.detach(), *y)
        loss_d = (F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real))
                  + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake)))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    # (2) Update G: maximise log D(G(z)), the non-saturating loss. G needs gradients *through* D but not
    #     *for* D's weights, so D is frozen for this pass (same result, about 10% less work on a CPU).
    with autocast, frozen(D):
        logit_gen = D(fake, *y)
        loss_g = F.binary_cross_entropy_with_logits(logit_gen, torch.ones_like(logit_gen))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
    opt_g.step()
    return torch.stack([loss_d, loss_g, logit_real.sigmoid().mean(), logit_fake.sigmoid().mean()]).detach().float()


def epoch_batches(data: torch.Tensor | torch.utils.data.Dataset, order: torch.Tensor, batch_size: int,
                  device: torch.device, channels_last: bool,
                  labels: torch.Tensor | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """(images in [-1, 1], their labels or None) batch by batch, taken in `order` (drops the last partial batch).

    In-memory image tensors (uint8 or float) are indexed directly, on the device they live on, and so are their
    `labels`; disk-backed datasets (real images through torchvision) go through a DataLoader with workers and
    pinned memory on CUDA (no labels: conditional models train on in-memory datasets).
    """
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    if isinstance(data, torch.Tensor):
        for start in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size].to(data.device)
            batch = data[idx].to(device, non_blocking=True)
            if batch.dtype == torch.uint8:
                batch = batch.float().div_(127.5).sub_(1)
            batch_labels = None if labels is None else labels[idx].to(device, non_blocking=True)
            yield batch.contiguous(memory_format=memory_format), batch_labels
        return
    cpus_per_process = (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    workers = min(8, max(1, cpus_per_process)) if device.type == "cuda" else 0
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(data, order.tolist()), batch_size, drop_last=True,
                                         num_workers=workers, pin_memory=device.type == "cuda")
    for images, *_ in loader:
        yield images.to(device, non_blocking=True).contiguous(memory_format=memory_format), None


def train(config: GANConfig, run_dir: str | Path, *args, **kwargs) -> TrainResult:
    """`_train` (below) with the run folder held by this process alone: a second run started into the same folder
    is refused, naming the process that holds it, so that two runs never mix their checkpoints."""
    with store.sole_writer(Path(run_dir)) if World.current().is_main else contextlib.nullcontext():
        return _train(config, run_dir, *args, **kwargs)


def _train(config: GANConfig, run_dir: str | Path, device: str | torch.device | None = None,
           data: ImageDataset | torch.Tensor | torch.utils.data.Dataset | None = None, resume: bool = True,
           stop_after_epoch: int | None = None, checkpoint_every: int | None = None, progress: bool | None = None,
           channels_last: bool = True, precision: str = "auto", compile: bool = False,
           sync_batchnorm: bool = False, snapshot_every: int = 1) -> TrainResult:
    """Train a GAN for config.epochs epochs; resumes exactly from run_dir's checkpoint if there is one.

    `config` is a `TrainConfig` (the DCGAN) or a `ConditionalConfig` (G and D also see each batch's labels).
    A checkpoint is written after every epoch and, with `checkpoint_every=k`, every k steps within an epoch.
    `data` defaults to `load_dataset(config.dataset, ...)`; `stop_after_epoch` stops early (as an interruption
    would); `precision` is 'auto' (bf16 autocast on a CUDA device that supports it, else fp32), 'fp32' or 'bf16';
    `compile` applies torch.compile to G and D; `snapshot_every=k` keeps G's weights after every k-th epoch (and
    the last) instead of after each, to save disk on long runs. Launched by torchrun, each process trains on its
    share of every batch of config.batch_size (the global batch) and process 0 alone writes files; see
    dcgan_lib.train.distributed.
    """
    _check_options(precision, checkpoint_every, stop_after_epoch, snapshot_every)
    device, run_dir = pick_device(device), Path(run_dir)
    world = World.current()  # this process's rank among the processes torchrun started (rank 0 of 1 without it)
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    data, labels = _training_data(config, data, device)  # checked before any file is written
    steps_per_epoch = len(data) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"The dataset has {len(data)} images, fewer than one batch of {config.batch_size}: "
                         f"lower batch_size or use more images.")
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    G, D = (m.to(device, memory_format=memory_format) for m in build_models(config))
    opt_g, opt_d = make_optimizers(G, D, config, fused=device.type == "cuda")
    data_rng, z_rng = torch.Generator().manual_seed(config.seed + 1), torch.Generator().manual_seed(config.seed + 2)
    fixed_z, fixed_labels = fixed_noise(config), fixed_labels_for(config)
    history = {k: [] for k in HISTORY_KEYS}
    start_epoch, skip_steps, epoch_rng, seconds = 0, 0, None, 0.0

    checkpoint_path = run_dir / "checkpoint.pt"
    if resume and checkpoint_path.exists():
        state = store.load(checkpoint_path, map_location=device)
        check_resumable(config_from_record(state["config"]), config, run_dir)
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        store.set_rng_state(state["rng"], data_rng, z_rng)
        history, start_epoch, seconds = state["history"], state["epoch"], state.get("seconds", 0.0)
        skip_steps, epoch_rng = state["step_in_epoch"], state["epoch_rng"]
    elif world.is_main:
        clear_run(run_dir)   # starting over: none of an old run's epochs may pass for this one's
        save_generator_snapshot(G, run_dir, 0)
    # The modules the steps call: DDP wrappers when there are several processes, compiled if asked.
    G_step, D_step = (parallel(m, device, sync_batchnorm, compile) for m in (G, D))

    def save_checkpoint(epochs_done: int, step_in_epoch: int = 0, epoch_start_rng: torch.Tensor | None = None):
        _check_finite_weights(G, D, run_dir)  # a checkpoint is only ever a good one
        if not world.is_main:
            return
        store.save_atomic({
            "config": config_record(config), "epoch": epochs_done, "step": len(history["loss_d"]),
            "step_in_epoch": step_in_epoch, "epoch_rng": epoch_start_rng, "history": history, "seconds": seconds,
            "generator": G.state_dict(), "discriminator": D.state_dict(), "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(), "rng": store.rng_state(data_rng, z_rng)}, checkpoint_path)

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    bar = tqdm(total=steps_per_epoch * config.epochs, initial=len(history["loss_d"]), unit="step",
               desc=describe(config), disable=not (show_progress(progress) and world.is_main), dynamic_ncols=True)
    G.train(), D.train()
    for epoch in range(start_epoch, last_epoch):
        started = time.perf_counter()
        if skip_steps:  # resuming within an epoch: replay its shuffle, skip the steps already done
            data_rng.set_state(epoch_rng)
        epoch_rng = data_rng.get_state()
        order = torch.randperm(len(data), generator=data_rng)[skip_steps * config.batch_size:]
        order = world.shard(order, config.batch_size)  # this process's share of every batch (all of it alone)
        batches = epoch_batches(data, order, world.local_batch(config.batch_size), device, channels_last, labels)
        pending = []
        for step, (real, batch_labels) in enumerate(batches, start=skip_steps + 1):
            z = sample_z(config.batch_size, config.nz, config.prior, generator=z_rng)
            z = world.part(z).to(device, non_blocking=True)  # every process draws the batch's noise, keeps its rows
            y = () if batch_labels is None else (batch_labels,)
            pending.append(train_step(G_step, D_step, opt_g, opt_d, real, z, autocast, *y))
            if len(pending) == 10:  # sync with the device only every few steps
                _flush(pending, history, bar, run_dir, epoch, world)
            if checkpoint_every and step % checkpoint_every == 0 and step < steps_per_epoch:
                _flush(pending, history, bar, run_dir, epoch, world)
                seconds, started = seconds + time.perf_counter() - started, time.perf_counter()
                save_checkpoint(epoch, step, epoch_rng)
        _flush(pending, history, bar, run_dir, epoch, world)
        seconds += time.perf_counter() - started
        skip_steps = 0
        if world.is_main:   # a grid after every epoch; G's weights after every snapshot_every-th and the last
            if (epoch + 1) % snapshot_every == 0 or epoch + 1 == config.epochs:
                save_generator_snapshot(G, run_dir, epoch + 1)
            save_sample_grid(G, fixed_z.to(device), run_dir / f"samples_epoch{epoch + 1:03d}.png", fixed_labels)
        save_checkpoint(epoch + 1)
    bar.close()
    world.barrier()  # when train returns on any process, process 0's last checkpoint is written
    return TrainResult(G.eval(), D.eval(), config, history, run_dir, last_epoch, steps_per_epoch, fixed_z, seconds)


def _check_options(precision: str, checkpoint_every: int | None, stop_after_epoch: int | None,
                   snapshot_every: int = 1) -> None:
    """Refuse options of `train` that no run can use, naming the option, the value and what is valid."""
    if precision not in TRAIN_PRECISIONS:
        raise ValueError(f"precision={precision!r} is not valid: use one of {TRAIN_PRECISIONS} (fp16 is not "
                         f"offered: bf16 autocast on a CUDA device needs no loss scaling).")
    for name, value, least in (("checkpoint_every", checkpoint_every, 1), ("stop_after_epoch", stop_after_epoch, 0),
                               ("snapshot_every", snapshot_every, 1)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            raise ValueError(f"{name}={value!r} is not valid: use None or a whole number of at least {least}.")


def _check_finite_weights(G: nn.Module, D: nn.Module, run_dir: Path) -> None:
    """Stop before a checkpoint with non-finite weights replaces the last good one."""
    bad = [f"{net}.{name}" for net, model in (("G", G), ("D", D)) for name, p in model.state_dict().items()
           if p.is_floating_point() and not torch.isfinite(p).all()]
    if bad:
        raise TrainingDiverged(f"Training diverged: weights became NaN or infinite after the last update "
                               f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}). "
                               f"{_last_good(run_dir)} Lower the learning rate, then train again.")


def _last_good(run_dir: Path) -> str:
    """What a diverged run still has: the last checkpoint written (all are finite), or none yet."""
    path = run_dir / "checkpoint.pt"
    if not path.exists():
        return f"No checkpoint was written yet in {run_dir}: training again starts from the beginning."
    state = store.load(path)
    return (f"The last good checkpoint, {state['epoch']} epochs and {state['step']} steps in, is kept in {run_dir}; "
            f"training again resumes from it.")


def _check_range(data: torch.Tensor) -> None:
    """Float images must already be scaled to [-1, 1] (uint8 ones are scaled batch by batch)."""
    if data.is_floating_point() and len(data):
        sample = data[: min(len(data), 256)]
        low, high = float(sample.min()), float(sample.max())
        if not (-1.001 <= low and high <= 1.001):  # NaN fails too
            raise ValueError(f"The training images are floats in [{low:.3g}, {high:.3g}], not in [-1, 1] as G's "
                             f"tanh: pass uint8 images (0..255), or scale floats with x / 127.5 - 1.")


def _training_data(config: GANConfig, data, device: torch.device) -> tuple:
    """(the training images as an in-memory tensor on `device` or a torch Dataset, their labels on `device` for a
    conditional model, else None), checked against the model. By default a real dataset's files are decoded once
    into a memory-mapped file (`decoded`); pass data=load_dataset(...) to read the files every epoch instead."""
    if data is None and DATASET_SPECS[config.dataset].offline:
        data = load_dataset(config.dataset, config.image_size, n=config.n_train, split="train", seed=config.data_seed)
    elif data is None:
        data = decoded(config.dataset, config.image_size, n=config.n_train, split="train")
    labels = None
    if is_conditional(config):
        if not isinstance(data, ImageDataset) or data.labels is None:
            name = getattr(data, "name", type(data).__name__)
            raise ValueError(f"{name!r} has no labels in memory: a conditional GAN trains on an ImageDataset with "
                             f"one class label per image (for example load_mnist5k()).")
        labels = data.labels.to(device)
    if isinstance(data, ImageDataset):
        check_channels(data, config.nc)
        data = data.images
    elif isinstance(data, torch.Tensor) and data.shape[1] != config.nc:
        check_channels(ImageDataset("the given images", data[:0]), config.nc)
    else:
        check_channels(data, config.nc)
    if isinstance(data, torch.Tensor):
        _check_range(data)
    size = data.shape[-1] if isinstance(data, torch.Tensor) else getattr(data, "image_size", config.image_size)
    if size != config.image_size:
        raise ValueError(f"The data is {size}×{size} but the model is built for {config.image_size}×"
                         f"{config.image_size}: load the dataset with image_size={config.image_size}.")
    return (_placed(data, device) if isinstance(data, torch.Tensor) else data), labels


def _placed(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The training images on `device` when they fit in 80% of its free memory (then batches are indexed there),
    else where they are (a memory-mapped file stays on disk and in the page cache; batches are copied over)."""
    if device.type == "cuda" and images.device != device:
        free, _ = torch.cuda.mem_get_info(device)
        if images.nbytes > 0.8 * free:
            return images
    return images.to(device)


def _flush(pending: list[torch.Tensor], history: dict, bar, run_dir: Path, epoch: int,
           world: World | None = None) -> None:
    """Move pending step statistics (averaged over processes) to the history, update the bar, stop on NaN/inf."""
    if not pending:
        return
    world = world or World()
    stats = world.mean(torch.stack(pending)).cpu()
    pending.clear()
    if not torch.isfinite(stats[:, :2]).all():
        step = len(history["loss_d"]) + int((~torch.isfinite(stats[:, :2]).all(1)).nonzero()[0])
        raise TrainingDiverged(
            f"Training diverged at step {step} (epoch {epoch + 1}): a loss became NaN or infinite. "
            f"{_last_good(run_dir)} Check the data for NaN/inf values and that it is scaled to [-1, 1], or lower "
            f"the learning rate, then train again.")
    for key, column in zip(HISTORY_KEYS, stats.T):
        history[key].extend(column.tolist())
    bar.update(len(stats))
    bar.set_postfix(loss_d=f"{stats[-1, 0]:.3f}", loss_g=f"{stats[-1, 1]:.3f}", d_x=f"{stats[-1, 2]:.2f}",
                    d_gz=f"{stats[-1, 3]:.2f}", refresh=False)


def fixed_noise(config: GANConfig) -> torch.Tensor:
    """The fixed batch of z used for the sample grid after every epoch (depends only on the config)."""
    return sample_z(config.n_fixed, config.nz, config.prior, generator=torch.Generator().manual_seed(config.seed + 3))


def fixed_labels_for(config: GANConfig) -> torch.Tensor | None:
    """The labels of the fixed batch of a conditional model (0, 1, ..., 9, 0, 1, ...: a row per class), else None."""
    return torch.arange(config.n_fixed) % config.n_classes if is_conditional(config) else None


def load_trained(run_dir: str | Path, device: str | torch.device | None = None) -> TrainResult:
    """Load the models, config and history of a finished or interrupted run from its checkpoint."""
    run_dir, device = Path(run_dir), pick_device(device)
    state = store.load(run_dir / "checkpoint.pt", map_location="cpu")
    config = config_from_record(state["config"])
    G, D = build_models(config)
    G.load_state_dict(state["generator"])
    D.load_state_dict(state["discriminator"])
    if not all(torch.isfinite(p).all() for p in (*G.parameters(), *D.parameters())):
        raise TrainingDiverged(f"{run_dir / 'checkpoint.pt'} holds NaN or infinite weights (written by another "
                               f"tool or an older version): delete it and train again.")
    steps_per_epoch = len(state["history"]["loss_d"]) // max(state["epoch"], 1)
    return TrainResult(G.to(device).eval(), D.to(device).eval(), config, state["history"], run_dir, state["epoch"],
                       steps_per_epoch, fixed_noise(config), state.get("seconds", 0.0))
