"""Datasets: the `ImageDataset` type, the procedural scenes, the package-shipped digits and the real datasets.

`load_dataset(name, image_size, n, split)` serves every one of them the same way (see `datasets`).
"""
from dcgan_lib.data.datasets import (
    CACHE_VERSION,
    DATASETS,
    OFFLINE_DATASETS,
    REAL_DATASETS,
    balanced_indices,
    check_channels,
    draw_dataset,
    images_at,
    in_memory,
    load_dataset,
    load_mnist5k,
    sample_images,
)
from dcgan_lib.data.decode_once import decoded
from dcgan_lib.data.imagedata import DatasetError, ImageDataset
from dcgan_lib.data.specs import DATASET_SPECS, DatasetSpec

__all__ = ["CACHE_VERSION", "DATASET_SPECS", "DATASETS", "DatasetSpec", "OFFLINE_DATASETS", "REAL_DATASETS",
           "DatasetError", "ImageDataset", "balanced_indices", "check_channels", "decoded", "draw_dataset", "images_at",
           "in_memory", "load_dataset", "load_mnist5k", "sample_images"]
