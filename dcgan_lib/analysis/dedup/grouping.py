"""De-duplication, the grouping: exact (sort by hash) and near-match (bands of the code, then verification)."""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from dcgan_lib.analysis.dedup.hashes import hamming_distance, unpack_bits
from dcgan_lib.analysis.dedup.inputs import DedupError


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


def pairs_from_groups(groups: Iterable[Sequence[int]]) -> Tensor:
    """Every pair (i < j) inside each group, as a [P, 2] tensor."""
    pairs = [torch.combinations(torch.tensor(sorted(g)), 2) for g in groups if len(g) > 1]
    return torch.cat(pairs) if pairs else torch.zeros(0, 2, dtype=torch.long)
