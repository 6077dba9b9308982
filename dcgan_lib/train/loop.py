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
from dcgan_lib.data.datasets import ImageDataset
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
from dcgan_lib.train.training_data import training_data

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
    data, labels = training_data(config, data, device)  # checked before any file is written
    run = _Run.start(config, run_dir, device, len(data), channels_last, resume)
    G_step, D_step = (parallel(m, device, sync_batchnorm, compile) for m in (run.G, run.D))  # DDP, compiled
    autocast = _autocast(device, precision)
    last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    bar = run.progress_bar(progress)
    for epoch in range(run.start_epoch, last_epoch):
        started, pending = time.perf_counter(), []
        for step, real, y in run.batches(data, labels, channels_last):
            z = run.noise()
            pending.append(train_step(G_step, D_step, run.opt_g, run.opt_d, real, z, autocast, *y))
            if len(pending) == 10:  # sync with the device only every few steps
                _flush(pending, run.history, bar, run_dir, epoch, run.world)
            if checkpoint_every and step % checkpoint_every == 0 and step < run.steps_per_epoch:
                _flush(pending, run.history, bar, run_dir, epoch, run.world)
                run.seconds, started = run.seconds + time.perf_counter() - started, time.perf_counter()
                run.save(epoch, step)
        _flush(pending, run.history, bar, run_dir, epoch, run.world)
        run.seconds += time.perf_counter() - started
        run.end_epoch(epoch, snapshot_every)
    bar.close()
    run.world.barrier()  # when train returns on any process, process 0's last checkpoint is written
    return TrainResult(run.G.eval(), run.D.eval(), config, run.history, run_dir, last_epoch, run.steps_per_epoch,
                       run.fixed_z, run.seconds)


def _autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast where asked, or with 'auto' on a CUDA device that supports it; else a no-op context."""
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)


@dataclass
class _Run:
    """What a run carries from step to step (the networks, their optimisers, the random streams, the history),
    and how it is saved to and restored from the run folder's checkpoint, so that a resumed run is exact."""

    config: GANConfig
    run_dir: Path
    device: torch.device
    world: World
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    steps_per_epoch: int
    data_rng: torch.Generator
    z_rng: torch.Generator
    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    start_epoch: int = 0
    skip_steps: int = 0                        # steps of start_epoch done before the checkpoint (resume within it)
    epoch_rng: torch.Tensor | None = None      # data_rng's state at the start of the current epoch
    seconds: float = 0.0                       # training time, over every session of this run

    @classmethod
    def start(cls, config: GANConfig, run_dir: Path, device: torch.device, n_images: int, channels_last: bool,
              resume: bool) -> _Run:
        """A new run in `run_dir` (an old run's files cleared), or the one its checkpoint holds when `resume`."""
        steps_per_epoch = n_images // config.batch_size
        if steps_per_epoch == 0:
            raise ValueError(f"The dataset has {n_images} images, fewer than one batch of {config.batch_size}: "
                             f"lower batch_size or use more images.")
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        G, D = (m.to(device, memory_format=memory_format) for m in build_models(config))
        run = cls(config, run_dir, device, World.current(), G, D, *make_optimizers(G, D, config, device.type == "cuda"),
                  steps_per_epoch, torch.Generator().manual_seed(config.seed + 1),
                  torch.Generator().manual_seed(config.seed + 2))
        if resume and (run_dir / "checkpoint.pt").exists():
            run.restore(store.load(run_dir / "checkpoint.pt", map_location=device))
        elif run.world.is_main:
            clear_run(run_dir)   # starting over: none of an old run's epochs may pass for this one's
            save_generator_snapshot(G, run_dir, 0)
        return run

    @property
    def fixed_z(self) -> torch.Tensor:
        return fixed_noise(self.config)

    def restore(self, state: dict) -> None:
        """Take up the run a checkpoint holds (refused if it was trained with another config)."""
        check_resumable(config_from_record(state["config"]), self.config, self.run_dir)
        for module, key in ((self.G, "generator"), (self.D, "discriminator"), (self.opt_g, "opt_g"),
                            (self.opt_d, "opt_d")):
            module.load_state_dict(state[key])
        store.set_rng_state(state["rng"], self.data_rng, self.z_rng)
        self.history, self.start_epoch, self.seconds = state["history"], state["epoch"], state.get("seconds", 0.0)
        self.skip_steps, self.epoch_rng = state["step_in_epoch"], state["epoch_rng"]

    def save(self, epochs_done: int, step_in_epoch: int = 0) -> None:
        """Write the checkpoint (atomically, process 0 only; never one with non-finite weights)."""
        _check_finite_weights(self.G, self.D, self.run_dir)  # a checkpoint is only ever a good one
        if not self.world.is_main:
            return
        store.save_atomic({
            "config": config_record(self.config), "epoch": epochs_done, "step": len(self.history["loss_d"]),
            "step_in_epoch": step_in_epoch, "epoch_rng": self.epoch_rng if step_in_epoch else None,
            "history": self.history, "seconds": self.seconds, "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(), "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": store.rng_state(self.data_rng, self.z_rng)}, self.run_dir / "checkpoint.pt")

    def progress_bar(self, progress: bool | None) -> tqdm:
        """A bar over every step of the run, starting at the steps already done; G and D set to training mode."""
        self.G.train(), self.D.train()
        return tqdm(total=self.steps_per_epoch * self.config.epochs, initial=len(self.history["loss_d"]),
                    unit="step", desc=describe(self.config), dynamic_ncols=True,
                    disable=not (show_progress(progress) and self.world.is_main))

    def batches(self, data, labels: torch.Tensor | None, channels_last: bool) -> Iterator[tuple]:
        """(step number, real images, (labels,) or ()) of this epoch in a fresh shuffle; resuming within an
        epoch, its shuffle is replayed and the steps already done are skipped."""
        if self.skip_steps:
            self.data_rng.set_state(self.epoch_rng)
        self.epoch_rng = self.data_rng.get_state()
        order = torch.randperm(len(data), generator=self.data_rng)[self.skip_steps * self.config.batch_size:]
        order = self.world.shard(order, self.config.batch_size)  # this process's share of every batch
        local = self.world.local_batch(self.config.batch_size)
        batches = epoch_batches(data, order, local, self.device, channels_last, labels)
        for step, (real, batch_labels) in enumerate(batches, start=self.skip_steps + 1):
            yield step, real, (() if batch_labels is None else (batch_labels,))

    def noise(self) -> torch.Tensor:
        """z for the next batch: every process draws the whole batch's and keeps its own rows."""
        z = sample_z(self.config.batch_size, self.config.nz, self.config.prior, generator=self.z_rng)
        return self.world.part(z).to(self.device, non_blocking=True)

    def end_epoch(self, epoch: int, snapshot_every: int) -> None:
        """A grid after every epoch; G's weights after every snapshot_every-th and the last; the checkpoint."""
        self.skip_steps = 0
        if self.world.is_main:
            if (epoch + 1) % snapshot_every == 0 or epoch + 1 == self.config.epochs:
                save_generator_snapshot(self.G, self.run_dir, epoch + 1)
            save_sample_grid(self.G, self.fixed_z.to(self.device), self.run_dir / f"samples_epoch{epoch + 1:03d}.png",
                             fixed_labels_for(self.config))
        self.save(epoch + 1)


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
