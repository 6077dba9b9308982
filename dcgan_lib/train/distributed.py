"""Data-parallel training on several GPUs (or CPU processes) with PyTorch's DDP, launched by ``torchrun``.

The command line that trains one of the book's models this way is ``dcgan_lib.tooling.launch``.

One machine, one process per GPU (``--standalone`` picks a free port)::

    torchrun --standalone --nproc_per_node=4 -m dcgan_lib.tooling.launch --model rooms --profile full

Several machines: run the same command on each, with torchrun's rendezvous on one of them (any free port)::

    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=node0.example:29400 \\
        --rdzv_id=dcgan-rooms -m dcgan_lib.tooling.launch --model rooms --profile full --run-dir /shared/runs/rooms

The backend is NCCL on CUDA and Gloo on the CPU (``--device cpu``, e.g. to try the launch on a laptop).

How the work is split
    Every process draws the same shuffle and the same noise for the whole *global* batch and keeps its own
    contiguous share (:meth:`World.shard`, :meth:`World.part`): the images and noise of global step ``i`` are
    the same whatever the number of processes. DDP averages the gradients, so a step on ``W`` processes is the
    step of one process on the global batch, except for BatchNorm (below).

Batch size and learning rate
    ``--batch-size`` is the **global** batch: per-process batch = global batch / number of processes (it must
    divide evenly). The paper's learning rate, 2e-4 with Adam, goes with its global batch of 128, the default at
    every profile; the library keeps the learning rate as configured and never rescales it. If you raise the
    global batch to give each GPU more work, choose ``--lr`` yourself (the linear scaling rule of Goyal et al.
    2017 is a heuristic for classifiers, untested here for GANs).

BatchNorm
    As in the paper, each process normalises with the statistics of its own share of the batch (DDP's default;
    running statistics follow process 0). With 128 images on 8 GPUs that is 16 images per BatchNorm, noisier
    than the paper's 128. ``--sync-batchnorm`` converts every BatchNorm to ``torch.nn.SyncBatchNorm``, which
    all-reduces the statistics over the global batch in every forward pass: the same numbers as one GPU with
    the whole batch, at the cost of two extra all-reduces per BatchNorm layer. PyTorch implements it on CUDA
    only.

Checkpoints
    Only process 0 writes (the trainer's atomic checkpoints, per-epoch snapshots and sample grids). Steps are
    counted in global batches and the data order depends only on the saved random states, so a run resumes
    from its checkpoint on any number of processes; with the same number it continues bit for bit as if it had
    never stopped. The default run folder is the one ``dcgan_lib.zoo.pretrained`` looks in, so the chapters
    load a model trained this way.
"""
from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's rank and the number of processes; a process outside torchrun is rank 0 of 1."""

    rank: int = 0
    size: int = 1

    @classmethod
    def current(cls) -> World:
        """The process group this process belongs to (rank 0 of 1 when none is initialised)."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def is_main(self) -> bool:
        """Whether this is process 0, the one that writes checkpoints and shows progress."""
        return self.rank == 0

    def local_batch(self, global_batch: int) -> int:
        """Images per process per step: global batch / number of processes (must divide evenly)."""
        if global_batch % self.size:
            raise ValueError(f"The global batch of {global_batch} does not split evenly over {self.size} processes: "
                             f"choose a batch size that is a multiple of {self.size} (or another number of processes).")
        return global_batch // self.size

    def shard(self, order: torch.Tensor, global_batch: int) -> torch.Tensor:
        """This process's share of every full global batch of `order` (a partial last batch is dropped)."""
        b = self.local_batch(global_batch)
        full = order[: len(order) // global_batch * global_batch]
        return full.view(-1, global_batch)[:, self.rank * b:(self.rank + 1) * b].reshape(-1)

    def part(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's rows of a tensor that holds the whole global batch (e.g. the noise z)."""
        b = self.local_batch(len(batch))
        return batch[self.rank * b:(self.rank + 1) * b]

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """`x` averaged over all processes (an all-reduce; `x` itself when alone)."""
        if self.size == 1:
            return x
        x = x.clone()
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        return x / self.size

    def barrier(self) -> None:
        """Wait until every process gets here (nothing to wait for when alone)."""
        if self.size > 1:
            dist.barrier()


def parallel(model: nn.Module, device: torch.device, sync_batchnorm: bool = False,
             compile: bool = False) -> nn.Module:
    """The module a training step should call: `model` wrapped in DDP when there are several processes.

    `sync_batchnorm` converts `model`'s BatchNorm layers in place (same parameters and state-dict keys), so
    `model` itself stays the bare network to checkpoint; `compile` applies ``torch.compile`` on top.
    """
    world = World.current()
    if sync_batchnorm and world.size > 1:  # alone, there is nothing to synchronise
        if device.type != "cuda":
            raise ValueError("SyncBatchNorm runs on CUDA only in PyTorch; on the CPU drop --sync-batchnorm "
                             "(BatchNorm then uses each process's share of the batch, as in the paper).")
        nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place, since `model` is not itself a BatchNorm
    run = model
    if world.size > 1:
        run = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return torch.compile(run) if compile else run


def init(device: str | torch.device | None = None, timeout_s: float = 1800) -> tuple[World, torch.device]:
    """Join the process group torchrun describes in the environment; returns this process's World and device.

    NCCL with one GPU per process (cuda:LOCAL_RANK) on CUDA, Gloo on the CPU. Without torchrun's variables
    (or with one process) nothing is initialised and the process trains alone.
    """
    from dcgan_lib.core.runtime import pick_device

    device = pick_device(device)
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return World(), device
    if "RANK" not in os.environ or "MASTER_ADDR" not in os.environ:
        raise RuntimeError("WORLD_SIZE is set but RANK/MASTER_ADDR are not: launch with torchrun "
                           "(torchrun --standalone --nproc_per_node=N -m dcgan_lib.tooling.launch ...).")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"Process with LOCAL_RANK={local_rank} has no GPU: this machine has "
                               f"{torch.cuda.device_count()}. Use --nproc_per_node={torch.cuda.device_count()} "
                               f"or fewer.")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"Distributed training runs on cuda (NCCL) or cpu (Gloo), not {device.type}: "
                         f"pass --device cpu or --device cuda.")
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return World.current(), device


def close() -> None:
    """Leave the process group (if this process joined one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def free_port() -> int:
    """A TCP port that is free on this machine right now (for a local rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(world_size: int, fn: Callable[..., Any], *args: Any, timeout_s: float = 120, **kwargs: Any) -> None:
    """Run `fn(*args, **kwargs)` in `world_size` fresh CPU processes joined by Gloo, as torchrun would.

    For tests and trying things out on one machine (`fn` must be importable, e.g. ``dcgan_lib.train.loop.train``);
    each process gets an equal share of the CPU threads. An error in any process is raised here.
    """
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        init_file = str(Path(tmp) / "rendezvous")
        threads = max(1, (os.cpu_count() or 1) // world_size)
        mp.spawn(_spawned, (world_size, init_file, threads, timeout_s, fn, args, kwargs), nprocs=world_size)


def _spawned(rank: int, world_size: int, init_file: str, threads: int, timeout_s: float, fn: Callable[..., Any],
             args: tuple, kwargs: dict) -> None:
    """Body of each process started by `spawn`: join the group through a file, run fn, leave."""
    torch.set_num_threads(threads)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE=str(world_size))
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size,
                            timeout=timedelta(seconds=timeout_s))
    try:
        fn(*args, **kwargs)
    finally:
        dist.destroy_process_group()


# --------------------------------------------------------------------------------------------------------------------
# Command line: torchrun --nproc_per_node=N -m dcgan_lib.tooling.launch ...
# --------------------------------------------------------------------------------------------------------------------
