"""The zoo's measuring instruments: the judges that read generated images, the object locators of chapter 05
and the hashing autoencoder of chapter 03, each trained once per profile and kept in the store."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from dcgan_lib.analysis.dedup import AutoencoderConfig, HashAutoencoder, train_autoencoder
from dcgan_lib.analysis.dissection import LocatorConfig, LocatorScores, train_locator
from dcgan_lib.analysis.judges import JUDGE_SPECS, JudgeConfig, train_celeba_judge, train_judge
from dcgan_lib.core import store
from dcgan_lib.core.profiles import Profile, dataset_for
from dcgan_lib.data import DATASET_SPECS, ImageDataset, load_dataset, sample_images
from dcgan_lib.models.small_cnn import Judge, ObjectLocator
from dcgan_lib.zoo.common import as_profile as _profile
from dcgan_lib.zoo.common import store_key
from dcgan_lib.zoo.sizes import chapter_sizes


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

    return store.load_or_train(**store_key("judges", config, config.dataset), build=build, fit=fit)


def judge_dir(config: JudgeConfig) -> Path:
    """Where the judge of `config` is (or will be) stored."""
    return store.artefact_dir(**store_key("judges", config, config.dataset))


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

    return store.load_or_train(**_locator_key(config), build=build, fit=fit)


def _locator_key(config: LocatorConfig) -> dict:
    return store_key("locators", config, f"{config.dataset}-{config.obj}")


def locator_dir(config: LocatorConfig) -> Path:
    """Where the locator of `config` is (or will be) stored."""
    return store.artefact_dir(**_locator_key(config))


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
                               n_train=sizes.ae_n_train, epochs=sizes.ae_epochs, seed=profile.seed)
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

    return store.load_or_train(**store_key("autoencoders", config, config.dataset), build=build, fit=fit)


def autoencoder_dir(config: AutoencoderConfig) -> Path:
    """Where the hashing autoencoder of `config` is (or will be) stored."""
    return store.artefact_dir(**store_key("autoencoders", config, config.dataset))
