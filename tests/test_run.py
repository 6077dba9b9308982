import argparse
import re

import pytest
from real_fixtures import write_celeba, write_cifar10, write_image_folder, write_lsun, write_mnist, write_svhn

from dcgan_lib.tooling.chapters import chapters, resolve
from dcgan_lib.tooling.run import chapter_parameters, check, check_inception, main, parse_params


def args(**kw):
    base = dict(profile="full", chapters=["training"], param=[], data_dir=None, out=None, force=False)
    return argparse.Namespace(**{**base, **kw})


def test_chapters_are_found_by_short_name():
    assert "training" in chapters() and "architecture" in chapters()
    assert resolve(["training", "01_architecture.ipynb"])[1].name == "01_architecture.ipynb"


def test_parameters_are_parsed_as_literals_or_strings():
    assert parse_params(["DATASET=celeba", "EPOCHS=3", "DEVICE=None"]) == \
        {"DATASET": "celeba", "EPOCHS": 3, "DEVICE": None}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_params(["DATASET"])


def test_a_good_request_passes_and_force_allows_cpu(tmp_path):
    write_celeba(tmp_path)
    notebooks, params = check(args(param=["DATASET=celeba"], data_dir=str(tmp_path), force=True), gpu_available=False)
    assert [p.name for p in notebooks] == ["02_training.ipynb"]
    assert params == {"PROFILE": "full", "DATASET": "celeba"}


def test_command_line_exits_with_a_message(capsys):
    assert main(["--chapters", "nope", "--profile", "ci"]) == 2
    assert "Unknown chapter 'nope'" in capsys.readouterr().err


def test_a_chapters_parameters_are_read_from_its_parameters_cell():
    params = chapter_parameters(resolve(["forgetting"])[0])
    assert params["OBJECT"] == "window" and params["DATASET"] is None and "PROFILE" in params
    notebooks, _ = check(args(chapters="training,results", param=["DATASET=faces", "DEVICE=cpu"], force=True),
                         gpu_available=False)                     # known to one chosen chapter is enough
    assert len(notebooks) == 2


def test_a_data_dir_that_does_not_hold_the_dataset_is_refused_before_any_chapter(tmp_path):
    """A folder of PNGs passed as mnist (or an empty one as celeba) is refused in the runner's own words."""
    photos = write_image_folder(tmp_path / "photos", per_class=3)
    for dataset in ("mnist", "celeba"):
        with pytest.raises(ValueError, match=f"DATASET={dataset} with --data-dir .*dcgan-data check {dataset}") as err:
            check(args(param=[f"DATASET={dataset}"], data_dir=str(photos), force=True), gpu_available=False)
        assert "download=True" not in str(err.value) and "data_dir=" not in str(err.value)
    notebooks, _ = check(args(param=["DATASET=folder"], data_dir=str(photos), force=True), gpu_available=False)
    assert len(notebooks) == 1


def test_a_chapters_default_dataset_at_full_is_checked_too(tmp_path):
    """Without --param DATASET, the training chapter reads LSUN at full: a --data-dir holding MNIST is refused
    before any chapter, naming what the chapter reads and the two fixes (probe R13b)."""
    write_mnist(tmp_path)
    with pytest.raises(ValueError, match="02_training reads lsun .*--param DATASET=<the dataset you have>"):
        check(args(data_dir=str(tmp_path), force=True), gpu_available=False)
    notebooks, _ = check(args(param=["DATASET=mnist"], data_dir=str(tmp_path), force=True), gpu_available=False)
    assert len(notebooks) == 1
    write_lsun(tmp_path)
    check(args(data_dir=str(tmp_path), force=True), gpu_available=False)
    with pytest.raises(ValueError, match="08_classification reads cifar10"):   # 08: CIFAR-10, SVHN and the transfer D
        check(args(chapters=["classification"], data_dir=str(tmp_path), force=True), gpu_available=False)
    write_cifar10(tmp_path), write_svhn(tmp_path)
    check(args(chapters=["classification"], data_dir=str(tmp_path), force=True), gpu_available=False)


def test_a_data_dir_no_chosen_chapter_reads_is_refused(tmp_path):
    """At ci the training chapter reads generated rooms: a --data-dir would be ignored without a word."""
    with pytest.raises(ValueError, match="no chosen chapter reads a real dataset at --profile ci.*--param DATASET"):
        check(args(profile="ci", data_dir=str(tmp_path)), gpu_available=False)


def test_data_dir_is_where_the_real_data_is_not_the_cache(tmp_path, monkeypatch):
    """--data-dir names the real data itself (for DATASET=folder, the folder of images); the cache stays put."""
    from dcgan_lib.core import paths
    from dcgan_lib.data import load_dataset

    photos = tmp_path / "my_faces" / "all"
    photos.mkdir(parents=True)
    from PIL import Image
    for i in range(3):
        Image.new("RGB", (40, 40), (80 * i, 0, 0)).save(photos / f"{i}.png")
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DCGAN_REAL_DATA", str(tmp_path / "my_faces"))
    assert paths.real_data_root("folder") == tmp_path / "my_faces"
    assert len(load_dataset("folder", 32)) == 3
    assert paths.data_dir() == tmp_path / "cache"
    monkeypatch.delenv("DCGAN_REAL_DATA")
    assert paths.real_data_root("cifar10") == tmp_path / "cache" / "cifar10"


def test_missing_inception_weights_are_said_before_any_training(monkeypatch):
    from dcgan_lib.analysis import metrics

    def offline():
        raise RuntimeError("the Inception FID needs the Inception weights, which could not be downloaded")

    monkeypatch.setattr(metrics, "inception_fid", offline)
    training = resolve(["training"])
    with pytest.raises(ValueError, match="Inception FID on celeba.*could not be downloaded"):
        check_inception(training, "celeba", "full")
    with pytest.raises(ValueError, match="Inception FID on lsun"):
        check_inception(training, None, "full")                 # full's own dataset is real
    check_inception(training, None, "book")                     # rooms: the judge measures, no Inception
    check_inception(resolve(["latent_walks"]), "celeba", "full")


@pytest.mark.parametrize("request_, words", [
    (dict(chapters=["training,training"]), "names 02_training more than once"),
    (dict(param=["DATASET=folder"]), "DATASET=folder needs --data-dir"),
    (dict(param=["DATASET=rooms"], data_dir="."), "--data-dir is for a real dataset"),
    (dict(param=["DEVICE=gpu"]), "DEVICE='gpu': 'gpu' is not a device name"),
    (dict(param=["DEVICE=3"]), "DEVICE=3: give a name such as cuda or cpu"),
    (dict(param=["DATASET=rooms", "DATASET=faces"]), "DATASET is given twice"),
    (dict(out=__file__), "is a file"),
])
def test_a_request_a_new_user_might_make_is_refused_before_any_work(request_, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        check(args(force=True, **request_), gpu_available=False)


def test_chapters_given_twice_are_both_run_and_a_spaced_parameter_is_read():
    notebooks, params = check(args(chapters=["training", "architecture"], param=["DATASET = faces"], force=True),
                              gpu_available=False)
    assert [n.stem for n in notebooks] == ["02_training", "01_architecture"] and params["DATASET"] == "faces"


def test_a_folder_with_a_file_no_chapter_can_use_is_refused_before_any_chapter(tmp_path):
    """Probe 3 R23/R24: a thumbnail too small for the profile and a HEIC photo named .jpg stop a chapter after it
    started; the runner reads every image's header first and names them."""
    from PIL import Image

    photos = write_image_folder(tmp_path / "photos", per_class=6)
    check(args(profile="ci", param=["DATASET=folder"], data_dir=str(photos)), gpu_available=False)
    first, second = sorted(d for d in photos.iterdir() if d.is_dir())[:2]
    Image.new("RGB", (12, 12)).save(first / "thumb.png")
    (second / "IMG_0001.jpg").write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    with pytest.raises(ValueError, match=r"2 of its .* images cannot be used:") as err:
        check(args(profile="ci", param=["DATASET=folder"], data_dir=str(photos)), gpu_available=False)
    assert "thumb.png: 12×12 pixels, under 16: remove it" in str(err.value)
    assert "IMG_0001.jpg: a HEIC photo under another name: convert it to JPEG" in str(err.value)
