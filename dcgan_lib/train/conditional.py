"""Class-conditional GANs for the paper's §8.1: a conditional DCGAN and a fully connected ("GAN") baseline.

* **Conditional DCGAN.** The label enters G as a one-hot vector concatenated with z, and again as ten constant
  one-hot feature maps concatenated to the input of every later layer; D sees the same maps beside the image
  and beside every hidden layer (the scheme of the authors' released conditional MNIST code,
  Newmu/dcgan_code ``mnist/train_cond_dcgan.py``). Otherwise the book's DCGAN guidelines hold: no pooling,
  4×4 stride-2 (fractionally-)strided convolutions, no fully connected hidden layers, BatchNorm but at G's
  output and D's input, ReLU and Tanh in G, LeakyReLU(0.2) in D.
* **Fully connected GAN**, permutation invariant (the paper's "GAN" row): the image is a flat vector, G and D are
  multilayer perceptrons with the same conditioning (one-hot concatenated with z, and with the flat image), the
  same BatchNorm placement, activations, initialisation and optimiser.
* Both have `bn_affine=False`, BatchNorm without its learned scale and bias, which the paper found better.

Training reuses `dcgan_lib.train.loop`: its `train_step` runs unchanged on label-bound wrappers of the networks,
with its optimisers (`make_optimizers`), device choice and progress bars. Trained models are cached under
``runs_dir()/"conditional"`` and keyed by their config (`pretrained_conditional`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from dcgan_lib.core import store
from dcgan_lib.core.paths import runs_dir
from dcgan_lib.core.profiles import Profile, chapter_sizes, get_profile
from dcgan_lib.core.runtime import evaluating, pick_device, show_progress
from dcgan_lib.data.datasets import ImageDataset
from dcgan_lib.models.dcgan import init_weights, num_layers, sample_z
from dcgan_lib.train.loop import HISTORY_KEYS, make_optimizers, train_step

ARCHITECTURES = ("dcgan", "fc")


# ----------------------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------------------
def one_hot(labels: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Labels (N,) as one-hot rows (N, n_classes)."""
    return F.one_hot(labels.long(), n_classes).to(dtype)


class LabelConcat(nn.Module):
    """A convolution (or transposed convolution) applied to [h, ten constant one-hot label maps].

    Convolution is linear, so conv([h, maps]) = conv(h, W_h) + conv(maps, W_label), and the second term depends
    only on the label: it is computed once per class (ten small images) and looked up, which gives the result of
    the concatenation at the cost of a convolution of h alone.
    """

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d, channels: int, n_classes: int):
        super().__init__()
        self.conv, self.channels, self.n_classes = conv, channels, n_classes
        self.transposed = isinstance(conv, nn.ConvTranspose2d)

    def _convolve(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        c = self.conv
        if self.transposed:
            return F.conv_transpose2d(x, weight, None, c.stride, c.padding)
        return F.conv2d(x, weight, None, c.stride, c.padding)

    def forward(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        w = self.conv.weight  # Conv2d: (out, in, k, k); ConvTranspose2d: (in, out, k, k)
        w_h, w_y = (w[:self.channels], w[self.channels:]) if self.transposed else \
            (w[:, :self.channels], w[:, self.channels:])
        eye = torch.eye(self.n_classes, dtype=h.dtype, device=h.device)[:, :, None, None]
        per_class = self._convolve(eye.expand(-1, -1, *h.shape[-2:]), w_y)
        out = self._convolve(h, w_h) + per_class[labels]
        return out if self.conv.bias is None else out + self.conv.bias.view(1, -1, 1, 1)

    def concatenated(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The plain definition: concatenate the label maps, then convolve (`forward` computes the same)."""
        maps = one_hot(labels, self.n_classes, h.dtype)[:, :, None, None].expand(-1, -1, *h.shape[-2:])
        return self.conv(torch.cat([h, maps], 1))


class ConditionalGenerator(nn.Module):
    """(z, label) -> image, a DCGAN generator told the label at every layer.

    z and the one-hot label are concatenated and projected to 4×4; before every fractionally-strided
    convolution the label is concatenated again as constant one-hot feature maps (as in the authors' released
    conditional MNIST code). BatchNorm and ReLU in every layer but the output, Tanh at the output.
    """

    def __init__(self, image_size: int = 32, nz: int = 100, ngf: int = 64, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        n = num_layers(image_size)
        self.image_size, self.nz, self.nc, self.n_classes = image_size, nz, nc, n_classes
        widths = [ngf * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 4·ngf, 2·ngf, ngf at 32×32
        self.project = nn.Linear(nz + n_classes, widths[0] * 16, bias=False)
        self.project_bn = nn.BatchNorm2d(widths[0], affine=bn_affine)
        self.ups = nn.ModuleList(
            LabelConcat(nn.ConvTranspose2d(c_in + n_classes, c_out, 4, 2, 1, bias=False), c_in, n_classes)
            for c_in, c_out in zip(widths[:-1], widths[1:]))
        self.bns = nn.ModuleList(nn.BatchNorm2d(c, affine=bn_affine) for c in widths[1:])
        self.to_image = LabelConcat(nn.ConvTranspose2d(widths[-1] + n_classes, nc, 4, 2, 1, bias=False),
                                    widths[-1], n_classes)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z.flatten(1), one_hot(labels, self.n_classes, z.dtype)], 1))
        h = F.relu(self.project_bn(h.view(len(z), -1, 4, 4)))
        for up, bn in zip(self.ups, self.bns):
            h = F.relu(bn(up(h, labels)))
        return torch.tanh(self.to_image(h, labels))


class ConditionalDiscriminator(nn.Module):
    """(image, label) -> logit, a DCGAN discriminator told the label at every layer.

    The label is concatenated as constant one-hot feature maps to the image and to the input of every strided
    convolution, down to the last 4×4 convolution that gives the logit. BatchNorm in every layer but the input
    layer, LeakyReLU(0.2).
    """

    def __init__(self, image_size: int = 32, ndf: int = 64, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        n = num_layers(image_size)
        self.image_size, self.nc, self.n_classes = image_size, nc, n_classes
        widths = [ndf * 2 ** i for i in range(n)]  # e.g. ndf, 2·ndf, 4·ndf at 32×32
        c_ins = [nc] + widths[:-1]
        self.downs = nn.ModuleList(
            LabelConcat(nn.Conv2d(c_in + n_classes, c_out, 4, 2, 1, bias=False), c_in, n_classes)
            for c_in, c_out in zip(c_ins, widths))
        self.bns = nn.ModuleList([nn.Identity()] + [nn.BatchNorm2d(c, affine=bn_affine) for c in widths[1:]])
        self.to_logit = LabelConcat(nn.Conv2d(widths[-1] + n_classes, 1, 4, 1, 0, bias=False), widths[-1], n_classes)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = x
        for down, bn in zip(self.downs, self.bns):
            h = F.leaky_relu(bn(down(h, labels)), 0.2)
        return self.to_logit(h, labels).flatten()


class FCGenerator(nn.Module):
    """(z, label) -> image with fully connected layers only: [z, y] -> h -> [., y] -> 2h -> [., y] -> pixels (Tanh).

    The label (one-hot y) is concatenated to the input of every layer, as in the conditional DCGAN.
    """

    def __init__(self, image_size: int = 32, nz: int = 100, hidden: int = 256, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        self.image_size, self.nz, self.nc, self.n_classes = image_size, nz, nc, n_classes
        k = n_classes
        self.layers = nn.ModuleList([nn.Linear(nz + k, hidden, bias=False),
                                     nn.Linear(hidden + k, 2 * hidden, bias=False),
                                     nn.Linear(2 * hidden + k, nc * image_size * image_size)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(hidden, affine=bn_affine),
                                   nn.BatchNorm1d(2 * hidden, affine=bn_affine)])
        self.apply(_init_fc)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.n_classes, z.dtype)
        h = z.flatten(1)
        for layer, bn in zip(self.layers[:-1], self.bns):
            h = F.relu(bn(layer(torch.cat([h, y], 1))))
        x = torch.tanh(self.layers[-1](torch.cat([h, y], 1)))
        return x.view(-1, self.nc, self.image_size, self.image_size)


class FCDiscriminator(nn.Module):
    """(image, label) -> logit, permutation invariant: [flat image, y] -> 2h -> [., y] -> h -> [., y] -> 1.

    LeakyReLU(0.2), BatchNorm in the hidden layer but not at the input, label concatenated at every layer.
    """

    def __init__(self, image_size: int = 32, hidden: int = 256, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        self.image_size, self.nc, self.n_classes = image_size, nc, n_classes
        k = n_classes
        self.layers = nn.ModuleList([nn.Linear(nc * image_size * image_size + k, 2 * hidden),
                                     nn.Linear(2 * hidden + k, hidden, bias=False), nn.Linear(hidden + k, 1)])
        self.bns = nn.ModuleList([nn.Identity(), nn.BatchNorm1d(hidden, affine=bn_affine)])
        self.apply(_init_fc)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.n_classes, x.dtype)
        h = x.flatten(1)
        for layer, bn in zip(self.layers[:-1], self.bns):
            h = F.leaky_relu(bn(layer(torch.cat([h, y], 1))), 0.2)
        return self.layers[-1](torch.cat([h, y], 1)).flatten()


def _init_fc(module: nn.Module) -> None:
    """The paper's initialisation, N(0, 0.02) weights and N(1, 0.02) BatchNorm scales, for 1-d BatchNorm too."""
    init_weights(module)
    if isinstance(module, nn.BatchNorm1d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ----------------------------------------------------------------------------------------------------------------
# Config and training
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConditionalConfig:
    """Everything that determines a trained conditional model (same optimiser settings for both architectures)."""

    arch: str = "dcgan"          # "dcgan" or "fc"
    dataset: str = "mnist5k"
    image_size: int = 32
    n_train: int | None = None
    nz: int = 100
    width: int = 32              # DCGAN: ngf = ndf; fully connected: hidden units h (layers of h and 2h)
    nc: int = 1
    n_classes: int = 10
    bn_affine: bool = True
    prior: str = "uniform"
    batch_size: int = 128
    epochs: int = 10
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0

    def key(self) -> str:
        """A short stable hash of the config, used to name cached runs."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


def build_conditional(config: ConditionalConfig) -> tuple[nn.Module, nn.Module]:
    """Freshly initialised conditional G and D for a config (weights depend only on config.seed)."""
    if config.arch not in ARCHITECTURES:
        raise ValueError(f"arch={config.arch!r} is unknown: choose one of {ARCHITECTURES}.")
    torch.manual_seed(config.seed)
    c = config
    if c.arch == "dcgan":
        return (ConditionalGenerator(c.image_size, c.nz, c.width, c.nc, c.n_classes, c.bn_affine),
                ConditionalDiscriminator(c.image_size, c.width, c.nc, c.n_classes, c.bn_affine))
    return (FCGenerator(c.image_size, c.nz, c.width, c.nc, c.n_classes, c.bn_affine),
            FCDiscriminator(c.image_size, c.width, c.nc, c.n_classes, c.bn_affine))


class LabelBound(nn.Module):
    """A conditional network called with the labels of the current batch, so that the unconditional
    `dcgan_lib.train.loop.train_step` can drive it: set `.labels`, then call it with z (G) or images (D)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.labels: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.labels)


def conditional_train_step(G: LabelBound, D: LabelBound, opt_g, opt_d, real: torch.Tensor, labels: torch.Tensor,
                           z: torch.Tensor, autocast: torch.autocast) -> torch.Tensor:
    """`train_step` with every network seeing `labels`: D judges (real, label) and (G(z, label), label) pairs, and
    G is rewarded when D calls (G(z, label), label) real. Returns [loss_D, loss_G, mean D(x), mean D(G(z))]."""
    G.labels = D.labels = labels
    return train_step(G, D, opt_g, opt_d, real, z, autocast)


@dataclass
class ConditionalResult:
    """A trained (or loaded) conditional pair, with the per-step history and where it is stored."""

    generator: nn.Module
    discriminator: nn.Module
    config: ConditionalConfig
    history: dict[str, list[float]]
    run_dir: Path
    epochs_done: int
    train_seconds: float = 0.0

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, seed: int = 0, batch_size: int = 2000) -> torch.Tensor:
        """One image per label in [-1, 1] on the CPU, G in eval mode, z drawn with `seed`."""
        return generate_conditional(self.generator, labels, seed=seed, prior=self.config.prior, batch_size=batch_size)


@torch.no_grad()
def generate_conditional(G: nn.Module, labels: torch.Tensor, seed: int = 0, prior: str = "uniform",
                         z: torch.Tensor | None = None, batch_size: int = 2000) -> torch.Tensor:
    """G(z, label) for each label, in [-1, 1] on the CPU, z ~ prior drawn with `seed` (or the given z)."""
    device = next(G.parameters()).device
    if z is None:
        z = sample_z(len(labels), G.nz, prior, generator=torch.Generator().manual_seed(seed))
    with evaluating(G):
        return torch.cat([G(zc.to(device), lc.to(device)).float().cpu()
                          for zc, lc in zip(z.split(batch_size), labels.split(batch_size))])


def train_conditional(config: ConditionalConfig, data: ImageDataset, run_dir: str | Path | None = None,
                      device: str | torch.device | None = None, progress: bool | None = None) -> ConditionalResult:
    """Train a conditional GAN on `data` (images and labels) with the paper's recipe; resumes after every epoch.

    Each epoch shuffles the training set; each step updates D once on a real and a generated batch with the
    same labels, then G once (`conditional_train_step`). A checkpoint is written after every epoch to `run_dir`.
    """
    import time

    device = pick_device(device)
    if data.labels is None:
        raise ValueError(f"{data.name!r} has no labels: a conditional GAN needs one class label per image")
    if data.channels != config.nc or data.image_size != config.image_size:
        raise ValueError(f"the data is {data.channels}×{data.image_size}×{data.image_size} but the config asks for "
                         f"{config.nc}×{config.image_size}×{config.image_size}")
    G, D = (m.to(device) for m in build_conditional(config))
    opt_g, opt_d = make_optimizers(G, D, config, fused=device.type == "cuda")
    data_rng, z_rng = torch.Generator().manual_seed(config.seed + 1), torch.Generator().manual_seed(config.seed + 2)
    history, start_epoch, seconds = {k: [] for k in HISTORY_KEYS}, 0, 0.0
    run_dir = Path(run_dir) if run_dir is not None else None
    checkpoint = run_dir / "checkpoint.pt" if run_dir is not None else None
    if checkpoint is not None and checkpoint.exists():
        state = store.load(checkpoint, map_location=device)
        if state["config"] != asdict(config):
            raise ValueError(f"The checkpoint in {run_dir} was trained with another config; use another run_dir.")
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        store.set_rng_state(state["rng"], data_rng, z_rng)
        history, start_epoch, seconds = state["history"], state["epoch"], state["seconds"]

    images = data.images.to(device)
    labels = data.labels.to(device)
    steps = len(images) // config.batch_size
    if steps == 0:
        raise ValueError(f"{len(images)} images are fewer than one batch of {config.batch_size}")
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    bound_g, bound_d = LabelBound(G), LabelBound(D)
    name = {"dcgan": "conditional DCGAN", "fc": "fully connected GAN"}[config.arch]
    bar = tqdm(total=steps * config.epochs, initial=steps * start_epoch, unit="step", dynamic_ncols=True,
               desc=f"{name}{'' if config.bn_affine else ', BN without scale/bias'}",
               disable=not show_progress(progress))
    G.train(), D.train()
    for epoch in range(start_epoch, config.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(images), generator=data_rng).to(device)
        stats = []
        for i in range(steps):
            idx = order[i * config.batch_size:(i + 1) * config.batch_size]
            real = images[idx].float().div_(127.5).sub_(1)
            z = sample_z(len(idx), config.nz, config.prior, generator=z_rng).to(device)
            stats.append(conditional_train_step(bound_g, bound_d, opt_g, opt_d, real, labels[idx], z, autocast))
            bar.update()
        stats = torch.stack(stats).cpu()
        if not torch.isfinite(stats[:, :2]).all():
            raise RuntimeError(f"training diverged in epoch {epoch + 1} (a loss became NaN or infinite); the last "
                               f"good checkpoint is kept in {run_dir}")
        for key, column in zip(HISTORY_KEYS, stats.T):
            history[key].extend(column.tolist())
        seconds += time.perf_counter() - start
        bar.set_postfix(loss_d=f"{stats[-1, 0]:.3f}", loss_g=f"{stats[-1, 1]:.3f}", refresh=False)
        if checkpoint is not None:
            store.save_atomic({
                "config": asdict(config), "epoch": epoch + 1, "history": history, "seconds": seconds,
                "generator": G.state_dict(), "discriminator": D.state_dict(), "opt_g": opt_g.state_dict(),
                "opt_d": opt_d.state_dict(), "rng": store.rng_state(data_rng, z_rng)}, checkpoint)
    bar.close()
    return ConditionalResult(G.eval(), D.eval(), config, history, run_dir, config.epochs, seconds)


def load_conditional(run_dir: str | Path, device: str | torch.device | None = None) -> ConditionalResult:
    """Load a conditional run (finished or not) from its checkpoint."""
    run_dir, device = Path(run_dir), pick_device(device)
    state = store.load(run_dir / "checkpoint.pt", map_location="cpu")
    config = ConditionalConfig(**state["config"])
    G, D = build_conditional(config)
    G.load_state_dict(state["generator"])
    D.load_state_dict(state["discriminator"])
    return ConditionalResult(G.to(device).eval(), D.to(device).eval(), config, state["history"], run_dir,
                             state["epoch"], state["seconds"])


# ----------------------------------------------------------------------------------------------------------------
# The book's conditional models: load or train
# ----------------------------------------------------------------------------------------------------------------
def conditional_config(arch: str, profile: str | Profile | None = None, bn_affine: bool = True,
                       **overrides) -> ConditionalConfig:
    """The config of the chapter's conditional model `arch` at a profile (sizes from CHAPTER_SIZES['conditional'])."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    sizes = chapter_sizes("conditional", profile)
    config = ConditionalConfig(
        arch=arch, dataset=str(sizes["dataset"]), n_train=sizes.get("n_train") or None,
        width=int(sizes[f"{arch}_width"]), epochs=int(sizes[f"{arch}_epochs"]),
        batch_size=int(sizes["batch_size"]), bn_affine=bn_affine)
    return replace(config, **overrides)


def conditional_run_dir(config: ConditionalConfig, profile_name: str) -> Path:
    """Where the run of `config` is (or will be) stored."""
    affine = "bn" if config.bn_affine else "bn-noaffine"
    return runs_dir() / "conditional" / f"{config.arch}-{affine}-{profile_name}-{config.key()}"


def pretrained_conditional(arch: str, data: ImageDataset, profile: str | Profile | None = None,
                           bn_affine: bool = True, device: str | torch.device | None = None,
                           progress: bool | None = None, **overrides) -> ConditionalResult:
    """The chapter's conditional model: loaded from the cache if trained with this config, else trained now.

    `data` must be the training split named by the config (its name is checked); it is passed in so that the
    full profile's MNIST, loaded once by the chapter, is not loaded again for every model.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    config = conditional_config(arch, profile, bn_affine, **overrides)
    if data.name != config.dataset:
        raise ValueError(f"the config trains on {config.dataset!r} but the data given is {data.name!r}")
    run_dir = conditional_run_dir(config, profile.name)
    if (run_dir / "checkpoint.pt").exists():
        result = load_conditional(run_dir, device)
        if result.epochs_done >= config.epochs:
            return result
    return train_conditional(config, data, run_dir, device=device, progress=progress)


def _train_in_worker(config: ConditionalConfig, data: ImageDataset, run_dir: Path) -> float:
    """Train one config in a worker process on one CPU thread (see `pretrained_conditionals`); returns seconds."""
    torch.set_num_threads(1)
    return train_conditional(config, data, run_dir, device="cpu", progress=False).train_seconds


def pretrained_conditionals(models: list[tuple[str, bool]], data: ImageDataset, profile: str | Profile | None = None,
                            device: str | torch.device | None = None, workers: int | None = None,
                            progress: bool | None = None, **overrides) -> dict[tuple[str, bool], ConditionalResult]:
    """Several of the chapter's models, `[(arch, bn_affine), ...]`: loaded from the cache, or trained now.

    On a CPU, models not cached yet are trained side by side in `workers` processes (default: one per core, at
    most one per model) with one thread each: small networks keep one core busy much better than they share
    two, so two models train in about the time of one. On a GPU they are trained one after the other.
    """
    import os
    import time
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    device = pick_device(device)
    configs = {m: conditional_config(m[0], profile, m[1], **overrides) for m in models}
    missing = {}
    for m, config in configs.items():
        if data.name != config.dataset:
            raise ValueError(f"the config trains on {config.dataset!r} but the data given is {data.name!r}")
        run_dir = conditional_run_dir(config, profile.name)
        if not (run_dir / "checkpoint.pt").exists() or load_conditional(run_dir, "cpu").epochs_done < config.epochs:
            missing[m] = run_dir
    workers = workers or min(len(missing), os.cpu_count() or 1)
    if missing and device.type == "cpu" and workers > 1:
        start = time.perf_counter()
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool, \
                tqdm(total=len(missing), desc=f"training {len(missing)} models in {workers} processes", unit="model",
                     disable=not show_progress(progress)) as bar:
            jobs = {pool.submit(_train_in_worker, configs[m], data, run_dir): m for m, run_dir in missing.items()}
            for job in as_completed(jobs):
                job.result()  # re-raises a worker's error here
                bar.update()
        print(f"trained {len(missing)} models in {time.perf_counter() - start:.0f} s ({workers} processes)")
    return {m: pretrained_conditional(m[0], data, profile, m[1], device, progress, **overrides) for m in models}
