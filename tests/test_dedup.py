"""Tests for dcgan_lib.analysis.dedup: hash packing, grouping, near matching, planted duplicates, streaming."""
from __future__ import annotations

import itertools

import pytest
import torch
from PIL import Image

from dcgan_lib.analysis import dedup
from dcgan_lib.analysis.dedup import (
    DedupError,
    HashAutoencoder,
    all_pairs_hamming,
    brute_force_pairs,
    find_duplicates,
    group_equal,
    groups_from_pairs,
    hamming_distance,
    hash_images,
    hash_to_int,
    near_pairs,
    pack_bits,
    pair_precision_recall,
    pairs_from_groups,
    pixel_hash_groups,
    plant_near_duplicates,
    prepare_images,
    unpack_bits,
)
from dcgan_lib.analysis.dedup.grouping import _choose_bands
from dcgan_lib.core.store import config_key
from dcgan_lib.data import ImageDataset
from dcgan_lib.zoo import autoencoder_config, pretrained_autoencoder


def random_model(seed: int = 0) -> HashAutoencoder:
    torch.manual_seed(seed)
    return HashAutoencoder().eval()


def random_images(n: int, size: int = 64, channels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def codes_with_neighbours(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """n random k-bit packed codes, a third of them near-copies (0-6 flipped bits) of others."""
    g = torch.Generator().manual_seed(seed)
    bits = torch.rand(n, k, generator=g) < 0.5
    for i in range(0, n, 3):
        j = int(torch.randint(0, n, (), generator=g))
        flips = torch.randperm(k, generator=g)[:int(torch.randint(0, 7, (), generator=g))]
        bits[j] = bits[i]
        bits[j, flips] ^= True
    return pack_bits(bits)


# ---- packing -------------------------------------------------------------------------------------------------------
def test_pack_bits_known_values():
    bits = torch.zeros(2, 16, dtype=torch.bool)
    bits[0, 0] = True                 # most significant bit of the first byte
    bits[1, 15] = True                # least significant bit of the second byte
    packed = pack_bits(bits)
    assert packed.dtype == torch.uint8 and packed.tolist() == [[128, 0], [0, 1]]
    assert hash_to_int(packed[0]) == 1 << 15 and hash_to_int(packed[1]) == 1


@pytest.mark.parametrize("k", [8, 20, 64, 128])
def test_pack_unpack_roundtrip(k):
    bits = torch.rand(50, k, generator=torch.Generator().manual_seed(k)) < 0.5
    packed = pack_bits(bits)
    assert packed.shape == (50, (k + 7) // 8)
    assert torch.equal(unpack_bits(packed, k), bits)


def test_hamming_distance_matches_bits():
    a, b = (torch.rand(100, 128, generator=torch.Generator().manual_seed(s)) < 0.5 for s in (1, 2))
    assert torch.equal(hamming_distance(pack_bits(a), pack_bits(b)).long(), (a != b).sum(1))


# ---- exact grouping ------------------------------------------------------------------------------------------------
def test_group_equal():
    keys = torch.tensor([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4], [1, 2]], dtype=torch.uint8)
    assert group_equal(keys) == [[0, 2, 5], [1, 4]]
    assert group_equal(torch.tensor([[1], [2], [3]], dtype=torch.uint8)) == []


def test_groups_from_pairs_joins_chains():
    pairs = torch.tensor([[0, 3], [3, 5], [1, 2]])
    assert groups_from_pairs(7, pairs) == [[0, 3, 5], [1, 2]]
    assert groups_from_pairs(3, torch.zeros(0, 2, dtype=torch.long)) == []


# ---- near matching against the all-pairs reference ------------------------------------------------------------------
def naive_pairs(packed: torch.Tensor, radius: int) -> set[tuple[int, int]]:
    bits = unpack_bits(packed)
    return {(i, j) for i, j in itertools.combinations(range(len(bits)), 2) if (bits[i] != bits[j]).sum() <= radius}


@pytest.mark.parametrize("k", [20, 64, 128])
@pytest.mark.parametrize("radius", [0, 1, 3, 6])
def test_near_pairs_equals_all_pairs(k, radius):
    packed = codes_with_neighbours(600, k, seed=k + radius)
    pairs, dists = near_pairs(packed, radius, code_size=k)
    ref_pairs, ref_dists = all_pairs_hamming(packed, radius, code_size=k)
    assert torch.equal(pairs, ref_pairs) and torch.equal(dists, ref_dists)
    assert len(pairs) > 0 and bool((dists <= radius).all())


def test_all_pairs_hamming_equals_naive():
    packed = codes_with_neighbours(150, 24, seed=3)
    pairs, _ = all_pairs_hamming(packed, 4, code_size=24, block=37)   # a block size that does not divide n
    assert set(map(tuple, pairs.tolist())) == naive_pairs(packed, 4)


def test_near_pairs_with_more_bands_and_errors():
    packed = codes_with_neighbours(300, 128, seed=5)
    assert torch.equal(near_pairs(packed, 3, bands=8)[0], all_pairs_hamming(packed, 3)[0])
    with pytest.raises(DedupError, match="bands"):
        near_pairs(packed, 3, bands=3, flips=0)   # 3 bands need 1 flipped bit for radius 3
    with pytest.raises(DedupError, match="radius"):
        near_pairs(packed, -1)


@pytest.mark.parametrize("k, radius, bands", [(128, 8, 5), (128, 8, 4), (64, 6, 3), (20, 5, 2), (128, 3, 2)])
def test_near_pairs_by_probing_wider_bands_equals_all_pairs(k, radius, bands):
    packed = codes_with_neighbours(500, k, seed=k + radius + bands)
    pairs, dists = near_pairs(packed, radius, bands=bands, code_size=k, max_pairs=2000)   # flips = radius // bands
    ref_pairs, ref_dists = all_pairs_hamming(packed, radius, code_size=k)
    assert radius // bands >= 1 and len(ref_pairs) > 0
    assert torch.equal(pairs, ref_pairs) and torch.equal(dists, ref_dists)


def test_near_pairs_probes_wider_bands_when_narrow_bands_crowd():
    # Codes whose first 96 bits are nearly constant crowd the narrow bands of exact matching (quadratic
    # candidates); the default then probes wide bands and still returns exactly the all-pairs answer.
    g = torch.Generator().manual_seed(0)
    bits = torch.zeros(3000, 128, dtype=torch.uint8)
    bits[:, 96:] = torch.randint(0, 2, (3000, 32), generator=g, dtype=torch.uint8)
    bits[:, :96] = (torch.rand(3000, 96, generator=g) < 0.02).to(torch.uint8)
    packed = pack_bits(bits)
    assert _choose_bands(unpack_bits(packed), 8, 128)[1] >= 1
    assert torch.equal(near_pairs(packed, 8)[0], all_pairs_hamming(packed, 8)[0])
    spread = codes_with_neighbours(3000, 128, seed=1)   # balanced random codes: exact matching stays the choice
    assert _choose_bands(unpack_bits(spread), 8, 128) == (9, 0)


def test_near_pairs_small_chunks():
    packed = codes_with_neighbours(400, 32, seed=7)
    assert torch.equal(near_pairs(packed, 5, max_pairs=10)[0], all_pairs_hamming(packed, 5)[0])


# ---- planted duplicates --------------------------------------------------------------------------------------------
def smooth_images(n: int, size: int = 64, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """Random low-frequency images (upsampled 8×8 noise): realistic enough for JPEG."""
    low = torch.rand(n, channels, 8, 8, generator=torch.Generator().manual_seed(seed))
    return (torch.nn.functional.interpolate(low, size=size, mode="bilinear") * 255).round().to(torch.uint8)


@pytest.mark.parametrize("channels", [1, 3])
def test_plant_near_duplicates(channels):
    images = smooth_images(200, channels=channels)
    planted = plant_near_duplicates(images, fraction=0.1, max_copies=3, seed=1)
    n_copies = int(planted.is_copy.sum())
    assert len(planted.groups) == 20 and 20 <= n_copies <= 60
    assert planted.images.shape == (200 + n_copies, channels, 64, 64) and planted.images.dtype == torch.uint8
    assert all(2 <= len(g) <= 4 for g in planted.groups)
    for g in planted.groups:
        assert len(set(planted.source[g].tolist())) == 1 and int((~planted.is_copy[g]).sum()) == 1
        original, copy = planted.images[g[0]].float(), planted.images[g[1]].float()
        assert 0 < (original - copy).abs().mean() < 40          # a near-copy: changed, but only a little
    kept = planted.images[~planted.is_copy]
    assert torch.equal(kept, images[planted.source[~planted.is_copy]])
    again = plant_near_duplicates(images, fraction=0.1, max_copies=3, seed=1)
    assert torch.equal(again.images, planted.images) and again.groups == planted.groups


def test_pairs_and_precision_recall():
    true = pairs_from_groups([[0, 1, 2], [5, 7]])
    assert true.tolist() == [[0, 1], [0, 2], [1, 2], [5, 7]]
    scores = pair_precision_recall(torch.tensor([[1, 0], [5, 7], [3, 4]]), true)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 4)


# ---- preparing images and the streaming path ----------------------------------------------------------------------
def test_prepare_images_sizes_and_channels():
    assert prepare_images(random_images(4, 64)).shape == (4, 3, 32, 32)
    gray = prepare_images(random_images(4, 48, channels=1))       # grayscale, not a multiple of 32
    assert gray.shape == (4, 3, 32, 32) and torch.equal(gray[:, 0], gray[:, 2])
    rect = prepare_images(torch.zeros(2, 3, 40, 96, dtype=torch.uint8))   # centre square crop
    assert rect.shape == (2, 3, 32, 32) and bool((rect == -1).all())
    x = prepare_images(torch.full((1, 3, 32, 32), 0.5), value_range=(0.0, 1.0))
    assert torch.allclose(x, torch.zeros_like(x))


def test_images_too_small_or_empty_raise():
    model = random_model()
    with pytest.raises(DedupError, match="smaller than"):
        find_duplicates(random_images(3, 16), model)
    with pytest.raises(DedupError, match="empty"):
        find_duplicates(torch.zeros(0, 3, 64, 64, dtype=torch.uint8), model)
    with pytest.raises(DedupError, match="empty"):
        find_duplicates(torch.utils.data.TensorDataset(torch.zeros(0, 3, 64, 64)), model)
    with pytest.raises(DedupError, match="channels"):
        prepare_images(torch.zeros(2, 4, 64, 64, dtype=torch.uint8))


class PILDataset(torch.utils.data.Dataset):
    """(PIL image, label) pairs, as torchvision's ImageFolder gives without a transform."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return Image.fromarray(self.images[i].permute(1, 2, 0).numpy()), 0


def test_streaming_gives_the_same_hashes_for_every_input_kind():
    model = random_model()
    images = random_images(50, 64)
    images[40:45] = images[:5]                                     # five exact copies
    reference = hash_images(images, model, batch_size=1000, progress=False)
    as_float = images.float() / 127.5 - 1
    variants = {
        "small batches": hash_images(images, model, batch_size=7, progress=False),
        "ImageDataset": hash_images(ImageDataset("x", images), model, batch_size=16, progress=False),
        "float Dataset": hash_images(torch.utils.data.TensorDataset(as_float, torch.zeros(50)), model,
                                     batch_size=16, progress=False),
        "PIL Dataset": hash_images(PILDataset(images), model, batch_size=16, progress=False),
    }
    for name, hashes in variants.items():
        assert (hamming_distance(hashes, reference) <= 1).all(), name   # float rounding may flip a marginal bit
    result = find_duplicates(PILDataset(images), model, batch_size=8, progress=False)
    assert [[i, i + 40] for i in range(5)] == [g for g in result.groups if g[0] < 5]
    assert len(result.keep) + len(result.remove) == 50 and not set(range(40, 45)) & set(result.keep.tolist())


def test_find_duplicates_near_mode_groups_planted_pairs():
    model = random_model()
    images = smooth_images(60)
    images[50:] = images[:10]
    exact = find_duplicates(images, model, radius=0, progress=False)
    near = find_duplicates(images, model, radius=3, progress=False)
    truth = pairs_from_groups([[i, i + 50] for i in range(10)])
    assert pair_precision_recall(exact.pairs, truth)["recall"] == 1.0
    assert pair_precision_recall(near.pairs, truth)["recall"] == 1.0
    assert near.radius == 3 and len(near.keep) <= 50


# ---- baselines and the cache ---------------------------------------------------------------------------------------
def test_pixel_hash_and_brute_force_baselines():
    images = random_images(30, 32)
    images[20] = images[3]
    assert pixel_hash_groups(images) == [[3, 20]]
    pairs, dists = brute_force_pairs(images, max_distance=0.01, block=7)
    assert pairs.tolist() == [[3, 20]] and float(dists[0]) < 1e-3


def test_pretrained_autoencoder_trains_then_loads(tmp_cache):
    first = pretrained_autoencoder("rooms", "ci", progress=False)
    files = list((tmp_cache / "runs" / "autoencoders").glob("*/autoencoder.pt"))
    assert len(files) == 1 and first.config.code_size == 128 and len(first.history) == first.config.epochs
    second = pretrained_autoencoder("rooms", "ci", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert second.config == first.config and not second.training
    other = autoencoder_config("rooms", "ci", code_size=64)
    assert config_key(other) != config_key(first.config)


def test_corruption_shifts_and_keeps_shape():
    model = HashAutoencoder(noise_std=0.0, dropout=0.0, max_shift=1, brightness=0.0)
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    y = model.corrupt(x)
    assert y.shape == x.shape
    for i in range(16):   # each image is its input shifted by at most one pixel (edges replicated)
        padded = torch.nn.functional.pad(x[i:i + 1], (1, 1, 1, 1), mode="replicate")[0]
        assert any(torch.equal(y[i], padded[:, dy:dy + 32, dx:dx + 32]) for dy in range(3) for dx in range(3))


@pytest.mark.parametrize("size", [64, 128, 512])
def test_prepare_images_uint8_fast_downsampling_equals_average_pooling(size):
    images = torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8)
    expected = torch.nn.functional.avg_pool2d(images.float(), size // 32) / 127.5 - 1
    torch.testing.assert_close(dedup.prepare_images(images), expected, atol=1e-5, rtol=0)


def test_preactivation_bits_equal_relu_code_bits():
    torch.manual_seed(0)
    model = HashAutoencoder()
    model.mean.normal_()
    x = torch.randn(64, 3, 32, 32)
    for threshold in (0.0, 0.1):
        assert torch.equal(model.preactivation(x) > threshold, model.encode(x) > threshold)


def test_copies_the_hash_never_saw_keep_their_shape_and_each_kind_gets_its_recall():
    from dcgan_lib.analysis.dedup import TRANSFORMS, HashAutoencoder, recall_per_transform

    images = torch.randint(0, 256, (6, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    for kind, transform in TRANSFORMS.items():
        copy = transform(images)
        assert copy.dtype == torch.uint8 and copy.shape == images.shape, kind
        assert not torch.equal(copy, images), f"{kind} changed nothing"
    assert torch.equal(TRANSFORMS["mirrored"](images), images.flip(-1))
    torch.manual_seed(0)
    model = HashAutoencoder(code_size=64)
    found = recall_per_transform(images, model, radius=0, transforms={"unchanged": lambda x: x.clone(),
                                                                     "mirrored": TRANSFORMS["mirrored"]})
    assert found["unchanged"] == {"recall": 1.0, "median_bits": 0.0}
    assert 0.0 <= found["mirrored"]["recall"] <= 1.0 and found["mirrored"]["median_bits"] >= 0
    with pytest.raises(DedupError, match="uint8"):
        recall_per_transform(images.float(), model, radius=4)


def test_the_closed_loops_sets_hold_what_they_say():
    """With copies: every planted copy; the hash's set: fewer images and no more copies; no copies: the originals."""
    from dcgan_lib.analysis.dedup import loop_sets

    originals = torch.randint(0, 256, (40, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    loop = loop_sets(originals, HashAutoencoder(), radius=4, fraction=0.1, max_copies=5, seed=1)
    n_copies = int(loop.planted.is_copy.sum())
    assert int(loop.copied.sum()) == 4 and n_copies >= 4
    assert len(loop.sets["with copies"]) == 40 + n_copies == loop.copies_left["with copies"] + 40
    assert len(loop.sets["copies removed"]) == 40 and loop.copies_left["copies removed"] == 0
    assert len(loop.sets["hash de-duplicated"]) <= 40 + n_copies
    assert loop.copies_left["hash de-duplicated"] <= n_copies
    kept = loop.sets["copies removed"].flatten(1)
    assert sorted(map(tuple, kept.tolist())) == sorted(map(tuple, originals.flatten(1).tolist()))


def test_pull_sees_samples_drawn_from_the_copied_images():
    """Samples that are the copied images themselves: all nearest a copied one, memorisation ratio 0; samples
    that are new images score as new real images do."""
    from dcgan_lib.analysis.dedup import pull

    gen = torch.Generator().manual_seed(0)
    originals = torch.randint(0, 256, (30, 3, 8, 8), generator=gen, dtype=torch.uint8)
    copied = torch.zeros(30, dtype=torch.bool)
    copied[:3] = True
    real = torch.rand(50, 3, 8, 8, generator=gen) * 2 - 1
    copies = (originals[:3].float() / 127.5 - 1).repeat(10, 1, 1, 1)
    memorised = pull(copies, originals, copied, real)
    assert memorised["share nearest a copied image"] == 1.0 and memorised["memorisation ratio"] == 0.0
    fresh = pull(real, originals, copied, real)
    assert fresh["memorisation ratio"] == 1.0 and fresh["share nearest a copied image"] == fresh["real images' share"]


def test_a_loop_generator_is_stored_under_its_images(tmp_cache):
    """The same images load the stored G; other images train another (the store keys them by their digest)."""
    from dcgan_lib.zoo.dedup_loop import loop_config, pretrained_loop_generator

    images = torch.randint(0, 256, (32, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    first = pretrained_loop_generator(images, "rooms", "with copies", "ci", device="cpu", progress=False)
    again = pretrained_loop_generator(images.clone(), "rooms", "with copies", "ci", device="cpu", progress=False)
    assert first.run_dir == again.run_dir and first.epochs_done == loop_config("rooms", 32, "ci").epochs
    other = pretrained_loop_generator(images[:16], "rooms", "with copies", "ci", device="cpu", progress=False)
    assert other.run_dir != first.run_dir
