"""Chapter 03's closed loop: small DCGANs trained on given sets of images (a training set with planted
near-copies, and the same set de-duplicated), stored under a digest of those images like every model of the book."""
from __future__ import annotations

import math

import torch

from dcgan_lib.core import store
from dcgan_lib.core.memo import digest
from dcgan_lib.core.profiles import Profile
from dcgan_lib.data import DATASET_SPECS
from dcgan_lib.train.configs import TrainConfig
from dcgan_lib.train.loop import TrainResult, load_trained, train
from dcgan_lib.zoo.common import DATA_VERSION
from dcgan_lib.zoo.common import as_profile as _profile
from dcgan_lib.zoo.sizes import chapter_sizes

LOOP_BATCH = 16   # small sets: an epoch of a few hundred images still has tens of steps


def loop_config(dataset: str, n_images: int, profile: str | Profile | None = None) -> TrainConfig:
    """The recipe of every G of the loop: the DCGAN at 32×32 and the chapter's width, trained from the book's
    seed for about `loop_steps` steps whatever the set's size (so that removing images does not shorten it)."""
    profile, sizes = _profile(profile), chapter_sizes("deduplication", profile)
    epochs = math.ceil(sizes.loop_steps / max(n_images // LOOP_BATCH, 1))
    return TrainConfig(dataset=dataset, image_size=32, nc=DATASET_SPECS[dataset].channels, ngf=sizes.loop_width,
                       ndf=sizes.loop_width, batch_size=LOOP_BATCH, epochs=epochs, seed=profile.seed, n_fixed=16)


def pretrained_loop_generator(images: torch.Tensor, dataset: str, label: str, profile: str | Profile | None = None,
                  device: str | torch.device | None = None, progress: bool | None = None) -> TrainResult:
    """A G of the loop trained on `images` (uint8 [N, C, 32, 32] of `dataset`): loaded from the store when these
    very images trained one with this recipe before, else trained now (with a progress bar)."""
    config = loop_config(dataset, len(images), profile)
    key = {"kind": "dedup_loop", "config": config, "salt": f"{DATA_VERSION}-{digest(images)}",
           "label": label.replace(" ", "_")}
    return store.load_or_train(**key, build=lambda folder: load_trained(folder, device),
                               fit=lambda folder: train(config, folder, device=device, data=images,
                                                        progress=progress, channels_last=False))
