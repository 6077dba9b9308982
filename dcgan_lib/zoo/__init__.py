"""The book's named models per profile: every chapter asks for one by name, and it is trained only once.

This is the one place that maps a profile and a chapter to sizes (the chapters' own in `zoo.sizes`) and to
configs; the functions below it take sizes as arguments. The DCGANs and the conditional models are here; the
instruments (judges, locators, the hashing autoencoder) in `zoo.instruments`, the guidelines chapter's runs in
`zoo.guidelines`, all importable from here. Every model goes through the store (`store.load_or_train`): a
folder under ``runs_dir()/<kind>`` named by a hash of its config holds it once trained; an interrupted GAN
run in it resumes from its last checkpoint; anything else is trained now, with a progress bar.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from dcgan_lib.analysis.judges import JUDGE_SPECS
from dcgan_lib.core import store
from dcgan_lib.core.profiles import Profile, dataset_for
from dcgan_lib.data import DATASET_SPECS, ImageDataset, load_dataset
from dcgan_lib.models.variants import VARIANTS
from dcgan_lib.train.configs import ConditionalConfig, TrainConfig
from dcgan_lib.train.loop import TrainResult, load_trained, train
from dcgan_lib.zoo.common import DATA_VERSION, store_key
from dcgan_lib.zoo.common import as_profile as _profile
from dcgan_lib.zoo.guidelines import (
    GuidelineRun,
    guideline_config,
    guideline_run_dir,
    guideline_seeds,
    pretrained_guideline,
    pretrained_guidelines,
)
from dcgan_lib.zoo.instruments import (
    autoencoder_config,
    autoencoder_dir,
    faces_judge,
    judge_config,
    judge_dir,
    judge_for,
    locator_config,
    locator_dir,
    locator_for,
    pretrained_autoencoder,
    pretrained_judge,
    pretrained_locator,
)
from dcgan_lib.zoo.sizes import chapter_sizes

__all__ = [
    "CONDITIONAL_VARIANTS", "DATA_VERSION", "MODEL_SPECS", "autoencoder_config", "book_models", "chapter_sizes",
    "conditional_config",
    "conditional_digits", "conditional_run_dir", "faces_judge", "generator_seeds",
    "guideline_config",
    "guideline_run_dir", "guideline_seeds", "judge_config", "judge_for", "locator_config",
    "locator_for", "model_config", "pretrained", "pretrained_autoencoder", "pretrained_conditional",
    "pretrained_conditionals", "pretrained_guideline", "pretrained_guidelines", "GuidelineRun",
    "pretrained_judge", "pretrained_locator", "pretrained_runs",
    "run_dir_for", "BOOK_MODEL_KINDS", "BookModel", "autoencoder_dir", "judge_dir", "locator_dir",
]

# The book's unconditional models: which offline dataset each learns and any fixed settings.
MODEL_SPECS: dict[str, dict] = {
    "rooms": dict(dataset="rooms"),
    "faces": dict(dataset="faces"),
    "objects10": dict(dataset="objects10"),
    "digits": dict(dataset="digits"),
    "folder": dict(dataset="folder"),   # your own images (chapter 08 at full: ImageNet-1k's, the paper's protocol)
}


# ---- the DCGANs -----------------------------------------------------------------------------------------------------
def model_config(name: str, profile: str | Profile | None = None, **overrides) -> TrainConfig:
    """The training config of the book's model `name` at a profile (sizes from `dcgan_lib.core.profiles`)."""
    if name not in MODEL_SPECS:
        raise ValueError(f"Unknown model {name!r}: the book's models are {sorted(MODEL_SPECS)}.")
    profile = _profile(profile)
    spec = dict(MODEL_SPECS[name])
    dataset = overrides.pop("dataset", None) or dataset_for(spec.pop("dataset"), profile)
    if dataset not in DATASET_SPECS:
        raise ValueError(f"Unknown dataset {dataset!r}: choose one of {sorted(DATASET_SPECS)}.")
    facts = DATASET_SPECS[dataset]                     # channels and size follow the data the model learns
    config = TrainConfig(dataset=dataset, image_size=facts.native_size or profile.image_size, nc=facts.channels,
                         n_train=profile.n_train, ngf=profile.width, ndf=profile.width,
                         batch_size=profile.batch_size, epochs=profile.epochs, seed=profile.seed)
    spec.pop("dataset", None)
    return replace(config, **{**spec, **overrides})


def run_dir_for(name: str, config: TrainConfig) -> Path:
    """Where the run of `config` is (or will be) stored: the store's folder for it (`torchrun ... -m
    dcgan_lib.tooling.launch` trains into it, so that a chapter then loads the model)."""
    return store.artefact_dir(**store_key("models", config, name))


def pretrained(name: str, profile: str | Profile | None = None, device: str | torch.device | None = None,
               progress: bool | None = None, **overrides) -> TrainResult:
    """Return the book's model `name` trained at `profile`: loaded from the store, resumed, or trained now."""
    profile = _profile(profile)
    config = model_config(name, profile, **overrides)
    return store.load_or_train(
        **store_key("models", config, name), build=lambda folder: load_trained(folder, device),
        fit=lambda folder: train(config, folder, device=device, progress=progress,
                                 checkpoint_every=profile.checkpoint_every))


def generator_seeds(n: int, profile: str | Profile | None = None) -> list[int]:
    """The seeds of `n` independently trained generators at a profile: 0 .. n-1 at the book's seed 0, and a set
    of their own at another book seed (seed s: n*s .. n*s + n-1), so that two seeds' builds share no model."""
    start = _profile(profile).seed * n
    return list(range(start, start + n))


def _pretrained_in_worker(name: str, profile: Profile, overrides: dict) -> float:
    """Train one of the book's models in a worker process on one CPU thread (see `pretrained_runs`)."""
    return pretrained(name, profile, device="cpu", progress=False, **overrides).train_seconds


def pretrained_runs(name: str, seeds: list[int], profile: str | Profile | None = None,
                    device: str | torch.device | None = None, workers: int | None = None,
                    progress: bool | None = None, **overrides) -> list[TrainResult]:
    """The book's model `name` trained once per seed (independent runs of one config, to show the spread
    over trainings): loaded from the store, or trained now. On a CPU, the runs not stored yet train side by
    side in one-thread worker processes, one per run by default (on two cores three runs then take 1.5 times
    one, where two and then one would take twice); on a GPU they train one after the other."""
    import time

    from dcgan_lib.core.runtime import cores_here, pick_device, side_by_side

    profile = _profile(profile)
    configs = [model_config(name, profile, **{**overrides, "seed": seed}) for seed in seeds]
    missing = [c for c in configs if not store.is_finished(run_dir_for(name, c))]
    workers = workers or (len(missing) if cores_here() > 1 else 1)   # in a one-thread lane: one after the other
    if len(missing) > 1 and workers != 1 and pick_device(device).type == "cpu":
        start = time.perf_counter()
        side_by_side(_pretrained_in_worker, [{"name": name, "profile": profile,
                                              "overrides": {**overrides, "seed": c.seed}} for c in missing],
                     device=device, workers=workers, desc=f"training {len(missing)} {name} models",
                     progress=progress)
        print(f"trained {len(missing)} {name} models in {time.perf_counter() - start:.0f} s (side by side)")
    return [pretrained(name, profile, device=device, progress=progress, **{**overrides, "seed": seed})
            for seed in seeds]


# ---- the conditional models (chapter 09) ---------------------------------------------------------------------------
def conditional_config(arch: str, profile: str | Profile | None = None, bn_affine: bool = True,
                       **overrides) -> ConditionalConfig:
    """The config of the chapter's conditional model `arch` ('dcgan' or 'fc') at a profile."""
    profile = _profile(profile)
    sizes = chapter_sizes("conditional_nearest_neighbour", profile)
    width, epochs = (sizes.dcgan_width, sizes.dcgan_epochs) if arch == "dcgan" else (sizes.fc_width, sizes.fc_epochs)
    config = ConditionalConfig(arch=arch, dataset=sizes.dataset, n_train=sizes.n_train or None, width=width,
                               epochs=epochs, batch_size=sizes.batch_size, bn_affine=bn_affine, seed=profile.seed)
    return replace(config, **overrides)


def conditional_run_dir(config: ConditionalConfig) -> Path:
    """Where the conditional run of `config` is (or will be) stored."""
    return store.artefact_dir(**store_key("conditional", config, _label(config)))


def _label(config: ConditionalConfig) -> str:
    return f"{config.arch}-{'bn' if config.bn_affine else 'bn-noaffine'}"


def _train_conditional(config: ConditionalConfig, data: ImageDataset, device, progress) -> TrainResult:
    """Load or train one conditional model (fp32 layout as the networks are tiny: no channels_last)."""
    return store.load_or_train(
        **store_key("conditional", config, _label(config)), build=lambda folder: load_trained(folder, device),
        fit=lambda folder: train(config, folder, device=device, data=data, progress=progress, channels_last=False))


def _train_in_worker(config: ConditionalConfig, data: ImageDataset) -> float:
    """Train one config in a worker process on one CPU thread (see `pretrained_conditionals`); returns seconds."""
    torch.set_num_threads(1)
    return _train_conditional(config, data, "cpu", False).train_seconds


def _check_data(config: ConditionalConfig, data: ImageDataset) -> None:
    """The data must be what the config names: its dataset, and as many images as its n_train (the store keeps the
    model under the config, so a model trained on other data would be found later under the wrong name)."""
    if data.name != config.dataset or (config.n_train is not None and len(data) != config.n_train):
        raise ValueError(f"the config trains on {config.n_train or 'all'} images of {config.dataset!r}, but the "
                         f"data given is {len(data):,} of {data.name!r}: pass conditional_digits('train', profile)")


def pretrained_conditional(arch: str, data: ImageDataset, profile: str | Profile | None = None,
                           bn_affine: bool = True, device: str | torch.device | None = None,
                           progress: bool | None = None, **overrides) -> TrainResult:
    """The chapter's conditional model: loaded from the store if trained with this config, else trained now.

    `data` must be the training split named by the config (its name is checked); it is passed in so that the
    full profile's MNIST, loaded once by the chapter, is not loaded again for every model.
    """
    config = conditional_config(arch, profile, bn_affine, **overrides)
    _check_data(config, data)
    return _train_conditional(config, data, device, progress)


def pretrained_conditionals(models: list[tuple[str, bool]], data: ImageDataset, profile: str | Profile | None = None,
                            device: str | torch.device | None = None, workers: int | None = None,
                            progress: bool | None = None, **overrides) -> dict[tuple[str, bool], TrainResult]:
    """Several of the chapter's models, `[(arch, bn_affine), ...]`: loaded from the store, or trained now.

    On a CPU, models not stored yet are trained side by side in `workers` processes (default: one per core, at
    most one per model) with one thread each: small networks keep one core busy much better than they share
    two, so two models train in about the time of one. On a GPU they are trained one after the other.
    """
    import time

    from dcgan_lib.core.runtime import pick_device, side_by_side

    configs = {m: conditional_config(m[0], profile, m[1], **overrides) for m in models}
    for config in configs.values():
        _check_data(config, data)
    missing = [c for c in configs.values() if not store.is_finished(conditional_run_dir(c))]
    if len(missing) > 1 and workers != 1 and pick_device(device).type == "cpu":
        start = time.perf_counter()
        side_by_side(_train_in_worker, [{"config": c, "data": data} for c in missing], device=device,
                     workers=workers, desc=f"training {len(missing)} models", progress=progress)
        print(f"trained {len(missing)} models in {time.perf_counter() - start:.0f} s (side by side)")
    return {m: _train_conditional(c, data, device, progress) for m, c in configs.items()}


# ---- every stored model of the book, to train them up front (`make models`) -----------------------------------------
CONDITIONAL_VARIANTS = [("dcgan", False), ("dcgan", True), ("fc", False), ("fc", True)]  # chapter 09's four models


def conditional_digits(split: str = "train", profile: str | Profile | None = None,
                       dataset: str | None = None) -> ImageDataset:
    """Chapter 09's digits at a profile: mnist5k's split, or MNIST's first 50,000 training digits (the paper's
    last 10,000 are its validation set) and its 10,000 test digits."""
    from dcgan_lib.data import in_memory, load_mnist5k

    sizes = chapter_sizes("conditional_nearest_neighbour", _profile(profile))
    if (dataset or sizes.dataset) == "mnist5k":
        return load_mnist5k(32, (sizes.n_train if split == "train" else sizes.n_test) or None, split)
    digits = [str(d) for d in range(10)]
    source = load_dataset("mnist", 32, split=split, download=split == "train")
    return in_memory(source, 50_000 if split == "train" else 10_000, class_names=digits)


@dataclass(frozen=True)
class BookModel:
    """One stored model the chapters ask for: its label, its kind (a key of `BOOK_MODEL_KINDS`), the keyword
    arguments that name it and the chapters that read it; it can load or train itself and find its folder in the
    store."""

    label: str
    kind: str
    kwargs: dict
    chapters: tuple[str, ...] = ()   # their short names ("training": 02_training); `make book` starts them once stored

    def __post_init__(self) -> None:
        if self.kind not in BOOK_MODEL_KINDS:
            raise ValueError(f"{self.kind!r} is not a kind of the book's models: {', '.join(BOOK_MODEL_KINDS)}")

    def train(self, profile: str | Profile | None = None, device: str | torch.device | None = "cpu",
              progress: bool | None = False) -> None:
        """Load it from the store, or train and store it (in a worker process of `make models`)."""
        BOOK_MODEL_KINDS[self.kind][0](profile=profile, device=device, progress=progress, **self.kwargs)

    def is_stored(self, profile: str | Profile | None = None) -> bool:
        """Whether the store holds it finished (nothing is loaded)."""
        return store.is_finished(BOOK_MODEL_KINDS[self.kind][1](_profile(profile), **self.kwargs))


def _book_conditional(arch: str, bn_affine: bool, profile: str | Profile | None = None,
                      device: str | torch.device | None = None, progress: bool | None = None) -> TrainResult:
    """One of chapter 09's models, on the training set the chapter gives it (`conditional_digits`)."""
    return pretrained_conditional(arch, conditional_digits("train", profile), profile, bn_affine, device, progress)


# Each kind of the book's stored models: (load or train it, its folder in the store), from its keyword arguments.
BOOK_MODEL_KINDS: dict[str, tuple[Callable[..., object], Callable[..., Path]]] = {
    "DCGAN": (pretrained, lambda profile, name, **kw: run_dir_for(name, model_config(name, profile, **kw))),
    "judge": (pretrained_judge, lambda profile, dataset, **kw: judge_dir(judge_config(dataset, profile, **kw))),
    "locator": (pretrained_locator, lambda profile, dataset, obj: locator_dir(locator_config(dataset, obj, profile))),
    "autoencoder": (pretrained_autoencoder,
                    lambda profile, dataset: autoencoder_dir(autoencoder_config(dataset, profile))),
    "conditional": (_book_conditional, lambda profile, arch, bn_affine: conditional_run_dir(
        conditional_config(arch, profile, bn_affine))),
    "guideline": (pretrained_guideline, lambda profile, variant, seed, **kw: guideline_run_dir(
        guideline_config(variant, seed, profile, **kw))),
}


def book_models(profile: str | Profile | None = None) -> list[BookModel]:
    """Every stored model the chapters ask for at a profile, the longest to train first: `make models` trains them
    up front, side by side, and the chapters then load them (a model missing here is still trained by the chapter
    that asks for it, only not in parallel)."""
    profile = _profile(profile)
    faces = chapter_sizes("vector_arithmetic", profile)
    face_sizes = {"image_size": faces.image_size, "epochs": faces.epochs}
    rooms_chapters = ("training", "latent_walks", "forgetting", "guided_backprop", "classification")
    jobs = [("rooms DCGAN (02, 04, 05, 07, 08)", "DCGAN", {"name": "rooms"}, rooms_chapters)]
    jobs += [(f"faces DCGAN, seed {seed} (06)", "DCGAN", {"name": "faces", "seed": seed, **face_sizes},
              ("vector_arithmetic",)) for seed in generator_seeds(faces.n_generators, profile)]
    jobs += [(f"conditional {arch}, BN {'with' if affine else 'without'} scale/bias (09)", "conditional",
              {"arch": arch, "bn_affine": affine}, ("conditional_nearest_neighbour",))
             for arch, affine in CONDITIONAL_VARIANTS]
    jobs += [("objects10 DCGAN (08)", "DCGAN", {"name": "objects10"}, ("classification",)),
             ("hashing autoencoder (03)", "autoencoder", {"dataset": "rooms"}, ("deduplication",))]
    judges = [("faces judge (06)", "faces", {"image_size": face_sizes["image_size"],
                                             "epochs": faces.judge_epochs}, ("vector_arithmetic",)),
              ("rooms judge (02, 04, 05)", "rooms", {}, ("training", "latent_walks", "forgetting"))]
    jobs += [(label, "judge", {"dataset": dataset_for(d, profile), **extra}, used) for label, d, extra, used in judges
             if dataset_for(d, profile) in JUDGE_SPECS]
    if dataset_for("rooms", profile) in JUDGE_SPECS:
        jobs += [(f"{obj} locator (05)", "locator", {"dataset": "rooms", "obj": obj}, ("forgetting",))
                 for obj in ("window", "lamp")]
    seeds, guide = guideline_seeds(profile), chapter_sizes("guidelines", profile)
    if guide.dataset in JUDGE_SPECS:
        jobs += [(f"{guide.dataset} judge (guidelines)", "judge", {"dataset": guide.dataset}, ("guidelines",))]
    jobs += [(f"guidelines: DCGAN, {guide.long_epochs} epochs, seed {seeds[0]}", "guideline",
              {"variant": "dcgan", "seed": seeds[0], "epochs": guide.long_epochs}, ("guidelines",))]
    jobs += [(f"guidelines: {variant}, seed {seed}", "guideline", {"variant": variant, "seed": seed},
              ("guidelines",)) for variant in VARIANTS for seed in seeds]
    if guide.drawn:   # the same ablation on the chapter's drawn dataset, judged by its own judge
        if guide.drawn in JUDGE_SPECS:
            jobs += [(f"{guide.drawn} judge (guidelines)", "judge", {"dataset": guide.drawn}, ("guidelines",))]
        jobs += [(f"guidelines ({guide.drawn}): {variant}, seed {seed}", "guideline",
                  {"variant": variant, "seed": seed, "drawn": True}, ("guidelines",))
                 for variant in VARIANTS for seed in seeds]
    return [BookModel(*job) for job in jobs]
