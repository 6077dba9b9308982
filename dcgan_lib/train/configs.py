"""What determines a trained GAN: the configs of the unconditional and the conditional models, and their nets.

A config is a frozen dataclass with commented defaults (the paper's): two runs with equal configs give the same
weights on a CPU, and the store names a cached run by a hash of its config alone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dcgan_lib.models.conditional import (
    ARCHITECTURES,
    ConditionalDiscriminator,
    ConditionalGenerator,
    FCDiscriminator,
    FCGenerator,
)
from dcgan_lib.models.dcgan import PRIORS, SUPPORTED_SIZES, Discriminator, Generator
from dcgan_lib.models.variants import VARIANTS, ablate


class ConfigError(ValueError):
    """A config field with a value no run can use; the message names the field, the value and the fix."""


@dataclass(frozen=True)
class Recipe:
    """What every GAN of the book shares: its data, its noise and the paper's training recipe (§4)."""

    dataset: str = "rooms"
    image_size: int = 64
    n_train: int | None = None   # training images (None: the whole training split, or 20,000 generated ones)
    data_seed: int = 0
    nc: int = 3                  # image channels
    nz: int = 100                # size of z
    prior: str = "uniform"       # z ~ U(-1, 1) as in the paper, or "normal"
    bn_affine: bool = True       # BatchNorm's learned scale and bias
    batch_size: int = 128
    epochs: int = 5
    lr: float = 2e-4             # Adam, as in the paper
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0                # the weights' initialisation; the data order and z use seed + 1 and seed + 2
    n_fixed: int = 64            # size of the fixed noise batch drawn after every epoch

    def __post_init__(self) -> None:
        """Refuse, where it is made, a config that no run could use (see `check_config`)."""
        check_config(self)


@dataclass(frozen=True)
class TrainConfig(Recipe):
    """An unconditional DCGAN and how it is trained."""

    ngf: int = 64                # G's width (channels of its last hidden layer)
    ndf: int = 64                # D's width (channels of its first layer)


@dataclass(frozen=True)
class ConditionalConfig(Recipe):
    """A class-conditional GAN (§8.1) and how it is trained: the same recipe for both architectures."""

    arch: str = "dcgan"          # "dcgan" or "fc"
    width: int = 32              # DCGAN: ngf = ndf; fully connected: hidden units h (layers of h and 2h)
    n_classes: int = 10
    dataset: str = "mnist5k"
    image_size: int = 32
    nc: int = 1
    epochs: int = 10
    n_fixed: int = 100           # the fixed batch drawn after every epoch: labels 0, 1, ..., 9, 0, 1, ...


@dataclass(frozen=True)
class AblationConfig(TrainConfig):
    """A DCGAN with one of the paper's guidelines broken (`models.variants`), for the guidelines chapter."""

    variant: str = "dcgan"       # a key of dcgan_lib.models.variants.VARIANTS


GANConfig = TrainConfig | ConditionalConfig

# field -> (is it valid, the rule a message states); every field of both configs is checked.
_POSITIVE = "a whole number of at least 1"
_RULES = {
    "dataset": (lambda v: isinstance(v, str) and v != "", "a dataset name (see dcgan_lib.data.DATASETS)"),
    "n_train": (lambda v: v is None or _whole(v, 1), f"None (all images) or {_POSITIVE}"),
    "data_seed": (lambda v: _whole(v, 0), "a whole number of at least 0"),
    "nc": (lambda v: _whole(v) and v in (1, 3), "1 (grayscale) or 3 (colour)"),
    "nz": (lambda v: _whole(v, 1), _POSITIVE),
    "prior": (lambda v: v in PRIORS, f"one of {PRIORS}"),
    "bn_affine": (lambda v: isinstance(v, bool), "True or False"),
    "batch_size": (lambda v: _whole(v, 1), _POSITIVE),
    "epochs": (lambda v: _whole(v, 1), _POSITIVE),
    "lr": (lambda v: _real(v) and 0 < v < 1, "a learning rate between 0 and 1 (the paper's is 0.0002)"),
    "beta1": (lambda v: _real(v) and 0 <= v < 1, "a number in [0, 1) (the paper's is 0.5)"),
    "beta2": (lambda v: _real(v) and 0 <= v < 1, "a number in [0, 1) (Adam's default is 0.999)"),
    "seed": (lambda v: _whole(v, 0) and v < 2 ** 63, "a whole number from 0 to 2**63 - 1"),
    "n_fixed": (lambda v: _whole(v, 1), _POSITIVE),
    "ngf": (lambda v: _whole(v, 1), _POSITIVE),
    "ndf": (lambda v: _whole(v, 1), _POSITIVE),
    "arch": (lambda v: v in ARCHITECTURES, f"one of {ARCHITECTURES}"),
    "width": (lambda v: _whole(v, 1), _POSITIVE),
    "n_classes": (lambda v: _whole(v, 2), "a whole number of at least 2"),
    "variant": (lambda v: v in VARIANTS, f"one of {', '.join(VARIANTS)}"),
}


def _whole(value: Any, least: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (least is None or value >= least)


def _real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def check_config(config: Recipe) -> None:
    """Raise `ConfigError` for the first field no run could use, naming the field, its value and what is valid."""
    name = type(config).__name__
    for field, value in asdict(config).items():
        valid, rule = _RULES.get(field, (lambda v: True, ""))
        if not valid(value):
            raise ConfigError(f"{name}.{field}={value!r} is not valid: use {rule}.")
    sizes = sorted(SUPPORTED_SIZES)
    convolutional = not isinstance(config, ConditionalConfig) or config.arch == "dcgan"
    if not _whole(config.image_size) or (convolutional and config.image_size not in SUPPORTED_SIZES) \
            or config.image_size < 1:
        raise ConfigError(f"{name}.image_size={config.image_size!r} is not valid: the convolutional models are "
                          f"built for {sizes} pixels (4×4 doubled by each stride-2 layer); resize the data to one.")
CONFIG_TYPES = {cls.__name__: cls for cls in (TrainConfig, ConditionalConfig, AblationConfig)}


def is_conditional(config: GANConfig) -> bool:
    """Whether the config's networks take class labels (G(z, labels), D(images, labels))."""
    return isinstance(config, ConditionalConfig)


def build_models(config: GANConfig) -> tuple[nn.Module, nn.Module]:
    """Freshly initialised G and D for a config (weights depend only on config.seed)."""
    torch.manual_seed(config.seed)
    if isinstance(config, TrainConfig):
        G, D = (Generator(config.image_size, config.nz, config.ngf, config.nc, config.bn_affine),
                Discriminator(config.image_size, config.ndf, config.nc, config.bn_affine))
        return ablate(config.variant, G, D) if isinstance(config, AblationConfig) else (G, D)
    c = config
    if c.arch not in ARCHITECTURES:
        raise ValueError(f"ConditionalConfig.arch={c.arch!r} is unknown: choose one of {ARCHITECTURES}.")
    if c.arch == "dcgan":
        return (ConditionalGenerator(c.image_size, c.nz, c.width, c.nc, c.n_classes, c.bn_affine),
                ConditionalDiscriminator(c.image_size, c.width, c.nc, c.n_classes, c.bn_affine))
    return (FCGenerator(c.image_size, c.nz, c.width, c.nc, c.n_classes, c.bn_affine),
            FCDiscriminator(c.image_size, c.width, c.nc, c.n_classes, c.bn_affine))


def training_memory(config: GANConfig) -> int:
    """Bytes that training `config` needs at the least: the weights with their gradients and Adam's two moments
    (16 bytes a parameter), and each layer's output for a batch twice (kept for backward, and its gradient).
    Measured on the meta device, so a width that would need 50 GB costs nothing to ask about."""
    with torch.device("meta"), torch.random.fork_rng(devices=[]):   # build_models seeds the global generator
        G, D = build_models(config)
        params = sum(p.numel() for model in (G, D) for p in model.parameters())
        sizes: list[int] = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel()))
                 for model in (G, D) for m in model.modules() if not list(m.children())]
        z = torch.zeros(config.batch_size, config.nz)
        args = (torch.zeros(config.batch_size, dtype=torch.long),) if is_conditional(config) else ()
        D(G(z, *args), *args)
    for hook in hooks:
        hook.remove()
    return 16 * params + 2 * 4 * sum(sizes)


def describe(config: GANConfig) -> str:
    """A few words for progress bars: which model, on which data."""
    if isinstance(config, AblationConfig):
        return f"{config.variant} (seed {config.seed}) on {config.dataset}"
    if isinstance(config, TrainConfig):
        return f"DCGAN on {config.dataset}"
    name = {"dcgan": "conditional DCGAN", "fc": "fully connected GAN"}.get(config.arch, config.arch)
    return f"{name}{'' if config.bn_affine else ', BN without scale/bias'}"


def config_record(config: GANConfig) -> dict[str, Any]:
    """The config as a checkpoint keeps it: its type and fields (plain values, safe to load)."""
    return {"type": type(config).__name__, **asdict(config)}


def config_from_record(record: dict[str, Any]) -> GANConfig:
    """The config a checkpoint was trained with (records without a type are TrainConfigs)."""
    fields = dict(record)
    return CONFIG_TYPES[fields.pop("type", "TrainConfig")](**fields)


class RunConfigMismatch(ValueError):
    """A run folder's checkpoint was trained with another config; `fields` maps each field that differs to
    (its value here, its value in the run)."""

    def __init__(self, run_dir: Path, fields: dict[str, tuple]):
        self.run_dir, self.fields = run_dir, fields
        said = ", ".join(f"{name} {here} here, {there} in the run" for name, (here, there) in fields.items())
        super().__init__(f"The checkpoint in {run_dir} was trained with another config ({said}); use another "
                         f"run_dir, or pass resume=False to start over.")


def check_resumable(saved: GANConfig, config: GANConfig, run_dir: Path) -> None:
    """A run resumes with its own config, or extends it with more epochs; anything else is refused, naming what
    differs."""
    if type(saved) is not type(config):
        raise RunConfigMismatch(run_dir, {"model": (type(config).__name__, type(saved).__name__)})
    differs = {f.name: (getattr(config, f.name), getattr(saved, f.name)) for f in fields(config)
               if getattr(config, f.name) != getattr(saved, f.name)}
    if set(differs) - {"epochs"} or config.epochs < saved.epochs:
        raise RunConfigMismatch(run_dir, differs)
