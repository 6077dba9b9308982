"""Measuring training speed: images per second of each optimisation side by side, and what limits it.

The reference is the loop of pytorch/examples' dcgan (float32, NCHW, Sigmoid + BCELoss, D's weight gradients
computed in G's pass too, a host-to-device copy of every batch). Each :class:`Setting` adds optimisations to
the library's own step (:func:`dcgan_lib.train.loop.train_step`), and :func:`measure` times all of them in
alternating rounds, so that every setting sees the same machine load. The FLOPs of a step are counted with
``torch.utils.flop_counter.FlopCounterMode`` (matrix multiplies and convolutions, 2 per multiply-add).
"""
from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dcgan_lib.models.dcgan import num_layers, sample_z
from dcgan_lib.train.loop import STEP_PRECISIONS, TrainConfig, build_models, epoch_batches, make_optimizers, train_step


@dataclass(frozen=True)
class Setting:
    """One way to run the training step: pytorch/examples' loop ('plain') or the library's, with its switches."""

    name: str
    loop: str = "library"        # "plain" or "library"
    channels_last: bool = False
    precision: str = "fp32"      # "fp32" or "bf16" (autocast)
    compile: bool = False
    compile_mode: str = "default"  # torch.compile's mode; "reduce-overhead" adds CUDA graphs on a GPU

    def __post_init__(self) -> None:
        if self.loop not in ("plain", "library"):
            raise ValueError(f"loop={self.loop!r}: use 'plain' (pytorch/examples) or 'library'.")
        if self.precision not in STEP_PRECISIONS:
            raise ValueError(f"precision={self.precision!r}: use one of {STEP_PRECISIONS}.")
        if self.loop == "plain" and (self.channels_last or self.precision != "fp32" or self.compile):
            raise ValueError("The plain loop is the fp32 eager NCHW reference: its switches stay off.")


PLAIN = Setting("plain loop (pytorch/examples)", "plain")


def ladder(precision: str = "fp32", compile: bool = False, compile_mode: str = "default") -> list[Setting]:
    """The plain loop, then the library's step adding one optimisation at a time (bf16 and compile if asked)."""
    if precision not in STEP_PRECISIONS:
        raise ValueError(f"precision={precision!r}: use one of {STEP_PRECISIONS}.")
    settings = [PLAIN, Setting("library step (D frozen in G's pass)"),
                Setting("+ channels_last", channels_last=True)]
    if precision == "bf16":
        settings.append(Setting("+ bf16 autocast", channels_last=True, precision="bf16"))
    if compile:
        settings.append(Setting("+ torch.compile", channels_last=True, precision=precision, compile=True,
                                compile_mode=compile_mode))
    return settings


def trainer_setting(device: str | torch.device) -> Setting:
    """The setting `dcgan_lib.train.loop.train` runs with its defaults on `device` (channels_last; bf16 on CUDA)."""
    device = torch.device(device)
    precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return next(s for s in ladder(precision) if s.channels_last and s.precision == precision)


# --------------------------------------------------------------------------------------------------------------------
# The reference: pytorch/examples' dcgan
# --------------------------------------------------------------------------------------------------------------------
def plain_models(image_size: int, nz: int, width: int, nc: int = 3) -> tuple[nn.Module, nn.Module]:
    """pytorch/examples' netG and netD (Sigmoid output for BCELoss), generalised to 32/64/128 pixels."""
    n = num_layers(image_size)
    g = [nn.ConvTranspose2d(nz, width * 2 ** (n - 1), 4, 1, 0, bias=False), nn.BatchNorm2d(width * 2 ** (n - 1)),
         nn.ReLU(True)]
    for i in range(n - 1, 0, -1):
        g += [nn.ConvTranspose2d(width * 2 ** i, width * 2 ** (i - 1), 4, 2, 1, bias=False),
              nn.BatchNorm2d(width * 2 ** (i - 1)), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(width, nc, 4, 2, 1, bias=False), nn.Tanh()]
    d = [nn.Conv2d(nc, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for i in range(1, n):
        d += [nn.Conv2d(width * 2 ** (i - 1), width * 2 ** i, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2 ** i),
              nn.LeakyReLU(0.2, True)]
    d += [nn.Conv2d(width * 2 ** (n - 1), 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*g), nn.Sequential(*d)


def plain_step(netG: nn.Module, netD: nn.Module, opt_g, opt_d, real: torch.Tensor, nz: int) -> float:
    """One step of pytorch/examples' loop, as written there (three backward passes, a loss read every step)."""
    criterion, batch_size, device = nn.BCELoss(), len(real), real.device
    label = torch.full((batch_size,), 1.0, device=device)
    netD.zero_grad()
    err_real = criterion(netD(real).view(-1), label)
    err_real.backward()
    noise = torch.randn(batch_size, nz, 1, 1, device=device)
    fake = netG(noise)
    label.fill_(0.0)
    err_fake = criterion(netD(fake.detach()).view(-1), label)
    err_fake.backward()
    opt_d.step()
    netG.zero_grad()
    label.fill_(1.0)
    err_g = criterion(netD(fake).view(-1), label)
    err_g.backward()
    opt_g.step()
    return err_g.item()  # pytorch/examples prints the losses every step


# --------------------------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------------------------
def device_name(device: str | torch.device) -> str:
    """A readable name of the device: the GPU's, or the CPU's model name with its number of threads."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]
        name = models[0] if models else name
    return f"{name} ({torch.get_num_threads()} threads)"


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so that timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Runner:
    """Models, optimisers and data of one setting, ready to time: `run(steps)` returns the seconds taken."""

    def __init__(self, setting: Setting, config: TrainConfig, data: torch.Tensor, device: torch.device,
                 seed: int = 0):
        self.setting, self.config, self.device = setting, config, device
        self.rng = torch.Generator().manual_seed(seed)
        if setting.loop == "plain":  # a host-memory dataset, each batch copied to the device as it is used
            self.data = data.cpu()
            torch.manual_seed(config.seed)
            self.G, self.D = (m.to(device) for m in plain_models(config.image_size, config.nz, config.ngf, config.nc))
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
        else:  # the library's fast path: uint8 images resident on the device, normalised on the fly
            self.data = data.to(device)
            fmt = torch.channels_last if setting.channels_last else torch.contiguous_format
            self.G, self.D = (m.to(device, memory_format=fmt) for m in build_models(config))
            self.opt_g, self.opt_d = make_optimizers(self.G, self.D, config, fused=device.type == "cuda")
            if setting.compile:
                self.G, self.D = (torch.compile(m, mode=setting.compile_mode) for m in (self.G, self.D))
            self.autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=setting.precision == "bf16")
        self.batches = self._batches()

    def _batches(self):
        """Endless batches: random order, one epoch after another."""
        b = self.config.batch_size
        while True:
            order = torch.randperm(len(self.data), generator=self.rng)
            if self.setting.loop == "plain":
                for start in range(0, len(order) - b + 1, b):
                    yield self.data[order[start:start + b]]
            else:
                for real, _ in epoch_batches(self.data, order, b, self.device, self.setting.channels_last):
                    yield real

    def run(self, steps: int) -> float:
        """Seconds for `steps` training steps, including getting each batch ready on the device."""
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(steps):
            real = next(self.batches)
            if self.setting.loop == "plain":
                real = real.to(self.device).float().div(127.5).sub(1)
                plain_step(self.G, self.D, self.opt_g, self.opt_d, real, self.config.nz)
            else:
                z = sample_z(len(real), self.config.nz, generator=self.rng).to(self.device, non_blocking=True)
                train_step(self.G, self.D, self.opt_g, self.opt_d, real, z, self.autocast)
        synchronize(self.device)
        return time.perf_counter() - start


def random_dataset(n: int, image_size: int, nc: int = 3, seed: int = 0) -> torch.Tensor:
    """n random uint8 images, the in-memory dataset the timings train on (content does not change speed)."""
    return torch.randint(0, 256, (n, nc, image_size, image_size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def measure(settings: list[Setting], config: TrainConfig, device: str | torch.device, steps: int = 10,
            rounds: int = 2, warmup: int = 2, n_images: int | None = None) -> list[dict]:
    """Images per second of each setting, timed in `rounds` alternating rounds of `steps` steps after `warmup`.

    The speed is that of each setting's fastest round: other work on the machine can only slow a round down
    (the reasoning of Python's timeit). Returns one dict per setting: name, images_per_second,
    seconds_per_step, round_seconds and warmup_seconds (the warm-up steps, which include torch.compile's
    compilation: `compile_seconds` is that minus ordinary steps).
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the trainer does: pick the fastest convolution algorithms
    data = random_dataset(n_images or config.batch_size * 8, config.image_size, config.nc)
    runners = [Runner(s, config, data, device) for s in settings]
    warm = [r.run(warmup) for r in runners]
    times = [[] for _ in runners]
    for _ in range(rounds):
        for i, r in enumerate(runners):
            times[i].append(r.run(steps))
    rows = []
    for s, w, t in zip(settings, warm, times):
        per_step = min(t) / steps
        row = {"name": s.name, "loop": s.loop, "channels_last": s.channels_last, "precision": s.precision,
               "compile": s.compile, "images_per_second": config.batch_size / per_step,
               "seconds_per_step": per_step, "round_seconds": t, "warmup_seconds": w}
        if s.compile:
            row["compile_seconds"] = max(0.0, w - warmup * per_step)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------------------------
# FLOPs and the hardware's matrix throughput
# --------------------------------------------------------------------------------------------------------------------
def step_flops(config: TrainConfig, batch_size: int | None = None, loop: str = "library") -> FlopCounterMode:
    """Count one training step's FLOPs (on the 'meta' device: no arithmetic is done); returns the counter.

    `counter.get_total_flops()` is the total, `counter.get_flop_counts()` the split per module.
    """
    b = batch_size or config.batch_size
    with torch.device("meta"):
        real = torch.zeros(b, config.nc, config.image_size, config.image_size)
        if loop == "plain":
            G, D = plain_models(config.image_size, config.nz, config.ngf, config.nc)
            opts = [torch.optim.Adam(m.parameters(), lr=config.lr) for m in (G, D)]
            step = lambda: _plain_step_no_read(G, D, *opts, real, config.nz)  # noqa: E731
        else:
            G, D = build_models(config)
            opt_g, opt_d = make_optimizers(G, D, config)
            z = torch.zeros(b, config.nz)
            step = lambda: train_step(G, D, opt_g, opt_d, real, z, torch.autocast("cpu", enabled=False))  # noqa: E731
        with FlopCounterMode(display=False) as counter:
            step()
    return counter


def _plain_step_no_read(netG, netD, opt_g, opt_d, real, nz) -> None:
    """plain_step without reading the loss (a meta tensor has no value)."""
    criterion = nn.BCELoss()
    label = torch.ones(len(real))
    netD.zero_grad()
    criterion(netD(real).view(-1), label).backward()
    fake = netG(torch.randn(len(real), nz, 1, 1))
    criterion(netD(fake.detach()).view(-1), torch.zeros(len(real))).backward()
    opt_d.step()
    netG.zero_grad()
    criterion(netD(fake).view(-1), label).backward()
    opt_g.step()


def forward_flops_by_layer(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """FLOPs of one forward pass of `model` on `x`, per layer that does any (name -> FLOPs), on 'meta'."""
    import copy

    meta = copy.deepcopy(model).to("meta")
    with FlopCounterMode(display=False) as counter:
        meta(x.to("meta"))
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items() if name != "Global"}
    leaves = {n: f for n, f in counts.items() if not any(o.startswith(n + ".") for o in counts)}
    root = type(model).__name__ + "."
    return {n.removeprefix(root): f for n, f in leaves.items()}


def matmul_ceiling(device: str | torch.device) -> tuple[float, str]:
    """The device's practical ceiling for training: the faster of its measured fp32 and bf16 matrix-multiply
    rates (FLOP/s), and which one it is (a CPU without fast bf16 is far quicker in fp32)."""
    rates = {name: matmul_flops_per_second(device, dtype) for name, dtype in (("fp32", torch.float32),
                                                                             ("bf16", torch.bfloat16))}
    best = max(rates, key=rates.get)
    return rates[best], best


def matmul_flops_per_second(device: str | torch.device, dtype: torch.dtype = torch.bfloat16, n: int | None = None,
                            repeats: int = 10) -> float:
    """Measured FLOP/s of a large square matrix multiply: the practical ceiling to compare training with."""
    device = torch.device(device)
    n = n or (8192 if device.type == "cuda" else 1024)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    a @ b  # warm up (library loading, kernel selection)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start)


# --------------------------------------------------------------------------------------------------------------------
# Where the time goes
# --------------------------------------------------------------------------------------------------------------------
OP_KINDS = {  # profiler op-name fragments -> kind; first match wins
    "convolution": ("conv",),
    "matrix multiply": ("mm", "linear", "matmul"),
    "batch norm": ("batch_norm",),
    "optimizer": ("_foreach", "adam", "lerp", "addcmul", "addcdiv"),
}


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Within the block, drop what C++ code writes straight to file descriptor 2 (the profiler's log lines)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def time_by_kind(setting: Setting, config: TrainConfig, device: str | torch.device, steps: int = 2) -> dict:
    """Profile `steps` steps of a setting: seconds per step spent in each kind of operator, and operator calls.

    Kinds: convolution, matrix multiply, batch norm, optimizer, and everything else (activations, losses,
    copies: element-wise work limited by memory traffic), told apart by the name of the PyTorch operator. On the
    CPU the times are operators' own times and `calls` counts operator calls; on CUDA the times are those of the
    kernels each operator launched, and `calls` counts kernel launches.
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    device = torch.device(device)
    cuda = device.type == "cuda"
    runner = Runner(setting, config, random_dataset(config.batch_size * 2, config.image_size, config.nc), device)
    runner.run(1)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with _native_stderr_silenced():
        with profile(activities=activities) as prof:
            runner.run(steps)
        events = prof.key_averages()
    kinds = dict.fromkeys([*OP_KINDS, "other"], 0.0)
    calls = 0
    for event in events:
        if (event.device_type == DeviceType.CUDA) if cuda else event.key.startswith("aten::"):
            calls += event.count  # kernels launched (CUDA) or operators called (CPU)
        if not event.key.startswith("aten::"):
            continue
        seconds = (event.self_device_time_total if cuda else event.self_cpu_time_total) / 1e6
        kind = next((k for k, frags in OP_KINDS.items() if any(f in event.key.lower() for f in frags)), "other")
        kinds[kind] += seconds
    return {"seconds_per_step": {k: v / steps for k, v in kinds.items()}, "calls_per_step": calls / steps}


# --------------------------------------------------------------------------------------------------------------------
# Data loading
# --------------------------------------------------------------------------------------------------------------------
def in_memory_images_per_second(data: torch.Tensor, batch_size: int, device: str | torch.device,
                                batches: int = 20) -> float:
    """Images per second the library's in-memory path delivers (index uint8 images, move, scale to [-1, 1])."""
    device = torch.device(device)
    data = data.to(device)
    order = torch.randperm(len(data)).repeat(batches * batch_size // len(data) + 1)[:batches * batch_size]
    synchronize(device)
    start = time.perf_counter()
    for _ in epoch_batches(data, order, batch_size, device, channels_last=True):
        pass
    synchronize(device)
    return batches * batch_size / (time.perf_counter() - start)


def image_folder_images_per_second(data: torch.Tensor, batch_size: int, workers: int = 0,
                                   batches: int = 4) -> float:
    """Images per second from PNG files through torchvision's ImageFolder and the paper's transforms.

    The images are written to a temporary folder first (not timed); decoding, resizing and converting each
    file is what a DataLoader over real photographs (LSUN, CelebA) has to do for every image of every epoch.
    """
    from PIL import Image

    from dcgan_lib.data.datasets import load_dataset

    n = min(len(data), batches * batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images" / "all"
        root.mkdir(parents=True)
        for i, image in enumerate(data[:n].permute(0, 2, 3, 1).numpy()):
            Image.fromarray(image.squeeze()).save(root / f"{i:05d}.png")
        dataset = load_dataset("folder", data.shape[-1], data_dir=root.parent)
        loader = torch.utils.data.DataLoader(dataset, batch_size, num_workers=workers, drop_last=True)
        start = time.perf_counter()
        count = sum(len(images) for images, _ in loader)
        return count / (time.perf_counter() - start)
