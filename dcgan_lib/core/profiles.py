"""The three scales of the book, `ci`, `book` and `full`: the sizes every chapter shares.

* ``ci``   — seconds per chapter on a 2-core CPU; what ``pytest`` (nbval) runs.
* ``book`` — minutes per chapter on a 2-core CPU, offline datasets; what the rendered book shows.
* ``full`` — the paper's scale (64×64, batch 128, real datasets), meant for a GPU and papermill.

What one chapter alone needs (its sample counts, its own models' sizes) is in `dcgan_lib.zoo.sizes`.
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
    seed: int = 0            # the book's training seed: every generator (and the autoencoder) trains from it


PROFILES: dict[str, Profile] = {
    "ci": Profile("ci", image_size=32, width=8, n_train=512, n_test=256, epochs=1, batch_size=64,
                  n_eval=256, judge_n_train=1024, judge_epochs=1),
    "book": Profile("book", image_size=64, width=32, n_train=20000, n_test=2000, epochs=8, batch_size=128,
                    n_eval=2000, judge_n_train=10000, judge_epochs=3),
    # full: the paper's width (Fig. 1: 1024 maps at 4×4 at 64×64, ngf = ndf = 128 in the authors' code)
    "full": Profile("full", image_size=64, width=128, n_train=None, n_test=10000, epochs=5, batch_size=128,
                    n_eval=10000, judge_n_train=50000, judge_epochs=10, checkpoint_every=1000,
                    datasets={"rooms": "lsun", "faces": "celeba", "objects10": "cifar10", "digits": "mnist"}),
}


def default_profile_name() -> str:
    """The profile named by $DCGAN_PROFILE, else 'book'."""
    return os.environ.get("DCGAN_PROFILE", "book")


# The `full` smoke run (DCGAN_FULL_SMOKE=1): every `full` code path (real datasets, their loaders, the full-only
# cells) at sizes that run in seconds on a CPU, on small datasets in the real formats (tests/real_fixtures.py).
SMOKE = replace(PROFILES["full"], width=8, n_test=64, epochs=1, batch_size=16, n_eval=64, judge_n_train=256,
                judge_epochs=1, checkpoint_every=None)


def full_smoke() -> bool:
    """Whether $DCGAN_FULL_SMOKE asks for the full profile's code paths at the smoke run's sizes."""
    return os.environ.get("DCGAN_FULL_SMOKE", "0") == "1"


def book_seed() -> int:
    """The book's training seed, $DCGAN_SEED (what `make book SEED=1` and `book_build --seed` set), else 0.

    Another seed trains every model of the book anew, as another machine would (the data sets stay the same):
    the seed is part of each model's config, so the store keeps the models of different seeds apart."""
    text = os.environ.get("DCGAN_SEED", "").strip() or "0"
    if not text.isdigit():
        raise ValueError(f"DCGAN_SEED={text!r} (make book SEED=..., book_build --seed ...): give a whole number of "
                         f"at least 0, such as SEED=1; 0 trains the book's usual models.")
    return int(text)


def get_profile(name: str | None = None, **overrides) -> Profile:
    """Return the named profile (default: $DCGAN_PROFILE or 'book') at the book's seed ($DCGAN_SEED), optionally
    with some sizes overridden. With DCGAN_FULL_SMOKE=1, 'full' keeps its datasets and code paths at the smoke
    run's sizes."""
    name = name or default_profile_name()
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}: choose one of {PROFILE_NAMES} "
                         f"(set the PROFILE parameter or the DCGAN_PROFILE environment variable).")
    profile = SMOKE if name == "full" and full_smoke() else PROFILES[name]
    overrides = {"seed": book_seed(), **overrides}
    return replace(profile, **overrides)


def dataset_for(offline_name: str, profile: Profile) -> str:
    """The dataset a profile trains on in place of an offline one (e.g. 'rooms' -> 'lsun' at full)."""
    return profile.datasets.get(offline_name, offline_name)
