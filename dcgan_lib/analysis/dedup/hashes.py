"""De-duplication, the hashes: the autoencoder's binarised codes, packed into bytes, and Hamming distances."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from dcgan_lib.analysis.dedup.autoencoder import HashAutoencoder
from dcgan_lib.analysis.dedup.inputs import _length, iter_batches
from dcgan_lib.core.runtime import show_progress
from dcgan_lib.data.datasets import ImageDataset

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
                num_workers: int | None = None, progress: bool | None = None) -> Tensor:
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


