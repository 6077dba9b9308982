"""Runtime helpers every layer of the library uses: the device, progress bars, and a model's modes.

This module imports nothing from the rest of the library, so that data, models, training and analysis can
all build on it.
"""
from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw progress bars: `progress` if given, else unless $DCGAN_PROGRESS is 0, false, no or off (as
    in book builds)."""
    off = os.environ.get("DCGAN_PROGRESS", "1").strip().lower() in {"0", "false", "no", "off"}
    return progress if progress is not None else not off


def live_widgets():
    """The ipywidgets module where a person can move a live widget (Jupyter, Colab), else None: in a headless run
    (the book's build and the tests set DCGAN_HEADLESS=1) nobody can, and live widgets can hang the kernel's
    client (nbclient#312); also None without ipywidgets. A chapter then shows a static figure only."""
    if os.environ.get("DCGAN_HEADLESS", "0") == "1":
        print("a headless run (the book's build, the tests): the interactive version runs in Jupyter and Colab")
        return None
    try:
        import ipywidgets
    except ImportError:
        print("install ipywidgets for the interactive version")
        return None
    return ipywidgets


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to use: `device` if given, else cuda, then mps, then cpu."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_unavailable(device: str) -> str | None:
    """Why `device` (as a user typed it: 'cuda', 'cuda:1', 'mps', 'cpu') cannot be used here, or None if it can:
    checked before data is loaded, so that a missing GPU is said in one line, not by torch mid-run."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        return f"{device!r} is not a device name (use cuda, cuda:<n>, mps or cpu)"
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return "torch sees no CUDA GPU on this machine"
        if parsed.index is not None and parsed.index >= count:
            return f"this machine has {count} CUDA GPU(s), numbered from 0"
    elif parsed.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        return "torch sees no Apple GPU (mps) on this machine"
    elif parsed.type not in ("cpu", "cuda", "mps"):
        return f"{parsed.type} devices are not supported by this library (use cuda, mps or cpu)"
    return None


def free_memory(device: str | torch.device = "cpu") -> int | None:
    """Bytes this process can still allocate on `device` (a GPU's free memory; on a CPU the kernel's
    MemAvailable, lowered by a `ulimit -v`), or None where that cannot be read: to refuse a run that cannot fit."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    except OSError:
        return None
    free = int(meminfo["MemAvailable"].split()[0]) * 1024
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit != resource.RLIM_INFINITY:
        free = min(free, limit - int(status["VmSize"].split()[0]) * 1024)
    return max(free, 0)


def machine_busy(load: float | None = None, factor: float = 1.5) -> bool:
    """Whether other work is slowing timings down: the 1-minute load average (`load`, else now) above `factor`
    times the CPU count. The chapters judge their speed bars only on a machine that is not busy, and record
    the figures with the load either way."""
    load = os.getloadavg()[0] if load is None else load
    return load > factor * (os.cpu_count() or 1)


@dataclass
class OtherWork:
    """What other processes took of the machine while a timed block ran (see `other_work`)."""

    share: float = 0.0   # their CPU time over the block's wall time × the CPU count (0: the machine was ours)
    load: float = 0.0    # the higher 1-minute load average of the block's start and end

    @property
    def busy(self) -> bool:
        """Whether the timings of the block are slowed by other work: more than a fifth of the CPUs, or a load
        above 1.5 per CPU (`machine_busy`)."""
        return self.share > 0.2 or machine_busy(self.load)


@contextmanager
def other_work() -> Iterator[OtherWork]:
    """Measure, while the block runs, the CPU time every other process uses (Linux: /proc/stat less this
    process's own time; elsewhere only the load average is known), so a chapter can tell whether its timings
    were slowed and judge its speed bars only when they were not."""
    seen = OtherWork(load=os.getloadavg()[0])
    machine, own, start = _machine_cpu_seconds(), _own_cpu_seconds(), time.monotonic()
    try:
        yield seen
    finally:
        wall, machine_after = time.monotonic() - start, _machine_cpu_seconds()
        if machine is not None and machine_after is not None and wall > 0:
            others = (machine_after - machine) - (_own_cpu_seconds() - own)
            seen.share = max(0.0, others / (wall * (os.cpu_count() or 1)))
        seen.load = max(seen.load, os.getloadavg()[0])


def _machine_cpu_seconds() -> float | None:
    """CPU seconds all processes have used since boot (None where /proc/stat does not exist)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def cores_here() -> int:
    """The cores this process may use: $OMP_NUM_THREADS where a book build's lane (or a worker) set it, else every
    core. Pools do not nest: a chapter running in a one-thread lane trains its models one after the other."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


def _finished(future: Any, bar: Any, index: int, on_done: Callable[[int, Any], None] | None) -> None:
    """A pool job of `side_by_side` ended: advance the bar, and report a successful one to `on_done`."""
    bar.update()
    if on_done is not None and future.exception() is None:
        on_done(index, future.result())


def side_by_side(function: Callable[..., Any], jobs: Iterable[dict], device: str | torch.device | None = None,
                 workers: int | None = None, desc: str = "jobs", progress: bool | None = None,
                 on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """`[function(**job) for job in jobs]`, in that order. On a CPU the jobs run in `workers` spawned processes
    (default: one per core this process may use, `cores_here`, at most one per job) with one thread each: small
    linear models keep one core busy much better than they share two, so two jobs take about the time of one.
    On a GPU, or with one worker, they run here one after the other, and `jobs` (a generator, say) is consumed
    one job at a time, so that large inputs need not exist all at once. `function` must be importable.
    `on_done(index, result)` is called as each job finishes (in finishing order), e.g. to print a line."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from tqdm.auto import tqdm

    parallel = pick_device(device).type == "cpu" and (workers or cores_here()) > 1
    jobs = list(jobs) if parallel or isinstance(jobs, Sequence) else jobs
    total = len(jobs) if isinstance(jobs, Sequence) else None
    workers = min(workers or cores_here(), total or 1)
    bar = tqdm(total=total, desc=desc, disable=not show_progress(progress))
    try:
        if not parallel or workers <= 1:
            results = []
            for index, job in enumerate(jobs):
                results.append(function(**job))
                bar.update()
                if on_done:
                    on_done(index, results[-1])
            return results
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=torch.set_num_threads,
                                 initargs=(1,)) as pool:
            futures = [pool.submit(function, **job) for job in jobs]
            for index, future in enumerate(futures):
                future.add_done_callback(partial(_finished, bar=bar, index=index, on_done=on_done))
            return [future.result() for future in futures]   # re-raises a worker's error here
    finally:
        bar.close()
