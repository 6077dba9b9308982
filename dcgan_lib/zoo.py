"""Load or train: every chapter asks for a model by name and profile, and trains it only once.

A model is identified by its full training config; its run directory (checkpoint, per-epoch generator
snapshots, sample grids) sits under ``runs_dir()/models``. If a finished run with the same config exists it
is loaded, if an interrupted one exists it is resumed, otherwise the model is trained with a progress bar.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from dcgan_lib.core.paths import runs_dir
from dcgan_lib.core.profiles import Profile, dataset_for, get_profile
from dcgan_lib.data.datasets import CACHE_VERSION
from dcgan_lib.train.loop import TrainConfig, TrainResult, load_trained, train

# The book's unconditional models: which offline dataset each learns and any fixed settings.
MODEL_SPECS: dict[str, dict] = {
    "rooms": dict(dataset="rooms"),
    "faces": dict(dataset="faces"),
    "objects10": dict(dataset="objects10", image_size=32),
    "digits": dict(dataset="digits", image_size=32, nc=1),
}


def model_config(name: str, profile: str | Profile | None = None, **overrides) -> TrainConfig:
    """The training config of the book's model `name` at a profile (sizes from `dcgan_lib.core.profiles`)."""
    if name not in MODEL_SPECS:
        raise ValueError(f"Unknown model {name!r}: the book's models are {sorted(MODEL_SPECS)}.")
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    spec = dict(MODEL_SPECS[name])
    dataset = dataset_for(spec.pop("dataset"), profile)
    config = TrainConfig(dataset=dataset, image_size=profile.image_size, n_train=profile.n_train,
                         ngf=profile.width, ndf=profile.width, batch_size=profile.batch_size, epochs=profile.epochs)
    return replace(config, **{**spec, **overrides})


def run_dir_for(name: str, config: TrainConfig, profile_name: str) -> Path:
    """Where the run of `config` is (or will be) stored (the generated datasets' version is part of the name,
    so a model of an older drawing of the data is never reused)."""
    return runs_dir() / "models" / f"{name}-{profile_name}-{config.key()}-data{CACHE_VERSION}"


def pretrained(name: str, profile: str | Profile | None = None, device: str | torch.device | None = None,
               progress: bool | None = None, **overrides) -> TrainResult:
    """Return the book's model `name` trained at `profile`: loaded from the cache, resumed, or trained now."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    config = model_config(name, profile, **overrides)
    run_dir = run_dir_for(name, config, profile.name)
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.exists():
        result = load_trained(run_dir, device)
        if result.epochs_done >= config.epochs:
            return result
    return train(config, run_dir, device=device, progress=progress, checkpoint_every=profile.checkpoint_every)
