"""What every part of the zoo shares: the generated data's version in every key, and a profile from its name."""
from __future__ import annotations

from typing import Any

from dcgan_lib.core.profiles import Profile, get_profile
from dcgan_lib.data import CACHE_VERSION

# The generated data's version is part of every key: a model of an older drawing of the data is never reused.
DATA_VERSION = f"data{CACHE_VERSION}"


def as_profile(profile: str | Profile | None) -> Profile:
    """`profile` as a Profile (a name, or None for $DCGAN_PROFILE, at the book's seed)."""
    return profile if isinstance(profile, Profile) else get_profile(profile)


def store_key(kind: str, config: Any, label: str) -> dict[str, Any]:
    """The store's key of a zoo model (its kind, config, label and the data's version), spelled once per kind and
    passed to both `store.load_or_train` and `store.artefact_dir`, so that loading and finding it agree. A model of
    a user's folder of images is keyed by the folder's files too: other images train another model."""
    salt = DATA_VERSION
    if getattr(config, "dataset", None) == "folder":
        from dcgan_lib.core.paths import real_data_root
        from dcgan_lib.data.decode_once import source_fingerprint

        salt += f"-folder-{source_fingerprint(real_data_root('folder'), images_only=True)}"
    return {"kind": kind, "config": config, "salt": salt, "label": label}
