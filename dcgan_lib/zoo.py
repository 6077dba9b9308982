"""The book's named models per profile: every chapter asks for one by name, and it is trained only once.

This is the one place that maps a profile (and a chapter's sizes in `dcgan_lib.core.profiles`) to configs; the
functions below it take sizes as arguments. Every model goes through the store (`store.load_or_train`): a
folder under ``runs_dir()/<kind>`` named by a hash of its config holds it once trained; an interrupted GAN
run in it resumes from its last checkpoint; anything else is trained now, with a progress bar.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from dcgan_lib.analysis.dedup import AutoencoderConfig, HashAutoencoder, train_autoencoder
from dcgan_lib.analysis.dissection import LocatorConfig, LocatorScores, train_locator
from dcgan_lib.analysis.judges import JUDGE_SPECS, JudgeConfig, train_celeba_judge, train_judge
from dcgan_lib.core import store
from dcgan_lib.core.profiles import Profile, chapter_sizes, dataset_for, get_profile
from dcgan_lib.data import CACHE_VERSION, DATASET_SPECS, ImageDataset, load_dataset, sample_images
from dcgan_lib.models.small_cnn import Judge, ObjectLocator
from dcgan_lib.train.configs import ConditionalConfig, TrainConfig
from dcgan_lib.train.loop import TrainResult, load_trained, train

# The generated data's version is part of every key: a model of an older drawing of the data is never reused.
DATA_VERSION = f"data{CACHE_VERSION}"

# The book's unconditional models: which offline dataset each learns and any fixed settings.
MODEL_SPECS: dict[str, dict] = {
    "rooms": dict(dataset="rooms"),
    "faces": dict(dataset="faces"),
    "objects10": dict(dataset="objects10"),
    "digits": dict(dataset="digits"),
}


def _profile(profile: str | Profile | None) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


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
    return store.artefact_dir("models", config, salt=DATA_VERSION, label=name)


def pretrained(name: str, profile: str | Profile | None = None, device: str | torch.device | None = None,
               progress: bool | None = None, **overrides) -> TrainResult:
    """Return the book's model `name` trained at `profile`: loaded from the store, resumed, or trained now."""
    profile = _profile(profile)
    config = model_config(name, profile, **overrides)
    return store.load_or_train(
        "models", config, build=lambda folder: load_trained(folder, device),
        fit=lambda folder: train(config, folder, device=device, progress=progress,
                                 checkpoint_every=profile.checkpoint_every),
        salt=DATA_VERSION, label=name)


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


# ---- the judges and the object locators ------------------------------------------------------------------------------
def judge_config(dataset: str, profile: str | Profile | None = None, **overrides) -> JudgeConfig:
    """The config of the judge for an offline dataset at a profile; `epochs=...` trains one longer."""
    if dataset not in JUDGE_SPECS:
        raise ValueError(f"No judge for {dataset!r}: judges exist for the offline datasets {sorted(JUDGE_SPECS)}.")
    profile = _profile(profile)
    image_size = DATASET_SPECS[dataset].native_size or profile.image_size
    config = JudgeConfig(dataset, image_size, profile.judge_n_train, profile.judge_epochs)
    return replace(config, **overrides)


def pretrained_judge(dataset: str, profile: str | Profile | None = None, device: torch.device | str = "cpu",
                     progress: bool | None = None, **overrides) -> Judge:
    """The judge for an offline dataset at a profile: loaded from the store, or trained and stored now."""
    config = judge_config(dataset, profile, **overrides)

    def build(folder) -> Judge:
        state = store.load(folder / "judge.pt")
        judge = Judge(config.image_size, state["nc"], JUDGE_SPECS[dataset], state["n_classes"])
        judge.load_state_dict(state["weights"])
        judge.test_scores = state["test_scores"]
        return judge.to(device).eval()

    def fit(folder) -> Judge:
        judge = train_judge(config, device=device, progress=progress)
        store.save_weights(judge, folder / "judge.pt", nc=judge.nc, n_classes=judge.n_classes,
                           test_scores=judge.test_scores)
        return judge

    return store.load_or_train("judges", config, build, fit, salt=DATA_VERSION, label=dataset)


def locator_config(dataset: str, obj: str, profile: str | Profile | None = None) -> LocatorConfig:
    """The config of the locator of `obj` in an offline dataset's images at a profile."""
    profile = _profile(profile)
    return LocatorConfig(dataset, obj, profile.image_size, profile.judge_n_train, profile.judge_epochs)


def pretrained_locator(dataset: str = "rooms", obj: str = "window", profile: str | Profile | None = None,
                       device: torch.device | str = "cpu", progress: bool | None = None) -> ObjectLocator:
    """The locator of `obj` for an offline dataset at a profile: loaded from the store, or trained now."""
    config = locator_config(dataset, obj, profile)

    def build(folder) -> ObjectLocator:
        state = store.load(folder / "locator.pt")
        locator = ObjectLocator(state["nc"], config.width)
        locator.load_state_dict(state["weights"])
        locator.test_scores = LocatorScores(**state["test_scores"])
        return locator.to(device).eval()

    def fit(folder) -> ObjectLocator:
        locator = train_locator(config, device=device, progress=progress)
        store.save_weights(locator, folder / "locator.pt", nc=locator.nc, test_scores=vars(locator.test_scores))
        return locator

    return store.load_or_train("locators", config, build, fit, salt=DATA_VERSION, label=f"{dataset}-{obj}")


def judge_for(dataset: str, profile: str | Profile | None = None, device: torch.device | str = "cpu",
              progress: bool | None = None, **overrides) -> Judge | None:
    """The judge of `dataset`'s images (`pretrained_judge`), or None where there is none: a real dataset's
    pictures come without labels of what they show, so a chapter skips the measurements that need a judge."""
    return pretrained_judge(dataset, profile, device, progress, **overrides) if dataset in JUDGE_SPECS else None


def faces_judge(dataset: str, profile: str | Profile | None = None, device: torch.device | str = "cpu",
                progress: bool | None = None, image_size: int = 64, epochs: int | None = None
                ) -> tuple[Callable[[torch.Tensor], dict[str, torch.Tensor]], str]:
    """(predict, the group's name) for chapter 06's faces: `predict(images)` gives the probabilities of smile,
    glasses and the group (the paper's "woman": long hair on `faces`, not Male on CelebA), the yaw and blend. On
    `faces` the stored judge; on CelebA one trained now from CelebA's attribute and landmark files."""
    profile = _profile(profile)
    epochs = epochs or profile.judge_epochs
    if dataset == "celeba":
        return train_celeba_judge(image_size, profile.judge_n_train, epochs, device=device).predict, "female"
    if dataset != "faces":
        raise ValueError(f"no faces judge for {dataset!r}: vector arithmetic needs faces labelled with smile, "
                         f"glasses and sex, so use DATASET='faces' (generated) or 'celeba' (CelebA's attributes)")
    judge = pretrained_judge("faces", profile, device, progress, image_size=image_size, epochs=epochs)

    def predict(images: torch.Tensor) -> dict[str, torch.Tensor]:
        p = judge.predict(images)
        return {"smile": p["smile"], "glasses": p["glasses"], "group": p["long_hair"], "yaw": p["yaw"],
                "blend": p["blend"]}

    return predict, "long_hair"


def locator_for(dataset: str, obj: str, profile: str | Profile | None = None, device: torch.device | str = "cpu",
                progress: bool | None = None) -> ObjectLocator | None:
    """The locator of `obj` in `dataset`'s images (`pretrained_locator`), or None for a real dataset (no boxes
    to learn from: the chapter then asks for boxes drawn by hand, as the paper did)."""
    return pretrained_locator(dataset, obj, profile, device, progress) if dataset in JUDGE_SPECS else None


# ---- the hashing autoencoder (chapter 03) --------------------------------------------------------------------------
def autoencoder_config(dataset: str = "rooms", profile: str | Profile | None = None,
                       **overrides) -> AutoencoderConfig:
    """The book's hashing autoencoder config for `dataset` at a profile (sizes of the de-duplication chapter)."""
    profile = _profile(profile)
    sizes = chapter_sizes("deduplication", profile)
    config = AutoencoderConfig(dataset=dataset_for(dataset, profile), image_size=profile.image_size,
                               n_train=int(sizes["ae_n_train"]), epochs=int(sizes["ae_epochs"]), seed=profile.seed)
    return replace(config, **overrides)


def pretrained_autoencoder(dataset: str = "rooms", profile: str | Profile | None = None,
                           device: str | torch.device = "cpu", progress: bool | None = None,
                           **overrides) -> HashAutoencoder:
    """The hashing autoencoder for `dataset` at a profile: loaded from the store, or trained on the dataset's
    training split (a random `n_train` sample for real datasets) and stored now."""
    config = autoencoder_config(dataset, profile, **overrides)

    def build(folder) -> HashAutoencoder:
        model = HashAutoencoder(config.code_size, config.noise_std, config.dropout, config.max_shift,
                                config.brightness)
        model.config, model.history = config, list(store.load_weights(model, folder / "autoencoder.pt")["history"])
        return model.to(device).eval()

    def fit(folder) -> HashAutoencoder:
        generated = not DATASET_SPECS[config.dataset].fixed_splits
        data = load_dataset(config.dataset, config.image_size, n=config.n_train if generated else None,
                            split="train", seed=config.data_seed if generated else 0)
        if not isinstance(data, ImageDataset):  # a real dataset: a random sample, streamed into memory
            data = sample_images(data, config.n_train, seed=config.data_seed)
        model = train_autoencoder(data, config, device=device, progress=progress)
        store.save_weights(model, folder / "autoencoder.pt", history=model.history)
        return model

    return store.load_or_train("autoencoders", config, build, fit, salt=DATA_VERSION, label=config.dataset)


# ---- the conditional models (chapter 09) ---------------------------------------------------------------------------
def conditional_config(arch: str, profile: str | Profile | None = None, bn_affine: bool = True,
                       **overrides) -> ConditionalConfig:
    """The config of the chapter's conditional model `arch` ('dcgan' or 'fc') at a profile."""
    profile = _profile(profile)
    sizes = chapter_sizes("conditional", profile)
    config = ConditionalConfig(
        arch=arch, dataset=str(sizes["dataset"]), n_train=sizes.get("n_train") or None,
        width=int(sizes[f"{arch}_width"]), epochs=int(sizes[f"{arch}_epochs"]),
        batch_size=int(sizes["batch_size"]), bn_affine=bn_affine, seed=profile.seed)
    return replace(config, **overrides)


def conditional_run_dir(config: ConditionalConfig) -> Path:
    """Where the conditional run of `config` is (or will be) stored."""
    return store.artefact_dir("conditional", config, salt=DATA_VERSION, label=_label(config))


def _label(config: ConditionalConfig) -> str:
    return f"{config.arch}-{'bn' if config.bn_affine else 'bn-noaffine'}"


def _train_conditional(config: ConditionalConfig, data: ImageDataset, device, progress) -> TrainResult:
    """Load or train one conditional model (fp32 layout as the networks are tiny: no channels_last)."""
    return store.load_or_train(
        "conditional", config, build=lambda folder: load_trained(folder, device),
        fit=lambda folder: train(config, folder, device=device, data=data, progress=progress, channels_last=False),
        salt=DATA_VERSION, label=_label(config))


def _train_in_worker(config: ConditionalConfig, data: ImageDataset) -> float:
    """Train one config in a worker process on one CPU thread (see `pretrained_conditionals`); returns seconds."""
    torch.set_num_threads(1)
    return _train_conditional(config, data, "cpu", False).train_seconds


def pretrained_conditional(arch: str, data: ImageDataset, profile: str | Profile | None = None,
                           bn_affine: bool = True, device: str | torch.device | None = None,
                           progress: bool | None = None, **overrides) -> TrainResult:
    """The chapter's conditional model: loaded from the store if trained with this config, else trained now.

    `data` must be the training split named by the config (its name is checked); it is passed in so that the
    full profile's MNIST, loaded once by the chapter, is not loaded again for every model.
    """
    config = conditional_config(arch, profile, bn_affine, **overrides)
    if data.name != config.dataset:
        raise ValueError(f"the config trains on {config.dataset!r} but the data given is {data.name!r}")
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
        if data.name != config.dataset:
            raise ValueError(f"the config trains on {config.dataset!r} but the data given is {data.name!r}")
    missing = [c for c in configs.values() if not store.is_finished(conditional_run_dir(c))]
    if len(missing) > 1 and workers != 1 and pick_device(device).type == "cpu":
        start = time.perf_counter()
        side_by_side(_train_in_worker, [{"config": c, "data": data} for c in missing], device=device,
                     workers=workers, desc=f"training {len(missing)} models", progress=progress)
        print(f"trained {len(missing)} models in {time.perf_counter() - start:.0f} s (side by side)")
    return {m: _train_conditional(c, data, device, progress) for m, c in configs.items()}


# ---- every stored model of the book, to train them up front (`make models`) -----------------------------------------
CONDITIONAL_VARIANTS = [("dcgan", False), ("dcgan", True), ("fc", False), ("fc", True)]  # chapter 09's four models


def conditional_training_set(profile: str | Profile | None = None) -> ImageDataset:
    """The training digits of chapter 09's models at a profile: mnist5k's split (or MNIST's first 50,000)."""
    from dcgan_lib.data import in_memory, load_mnist5k

    sizes = chapter_sizes("conditional", _profile(profile))
    if sizes["dataset"] == "mnist5k":
        return load_mnist5k(32, int(sizes["n_train"]) or None, "train")
    digits = [str(d) for d in range(10)]
    return in_memory(load_dataset("mnist", 32, split="train", download=True), 50_000, class_names=digits)


def book_models(profile: str | Profile | None = None) -> list[tuple[str, str, dict]]:
    """Every stored model the chapters ask for at a profile, as (label, zoo function, its keyword arguments), the
    longest to train first: `make models` trains them up front, side by side, and the chapters then load them
    (a model missing here is still trained by the chapter that asks for it, only not in parallel)."""
    profile = _profile(profile)
    faces = chapter_sizes("vector_arithmetic", profile)
    face_sizes = {"image_size": int(faces["image_size"]), "epochs": int(faces["epochs"])}
    jobs = [("rooms DCGAN (02, 04, 05, 07, 08)", "pretrained", {"name": "rooms"})]
    jobs += [(f"faces DCGAN, seed {seed} (06)", "pretrained", {"name": "faces", "seed": seed, **face_sizes})
             for seed in generator_seeds(int(faces["n_generators"]), profile)]
    jobs += [(f"conditional {arch}, BN {'with' if affine else 'without'} scale/bias (09)", "_book_conditional",
              {"arch": arch, "bn_affine": affine}) for arch, affine in CONDITIONAL_VARIANTS]
    jobs += [("objects10 DCGAN (08)", "pretrained", {"name": "objects10"}),
             ("hashing autoencoder (03)", "pretrained_autoencoder", {"dataset": "rooms"})]
    judges = [("faces judge (06)", "faces", {"image_size": face_sizes["image_size"],
                                             "epochs": int(faces["judge_epochs"])}),
              ("rooms judge (02, 04, 05)", "rooms", {})]
    jobs += [(label, "pretrained_judge", {"dataset": dataset_for(d, profile), **extra}) for label, d, extra in judges
             if dataset_for(d, profile) in JUDGE_SPECS]
    if dataset_for("rooms", profile) in JUDGE_SPECS:
        jobs += [(f"{obj} locator (05)", "pretrained_locator", {"dataset": "rooms", "obj": obj})
                 for obj in ("window", "lamp")]
    return jobs


def _book_conditional(arch: str, bn_affine: bool, profile: str | Profile | None = None,
                      device: str | torch.device | None = None, progress: bool | None = None) -> TrainResult:
    """One of chapter 09's models, on the training set the chapter gives it (`conditional_training_set`)."""
    return pretrained_conditional(arch, conditional_training_set(profile), profile, bn_affine, device, progress)


def train_book_model(function: str, kwargs: dict, profile: str | Profile | None = None,
                     device: str | torch.device | None = "cpu", progress: bool | None = False) -> None:
    """Load or train one entry of `book_models` (in a worker process of `make models`)."""
    if function not in {"pretrained", "pretrained_judge", "pretrained_locator", "pretrained_autoencoder",
                        "_book_conditional"}:
        raise ValueError(f"{function!r} is not one of the zoo's model functions")
    globals()[function](profile=profile, device=device, progress=progress, **kwargs)


def is_book_model_stored(function: str, kwargs: dict, profile: str | Profile | None = None) -> bool:
    """Whether the store holds the finished model of one entry of `book_models` (nothing is loaded)."""
    kwargs = dict(kwargs)
    if function == "pretrained":
        name = kwargs.pop("name")
        folder = run_dir_for(name, model_config(name, profile, **kwargs))
    elif function == "pretrained_judge":
        config = judge_config(kwargs.pop("dataset"), profile, **kwargs)
        folder = store.artefact_dir("judges", config, salt=DATA_VERSION, label=config.dataset)
    elif function == "pretrained_locator":
        config = locator_config(kwargs["dataset"], kwargs["obj"], profile)
        folder = store.artefact_dir("locators", config, salt=DATA_VERSION, label=f"{config.dataset}-{config.obj}")
    elif function == "pretrained_autoencoder":
        config = autoencoder_config(kwargs.pop("dataset"), profile, **kwargs)
        folder = store.artefact_dir("autoencoders", config, salt=DATA_VERSION, label=config.dataset)
    elif function == "_book_conditional":
        folder = conditional_run_dir(conditional_config(kwargs["arch"], profile, kwargs["bn_affine"]))
    else:
        raise ValueError(f"{function!r} is not one of the zoo's model functions")
    return store.is_finished(folder)
