"""Tests for dcgan_lib.data.datasets: generated datasets, caching, and the error messages."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dcgan_lib.data import DATASETS, OFFLINE_DATASETS, DatasetError, ImageDataset, check_channels, load_dataset
from dcgan_lib.data import datasets as data

GENERATED = ("rooms", "faces", "objects10")


@pytest.fixture(autouse=True)
def tmp_data_dir(tmp_path, monkeypatch) -> Path:
    """Every test caches into its own temporary folder, never into the repository."""
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ---- shapes, dtypes, ranges -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("name", OFFLINE_DATASETS)
def test_offline_shapes_and_ranges(name, size):
    ds = load_dataset(name, image_size=size, n=64)
    channels = 1 if name in ("digits", "mnist5k") else 3
    assert isinstance(ds, ImageDataset) and ds.name == name
    assert ds.images.shape == (64, channels, size, size) and len(ds) == 64
    assert ds.images.dtype == torch.uint8 and ds.images.is_contiguous()
    assert ds.image_size == size and ds.channels == channels
    assert ds.images.float().std() > 10                       # not blank
    x = ds.as_float()
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert torch.equal(ds.as_float([0, 3]), x[[0, 3]])


def test_defaults_n():
    assert len(load_dataset("digits", 32)) == 1347
    assert len(load_dataset("digits", 32, split="test")) == 450
    assert data.DEFAULT_N == 20000


def test_subset_keeps_fields():
    ds = load_dataset("rooms", 32, n=64)
    sub = ds.subset(torch.tensor([5, 1, 2]))
    assert torch.equal(sub.images, ds.images[[5, 1, 2]])
    assert set(sub.attributes) == set(ds.attributes) and set(sub.boxes) == set(ds.boxes)
    assert torch.equal(sub.attributes["bed"], ds.attributes["bed"][[5, 1, 2]])
    assert len(ds.subset(slice(0, 10))) == 10 and len(ds.subset([3])) == 1
    labelled = load_dataset("objects10", 32, n=20)
    assert torch.equal(labelled.subset([4, 7]).labels, labelled.labels[[4, 7]])
    assert labelled.subset([4]).class_names == labelled.class_names


# ---- determinism and caching ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GENERATED)
def test_deterministic(name, tmp_path):
    a = load_dataset(name, 32, n=32, seed=1)
    b = load_dataset(name, 32, n=32, seed=1, data_dir=tmp_path / "other")      # fresh generation, other cache
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, load_dataset(name, 32, n=32, seed=2).images)
    test = load_dataset(name, 32, n=32, seed=1, split="test")
    flat_train, flat_test = a.images.flatten(1), test.images.flatten(1)
    assert not (flat_train[:, None] == flat_test[None]).all(-1).any()          # no shared image


def test_cache_is_used_and_regenerated(tmp_data_dir, monkeypatch):
    first = load_dataset("rooms", 32, n=40, seed=3)
    files = list((tmp_data_dir / "generated").glob("*/images.pt"))
    assert len(files) == 1 and not list((tmp_data_dir / "generated").glob("*/.*.tmp"))
    assert (files[0].parent / "artefact.json").exists()            # marked finished by the store

    def fail(*args):
        raise AssertionError("should have loaded the cache")
    with monkeypatch.context() as m:
        m.setitem(data._GENERATORS, "rooms", fail)
        cached = load_dataset("rooms", 32, n=40, seed=3)
    assert torch.equal(cached.images, first.images)
    assert all(torch.equal(cached.boxes[k].nan_to_num(-1), first.boxes[k].nan_to_num(-1)) for k in first.boxes)
    files[0].unlink()
    again = load_dataset("rooms", 32, n=40, seed=3)
    assert files[0].exists() and torch.equal(again.images, first.images)


def test_corrupt_cache_is_regenerated(tmp_data_dir):
    first = load_dataset("faces", 32, n=16)
    path = next((tmp_data_dir / "generated").glob("*/images.pt"))
    path.write_bytes(b"not a torch file")
    assert torch.equal(load_dataset("faces", 32, n=16).images, first.images)


def test_sizes_share_content():
    """32x32 images are the area-downsampled 64x64 ones."""
    big, small = load_dataset("rooms", 64, n=8), load_dataset("rooms", 32, n=8)
    pooled = torch.nn.functional.avg_pool2d(big.images.float(), 2)
    assert (pooled - small.images.float()).abs().mean() < 1.5


# ---- labels, attributes and boxes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 64])
def test_rooms_attributes_and_boxes(size):
    ds = load_dataset("rooms", size, n=256)
    for key in ("bed", "window", "lamp", "door", "picture"):
        a = ds.attributes[key]
        assert a.dtype == torch.float32 and a.shape == (256,) and set(a.unique().tolist()) <= {0.0, 1.0}
    assert 0.75 < ds.attributes["bed"].mean() < 0.95
    for key in ("window", "lamp", "door", "picture"):
        assert 0.35 < ds.attributes[key].mean() < 0.65
    n_windows = ds.attributes["n_windows"]
    assert set(n_windows.unique().tolist()) == {0.0, 1.0, 2.0}
    assert torch.equal(n_windows > 0, ds.attributes["window"] > 0)
    expected_k = {"bed": 1, "window": 2, "lamp": 1, "door": 1, "picture": 1}
    for key, k in expected_k.items():
        box = ds.boxes[key]
        assert box.dtype == torch.float32 and box.shape == (256, k, 4)
        present = (n_windows[:, None] > torch.arange(2)) if key == "window" else (ds.attributes[key][:, None] > 0)
        assert torch.equal(box.isnan().all(-1), ~present) and torch.equal(box.isnan().any(-1), ~present)
        real = box[present]
        assert (real >= 0).all() and (real <= size).all()
        assert (real[:, 2] > real[:, 0]).all() and (real[:, 3] > real[:, 1]).all()


def test_rooms_boxes_mark_the_objects():
    """Inside window boxes the (sky-blue) pane is bluer than red (lamps or beds may hide a few panes)."""
    ds = load_dataset("rooms", 64, n=64)
    x = ds.images.float()
    blueness = []
    for i in torch.nonzero(ds.attributes["window"]).squeeze(1).tolist():
        x0, y0, x1, y1 = ds.boxes["window"][i, 0].round().int().tolist()
        pane = x[i, :, y0 + 2:y1 - 2, x0 + 2:x1 - 2]
        blueness.append((pane[2] - pane[0]).mean())                             # blue minus red
    assert len(blueness) > 15 and torch.tensor(blueness).median() > 30


def test_faces_attributes():
    ds = load_dataset("faces", 32, n=256)
    for key in ("smile", "glasses", "long_hair"):
        a = ds.attributes[key]
        assert set(a.unique().tolist()) == {0.0, 1.0} and 0.35 < a.mean() < 0.65
    yaw = ds.attributes["yaw"]
    assert yaw.min() >= -1 and yaw.max() <= 1 and yaw.std() > 0.4
    for key in ("hair_color", "skin_tone"):
        a = ds.attributes[key]
        assert a.dtype == torch.float32 and a.min() >= 0 and a.max() <= 5 and torch.equal(a, a.round())
    # Glasses darken the eye region; long hair changes the sides below the face.
    x = ds.images.float().mean(1)
    glasses = ds.attributes["glasses"] > 0
    eyes = x[:, 11:16, 9:23].mean((1, 2))
    assert eyes[glasses].mean() < eyes[~glasses].mean() - 10


def test_objects10_balanced_labels():
    ds = load_dataset("objects10", 32, n=200)
    assert ds.class_names == ["circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon",
                              "crescent", "arrow"]
    assert ds.labels.dtype == torch.int64 and ds.labels.shape == (200,)
    assert torch.equal(torch.bincount(ds.labels, minlength=10), torch.full((10,), 20))


def test_digits_labels():
    ds = load_dataset("digits", 32, n=100)
    assert ds.labels.dtype == torch.int64 and ds.labels.min() >= 0 and ds.labels.max() <= 9
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.images.max() > 200 and ds.images.min() == 0
    assert torch.equal(load_dataset("digits", 32).images[:100], ds.images)       # first n of the split


def test_objects10_not_linearly_separable():
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits
    train, test = load_dataset("objects10", 32, n=400), load_dataset("objects10", 32, n=200, split="test")
    with threadpool_limits(1):                           # BLAS threads only slow this small fit down
        model = LogisticRegression(max_iter=200).fit(train.as_float().flatten(1).numpy(), train.labels.numpy())
    assert model.score(test.as_float().flatten(1).numpy(), test.labels.numpy()) < 0.6


def test_a_book_sized_draw_of_rooms_is_made_whole():
    # (its speed is a benchmark's business, not a test's: a timed test fails on a busy machine)
    ds = load_dataset("rooms", 64, n=2000)
    assert len(ds) == 2000 and ds.images.dtype == torch.uint8 and ds.images.shape[1:] == (3, 64, 64)


# ---- errors ---------------------------------------------------------------------------------------------------------
def test_unknown_name_suggests_closest():
    with pytest.raises(DatasetError, match="cifar10") as err:
        load_dataset("cifar")
    assert "known datasets" in str(err.value) and all(name in str(err.value) for name in DATASETS)
    with pytest.raises(DatasetError, match="Did you mean 'rooms'"):
        load_dataset("room")


def test_dataset_error_is_value_error():
    assert issubclass(DatasetError, ValueError)


def test_check_channels():
    digits = load_dataset("digits", 32, n=8)
    check_channels(digits, 1)
    with pytest.raises(DatasetError, match="nc=1") as err:
        check_channels(digits, 3)
    assert "grayscale->RGB" in str(err.value)
    rooms = load_dataset("rooms", 32, n=8)
    check_channels(rooms, 3)
    with pytest.raises(DatasetError, match="nc=3"):
        check_channels(rooms, 1)


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn", "celeba"])
def test_real_dataset_missing_folder(name, tmp_path):
    with pytest.raises(DatasetError) as err:
        load_dataset(name, 32)                                                  # default root: data_dir()/name
    assert "download=True" in str(err.value) and name in str(err.value)
    assert str(tmp_path / "cache" / name) in str(err.value)
    with pytest.raises(DatasetError, match="download=True"):
        load_dataset(name, 32, data_dir=tmp_path / "nowhere")


def _image_folder(root: Path) -> Path:
    from PIL import Image
    for cls, colour in (("cats", (200, 30, 30)), ("dogs", (20, 40, 220))):
        (root / cls).mkdir(parents=True)
        Image.new("RGB", (48, 40), colour).save(root / cls / "a.png")
    return root


def test_folder_dataset(tmp_path):
    ds = load_dataset("folder", 32, data_dir=_image_folder(tmp_path / "images"))
    assert len(ds) == 2 and ds.channels == 3 and ds.image_size == 32
    image, label = ds[1]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and isinstance(label, int) and label == 1
    assert image.min() >= -1 and image.max() <= 1 and image[2].mean() > 0.5         # blue image in [-1, 1]
    check_channels(ds, 3)
    assert len(load_dataset("folder", 32, n=1, data_dir=tmp_path / "images")) == 1
    with pytest.raises(DatasetError, match="smaller n"):
        load_dataset("folder", 32, n=10, data_dir=tmp_path / "images")


def test_sample_images_from_both_kinds_of_dataset(tmp_path, monkeypatch):
    from dcgan_lib.data import sample_images
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path))
    rooms = load_dataset("rooms", 32, n=50, seed=1)
    picked = sample_images(rooms, 10, seed=3)
    assert picked.shape == (10, 3, 32, 32) and picked.dtype == torch.float32
    assert torch.equal(picked, sample_images(rooms, 10, seed=3))
    assert sample_images(rooms, 500).shape[0] == 50

    class Tiny(torch.utils.data.Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return torch.full((1, 4, 4), float(i) / 7), i

    values = sample_images(Tiny(), 7)[:, 0, 0, 0] * 7
    assert sorted(values.round().int().tolist()) == list(range(7))


def test_in_memory_and_balanced_budgets():
    """Both kinds of dataset become an in-memory uint8 ImageDataset; budgets are balanced and seeded."""
    images = torch.rand(30, 3, 8, 8) * 2 - 1

    class Pairs(torch.utils.data.Dataset):
        name = "pairs"

        def __len__(self):
            return 30

        def __getitem__(self, i):
            return images[i], i % 3

    memory = data.in_memory(Pairs(), 20, class_names=["a", "b", "c"])
    assert memory.name == "pairs" and memory.images.dtype == torch.uint8 and len(memory) == 20
    assert torch.allclose(memory.as_float(), images[:20], atol=1 / 127.5)
    assert memory.labels.tolist() == [i % 3 for i in range(20)] and memory.class_names == ["a", "b", "c"]
    assert data.in_memory(memory, 5).labels.tolist() == [0, 1, 2, 0, 1]
    picks = data.balanced_indices(memory.labels, 4, seed=1)
    assert memory.labels[picks].bincount().tolist() == [4, 4, 4]
    assert torch.equal(picks, data.balanced_indices(memory.labels, 4, seed=1))
    assert not torch.equal(picks, data.balanced_indices(memory.labels, 4, seed=2))


def test_a_folder_too_small_to_hold_images_out_refuses_a_test_split(tmp_path):
    root = _image_folder(tmp_path / "images")                         # two images, neither held out by name
    with pytest.raises(DatasetError, match="too few images to hold 10% out.*test/"):
        load_dataset("folder", 32, split="test", data_dir=root)
    split_root = tmp_path / "split"
    _image_folder(split_root / "train")
    _image_folder(split_root / "test")
    assert len(load_dataset("folder", 32, split="test", data_dir=split_root)) == 2
    assert len(load_dataset("folder", 32, split="train", data_dir=split_root)) == 2
    only_test = tmp_path / "only_test"
    _image_folder(only_test / "test")
    with pytest.raises(DatasetError, match="no train/ folder"):
        load_dataset("folder", 32, data_dir=only_test)
    with pytest.raises(DatasetError, match="no images found") as err:
        (tmp_path / "no_images" / "class_a").mkdir(parents=True)
        load_dataset("folder", 32, data_dir=tmp_path / "no_images")
    assert "download" not in str(err.value)                                   # not the fix for one's own folder


def test_one_table_holds_every_datasets_facts():
    from dcgan_lib.data import DATASET_SPECS

    assert set(DATASET_SPECS) == set(DATASETS) and set(OFFLINE_DATASETS) == {
        n for n, s in DATASET_SPECS.items() if s.source in ("drawn", "shipped")}
    for name in OFFLINE_DATASETS:
        spec = DATASET_SPECS[name]
        ds = load_dataset(name, spec.native_size or 32, n=8)
        assert ds.channels == spec.channels and ds.image_size == (spec.native_size or 32)
    assert DATASET_SPECS["mnist"].channels == 1 and not DATASET_SPECS["celeba"].offline


def test_a_models_channels_and_size_follow_the_data_it_learns():
    from dcgan_lib.zoo import model_config

    assert (model_config("digits", "book").nc, model_config("digits", "book").image_size) == (1, 32)
    on_mnist = model_config("rooms", "book", dataset="mnist")               # one parameter away, and right
    assert (on_mnist.dataset, on_mnist.nc, on_mnist.image_size) == ("mnist", 1, 32)
    with pytest.raises(ValueError, match="Unknown dataset 'imagenet'"):
        model_config("rooms", "book", dataset="imagenet")


def test_draw_dataset_is_one_call_for_generated_and_real_data(tmp_path, monkeypatch):
    from dcgan_lib.data import draw_dataset, images_at
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "cache"))
    rooms = draw_dataset("rooms", 32, 10, split="test", seed=1)
    assert torch.equal(rooms.images, load_dataset("rooms", 32, n=10, split="test", seed=1).images)
    assert set(rooms.boxes) and torch.equal(images_at(rooms, [3, 1]), rooms.as_float([3, 1]))
    root = _image_folder(tmp_path / "images")
    one = draw_dataset("folder", 32, 1, seed=0, data_dir=root)
    assert isinstance(one, data.ImageDataset) and one.name == "folder" and len(one) == 1
    assert one.images.dtype == torch.uint8 and one.labels.tolist()[0] in (0, 1) and not one.boxes
    both = draw_dataset("folder", 32, 5, seed=0, data_dir=root)      # fewer images than asked: all of them
    assert sorted(both.labels.tolist()) == [0, 1]
    real = load_dataset("folder", 32, data_dir=root)
    assert torch.allclose(images_at(real, [1]), both.as_float(both.labels == 1), atol=1 / 127.5)
