"""Decode once: a real dataset's files become one memory-mapped uint8 file, pixel for pixel what the file
readers give, made on the first call only, made again when the source folder changes, and refused when damaged."""
import shutil
from pathlib import Path

import pytest
import torch
from real_fixtures import write_celeba, write_image_folder, write_mnist

from dcgan_lib.data import DatasetError, decoded, in_memory, load_dataset
from dcgan_lib.data import decode_once as decoded_module
from dcgan_lib.data.decode_once import IMAGES_FILE, INDEX_FILE
from dcgan_lib.train.configs import TrainConfig
from dcgan_lib.train.loop import train

WRITERS = {"mnist": write_mnist, "celeba": write_celeba,
           "folder": lambda root: write_image_folder(root / "photos", per_class=4)}

pytestmark = pytest.mark.usefixtures("tmp_cache")   # decoded files and runs in a temporary folder


def _source(name, tmp_path):
    root = tmp_path / "datasets"
    written = WRITERS[name](root)
    return root / "photos" if name == "folder" else root, written


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_decoded_images_are_the_readers_images_pixel_for_pixel(name, tmp_path):
    source, _ = _source(name, tmp_path)
    images = decoded(name, 32, data_dir=source, progress=False)
    files = in_memory(load_dataset(name, 32, data_dir=source))
    assert torch.equal(images.images, files.images) and torch.equal(images.labels, files.labels)
    mapped = Path("/proc/self/maps")
    if mapped.exists():                      # Linux: the images are the file, mapped, not a copy in memory
        assert f"{name}-train-32px-" in mapped.read_text()
    if name == "folder":
        assert images.class_names == ["cats", "dogs"]


def test_the_files_are_decoded_on_the_first_call_only(tmp_path, monkeypatch):
    source, _ = _source("folder", tmp_path)
    first = decoded("folder", 32, data_dir=source, progress=False)

    def no_second_decode(*args, **kwargs):
        raise AssertionError("decoded the files again")

    monkeypatch.setattr(decoded_module, "_decode_into", no_second_decode)
    again = decoded("folder", 32, data_dir=source)
    assert torch.equal(first.images, again.images)
    again.images[0] = 0                      # copy-on-write: memory only, never the file
    assert torch.equal(decoded("folder", 32, data_dir=source).images, first.images)


def test_a_changed_folder_is_decoded_again(tmp_path):
    source, _ = _source("folder", tmp_path)
    before = decoded("folder", 32, data_dir=source, progress=False)
    shutil.copy(next((source / "cats").iterdir()), source / "cats" / "one_more.png")
    after = decoded("folder", 32, data_dir=source, progress=False)
    assert len(after) == len(before) + 1


@pytest.mark.parametrize("damage", ["truncated", "zeroed in place", "index garbled", "index deleted"])
def test_a_damaged_decoded_folder_is_decoded_again_with_a_note(damage, tmp_path, capsys):
    source, _ = _source("mnist", tmp_path)
    images = decoded("mnist", 32, data_dir=source, progress=False).images.clone()
    folder = next((tmp_path / "data" / "decoded").glob(f"*/{IMAGES_FILE}")).parent
    path, index = folder / IMAGES_FILE, folder / INDEX_FILE
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: len(images) * 100])
    elif damage == "zeroed in place":
        with open(path, "r+b") as f:         # same size, same name: only the bytes changed
            f.write(bytes(path.stat().st_size))
    elif damage == "index garbled":
        index.write_bytes(b"not a torch file")
    else:
        index.unlink()
    again = decoded("mnist", 32, data_dir=source, progress=False)
    assert torch.equal(again.images, images)
    assert "decoding the images again" in capsys.readouterr().err


def test_a_full_disk_is_refused_with_the_fix(tmp_path, monkeypatch):
    source, _ = _source("mnist", tmp_path)
    monkeypatch.setattr(decoded_module.shutil, "disk_usage", lambda folder: shutil._ntuple_diskusage(1, 1, 10))
    with pytest.raises(DatasetError, match="decoding needs .* GB.*DCGAN_DATA_DIR.*--no-cache"):
        decoded("mnist", 32, split="test", data_dir=source)


def test_training_on_a_real_dataset_goes_through_the_decoded_file(tmp_path, monkeypatch):
    source, _ = _source("mnist", tmp_path)
    monkeypatch.setenv("DCGAN_REAL_DATA", str(source))
    config = TrainConfig(dataset="mnist", image_size=32, nc=1, ngf=8, ndf=8, batch_size=16, epochs=1)
    result = train(config, tmp_path / "run", device="cpu", progress=False)
    assert result.epochs_done == 1
    assert len(list((tmp_path / "data" / "decoded").glob(f"mnist-train-32px-*/{IMAGES_FILE}"))) == 1


def test_generated_datasets_come_back_as_they_are(tmp_path):
    assert torch.equal(decoded("rooms", 32, n=8).images, load_dataset("rooms", 32, n=8).images)
