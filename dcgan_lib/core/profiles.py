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


# Chapter-specific sizes, per profile: CHAPTER_SIZES[chapter][profile] -> {name: value}.
# Each chapter adds its own entry here, so that every size the book uses still lives in this file.
CHAPTER_SIZES: dict[str, dict[str, dict[str, int | float]]] = {
    # 03_deduplication: hashing autoencoder's training set and epochs, held-out images that get planted copies,
    # and the smallest of the three dataset sizes timed for scaling (n, 2n, 4n).
    "deduplication": {
        "ci": {"ae_n_train": 512, "ae_epochs": 2, "n_heldout": 300, "scale_n": 500},
        "book": {"ae_n_train": 20000, "ae_epochs": 15, "n_heldout": 5000, "scale_n": 10000},
        "full": {"ae_n_train": 200000, "ae_epochs": 15, "n_heldout": 10000, "scale_n": 100000},
    },
    # 04-06: walks in Z, forgetting windows, vector arithmetic (walks/frames, samples labelled and scored, triples).
    "latent_walks": {
        "ci": {"n_walks": 2, "n_points": 3, "steps": 4, "n_search": 4},
        "book": {"n_walks": 10, "n_points": 9, "steps": 4, "n_search": 60},
        "full": {"n_walks": 10, "n_points": 9, "steps": 4, "n_search": 60},
    },
    "forgetting": {
        "ci": {"n_label": 64, "n_eval": 64, "n_controls": 2, "n_show": 6},
        "book": {"n_label": 1000, "n_eval": 1000, "n_controls": 5, "n_show": 8},
        "full": {"n_label": 150, "n_eval": 2000, "n_controls": 5, "n_show": 8},
    },
    # the guidelines chapter: each variant of models.variants trained from n_seeds seeds on `dataset`, judged on
    # n_eval samples; the DCGAN once more for long_epochs to look for a late collapse (§7).
    "guidelines": {
        "ci": {"dataset": "mnist5k", "n_train": 128, "width": 4, "batch_size": 32, "epochs": 2, "n_seeds": 2,
               "n_eval": 200, "long_epochs": 4},
        "book": {"dataset": "mnist5k", "n_train": 0, "width": 16, "batch_size": 16, "epochs": 4, "n_seeds": 5,
                 "n_eval": 1000, "long_epochs": 16},
        "full": {"dataset": "celeba", "n_train": 0, "width": 128, "batch_size": 128, "epochs": 5, "n_seeds": 3,
                 "n_eval": 10000, "long_epochs": 20},
    },
    # 06: independently trained face generators (one per seed) at image_size for epochs, random choices of exemplars per
    # equation and generator; it trains its faces judge longer than the other judges (judge_epochs): reading a
    # head's yaw, and telling one face from a blend of two, take more epochs than spotting a bed.
    "vector_arithmetic": {
        "ci": {"n_generators": 2, "image_size": 32, "epochs": 1, "n_search": 256, "n_triples": 3, "n_turn": 4,
               "turn_steps": 5, "judge_epochs": 1},
        "book": {"n_generators": 3, "image_size": 32, "epochs": 16, "n_search": 4000, "n_triples": 40, "n_turn": 32,
                 "turn_steps": 9, "judge_epochs": 10},
        "full": {"n_generators": 3, "image_size": 64, "epochs": 5, "n_search": 10000, "n_triples": 40, "n_turn": 32,
                 "turn_steps": 9, "judge_epochs": 10},
    },
    # 07: guided backpropagation of D's last hidden layer on rooms (images searched, top images per feature).
    "guided_backprop": {
        "ci": {"n_images": 256, "n_features": 6, "top_k": 4, "n_show": 3, "n_features_wide": 16},
        "book": {"n_images": 2000, "n_features": 6, "top_k": 8, "n_show": 4, "n_features_wide": 32},
        "full": {"n_images": 10000, "n_features": 6, "top_k": 8, "n_show": 4, "n_features_wide": 64},
    },
    # 08: D's features for classification: label budgets, repeats, K-means sizes, the SVM's iteration cap (its C
    # grid widens until the choice is inside it), and the supervised CNN's early stopping (max steps, evaluations
    # every k steps, patience in evaluations), how many of its settings are tried on each budget's first draw and
    # the steps after which they are compared (only the chosen one trains on, to max steps); at full, the size of
    # SVHN's validation split for Table 2 (the paper's 10,000).
    "classification": {
        "ci": {"n_all": 400, "n_val": 200, "n_test": 200, "per_class_mid": 20, "per_class_small": 10, "repeats": 2,
               "kmeans_k": 16, "kmeans_patches": 4000, "svm_max_iter": 100, "cnn_max_steps": 20,
               "cnn_select_steps": 10, "cnn_eval_every": 10, "cnn_patience": 2, "cnn_settings": 2, "svhn_n_val": 300},
        "book": {"n_all": 6000, "n_val": 2000, "n_test": 2000, "per_class_mid": 400, "per_class_small": 100,
                 "repeats": 3, "kmeans_k": 256, "kmeans_patches": 40000, "svm_max_iter": 1000,
                 "cnn_max_steps": 10000, "cnn_select_steps": 4000, "cnn_eval_every": 100, "cnn_patience": 5,
                 "cnn_settings": 3, "svhn_n_val": 10000},
        "full": {"n_all": 40000, "n_val": 10000, "n_test": 10000, "per_class_mid": 400, "per_class_small": 100,
                 "repeats": 10, "kmeans_k": 1600, "kmeans_patches": 400000, "svm_max_iter": 1000,
                 "cnn_max_steps": 20000, "cnn_select_steps": 10000, "cnn_eval_every": 250, "cnn_patience": 8,
                 "cnn_settings": 4, "svhn_n_val": 10000},
    },
    # 09: conditional DCGAN vs fully connected GAN, 1-NN test error at two numbers of generated samples.
    "conditional": {
        "ci": {"dataset": "mnist5k", "n_train": 1000, "n_test": 500, "batch_size": 64, "dcgan_width": 8,
               "dcgan_epochs": 1, "fc_width": 64, "fc_epochs": 1, "samples_small": 1000, "samples_large": 5000},
        "book": {"dataset": "mnist5k", "n_train": 0, "n_test": 0, "batch_size": 64, "dcgan_width": 16,
                 "dcgan_epochs": 100, "fc_width": 256, "fc_epochs": 60, "samples_small": 5000,
                 "samples_large": 50000},
        "full": {"dataset": "mnist", "n_train": 0, "n_test": 0, "batch_size": 128, "dcgan_width": 64,
                 "dcgan_epochs": 25, "fc_width": 512, "fc_epochs": 50, "samples_small": 50000,
                 "samples_large": 10_000_000},
    },
    # 10: training speed. The timed model (image size, width, batch), timed steps per round, alternating rounds and
    # warm-up steps, whether to time torch.compile (0/1), the batch sizes of the fixed-cost sweep (sweep_min doubled
    # sweep_n - 1 times), images for the data-loading comparison, and the two-process torchrun demonstration's data.
    "training_at_scale": {
        "ci": {"image_size": 32, "width": 8, "batch_size": 32, "steps": 2, "rounds": 2, "warmup": 1, "compile": 0,
               "sweep_min": 8, "sweep_n": 3, "loader_images": 64, "ddp_n_train": 64, "ddp_batch_size": 32},
        "book": {"image_size": 64, "width": 32, "batch_size": 128, "steps": 1, "rounds": 5, "warmup": 1, "compile": 1,
                 "sweep_min": 16, "sweep_n": 3, "loader_images": 256, "ddp_n_train": 256, "ddp_batch_size": 64},
        "full": {"image_size": 64, "width": 64, "batch_size": 128, "steps": 10, "rounds": 3, "warmup": 5, "compile": 1,
                 "sweep_min": 16, "sweep_n": 5, "loader_images": 2048, "ddp_n_train": 256, "ddp_batch_size": 64},
    },
}


def chapter_sizes(chapter: str, profile: str | Profile | None = None) -> dict[str, int | float]:
    """The sizes a chapter uses at a profile (e.g. sample counts), from CHAPTER_SIZES."""
    name = profile.name if isinstance(profile, Profile) else get_profile(profile).name
    if chapter not in CHAPTER_SIZES:
        raise KeyError(f"No sizes for chapter {chapter!r} in dcgan_lib.core.profiles.CHAPTER_SIZES; "
                       f"add an entry there.")
    if name == "full" and full_smoke():   # the ci numbers, the full profile's choices (e.g. its dataset)
        full = CHAPTER_SIZES[chapter]["full"]
        return {k: (full[k] if isinstance(full[k], str) else v) for k, v in CHAPTER_SIZES[chapter]["ci"].items()}
    return dict(CHAPTER_SIZES[chapter][name])
