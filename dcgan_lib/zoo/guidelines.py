"""The guidelines chapter's models: the DCGAN and each variant with one guideline broken (`models.variants`),
trained from several seeds at a profile, through the store like every model of the book.

A variant may diverge (a loss turns NaN): that is a result here, not an error, so the run's folder records it
(`diverged.json`) and is stored as finished; loading it gives the message instead of a generator.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from dcgan_lib.core import store
from dcgan_lib.core.profiles import Profile
from dcgan_lib.data import DATASET_SPECS
from dcgan_lib.models.variants import VARIANTS
from dcgan_lib.train.configs import AblationConfig
from dcgan_lib.train.loop import TrainingDiverged, TrainResult, load_trained, train
from dcgan_lib.zoo.common import as_profile as _profile
from dcgan_lib.zoo.common import store_key
from dcgan_lib.zoo.sizes import chapter_sizes

DIVERGED = "diverged.json"


@dataclass
class GuidelineRun:
    """One variant trained from one seed: its result, or why it diverged."""

    config: AblationConfig
    result: TrainResult | None     # None when the run diverged
    diverged: str = ""             # the loop's message when a loss became NaN or infinite

    @property
    def variant(self) -> str:
        return self.config.variant


def guideline_config(variant: str, seed: int, profile: str | Profile | None = None, drawn: bool = False,
                     **overrides) -> AblationConfig:
    """The config of `variant` trained from `seed` at a profile (the chapter's sizes, the variant's recipe);
    `drawn=True`: on the chapter's drawn dataset instead (its own images and epochs)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is unknown: choose one of {', '.join(VARIANTS)}.")
    sizes = chapter_sizes("guidelines", _profile(profile))
    if drawn and not sizes.drawn:
        raise ValueError(f"the guidelines chapter has no drawn dataset at the {_profile(profile).name} profile.")
    name, n_train, epochs = (sizes.drawn, sizes.drawn_n_train, sizes.drawn_epochs) if drawn else \
        (sizes.dataset, sizes.n_train, sizes.epochs)
    facts = DATASET_SPECS[name]
    config = AblationConfig(dataset=facts.name, image_size=facts.native_size or _profile(profile).image_size,
                            nc=facts.channels, n_train=n_train or None, ngf=sizes.width, ndf=sizes.width,
                            batch_size=sizes.batch_size, epochs=epochs, seed=seed, variant=variant)
    return replace(config, **{**VARIANTS[variant].recipe, **overrides})


def guideline_seeds(profile: str | Profile | None = None) -> list[int]:
    """The seeds each variant is trained from: n_seeds of them, a set of their own per book seed."""
    profile = _profile(profile)
    n = chapter_sizes("guidelines", profile).n_seeds
    return list(range(profile.seed * n, profile.seed * n + n))


def guideline_run_dir(config: AblationConfig) -> Path:
    """Where the run of `config` is (or will be) stored."""
    return store.artefact_dir(**store_key("guidelines", config, config.variant))


def pretrained_guideline(variant: str, seed: int, profile: str | Profile | None = None,
                         device: str | torch.device | None = None, progress: bool | None = None,
                         **overrides) -> GuidelineRun:
    """`variant` trained from `seed`: loaded from the store, or trained now (a divergence is stored as such)."""
    config = guideline_config(variant, seed, profile, **overrides)

    def fit(folder: Path) -> GuidelineRun:
        try:
            result = train(config, folder, device=device, progress=progress, channels_last=False)
        except TrainingDiverged as err:
            store.write_text_atomic(json.dumps({"message": str(err)}), folder / DIVERGED)
            return GuidelineRun(config, None, str(err))
        return GuidelineRun(config, result)

    def build(folder: Path) -> GuidelineRun:
        if (folder / DIVERGED).exists():
            return GuidelineRun(config, None, json.loads((folder / DIVERGED).read_text())["message"])
        return GuidelineRun(config, load_trained(folder, device))

    return store.load_or_train(**store_key("guidelines", config, config.variant), build=build, fit=fit)


def _train_in_worker(variant: str, seed: int, profile: Profile, overrides: dict) -> float:
    """Train one run in a worker process on one CPU thread; returns its training seconds."""
    run = pretrained_guideline(variant, seed, profile, device="cpu", progress=False, **overrides)
    return run.result.train_seconds if run.result else 0.0


def pretrained_guidelines(variants: list[str], seeds: list[int], profile: str | Profile | None = None,
                          device: str | torch.device | None = None, workers: int | None = None,
                          progress: bool | None = None, **overrides) -> list[GuidelineRun]:
    """Every variant from every seed (variant by variant): the runs not stored yet train side by side on a CPU
    (one thread each, `workers` processes), one after the other on a GPU; then all are loaded."""
    from dcgan_lib.core.runtime import pick_device, side_by_side

    profile = _profile(profile)
    pairs = [(v, s) for v in variants for s in seeds]
    missing = [{"variant": v, "seed": s, "profile": profile, "overrides": overrides} for v, s in pairs
               if not store.is_finished(guideline_run_dir(guideline_config(v, s, profile, **overrides)))]
    if len(missing) > 1 and workers != 1 and pick_device(device).type == "cpu":
        side_by_side(_train_in_worker, missing, device=device, workers=workers,
                     desc=f"training {len(missing)} runs", progress=progress)
    return [pretrained_guideline(v, s, profile, device, progress, **overrides) for v, s in pairs]
