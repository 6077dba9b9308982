"""The training images of a run, checked against its model before any file is written: in memory (on the device
when they fit) or a torch Dataset, with their labels for a class-conditional model."""
from __future__ import annotations

import torch

from dcgan_lib.data.datasets import ImageDataset, check_channels, load_dataset
from dcgan_lib.data.decode_once import decoded
from dcgan_lib.data.specs import DATASET_SPECS
from dcgan_lib.train.configs import GANConfig, is_conditional


def check_range(data: torch.Tensor) -> None:
    """Float images must already be scaled to [-1, 1] (uint8 ones are scaled batch by batch)."""
    if data.is_floating_point() and len(data):
        sample = data[: min(len(data), 256)]
        low, high = float(sample.min()), float(sample.max())
        if not (-1.001 <= low and high <= 1.001):  # NaN fails too
            raise ValueError(f"The training images are floats in [{low:.3g}, {high:.3g}], not in [-1, 1] as G's "
                             f"tanh: pass uint8 images (0..255), or scale floats with x / 127.5 - 1.")


def training_data(config: GANConfig, data, device: torch.device) -> tuple:
    """(the training images as an in-memory tensor on `device` or a torch Dataset, their labels on `device` for a
    conditional model, else None), checked against the model. By default a real dataset's files are decoded once
    into a memory-mapped file (`decoded`); pass data=load_dataset(...) to read the files every epoch instead."""
    if data is None and DATASET_SPECS[config.dataset].offline:
        data = load_dataset(config.dataset, config.image_size, n=config.n_train, split="train", seed=config.data_seed)
    elif data is None:
        data = decoded(config.dataset, config.image_size, n=config.n_train, split="train")
    labels = None
    if is_conditional(config):
        if not isinstance(data, ImageDataset) or data.labels is None:
            name = getattr(data, "name", type(data).__name__)
            raise ValueError(f"{name!r} has no labels in memory: a conditional GAN trains on an ImageDataset with "
                             f"one class label per image (for example load_mnist5k()).")
        labels = data.labels.to(device)
    if isinstance(data, ImageDataset):
        check_channels(data, config.nc)
        data = data.images
    elif isinstance(data, torch.Tensor) and data.shape[1] != config.nc:
        check_channels(ImageDataset("the given images", data[:0]), config.nc)
    else:
        check_channels(data, config.nc)
    if isinstance(data, torch.Tensor):
        check_range(data)
    size = data.shape[-1] if isinstance(data, torch.Tensor) else getattr(data, "image_size", config.image_size)
    if size != config.image_size:
        raise ValueError(f"The data is {size}×{size} but the model is built for {config.image_size}×"
                         f"{config.image_size}: load the dataset with image_size={config.image_size}.")
    return (placed(data, device) if isinstance(data, torch.Tensor) else data), labels


def placed(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The training images on `device` when they fit in 80% of its free memory (then batches are indexed there),
    else where they are (a memory-mapped file stays on disk and in the page cache; batches are copied over)."""
    if device.type == "cuda" and images.device != device:
        free, _ = torch.cuda.mem_get_info(device)
        if images.nbytes > 0.8 * free:
            return images
    return images.to(device)
