"""De-duplicating an image set with semantic hashing, as the paper did for LSUN bedrooms (§4.1.1).

The recipe: fit a 3072-128-3072 denoising, dropout-regularised ReLU autoencoder on 32×32 downsampled centre
crops; binarise its code layer by thresholding the ReLU activations at zero; images with equal codes are
duplicates, found in linear time by grouping on the code. This package provides, one module per step
(`inputs`, `autoencoder`, `hashes`, `grouping`, `pipeline`, `evaluation`),

* :class:`HashAutoencoder` and :func:`train_autoencoder` (the book's own: `dcgan_lib.zoo.pretrained_autoencoder`);
* hashing (:func:`hash_images`, :func:`pack_bits`), exact grouping (:func:`group_equal`) and a near-match mode
  (:func:`near_pairs`) that finds every pair within a Hamming radius by splitting the code into bands and
  matching bands exactly (pigeonhole: codes at distance ≤ r agree on at least one of r + 1 bands);
* :func:`find_duplicates`, which streams any image dataset through all of the above in bounded memory;
* :func:`plant_near_duplicates`, which hides shifted, noisy, re-encoded copies in a dataset for evaluation,
  and the reference methods the chapter compares against (:func:`all_pairs_hamming`, :func:`pixel_hash_groups`,
  :func:`brute_force_pairs`) with :func:`pair_precision_recall`;
* :func:`recall_per_transform`, the hash's recall on copies made by changes its training never applied
  (`unseen.TRANSFORMS`: mirrored, shifted further, zoomed, blurred, grey, heavy JPEG, ...);
* :func:`loop_sets` and :func:`pull`, the closed loop: training sets with and without planted copies, and how
  the samples of a G trained on each sit against the copied images (`closed_loop`).
"""
from __future__ import annotations

from dcgan_lib.analysis.dedup.autoencoder import (
    AutoencoderConfig,
    HashAutoencoder,
    train_autoencoder,
)
from dcgan_lib.analysis.dedup.closed_loop import LoopSets, loop_sets, pull
from dcgan_lib.analysis.dedup.evaluation import (
    PlantedDuplicates,
    brute_force_pairs,
    pair_precision_recall,
    pixel_hash_groups,
    plant_near_duplicates,
)
from dcgan_lib.analysis.dedup.grouping import (
    all_pairs_hamming,
    group_equal,
    groups_from_pairs,
    near_pairs,
    pairs_from_groups,
)
from dcgan_lib.analysis.dedup.hashes import binarize, hamming_distance, hash_images, hash_to_int, pack_bits, unpack_bits
from dcgan_lib.analysis.dedup.inputs import DedupError, iter_batches, prepare_images
from dcgan_lib.analysis.dedup.pipeline import DedupResult, find_duplicates
from dcgan_lib.analysis.dedup.unseen import TRANSFORMS, recall_per_transform

__all__ = [
    "all_pairs_hamming", "AutoencoderConfig", "binarize", "brute_force_pairs", "DedupError", "DedupResult",
    "find_duplicates", "group_equal", "groups_from_pairs", "hamming_distance", "hash_images", "hash_to_int",
    "HashAutoencoder", "iter_batches", "LoopSets", "loop_sets", "near_pairs", "pack_bits", "pair_precision_recall",
    "pairs_from_groups",
    "pixel_hash_groups", "plant_near_duplicates", "PlantedDuplicates", "prepare_images", "pull",
    "recall_per_transform",
    "train_autoencoder", "TRANSFORMS",
    "unpack_bits",
]
