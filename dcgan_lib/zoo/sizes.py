"""Each chapter's own sizes per profile, typed: the one place that maps a profile and a chapter to sizes.

The sizes every chapter shares (image size, width, epochs, sample counts) are the profile's
(`dcgan_lib.core.profiles`); what one chapter alone needs is a dataclass here, one instance per profile.
A chapter reads its sizes with `chapter_sizes("forgetting", profile)` and then `sizes.n_label`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from dcgan_lib.core.profiles import Profile, dataset_for, full_smoke
from dcgan_lib.zoo.common import as_profile


@dataclass(frozen=True)
class DeduplicationSizes:
    """03: the hashing autoencoder and the planted-copies evaluation."""

    ae_n_train: int      # images the hashing autoencoder learns from
    ae_epochs: int
    n_heldout: int       # held-out images that get planted copies
    scale_n: int         # the smallest of the three dataset sizes timed for scaling (n, 2n, 4n)
    loop_n: int          # the closed loop: a small training set (32×32) ...
    loop_copied: float   # ... a share of whose images get near-copies ...
    loop_max_copies: int  # ... 1 to this many each; three Gs learn it (with copies, de-duplicated, none left) ...
    loop_steps: int      # ... for this many steps each (batch 16) ...
    loop_width: int      # ... at this width


@dataclass(frozen=True)
class LatentWalksSizes:
    """04: walks in Z between random points."""

    n_walks: int
    n_points: int        # points per walk
    steps: int           # frames between two points
    n_search: int        # pairs of ends searched for the sharpest transition
    n_mid: int           # midpoints scored against ordinary samples (lerp against slerp)


@dataclass(frozen=True)
class ForgettingSizes:
    """05: forgetting to draw windows (samples labelled, samples scored, control maps dropped, samples shown)."""

    n_label: int
    n_eval: int
    n_controls: int
    n_show: int


@dataclass(frozen=True)
class GuidelinesSizes:
    """The guidelines chapter: each variant of `models.variants` trained from n_seeds seeds on `dataset`, judged
    on n_eval samples; the DCGAN once more for long_epochs to look for a late collapse (§7)."""

    dataset: str
    n_train: int         # 0: the whole dataset
    width: int
    batch_size: int
    epochs: int
    n_seeds: int
    n_eval: int
    long_epochs: int
    drawn: str = ""      # the second ablation, on a drawn dataset ("": none), with ...
    drawn_n_train: int = 0   # ... this many images ...
    drawn_epochs: int = 0    # ... for this many epochs (it needs ~1,200 steps before the DCGAN draws objects)


@dataclass(frozen=True)
class VectorArithmeticSizes:
    """06: independently trained face generators (one per seed) at image_size for epochs; random choices of
    exemplars per equation and generator. Its faces judge trains longer than the other judges (judge_epochs):
    reading a head's yaw, and telling one face from a blend of two, take more epochs than spotting a bed."""

    n_generators: int
    image_size: int
    epochs: int
    n_search: int        # samples searched for exemplars
    n_triples: int       # choices of exemplars per equation and generator
    n_turn: int          # faces turned by the "turn" vector
    turn_steps: int
    judge_epochs: int


@dataclass(frozen=True)
class GuidedBackpropSizes:
    """07: guided backpropagation of D's last hidden layer on rooms."""

    n_images: int        # held-out images searched
    n_features: int      # features shown
    top_k: int           # top images per feature
    n_show: int
    n_features_wide: int


@dataclass(frozen=True)
class ClassificationSizes:
    """08: D's features for classification: label budgets, repeats, K-means sizes, the SVM's iteration cap (its C
    grid widens until the choice is inside it) and the supervised CNN's early stopping; at full, the size of SVHN's
    validation split for Table 2 (the paper's 10,000)."""

    n_all: int
    n_val: int
    n_test: int
    per_class_mid: int
    per_class_small: int
    repeats: int         # draws of each label budget
    kmeans_k: int
    kmeans_patches: int
    svm_max_iter: int
    cnn_max_steps: int
    cnn_select_steps: int  # steps after which the CNN's settings are compared on a budget's first draw
    cnn_eval_every: int
    cnn_patience: int    # in evaluations
    cnn_settings: int    # settings tried
    svhn_n_val: int


@dataclass(frozen=True)
class ConditionalSizes:
    """09: conditional DCGAN against a fully connected GAN, 1-NN test error at two numbers of generated samples."""

    dataset: str
    n_train: int         # 0: the whole split
    n_test: int
    batch_size: int
    dcgan_width: int
    dcgan_epochs: int
    fc_width: int
    fc_epochs: int
    samples_small: int
    samples_large: int


@dataclass(frozen=True)
class TrainingAtScaleSizes:
    """10: training speed. The timed model, timed steps per round, alternating rounds and warm-up steps, whether
    to time torch.compile, the fixed-cost sweep (sweep_min doubled sweep_n - 1 times), images for the
    data-loading comparison, and the two-process torchrun demonstration's data."""

    image_size: int
    width: int
    batch_size: int
    steps: int
    rounds: int
    warmup: int
    compile: bool
    sweep_min: int
    sweep_n: int
    loader_images: int
    ddp_n_train: int
    ddp_batch_size: int


ChapterSizes = (DeduplicationSizes | LatentWalksSizes | ForgettingSizes | GuidelinesSizes | VectorArithmeticSizes
                | GuidedBackpropSizes | ClassificationSizes | ConditionalSizes | TrainingAtScaleSizes)

SIZES: dict[str, dict[str, ChapterSizes]] = {
    "deduplication": {
        "ci": DeduplicationSizes(ae_n_train=512, ae_epochs=2, n_heldout=300, scale_n=500, loop_n=64, loop_copied=0.05,
                                 loop_max_copies=8, loop_steps=12, loop_width=4),
        "book": DeduplicationSizes(ae_n_train=20000, ae_epochs=15, n_heldout=5000, scale_n=10000, loop_n=300,
                                   loop_copied=0.03, loop_max_copies=60, loop_steps=2200, loop_width=16),
        "full": DeduplicationSizes(ae_n_train=200000, ae_epochs=15, n_heldout=10000, scale_n=100000, loop_n=3000,
                                   loop_copied=0.03, loop_max_copies=60, loop_steps=20000, loop_width=64),
    },
    "latent_walks": {
        "ci": LatentWalksSizes(n_walks=2, n_points=3, steps=4, n_search=4, n_mid=64),
        "book": LatentWalksSizes(n_walks=10, n_points=9, steps=4, n_search=60, n_mid=1000),
        "full": LatentWalksSizes(n_walks=10, n_points=9, steps=4, n_search=60, n_mid=1000),
    },
    "forgetting": {
        "ci": ForgettingSizes(n_label=64, n_eval=64, n_controls=2, n_show=6),
        "book": ForgettingSizes(n_label=1000, n_eval=1000, n_controls=5, n_show=8),
        "full": ForgettingSizes(n_label=150, n_eval=2000, n_controls=5, n_show=8),
    },
    "guidelines": {
        "ci": GuidelinesSizes(dataset="mnist5k", n_train=128, width=4, batch_size=32, epochs=2, n_seeds=2,
                              n_eval=200, long_epochs=4, drawn="objects10", drawn_n_train=128, drawn_epochs=2),
        "book": GuidelinesSizes(dataset="mnist5k", n_train=0, width=16, batch_size=16, epochs=4, n_seeds=5,
                                n_eval=1000, long_epochs=16, drawn="objects10", drawn_n_train=3200, drawn_epochs=6),
        "full": GuidelinesSizes(dataset="celeba", n_train=0, width=128, batch_size=128, epochs=5, n_seeds=3,
                                n_eval=10000, long_epochs=20),
    },
    "vector_arithmetic": {
        "ci": VectorArithmeticSizes(n_generators=2, image_size=32, epochs=1, n_search=256, n_triples=3, n_turn=4,
                                    turn_steps=5, judge_epochs=1),
        "book": VectorArithmeticSizes(n_generators=3, image_size=32, epochs=16, n_search=4000, n_triples=40,
                                      n_turn=32, turn_steps=9, judge_epochs=10),
        "full": VectorArithmeticSizes(n_generators=3, image_size=64, epochs=5, n_search=10000, n_triples=40,
                                      n_turn=32, turn_steps=9, judge_epochs=10),
    },
    "guided_backprop": {
        "ci": GuidedBackpropSizes(n_images=256, n_features=6, top_k=4, n_show=3, n_features_wide=16),
        "book": GuidedBackpropSizes(n_images=2000, n_features=6, top_k=8, n_show=4, n_features_wide=32),
        "full": GuidedBackpropSizes(n_images=10000, n_features=6, top_k=8, n_show=4, n_features_wide=64),
    },
    "classification": {
        "ci": ClassificationSizes(n_all=400, n_val=200, n_test=200, per_class_mid=20, per_class_small=10, repeats=2,
                                  kmeans_k=16, kmeans_patches=4000, svm_max_iter=100, cnn_max_steps=20,
                                  cnn_select_steps=10, cnn_eval_every=10, cnn_patience=2, cnn_settings=2,
                                  svhn_n_val=300),
        "book": ClassificationSizes(n_all=6000, n_val=2000, n_test=2000, per_class_mid=400, per_class_small=100,
                                    repeats=3, kmeans_k=256, kmeans_patches=40000, svm_max_iter=1000,
                                    cnn_max_steps=10000, cnn_select_steps=4000, cnn_eval_every=100, cnn_patience=5,
                                    cnn_settings=3, svhn_n_val=10000),
        "full": ClassificationSizes(n_all=40000, n_val=10000, n_test=10000, per_class_mid=400, per_class_small=100,
                                    repeats=10, kmeans_k=1600, kmeans_patches=400000, svm_max_iter=1000,
                                    cnn_max_steps=20000, cnn_select_steps=10000, cnn_eval_every=250, cnn_patience=8,
                                    cnn_settings=4, svhn_n_val=10000),
    },
    "conditional_nearest_neighbour": {
        "ci": ConditionalSizes(dataset="mnist5k", n_train=1000, n_test=500, batch_size=64, dcgan_width=8,
                               dcgan_epochs=1, fc_width=64, fc_epochs=1, samples_small=1000, samples_large=5000),
        "book": ConditionalSizes(dataset="mnist5k", n_train=0, n_test=0, batch_size=64, dcgan_width=16,
                                 dcgan_epochs=100, fc_width=256, fc_epochs=60, samples_small=5000,
                                 samples_large=50000),
        "full": ConditionalSizes(dataset="mnist", n_train=0, n_test=0, batch_size=128, dcgan_width=64,
                                 dcgan_epochs=25, fc_width=512, fc_epochs=50, samples_small=50000,
                                 samples_large=10_000_000),
    },
    "training_at_scale": {
        "ci": TrainingAtScaleSizes(image_size=32, width=8, batch_size=32, steps=2, rounds=2, warmup=1, compile=False,
                                   sweep_min=8, sweep_n=3, loader_images=64, ddp_n_train=64, ddp_batch_size=32),
        "book": TrainingAtScaleSizes(image_size=64, width=32, batch_size=128, steps=1, rounds=5, warmup=1,
                                     compile=True, sweep_min=16, sweep_n=3, loader_images=256, ddp_n_train=256,
                                     ddp_batch_size=64),
        "full": TrainingAtScaleSizes(image_size=64, width=64, batch_size=128, steps=10, rounds=3, warmup=5,
                                     compile=True, sweep_min=16, sweep_n=5, loader_images=2048, ddp_n_train=256,
                                     ddp_batch_size=64),
    },
}


def chapter_sizes(chapter: str, profile: str | Profile | None = None) -> ChapterSizes:
    """The sizes `chapter` uses at a profile (default: $DCGAN_PROFILE). The full smoke run ($DCGAN_FULL_SMOKE=1)
    takes the ci numbers with the full profile's choices (its dataset)."""
    name = as_profile(profile).name
    if chapter not in SIZES:
        raise KeyError(f"No sizes for chapter {chapter!r}: the chapters with sizes of their own are "
                       f"{', '.join(SIZES)} (dcgan_lib/zoo/sizes.py).")
    if name == "full" and full_smoke():
        full = SIZES[chapter]["full"]
        return replace(SIZES[chapter]["ci"], **{f.name: getattr(full, f.name) for f in fields(full)
                                                if isinstance(getattr(full, f.name), str)})
    return SIZES[chapter][name]


# The offline data sets a chapter reads when its DATASET parameter is left out; a profile maps each to the real one
# it stands for (`rooms` -> LSUN at full). The guidelines and conditional chapters name theirs in their sizes.
CHAPTER_DATA: dict[str, tuple[str, ...]] = {
    "training": ("rooms",), "deduplication": ("rooms",), "latent_walks": ("rooms",), "forgetting": ("rooms",),
    "vector_arithmetic": ("faces",), "guided_backprop": ("rooms",), "classification": ("objects10",),
}


def chapter_datasets(chapter: str, profile: str | Profile | None = None, transfer: str = "rooms") -> tuple[str, ...]:
    """The data sets `chapter` reads at a profile when its DATASET is left out (chapter 08 also reads its
    TRANSFER model's, and SVHN at full), so that the runner can check them before any chapter starts."""
    profile = as_profile(profile)
    if chapter in ("guidelines", "conditional_nearest_neighbour"):
        return (chapter_sizes(chapter, profile).dataset,)
    names = list(CHAPTER_DATA.get(chapter, ()))
    if chapter == "classification":
        names += [transfer] + (["svhn"] if profile.name == "full" else [])
    return tuple(dict.fromkeys(dataset_for(name, profile) for name in names))
