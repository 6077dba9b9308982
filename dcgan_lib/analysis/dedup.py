"""De-duplicating an image set with semantic hashing, as the paper did for LSUN bedrooms (§4.1.1).

The recipe: fit a 3072-128-3072 denoising, dropout-regularised ReLU autoencoder on 32×32 downsampled centre
crops; binarise its code layer by thresholding the ReLU activations at zero; images with equal codes are
duplicates, found in linear time by grouping on the code. This module provides

* :class:`HashAutoencoder`, trained through a load-or-train cache (:func:`pretrained_autoencoder`);
* hashing (:func:`hash_images`, :func:`pack_bits`), exact grouping (:func:`group_equal`) and a near-match mode
  (:func:`near_pairs`) that finds every pair within a Hamming radius by splitting the code into bands and
  matching bands exactly (pigeonhole: codes at distance ≤ r agree on at least one of r + 1 bands);
* :func:`find_duplicates`, which streams any image dataset through all of the above in bounded memory;
* :func:`plant_near_duplicates`, which hides shifted, noisy, re-encoded copies in a dataset for evaluation,
  and the reference methods the chapter compares against (:func:`all_pairs_hamming`, :func:`pixel_hash_groups`,
  :func:`brute_force_pairs`) with :func:`pair_precision_recall`.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from dcgan_lib.core import store
from dcgan_lib.core.paths import runs_dir
from dcgan_lib.core.profiles import Profile, chapter_sizes, dataset_for, get_profile
from dcgan_lib.core.runtime import show_progress
from dcgan_lib.data.datasets import CACHE_VERSION, ImageDataset, load_dataset, sample_images

__all__ = [
    "AutoencoderConfig", "DedupError", "DedupResult", "HashAutoencoder", "PlantedDuplicates", "all_pairs_hamming",
    "autoencoder_config", "binarize", "brute_force_pairs", "find_duplicates", "groups_from_pairs", "group_equal",
    "hamming_distance", "hash_images", "iter_batches", "near_pairs", "pack_bits", "pair_precision_recall",
    "pairs_from_groups", "pixel_hash_groups", "plant_near_duplicates", "prepare_images", "pretrained_autoencoder",
    "train_autoencoder", "unpack_bits",
]

INPUT_SIZE = 32                    # the paper's 32×32 downsampled centre crops
INPUT_DIM = 3 * INPUT_SIZE ** 2    # 3072
CHAPTER = "deduplication"          # the chapter whose CHAPTER_SIZES entry sizes the autoencoder's training


class DedupError(ValueError):
    """A bad de-duplication request (empty dataset, images too small, ...); the message names the fix."""


# --------------------------------------------------------------------------------------------------------------------
# Input: any images -> 32×32 RGB centre crops in [-1, 1]
# --------------------------------------------------------------------------------------------------------------------
def prepare_images(images: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Images of any size ≥ 32 (uint8 in 0..255, or float in `value_range`) → float [N, 3, 32, 32] in [-1, 1].

    Takes the centre square crop, downsamples it to 32×32 (area average when the size is a multiple of 32,
    antialiased bilinear otherwise) and repeats a single grayscale channel three times. Accepts [N, C, H, W],
    [C, H, W] (one image) or [N, H, W] (grayscale) tensors.
    """
    if not isinstance(images, Tensor):
        raise DedupError(f"expected a tensor of images, got {type(images).__name__}")
    if images.dim() == 3:
        images = images.unsqueeze(0) if images.shape[0] in (1, 3) else images.unsqueeze(1)
    if images.dim() != 4:
        raise DedupError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if n == 0:
        raise DedupError("no images to hash: the dataset is empty")
    if c not in (1, 3):
        raise DedupError(f"images must have 1 (grayscale) or 3 (RGB) channels, got {c}: convert them first "
                         f"(e.g. drop an alpha channel with images[:, :3])")
    if min(h, w) < INPUT_SIZE:
        raise DedupError(f"images of {h}×{w} pixels are smaller than the autoencoder's {INPUT_SIZE}×{INPUT_SIZE} "
                         f"input: upsample them first (e.g. torch.nn.functional.interpolate(x, size={INPUT_SIZE}))")
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = images[:, :, top:top + s, left:left + s]
    if images.dtype == torch.uint8:
        lo, hi = 0.0, 255.0
    elif images.is_floating_point():
        lo, hi = value_range
    else:
        raise DedupError(f"images must be uint8 or floating point, got {images.dtype}")
    if s % INPUT_SIZE == 0:
        k = s // INPUT_SIZE
        x = _block_mean_uint8(x, k) if images.dtype == torch.uint8 and k > 1 else \
            (F.avg_pool2d(x.float(), k) if k > 1 else x.float())
    else:
        x = x.float()
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
    x = x.mul_(2.0 / (hi - lo)).sub_(2.0 * lo / (hi - lo) + 1.0)
    return x.expand(-1, 3, -1, -1) if c == 1 else x


def _block_mean_uint8(x: Tensor, k: int) -> Tensor:
    """Mean of each k×k block of uint8 images, by integer additions of strided views: several times faster on a
    CPU than converting every pixel to float and average-pooling (the hashing pipeline's bottleneck)."""
    acc = torch.int16 if k * k * 255 <= torch.iinfo(torch.int16).max else torch.int32
    x = x.to(acc)
    rows = sum(x[:, :, i::k, :] for i in range(k))
    blocks = sum(rows[:, :, :, j::k] for j in range(k))
    return blocks.float().div_(k * k)


def _item_to_tensor(item) -> Tensor:
    """One dataset item ((image, label) or image; tensor or PIL) → a [C, H, W] tensor."""
    if isinstance(item, (tuple, list)):
        item = item[0]
    if isinstance(item, Tensor):
        return item
    try:
        from PIL import Image
        if isinstance(item, Image.Image):
            from torchvision.transforms.functional import pil_to_tensor
            return pil_to_tensor(item.convert("RGB") if item.mode not in ("L", "RGB") else item)
    except ImportError:  # pragma: no cover - PIL comes with torchvision
        pass
    raise DedupError(f"dataset items must be image tensors or PIL images (or (image, label) pairs), "
                     f"got {type(item).__name__}")


class _PrepareCollate:
    """collate_fn for DataLoader: prepare every item on its own (sizes may differ), then stack (picklable)."""

    def __init__(self, value_range: tuple[float, float]):
        self.value_range = value_range

    def __call__(self, items: list) -> Tensor:
        return torch.cat([prepare_images(_item_to_tensor(it), self.value_range) for it in items])


def iter_batches(images: Tensor | ImageDataset | torch.utils.data.Dataset, batch_size: int = 2048,
                 value_range: tuple[float, float] = (-1.0, 1.0), num_workers: int = 0) -> Iterator[Tensor]:
    """Stream a dataset as prepared batches ([B, 3, 32, 32] in [-1, 1]); only one batch is in memory at a time.

    `images` is a tensor ([N, C, H, W], uint8 or float in `value_range`), an :class:`ImageDataset`, or any torch
    Dataset whose items are images or (image, label) pairs (tensors or PIL images, e.g. torchvision's
    ImageFolder, LSUN or MNIST); those are read through a DataLoader with `num_workers` processes.
    """
    n = _length(images)
    if isinstance(images, ImageDataset):
        images = images.images
    if isinstance(images, Tensor):
        for start in range(0, n, batch_size):
            yield prepare_images(images[start:start + batch_size], value_range)
        return
    loader = torch.utils.data.DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                                         collate_fn=_PrepareCollate(value_range))
    yield from loader


def _length(images) -> int:
    try:
        n = len(images)
    except TypeError:
        raise DedupError(f"the dataset must have a length (a tensor, ImageDataset or map-style torch Dataset), "
                         f"got {type(images).__name__}") from None
    if n == 0:
        raise DedupError("no images to hash: the dataset is empty")
    return n


# --------------------------------------------------------------------------------------------------------------------
# The autoencoder and its load-or-train cache
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AutoencoderConfig:
    """Everything that determines a trained hashing autoencoder (its cache key).

    The paper does not say how its denoising autoencoder corrupts the inputs. Gaussian noise alone gives codes
    that flip many bits under a one-pixel shift, so the default corruption also shifts the input by up to two
    pixels (of 32) and changes its brightness a little: the differences the hash should ignore. (On `rooms`,
    two-pixel shifts and 15 epochs found more planted pairs at precision 0.99 than one-pixel shifts and 6
    epochs; a blur or a per-image standardisation before the encoder did not help.)
    """

    dataset: str = "rooms"
    image_size: int = 64        # resolution the training images are loaded at (then centre-cropped to 32×32)
    n_train: int = 20000
    data_seed: int = 0
    code_size: int = 128
    noise_std: float = 0.2      # std of the Gaussian corruption added to the inputs (images in [-1, 1])
    max_shift: int = 2          # corruption: random translation by up to this many pixels (of the 32×32 input)
    brightness: float = 0.1     # corruption: random brightness offset, uniform in ± this (images in [-1, 1])
    dropout: float = 0.1        # dropout on the code layer while training
    epochs: int = 15
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0

    def key(self) -> str:
        """A short stable hash of the config, used to name the cached weights."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


class HashAutoencoder(nn.Module):
    """The paper's 3072-128-3072 autoencoder: one ReLU code layer, a linear decoder.

    Trained as a denoising autoencoder (Gaussian noise on the inputs) with dropout on the code, it reconstructs
    the clean 32×32 image; afterwards only the encoder is used: ``encode(x) > 0`` is the semantic hash.
    """

    def __init__(self, code_size: int = 128, noise_std: float = 0.2, dropout: float = 0.1, max_shift: int = 0,
                 brightness: float = 0.0):
        super().__init__()
        self.code_size, self.noise_std, self.max_shift, self.brightness = code_size, noise_std, max_shift, brightness
        self.encoder = nn.Linear(INPUT_DIM, code_size)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(code_size, INPUT_DIM)
        self.register_buffer("mean", torch.zeros(INPUT_DIM))  # the training images' mean, subtracted first
        self.config: AutoencoderConfig | None = None
        self.history: list[float] = []

    def encode(self, x: Tensor) -> Tensor:
        """ReLU code activations [N, code_size] of prepared images ([N, 3, 32, 32] or [N, 3072], in [-1, 1])."""
        return F.relu(self.encoder(x.reshape(len(x), -1) - self.mean))

    def preactivation(self, x: Tensor) -> Tensor:
        """The code units' inputs before the ReLU, with the mean folded into the bias (one matrix product): for
        a threshold t ≥ 0, ``preactivation(x) > t`` gives the same bits as ``encode(x) > t``, faster."""
        bias = self.encoder.bias - self.encoder.weight @ self.mean
        return F.linear(x.reshape(len(x), -1), self.encoder.weight, bias)

    def decode(self, code: Tensor) -> Tensor:
        """Reconstructed images [N, 3, 32, 32] from codes."""
        return (self.decoder(code) + self.mean).view(len(code), 3, INPUT_SIZE, INPUT_SIZE)

    def corrupt(self, x: Tensor) -> Tensor:
        """The denoising corruption of a batch [N, 3, 32, 32]: a random shift of up to `max_shift` pixels (edges
        replicated), a random brightness offset and Gaussian noise."""
        n = len(x)
        if self.max_shift > 0:
            p = self.max_shift
            padded = F.pad(x, (p, p, p, p), mode="replicate")
            dy, dx = torch.randint(0, 2 * p + 1, (2, n), device=x.device)
            rows = (torch.arange(INPUT_SIZE, device=x.device) + dy[:, None])          # [N, 32]
            cols = (torch.arange(INPUT_SIZE, device=x.device) + dx[:, None])
            images, channels = torch.arange(n, device=x.device), torch.arange(3, device=x.device)
            x = padded[images[:, None, None, None], channels[:, None, None],
                       rows[:, None, :, None], cols[:, None, None, :]]
        if self.brightness > 0:
            x = x + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * self.brightness
        if self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction of `x` [N, 3, 32, 32]; in training mode from a corrupted input through a dropped-out code."""
        if self.training:
            x = self.corrupt(x)
        return self.decode(self.dropout(self.encode(x)))


def _prepared_uint8(images, n: int, batch_size: int = 2048) -> Tensor:
    """Up to `n` prepared 32×32 images stored compactly as uint8 (3 KB each), streamed from any dataset."""
    out = []
    for batch in iter_batches(images, batch_size):
        out.append(batch.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8))
        if sum(len(o) for o in out) >= n:
            break
    return torch.cat(out)[:n]


def train_autoencoder(images: Tensor | ImageDataset | torch.utils.data.Dataset, config: AutoencoderConfig,
                      device: str | torch.device = "cpu", progress: bool | None = None) -> HashAutoencoder:
    """Train a :class:`HashAutoencoder` on (the first `config.n_train` of) `images` to minimise the MSE of its
    reconstructions of the clean inputs; the per-epoch mean loss is left in ``model.history``."""
    data = _prepared_uint8(images, config.n_train)
    torch.manual_seed(config.seed)
    model = HashAutoencoder(config.code_size, config.noise_std, config.dropout, config.max_shift,
                            config.brightness).to(device)
    model.mean.copy_(data.flatten(1).float().mean(0).div_(127.5).sub_(1.0))   # centred inputs: no dead units
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(len(data) // config.batch_size, 1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    history = []
    with tqdm(total=config.epochs * steps_per_epoch, desc="hashing autoencoder",
              disable=not show_progress(progress)) as bar:
        for _ in range(config.epochs):
            model.train()
            order, total = torch.randperm(len(data), generator=rng), 0.0
            for step in range(steps_per_epoch):
                idx = order[step * config.batch_size:(step + 1) * config.batch_size]
                x = data[idx].to(device).float().div_(127.5).sub_(1.0).view(-1, 3, INPUT_SIZE, INPUT_SIZE)
                loss = F.mse_loss(model(x), x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item()
                bar.update()
            history.append(total / steps_per_epoch)
            bar.set_postfix(mse=f"{history[-1]:.4f}")
    model.eval()
    model.config, model.history = config, history
    return model


def autoencoder_config(dataset: str = "rooms", profile: str | Profile | None = None,
                       **overrides) -> AutoencoderConfig:
    """The book's hashing autoencoder config for `dataset` at a profile (sizes from the chapter's CHAPTER_SIZES)."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    sizes = chapter_sizes(CHAPTER, profile)
    config = AutoencoderConfig(dataset=dataset_for(dataset, profile), image_size=profile.image_size,
                               n_train=int(sizes["ae_n_train"]), epochs=int(sizes["ae_epochs"]))
    return replace(config, **overrides)


def pretrained_autoencoder(dataset: str = "rooms", profile: str | Profile | None = None,
                           device: str | torch.device = "cpu", progress: bool | None = None,
                           **overrides) -> HashAutoencoder:
    """The hashing autoencoder for `dataset` at a profile: loaded from ``runs_dir()/autoencoders``, or trained
    on the dataset's training split (a random `n_train` sample for real datasets) and cached now."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    config = autoencoder_config(dataset, profile, **overrides)
    path = runs_dir() / "autoencoders" / f"{config.dataset}-{profile.name}-{config.key()}-data{CACHE_VERSION}.pt"
    if path.exists():
        state = store.load(path)
        model = HashAutoencoder(config.code_size, config.noise_std, config.dropout, config.max_shift,
                                config.brightness)
        model.load_state_dict(state["weights"])
        model.config, model.history = config, list(state["history"])
        return model.to(device).eval()
    data = load_dataset(config.dataset, config.image_size, n=config.n_train, split="train", seed=config.data_seed) \
        if config.dataset in ("rooms", "faces", "objects10") else \
        load_dataset(config.dataset, config.image_size, split="train")
    if not isinstance(data, ImageDataset):  # a real dataset: a random sample, streamed into memory as 32×32 uint8
        data = sample_images(data, config.n_train, seed=config.data_seed)
    model = train_autoencoder(data, config, device=device, progress=progress)
    store.save_atomic({"weights": {k: v.cpu() for k, v in model.state_dict().items()},
                             "config": asdict(config), "history": model.history}, path)
    return model


# --------------------------------------------------------------------------------------------------------------------
# Hashes: binarised codes packed into bytes
# --------------------------------------------------------------------------------------------------------------------
_POPCOUNT = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.uint8)
_BIT_WEIGHTS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)


def binarize(codes: Tensor, threshold: float | Tensor = 0.0) -> Tensor:
    """Bits of the hash: code activation > threshold (bool [N, K]); 0 is the natural threshold of a ReLU code."""
    return codes > threshold


def pack_bits(bits: Tensor) -> Tensor:
    """Pack bool bits [N, K] into uint8 integers [N, ceil(K/8)], most significant bit first (16 bytes for 128 bits)."""
    n, k = bits.shape
    pad = (-k) % 8
    if pad:
        bits = F.pad(bits, (0, pad))
    return (bits.view(n, -1, 8).to(torch.uint8) * _BIT_WEIGHTS).sum(-1, dtype=torch.uint8)


def unpack_bits(packed: Tensor, code_size: int | None = None) -> Tensor:
    """Inverse of :func:`pack_bits`: uint8 [N, B] → bool [N, code_size] (default 8·B)."""
    bits = (packed.unsqueeze(-1) & _BIT_WEIGHTS).ne(0).view(len(packed), -1)
    return bits if code_size is None else bits[:, :code_size]


def hash_to_int(packed_row: Tensor) -> int:
    """One packed hash as a single Python integer (handy to print or to use as a dict key)."""
    return int.from_bytes(bytes(packed_row.tolist()), "big")


def hamming_distance(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise number of differing bits between packed hashes a and b (uint8 [N, B] each) → int [N]."""
    return _POPCOUNT[(a ^ b).long()].sum(-1, dtype=torch.int32)


@torch.inference_mode()
def hash_images(images: Tensor | ImageDataset | torch.utils.data.Dataset, model: HashAutoencoder,
                batch_size: int = 2048, threshold: float | Tensor = 0.0, value_range: tuple[float, float] = (-1., 1.),
                num_workers: int = 0, progress: bool | None = None) -> Tensor:
    """Packed semantic hashes (uint8 [N, code_size/8]) of every image, streamed in batches (bounded memory)."""
    model.eval()
    device = next(model.parameters()).device
    n = _length(images)
    out = torch.empty(n, math.ceil(model.code_size / 8), dtype=torch.uint8)
    start = 0
    nonnegative = bool(torch.all(torch.as_tensor(threshold) >= 0))   # then the ReLU can be skipped
    with tqdm(total=n, desc="hashing", unit="img", disable=not show_progress(progress)) as bar:
        for batch in iter_batches(images, batch_size, value_range, num_workers):
            batch = batch.to(device)
            codes = (model.preactivation(batch) if nonnegative else model.encode(batch)).cpu()
            out[start:start + len(batch)] = pack_bits(binarize(codes, threshold))
            start += len(batch)
            bar.update(len(batch))
    return out


# --------------------------------------------------------------------------------------------------------------------
# Grouping: exact (sort by hash) and near-match (bands + verification)
# --------------------------------------------------------------------------------------------------------------------
def _row_keys(rows: np.ndarray) -> np.ndarray:
    """Each row of a 2-D uint8 array as one opaque, sortable key (a numpy void scalar)."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()


def group_equal(keys: Tensor) -> list[list[int]]:
    """Indices of rows that are exactly equal (each group ≥ 2, sorted), by one sort of the rows: O(N log N).

    `keys` is any 2-D tensor (packed hashes, or flattened uint8 pixels for exact-copy detection).
    """
    if keys.dim() != 2:
        keys = keys.reshape(len(keys), -1)
    arr = keys.contiguous().numpy().view(np.uint8).reshape(len(keys), -1)
    _, inverse, counts = np.unique(_row_keys(arr), return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    dup = counts[inverse] > 1
    idx = np.nonzero(dup)[0]
    if len(idx) == 0:
        return []
    order = idx[np.argsort(inverse[idx], kind="stable")]
    splits = np.cumsum(counts[counts > 1])[:-1]
    groups = [g.tolist() for g in np.split(order, splits)]
    return sorted(groups, key=lambda g: g[0])


def _band_keys(bits: Tensor, bands: int) -> Tensor:
    """Split bits [N, K] into `bands` contiguous bands (≤ 64 bits each); each band's bits as one int64."""
    k = bits.shape[1]
    edges = torch.linspace(0, k, bands + 1).round().long().tolist()
    keys = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        powers = [1 << (hi - lo - 1 - j) for j in range(hi - lo)]
        powers = [p - (1 << 64) if p >= 1 << 63 else p for p in powers]  # bit 63 is int64's sign bit
        weights = torch.tensor(powers, dtype=torch.int64)
        keys.append((bits[:, lo:hi].long() * weights).sum(1))
    return torch.stack(keys, 1)


def _pairs_in_runs(sorted_keys: np.ndarray, order: np.ndarray, max_pairs: int) -> Iterator[np.ndarray]:
    """All (i, j) pairs of indices whose keys are equal, from keys sorted once; yields chunks of ≤ ~max_pairs."""
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(sorted_keys)]]))
    multi = lengths > 1
    starts, lengths = starts[multi], lengths[multi]
    n_pairs = lengths * (lengths - 1) // 2
    cum = np.cumsum(n_pairs)
    lo = 0
    while lo < len(starts):
        hi = max(int(np.searchsorted(cum, (cum[lo - 1] if lo else 0) + max_pairs, side="right")), lo + 1)
        s, k = starts[lo:hi], lengths[lo:hi]
        pos = np.repeat(s, k) + _ranges(k)              # every sorted position inside these runs
        partners = np.repeat(s + k, k) - pos - 1         # later members of the same run
        first = np.repeat(pos, partners)
        second = first + 1 + _ranges(partners)
        yield np.stack([order[first], order[second]], 1)
        lo = hi


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(c) for every c in counts."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def near_pairs(packed: Tensor, radius: int, bands: int | None = None, code_size: int | None = None,
               max_pairs: int = 4_000_000, flips: int | None = None) -> tuple[Tensor, Tensor]:
    """Every pair of hashes within Hamming distance `radius`, without comparing all pairs.

    The code is split into `bands` contiguous bands. Two codes that differ in at most `radius` bits differ in at
    most ``radius // bands`` bits on at least one band (pigeonhole), so looking up, for every code and band, the
    codes whose band differs in at most `flips` ≥ ``radius // bands`` bits finds every such pair; candidates are
    then verified by their full Hamming distance. With ``radius + 1`` bands (``flips = 0``) a band must match
    exactly: one sort per band, and candidates grow as N² / 2^(band width). When those narrow bands hold so many
    codes that the candidates would cost more, the default switches to fewer, wider bands probed with 1 or 2
    flipped bits, which keeps the cost near-linear for millions of codes. Returns (pairs [P, 2] with
    i < j, sorted; their distances [P]).
    """
    if radius < 0:
        raise DedupError(f"radius must be ≥ 0, got {radius}")
    n = len(packed)
    code_size = code_size or packed.shape[1] * 8
    bits = unpack_bits(packed, code_size)
    if bands is None:
        bands, flips = _choose_bands(bits, radius, code_size)
    bands = max(bands, math.ceil(code_size / 64))
    if bands > code_size:
        raise DedupError(f"cannot split a {code_size}-bit code into {bands} bands: use a smaller radius")
    flips = radius // bands if flips is None else flips
    if flips < radius // bands:
        raise DedupError(f"{bands} bands probed at {flips} flipped bits cannot guarantee every pair within radius "
                         f"{radius}: use ≥ {radius + 1} bands or flips ≥ {radius // bands}")
    keys = _band_keys(bits, bands).numpy()
    words = _as_words(packed)
    found = []
    for b in range(bands):
        order = np.argsort(keys[:, b], kind="stable")
        if flips == 0:
            chunks = _pairs_in_runs(keys[order, b], order, max_pairs)
        else:
            chunks = _pairs_by_probing(keys[:, b], order, _flip_masks(_band_widths(code_size, bands)[b], flips),
                                       max_pairs)
        for cand in chunks:
            dist = np.bitwise_count(words[cand[:, 0]] ^ words[cand[:, 1]]).sum(1, dtype=np.int32)
            close = np.sort(cand[dist <= radius], axis=1)
            found.append(close[:, 0] * n + close[:, 1])
    if not found:
        return torch.zeros(0, 2, dtype=torch.long), torch.zeros(0, dtype=torch.int32)
    codes = np.unique(np.concatenate(found))
    pairs = torch.from_numpy(np.stack([codes // n, codes % n], 1)).long()
    return pairs, hamming_distance(packed[pairs[:, 0]], packed[pairs[:, 1]])


def _as_words(packed: Tensor) -> np.ndarray:
    """Packed hashes (uint8 [N, B]) as uint64 words [N, ceil(B / 8)], zero-padded, for fast XOR and popcount."""
    arr = packed.numpy()
    pad = -arr.shape[1] % 8
    if pad:
        arr = np.concatenate([arr, np.zeros((len(arr), pad), dtype=np.uint8)], 1)
    return np.ascontiguousarray(arr).view(np.uint64)


PROBE_COST = 2.0  # measured: one probe (two binary searches) costs about two candidate verifications


def _band_widths(code_size: int, bands: int) -> list[int]:
    """The width in bits of each of `bands` contiguous bands (as :func:`_band_keys` splits them)."""
    edges = torch.linspace(0, code_size, bands + 1).round().long().tolist()
    return [hi - lo for lo, hi in zip(edges[:-1], edges[1:])]


def _choose_bands(bits: Tensor, radius: int, code_size: int) -> tuple[int, int]:
    """(bands, flips) for `near_pairs`: exact matching on radius + 1 bands, unless their buckets hold so many codes
    that probing fewer, wider bands (≥ log2(N) + 8 bits, so that few codes share a key by chance) is cheaper."""
    n, exact = len(bits), max(min(radius + 1, code_size), math.ceil(code_size / 64))
    if radius == 0 or n < 2:
        return exact, 0
    keys = _band_keys(bits, exact).numpy()
    candidates = sum(int((c * (c - 1) // 2).sum()) for c in (np.unique(k, return_counts=True)[1] for k in keys.T))
    options = []
    for bands in range(math.ceil(code_size / 64), exact):
        flips, width = radius // bands, min(_band_widths(code_size, bands))
        probes = bands * sum(math.comb(width, f) for f in range(flips + 1))
        options.append((2 ** width < 256 * n, probes, bands, flips))   # wide enough first, then fewest probes
    if not options:
        return exact, 0
    _, probes, bands, flips = min(options)
    return (bands, flips) if PROBE_COST * probes * n < candidates else (exact, 0)


def _flip_masks(width: int, flips: int) -> np.ndarray:
    """XOR masks (int64) that flip every set of at most `flips` of a band's `width` bits, the empty set first."""
    masks = [sum(1 << b for b in combo) for f in range(flips + 1) for combo in itertools.combinations(range(width), f)]
    return np.array(masks, dtype=np.uint64).view(np.int64)


def _pairs_by_probing(keys: np.ndarray, order: np.ndarray, masks: np.ndarray, max_pairs: int) -> Iterator[np.ndarray]:
    """Pairs (i, j), i < j, whose band keys differ by one of `masks`; `order` sorts `keys`. Chunks of rows."""
    sorted_keys = keys[order]
    rows = max(1, max_pairs // (4 * len(masks)))
    for start in range(0, len(keys), rows):
        probes = keys[start:start + rows, None] ^ masks[None, :]
        lo = np.searchsorted(sorted_keys, probes, side="left").ravel()
        counts = np.searchsorted(sorted_keys, probes, side="right").ravel() - lo
        first = np.repeat(start + np.arange(len(probes)).repeat(len(masks)), counts)
        second = order[np.repeat(lo, counts) + _ranges(counts)]
        keep = first < second
        yield np.stack([first[keep], second[keep]], 1)


def all_pairs_hamming(packed: Tensor, radius: int, code_size: int | None = None,
                      block: int = 4096) -> tuple[Tensor, Tensor]:
    """Reference (quadratic) method: compare every pair of hashes; same output as :func:`near_pairs`.

    Uses the identity hamming(a, b) = (K - s_a·s_b) / 2 for ±1 codes s, so each block of rows is one matmul.
    """
    code_size = code_size or packed.shape[1] * 8
    signs = unpack_bits(packed, code_size).float().mul_(2).sub_(1)
    pairs, dists = [], []
    for start in range(0, len(signs), block):
        rows = signs[start:start + block]
        d = (code_size - rows @ signs[start:].T).mul_(0.5)       # columns from `start` on: j ≥ i only
        d.triu_(1).add_(torch.ones_like(d).tril_() * (code_size + 1))  # exclude j ≤ i
        i, j = torch.nonzero(d <= radius + 0.5, as_tuple=True)
        pairs.append(torch.stack([i + start, j + start], 1))
        dists.append(d[i, j].round().int())
    pairs_t, dists_t = torch.cat(pairs), torch.cat(dists)
    order = torch.argsort(pairs_t[:, 0] * len(signs) + pairs_t[:, 1])
    return pairs_t[order], dists_t[order]


def groups_from_pairs(n: int, pairs: Tensor) -> list[list[int]]:
    """Connected components (each ≥ 2 indices, sorted) of the graph on n images whose edges are `pairs`."""
    if len(pairs) == 0:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    p = pairs.numpy()
    graph = coo_matrix((np.ones(len(p), dtype=np.int8), (p[:, 0], p[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    counts = np.bincount(labels)
    idx = np.nonzero(counts[labels] > 1)[0]
    order = idx[np.argsort(labels[idx], kind="stable")]
    splits = np.cumsum(counts[counts > 1])[:-1]
    return sorted((g.tolist() for g in np.split(order, splits)), key=lambda g: g[0])


# --------------------------------------------------------------------------------------------------------------------
# The whole pipeline
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class DedupResult:
    """Duplicates found in a dataset of `n` images."""

    n: int
    groups: list[list[int]]          # sets of duplicates (≥ 2 indices each, sorted; groups sorted by first index)
    keep: Tensor                     # indices to keep: every singleton and the first image of each group
    hashes: Tensor = field(repr=False)  # packed hashes, uint8 [n, code_size/8]
    pairs: Tensor = field(repr=False)   # the matched pairs [P, 2] (i < j) behind the groups
    radius: int = 0

    @property
    def remove(self) -> Tensor:
        """Indices of the images to drop (all but the first of each group)."""
        mask = torch.ones(self.n, dtype=torch.bool)
        mask[self.keep] = False
        return torch.nonzero(mask).flatten()


def find_duplicates(images: Tensor | ImageDataset | torch.utils.data.Dataset, model: HashAutoencoder,
                    radius: int = 0, batch_size: int = 2048, threshold: float | Tensor = 0.0,
                    value_range: tuple[float, float] = (-1.0, 1.0), num_workers: int = 0,
                    progress: bool | None = None) -> DedupResult:
    """Find the near-duplicates in any image dataset with the semantic hash of `model`.

    Images are streamed in batches of `batch_size` (any size ≥ 32, RGB or grayscale, uint8 or float in
    `value_range`; see :func:`iter_batches`) and only their packed hashes are kept (16 bytes per image for a
    128-bit code), so millions of images fit in memory. With ``radius=0`` images are grouped by equal hashes (one
    sort); with ``radius > 0`` pairs within that Hamming distance are found by band matching and joined into
    groups (connected components).
    """
    hashes = hash_images(images, model, batch_size, threshold, value_range, num_workers, progress)
    n = len(hashes)
    if radius == 0:
        groups = group_equal(hashes)
        pairs = pairs_from_groups(groups)
    else:
        pairs, _ = near_pairs(hashes, radius, code_size=model.code_size)
        groups = groups_from_pairs(n, pairs)
    keep = torch.ones(n, dtype=torch.bool)
    for g in groups:
        keep[g[1:]] = False
    return DedupResult(n, groups, torch.nonzero(keep).flatten(), hashes, pairs, radius)


# --------------------------------------------------------------------------------------------------------------------
# Evaluation: planted near-duplicates, baselines, precision and recall over pairs
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class PlantedDuplicates:
    """A dataset with hidden near-copies: `images` (originals and copies, shuffled) and the true `groups`."""

    images: Tensor                   # uint8 [N + copies, C, H, W]
    groups: list[list[int]]          # each planted original with its copies (indices into `images`, sorted)
    source: Tensor                   # for every image, the index of the original image it comes from
    is_copy: Tensor                  # bool: True for the planted copies


def _shift(x: Tensor, dy: int, dx: int) -> Tensor:
    """Shift an image [C, H, W] by (dy, dx) pixels, filling the uncovered border by replicating the edge."""
    c, h, w = x.shape
    p = max(abs(dy), abs(dx))
    if p == 0:
        return x
    padded = F.pad(x.float().unsqueeze(0), (p, p, p, p), mode="replicate")[0]
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w]


def near_copy(image: Tensor, generator: torch.Generator, max_shift: int = 2, noise_std: float = 0.02,
              max_brightness: float = 0.05, max_contrast: float = 0.05,
              jpeg_quality: tuple[int, int] = (75, 95)) -> Tensor:
    """One near-duplicate of a uint8 image [C, H, W]: shifted by up to `max_shift` px, either its brightness (± a
    fraction of the range) or its contrast (× 1 ± max_contrast) changed a little, Gaussian noise (std a fraction
    of the range) added, then re-encoded as JPEG at a random quality in `jpeg_quality`."""
    def uniform(a: float, b: float) -> float:
        return a + (b - a) * torch.rand((), generator=generator).item()

    dy, dx = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    x = _shift(image, dy, dx).float()
    if torch.rand((), generator=generator) < 0.5:
        x = x + 255 * uniform(-max_brightness, max_brightness)
    else:
        mean = x.mean()
        x = (x - mean) * uniform(1 - max_contrast, 1 + max_contrast) + mean
    x = x + 255 * noise_std * torch.randn(x.shape, generator=generator)
    x = x.round().clamp(0, 255).to(torch.uint8)
    quality = int(torch.randint(jpeg_quality[0], jpeg_quality[1] + 1, (), generator=generator))
    return _jpeg_roundtrip(x, quality)


def _jpeg_roundtrip(image: Tensor, quality: int) -> Tensor:
    """Encode a uint8 image [C, H, W] as JPEG at `quality` with PIL and decode it again."""
    import io

    from PIL import Image

    array = image.permute(1, 2, 0).numpy()
    pil = Image.fromarray(array[:, :, 0] if image.shape[0] == 1 else array)
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=quality)
    decoded = torch.from_numpy(np.array(Image.open(io.BytesIO(buffer.getvalue())))).clone()
    return decoded.unsqueeze(0) if decoded.dim() == 2 else decoded.permute(2, 0, 1).contiguous()


def plant_near_duplicates(images: Tensor, fraction: float = 0.1, max_copies: int = 3, seed: int = 0,
                          **copy_kwargs) -> PlantedDuplicates:
    """Give a `fraction` of the images 1 to `max_copies` near-copies each (see :func:`near_copy`), shuffle all
    images together, and return them with the ground-truth groups of duplicates."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise DedupError(f"images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    if len(images) == 0:
        raise DedupError("no images to plant duplicates in: the dataset is empty")
    gen = torch.Generator().manual_seed(seed)
    n = len(images)
    originals = torch.randperm(n, generator=gen)[:max(1, round(fraction * n))]
    n_copies = torch.randint(1, max_copies + 1, (len(originals),), generator=gen)
    source = torch.cat([torch.arange(n), originals.repeat_interleave(n_copies)])
    copies = [near_copy(images[i], gen, **copy_kwargs) for i in source[n:].tolist()]
    all_images = torch.cat([images, torch.stack(copies)])
    perm = torch.randperm(len(all_images), generator=gen)
    all_images, source = all_images[perm].contiguous(), source[perm]
    is_copy = perm >= n
    groups = group_equal(source.unsqueeze(1))
    return PlantedDuplicates(all_images, groups, source, is_copy)


def pairs_from_groups(groups: Iterable[Sequence[int]]) -> Tensor:
    """Every pair (i < j) inside each group, as a [P, 2] tensor."""
    pairs = [torch.combinations(torch.tensor(sorted(g)), 2) for g in groups if len(g) > 1]
    return torch.cat(pairs) if pairs else torch.zeros(0, 2, dtype=torch.long)


def pair_precision_recall(found: Tensor, true: Tensor) -> dict[str, float]:
    """Precision (fraction of found pairs that are true) and recall (fraction of true pairs found), pairs [P, 2]."""
    def as_set(p: Tensor) -> set[tuple[int, int]]:
        p = torch.sort(p, dim=1).values if len(p) else p
        return set(map(tuple, p.tolist()))

    found_s, true_s = as_set(found), as_set(true)
    hits = len(found_s & true_s)
    return {"precision": hits / len(found_s) if found_s else 1.0, "recall": hits / len(true_s) if true_s else 1.0,
            "found": len(found_s), "true_pairs": len(true_s), "true_found": hits}


def pixel_hash_groups(images: Tensor | ImageDataset) -> list[list[int]]:
    """Baseline: groups of byte-for-byte identical images (catches exact copies only)."""
    images = images.images if isinstance(images, ImageDataset) else images
    return group_equal(images.reshape(len(images), -1))


@torch.no_grad()
def brute_force_pairs(images: Tensor | ImageDataset, max_distance: float, block: int = 1024) -> tuple[Tensor, Tensor]:
    """Baseline: every pair of images whose prepared 32×32 versions are within RMS pixel distance `max_distance`
    (in [-1, 1] units), by comparing all pairs: O(N²). Returns (pairs [P, 2] with i < j, their distances)."""
    images = images.images if isinstance(images, ImageDataset) else images
    x = torch.cat(list(iter_batches(images))).flatten(1)
    sq = (x ** 2).sum(1)
    pairs, dists = [], []
    for start in range(0, len(x), block):
        rows = x[start:start + block]
        d2 = (sq[start:start + block, None] - 2 * rows @ x[start:].T + sq[None, start:]).clamp_min_(0) / x.shape[1]
        d2.add_(torch.ones_like(d2).tril_() * 1e9)                       # keep j > i only
        i, j = torch.nonzero(d2 <= max_distance ** 2, as_tuple=True)
        pairs.append(torch.stack([i + start, j + start], 1))
        dists.append(d2[i, j].sqrt())
    return torch.cat(pairs), torch.cat(dists)
