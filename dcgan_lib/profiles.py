"""The three scales of the book, `ci`, `book` and `full`: every profile-dependent size lives here.

* ``ci``   — seconds per chapter on a 2-core CPU; what ``pytest`` (nbval) runs.
* ``book`` — minutes per chapter on a 2-core CPU, offline datasets; what the rendered book shows.
* ``full`` — the paper's scale (64×64, batch 128, real datasets), meant for a GPU and papermill.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

PROFILE_NAMES = ("ci", "book", "full")


@dataclass(frozen=True)
class Profile:
    """Sizes for one scale: data, model width, training length and evaluation sample counts."""

    name: str
    image_size: int          # training resolution of the scene/face models
    width: int               # ngf = ndf
    n_train: int | None      # training images (None: the whole dataset)
    n_test: int              # held-out real images for evaluations
    epochs: int              # passes over the training set
    batch_size: int
    n_eval: int              # generated samples scored per evaluation (Fréchet distance, nearest neighbours)
    judge_n_train: int       # images the judge networks learn from
    judge_epochs: int
    datasets: dict[str, str] = field(default_factory=dict)  # offline name -> dataset actually used at this scale
    checkpoint_every: int | None = None  # also checkpoint every k steps within an epoch (long epochs)


PROFILES: dict[str, Profile] = {
    "ci": Profile("ci", image_size=32, width=8, n_train=512, n_test=256, epochs=1, batch_size=64,
                  n_eval=256, judge_n_train=1024, judge_epochs=1),
    "book": Profile("book", image_size=64, width=32, n_train=20000, n_test=2000, epochs=8, batch_size=128,
                    n_eval=2000, judge_n_train=10000, judge_epochs=3),
    "full": Profile("full", image_size=64, width=64, n_train=None, n_test=10000, epochs=5, batch_size=128,
                    n_eval=10000, judge_n_train=50000, judge_epochs=10, checkpoint_every=1000,
                    datasets={"rooms": "lsun", "faces": "celeba", "objects10": "cifar10", "digits": "mnist"}),
}


def default_profile_name() -> str:
    """The profile named by $DCGAN_PROFILE, else 'book'."""
    return os.environ.get("DCGAN_PROFILE", "book")


def get_profile(name: str | None = None, **overrides) -> Profile:
    """Return the named profile (default: $DCGAN_PROFILE or 'book'), optionally with some sizes overridden."""
    name = name or default_profile_name()
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}: choose one of {PROFILE_NAMES} "
                         f"(set the PROFILE parameter or the DCGAN_PROFILE environment variable).")
    return replace(PROFILES[name], **overrides) if overrides else PROFILES[name]


def dataset_for(offline_name: str, profile: Profile) -> str:
    """The dataset a profile trains on in place of an offline one (e.g. 'rooms' -> 'lsun' at full)."""
    return profile.datasets.get(offline_name, offline_name)


# Chapter-specific sizes, per profile: CHAPTER_SIZES[chapter][profile] -> {name: value}.
# Each chapter adds its own entry here, so that every size the book uses still lives in this file.
CHAPTER_SIZES: dict[str, dict[str, dict[str, int | float]]] = {
}


def chapter_sizes(chapter: str, profile: str | Profile | None = None) -> dict[str, int | float]:
    """The sizes a chapter uses at a profile (e.g. sample counts), from CHAPTER_SIZES."""
    name = profile.name if isinstance(profile, Profile) else get_profile(profile).name
    if chapter not in CHAPTER_SIZES:
        raise KeyError(f"No sizes for chapter {chapter!r} in dcgan_lib.profiles.CHAPTER_SIZES; add an entry there.")
    return dict(CHAPTER_SIZES[chapter][name])
