"""Every chapter at the `full` profile's code path, on small datasets in the real on-disk formats.

DCGAN_FULL_SMOKE=1 keeps the full profile's datasets and branches (LSUN, CelebA, CIFAR-10, SVHN, MNIST through
their files; the full-only cells) at the ci profile's sizes, so that a student's first `PROFILE = "full"` run on
Colab meets no bug that this test has not met. The Inception FID runs on stand-in features where its weights
cannot be downloaded (DCGAN_FID_STANDIN=1); everything else is the real path.
"""
import json
from pathlib import Path

import pytest
from real_fixtures import write_all

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("real-data"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_at_the_full_profile_on_real_format_data(chapter, real_data, cache, tmp_path, monkeypatch):
    import papermill

    for name, value in {"DCGAN_FULL_SMOKE": "1", "DCGAN_FID_STANDIN": "1", "DCGAN_REAL_DATA": str(real_data),
                        "DCGAN_DATA_DIR": str(cache / "data"), "DCGAN_RUNS_DIR": str(cache / "runs"),
                        "DCGAN_PROGRESS": "0", "DCGAN_HEADLESS": "1", "DCGAN_PROFILE": "full"}.items():
        monkeypatch.setenv(name, value)
    parameters = {"PROFILE": "full"}
    if chapter.stem == "05_forgetting":   # real data has no locator: boxes drawn by hand, as in the paper
        parameters["BOXES_FILE"] = str(real_data / "hand_boxes.pt")
    papermill.execute_notebook(str(chapter), str(tmp_path / chapter.name), parameters=parameters,
                               cwd=str(chapter.parent), progress_bar=False, kernel_name="python3",
                               execution_timeout=900)  # a bound on every cell: a hung kernel fails the test
    if chapter.stem == "02_training":     # its LSUN model trained from the decoded file, not the lmdb each epoch
        assert list((cache / "data" / "decoded").glob("lsun-train-64px-*/images.u8"))


def test_the_training_chapter_runs_at_full_on_a_flat_folder_without_test(cache, tmp_path, monkeypatch):
    """A user's camera folder (flat, no test/): the chapter holds a tenth out by name and measures on it."""
    import papermill
    from real_fixtures import write_flat_photos

    photos = write_flat_photos(tmp_path / "camera", n=400)
    for name, value in {"DCGAN_FULL_SMOKE": "1", "DCGAN_FID_STANDIN": "1", "DCGAN_REAL_DATA": str(photos),
                        "DCGAN_DATA_DIR": str(cache / "data"), "DCGAN_RUNS_DIR": str(cache / "runs"),
                        "DCGAN_PROGRESS": "0", "DCGAN_HEADLESS": "1", "DCGAN_PROFILE": "full"}.items():
        monkeypatch.setenv(name, value)
    chapter = ROOT / "book" / "02_training.ipynb"
    papermill.execute_notebook(str(chapter), str(tmp_path / chapter.name),
                               parameters={"PROFILE": "full", "DATASET": "folder"}, cwd=str(chapter.parent),
                               progress_bar=False, kernel_name="python3", execution_timeout=900)
    assert "held out for measuring" in (tmp_path / chapter.name).read_text()
    distances = [e for e in json.loads((cache / "runs" / "metrics" / "training.json").read_text())
                 if e["name"].startswith("fid_") and e["dataset"] == "folder"]
    assert distances and all(e["features"] == "stand-in" for e in distances)   # flagged, never taken for real


def test_the_classification_chapter_follows_the_papers_protocol_with_d_trained_on_a_folder(tmp_path, monkeypatch):
    """Chapter 08 at `full` with TRANSFER="folder": D learns from a user's class folders (ImageNet-1k's layout,
    train/ and a held-out folder) and its features classify CIFAR-10, which it never saw: the paper's protocol."""
    import papermill
    from real_fixtures import write_cifar10, write_image_folder, write_svhn

    data = tmp_path / "data"   # each dataset in its own folder under the data folder, as on a student's machine
    write_cifar10(data / "cifar10", per_batch=200)
    write_svhn(data / "svhn", n_train=1200, n_test=300)
    write_image_folder(data / "folder", per_class=150, split=True)
    for name, value in {"DCGAN_FULL_SMOKE": "1", "DCGAN_FID_STANDIN": "1", "DCGAN_DATA_DIR": str(data),
                        "DCGAN_RUNS_DIR": str(tmp_path / "runs"), "DCGAN_PROGRESS": "0", "DCGAN_HEADLESS": "1",
                        "DCGAN_PROFILE": "full"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DCGAN_REAL_DATA", raising=False)
    chapter = ROOT / "book" / "08_classification.ipynb"
    papermill.execute_notebook(str(chapter), str(tmp_path / chapter.name),
                               parameters={"PROFILE": "full", "TRANSFER": "folder"}, cwd=str(chapter.parent),
                               progress_bar=False, kernel_name="python3", execution_timeout=900)
    executed = (tmp_path / chapter.name).read_text()
    assert "folder D (transfer)" in executed and "transfer D over K-means" in executed
