"""The real datasets' on-disk formats: the library reads fixtures written in them, agrees with torchvision's own
readers on them, and refuses damaged or hostile files with a message that names the file."""
import pickle

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from real_fixtures import write_celeba, write_cifar10, write_image_folder, write_lsun, write_mnist, write_svhn

from dcgan_lib.data import DatasetError, in_memory, load_dataset
from dcgan_lib.data.formats import celeba_files, read_cifar10, read_mnist, read_svhn

WRITERS = {"mnist": write_mnist, "cifar10": write_cifar10, "svhn": write_svhn, "celeba": write_celeba}


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("split", ["train", "test"])
def test_every_real_format_loads_at_the_paper_preprocessing(name, split, tmp_path):
    written = WRITERS[name](tmp_path)
    data = load_dataset(name, 32, split=split, data_dir=tmp_path)
    channels = 1 if name == "mnist" else 3
    image, label = data[0]
    assert image.shape == (channels, 32, 32) and image.dtype == torch.float32
    assert -1 <= image.min() and image.max() <= 1 and isinstance(label, int)
    key = {"mnist": {"train": "train", "test": "t10k"}}.get(name, {}).get(split, split)
    assert len(data) == len(written[key])
    memory = in_memory(data)
    assert memory.images.dtype == torch.uint8 and len(memory) == len(data)
    if name != "celeba":            # CelebA's labels are identities; the others' the classes written
        assert memory.labels.tolist() == [int(v) for v in written[key]]


def test_the_readers_agree_with_torchvision_on_the_fixtures(tmp_path, monkeypatch):
    """torchvision reads the fixtures too, once its check against the official MD5s is switched off."""
    write_mnist(tmp_path)
    images, labels = read_mnist(tmp_path, train=True)
    ours = tvd.MNIST(str(tmp_path), train=True)
    assert np.array_equal(images, ours.data.numpy()) and np.array_equal(labels, ours.targets.numpy())
    for cls in (tvd.CIFAR10, tvd.SVHN, tvd.CelebA):
        monkeypatch.setattr(cls, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tvd.CIFAR10, "meta", {**tvd.CIFAR10.meta, "md5": None})
    write_cifar10(tmp_path)
    images, labels = read_cifar10(tmp_path, train=False)
    theirs = tvd.CIFAR10(str(tmp_path), train=False)
    assert np.array_equal(images, theirs.data) and labels.tolist() == theirs.targets
    write_svhn(tmp_path)
    images, labels = read_svhn(tmp_path, "test")
    theirs = tvd.SVHN(str(tmp_path), split="test")
    assert np.array_equal(images, theirs.data.transpose(0, 2, 3, 1)) and np.array_equal(labels, theirs.labels)
    write_celeba(tmp_path)
    files, identities = celeba_files(tmp_path, "valid")
    theirs = tvd.CelebA(str(tmp_path), split="valid", target_type="identity")
    assert [f.name for f in files] == theirs.filename and identities == theirs.identity.flatten().tolist()
    from dcgan_lib.data.formats import CelebAAttributes
    ours = CelebAAttributes(tmp_path, "train")
    theirs = tvd.CelebA(str(tmp_path), split="train", target_type=["attr", "landmarks"])
    assert ours.attr_names == theirs.attr_names[:40] and torch.equal(ours.attributes, theirs.attr)
    assert torch.equal(ours.landmarks, theirs.landmarks_align) and ours[2][1][0].tolist() == theirs[2][1][0].tolist()


def test_lsun_reads_its_lmdb_without_writing_into_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    counts = write_lsun(tmp_path / "lsun")
    before = set(tmp_path.iterdir())
    train, test = (load_dataset("lsun", 64, split=s, data_dir=tmp_path / "lsun") for s in ("train", "test"))
    assert (len(train), len(test)) == (counts["train"], counts["val"])
    image, label = train[3]
    assert image.shape == (3, 64, 64) and -1 <= image.min() and image.max() <= 1 and label == 0
    assert in_memory(test).images.shape == (counts["val"], 3, 64, 64)
    loader = torch.utils.data.DataLoader(train, batch_size=4, num_workers=2)   # workers open their own lmdb
    assert sum(len(x) for x, _ in loader) == counts["train"]
    assert set(tmp_path.iterdir()) == before          # no key cache left in the working directory


def test_a_users_folder_with_and_without_train_and_test(tmp_path):
    flat = write_image_folder(tmp_path / "flat")                     # 6 photos, no test/: a tenth held out
    train, test = (load_dataset("folder", 64, split=s, data_dir=flat) for s in ("train", "test"))
    assert len(train) + len(test) == 6 and len(test) >= 1
    split = write_image_folder(tmp_path / "split", split=True)
    train, test = (load_dataset("folder", 64, split=s, data_dir=split) for s in ("train", "test"))
    assert len(train) == len(test) == 6 and train[0][0].shape == (3, 64, 64)


def test_a_hostile_cifar_batch_is_refused_without_running_it(tmp_path):
    write_cifar10(tmp_path)

    class Hostile:
        def __reduce__(self):
            return (print, ("this ran",))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"data": Hostile()}, protocol=2))
    with pytest.raises(DatasetError, match=r"test_batch: refusing __builtin__.print"):
        load_dataset("cifar10", 32, split="test", data_dir=tmp_path)


def test_damaged_files_are_named(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte holds .* truncated"):
        load_dataset("mnist", 32, split="test", data_dir=tmp_path)
    write_celeba(tmp_path)
    (tmp_path / "celeba" / "img_align_celeba" / "000001.jpg").unlink()
    with pytest.raises(DatasetError, match="000001.jpg is listed in list_eval_partition.txt but missing"):
        load_dataset("celeba", 32, data_dir=tmp_path)
    (tmp_path / "celeba" / "identity_CelebA.txt").write_text("000001.jpg two\n")
    with pytest.raises(DatasetError, match="identity_CelebA.txt, line 1"):
        load_dataset("celeba", 32, data_dir=tmp_path)


def test_celeba_unzipped_one_folder_too_deep_is_read(tmp_path):
    """Unzipping img_align_celeba.zip inside img_align_celeba/ gives img_align_celeba/img_align_celeba/*.jpg
    (probe H05): the images are found there, the same files as in the usual layout."""
    write_celeba(tmp_path / "usual")
    expected, _ = celeba_files(tmp_path / "usual", "train")
    write_celeba(tmp_path / "deep")
    images = tmp_path / "deep" / "celeba" / "img_align_celeba"
    images.rename(tmp_path / "inner")
    images.mkdir()
    (tmp_path / "inner").rename(images / "img_align_celeba")
    found, _ = celeba_files(tmp_path / "deep", "train")
    assert [p.name for p in found] == [p.name for p in expected] and all(p.is_file() for p in found)
    assert len(load_dataset("celeba", 32, split="train", data_dir=tmp_path / "deep")) == len(expected)


def test_mnist_under_kaggles_file_names_is_read(tmp_path):
    """Kaggle's MNIST names its files train-images.idx3-ubyte (a dot, not a dash): the same bytes, read alike."""
    write_mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    for path in raw.iterdir():
        path.rename(raw / path.name.replace("-idx", ".idx"))
    images, labels = read_mnist(tmp_path, train=True)
    assert images.shape == (60, 28, 28) and labels.shape == (60,)


def test_celeba_as_pngs_is_named_as_the_png_release(tmp_path):
    """The img_align_celeba_png release beside tables that name .jpg files: said, not 'unzip again'."""
    from PIL import Image

    write_celeba(tmp_path)
    images = tmp_path / "celeba" / "img_align_celeba"
    for path in images.iterdir():
        Image.open(path).save(path.with_suffix(".png"))
        path.unlink()
    with pytest.raises(DatasetError, match="are PNGs .*use the JPEG release"):
        celeba_files(tmp_path, "train")


def _as_kaggle(root):
    """The fixture's CelebA as Kaggle's copy lays it out: .csv tables, no identity table, the images one folder
    deeper (probe 3 S12)."""
    folder = root / "celeba"
    for txt in folder.glob("*.txt"):
        lines = txt.read_text().splitlines()
        if txt.name in ("list_eval_partition.txt",):
            csv = ["image_id,partition"] + [",".join(line.split()) for line in lines]
        elif txt.name == "identity_CelebA.txt":
            csv = None
        else:
            csv = ["image_id," + ",".join(lines[1].split())] + [",".join(line.split()) for line in lines[2:]]
        if csv:
            txt.with_suffix(".csv").write_text("\n".join(csv) + "\n")
        txt.unlink()
    images = folder / "img_align_celeba"
    images.rename(root / "inner")
    images.mkdir()
    (root / "inner").rename(images / "img_align_celeba")


def test_kaggles_celeba_is_read_like_the_release(tmp_path):
    from dcgan_lib.data.formats import CelebAAttributes

    write_celeba(tmp_path / "release")
    write_celeba(tmp_path / "kaggle")
    _as_kaggle(tmp_path / "kaggle")
    for split in ("train", "test"):
        usual, kaggle = CelebAAttributes(tmp_path / "release", split), CelebAAttributes(tmp_path / "kaggle", split)
        assert [p.name for p in kaggle.paths] == [p.name for p in usual.paths]
        assert kaggle.attr_names == usual.attr_names and torch.equal(kaggle.attributes, usual.attributes)
        assert torch.equal(kaggle.landmarks, usual.landmarks)
    assert len(load_dataset("celeba", 32, split="train", data_dir=tmp_path / "kaggle")) == \
        len(load_dataset("celeba", 32, split="train", data_dir=tmp_path / "release"))


def test_a_kaggle_table_without_its_header_is_refused_not_read_one_image_short(tmp_path):
    """A CelebA .csv without Kaggle's 'image_id,...' header would lose its first image as the header."""
    write_celeba(tmp_path)
    _as_kaggle(tmp_path)
    table = tmp_path / "celeba" / "list_eval_partition.csv"
    table.write_text("".join(table.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(DatasetError, match="does not start with Kaggle's header line"):
        celeba_files(tmp_path, "train")
