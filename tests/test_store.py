"""The one store: config keys and load-or-train."""
from dataclasses import dataclass, replace

import pytest

from dcgan_lib.core import store


@dataclass(frozen=True)
class Config:
    size: int = 4
    name: str = "a"


@dataclass(frozen=True)
class OtherConfig:
    size: int = 4
    name: str = "a"


def test_a_key_comes_from_the_config_alone():
    assert store.config_key(Config()) == store.config_key(Config(4, "a"))
    assert store.config_key(Config()) != store.config_key(replace(Config(), size=5))
    assert store.config_key(Config()) != store.config_key(OtherConfig())    # the type counts too
    assert store.config_key(Config()) != store.config_key(Config(), salt="data5")
    assert len(store.config_key(Config())) == 12
    with pytest.raises(TypeError, match="dataclass"):
        store.config_key({"size": 4})


def test_load_or_train_fits_once_then_builds(tmp_path):
    calls = []

    def fit(folder):
        calls.append("fit")
        (folder / "value.txt").write_text("42")
        return 42

    def build(folder):
        calls.append("build")
        return int((folder / "value.txt").read_text())

    assert store.load_or_train("things", Config(), build, fit, root=tmp_path, label="x") == 42
    assert store.load_or_train("things", Config(), build, fit, root=tmp_path, label="x") == 42
    assert calls == ["fit", "build"]
    folder = store.artefact_dir("things", Config(), root=tmp_path, label="x")
    assert folder.name == f"x-{store.config_key(Config())}" and store.is_finished(folder)


def test_an_interrupted_fit_is_not_taken_for_a_finished_one(tmp_path):
    def interrupted(folder):
        (folder / "half.txt").write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.load_or_train("things", Config(), lambda f: pytest.fail("nothing to build"), interrupted, root=tmp_path)
    folder = store.artefact_dir("things", Config(), root=tmp_path)
    assert not store.is_finished(folder) and (folder / "half.txt").exists()     # fit resumes from what is left
    resumed = store.load_or_train("things", Config(), lambda f: pytest.fail("should fit"),
                                  lambda f: (f / "half.txt").read_text() + " then done", root=tmp_path)
    assert resumed == "partial then done" and store.is_finished(folder)


def test_weights_round_trip(tmp_path):
    import torch

    net, other = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    store.save_weights(net, tmp_path / "w.pt", scores={"accuracy": 0.5})
    assert store.load_weights(other, tmp_path / "w.pt") == {"scores": {"accuracy": 0.5}}
    assert torch.equal(net.weight, other.weight)


def test_a_folder_whose_record_does_not_match_the_config_is_refused(tmp_path):
    store.load_or_train("things", Config(), lambda f: 1, lambda f: 1, root=tmp_path)
    other = store.artefact_dir("things", Config(size=5), root=tmp_path)
    store.artefact_dir("things", Config(), root=tmp_path).rename(other)         # moved by hand
    with pytest.raises(ValueError, match="another config.*delete the folder"):
        store.load_or_train("things", Config(size=5), lambda f: 1, lambda f: 1, root=tmp_path)


def test_two_askers_of_one_artefact_make_it_once(tmp_path):
    import threading
    import time

    fits, results = [], []

    def fit(folder):
        fits.append(1)
        time.sleep(0.5)                       # long enough for the second asker to arrive while this one works
        (folder / "value.txt").write_text("7")
        return 7

    def ask():
        results.append(store.load_or_train("things", Config(), lambda f: int((f / "value.txt").read_text()), fit,
                                           root=tmp_path))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fits == [1] and results == [7, 7]


def test_a_full_disk_says_so_and_keeps_the_previous_file(tmp_path, monkeypatch):
    import errno

    import torch

    path = tmp_path / "checkpoint.pt"
    store.save_atomic({"epoch": 1}, path)
    monkeypatch.setattr(torch, "save", lambda obj, f: (_ for _ in ()).throw(
        RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0")))
    with pytest.raises(OSError, match="disk of .* is full.*previous checkpoint.pt .* is intact") as err:
        store.save_atomic({"epoch": 2}, path)
    assert err.value.errno == errno.ENOSPC
    assert store.load(path) == {"epoch": 1} and [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_unusable_folders_name_the_variable_to_set(tmp_path, monkeypatch):
    from dcgan_lib.core import paths

    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "a_file"))
    with pytest.raises(NotADirectoryError, match="is a file. Set DCGAN_DATA_DIR"):
        paths.data_dir()
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "a_file" / "below"))
    with pytest.raises(NotADirectoryError, match="Set DCGAN_DATA_DIR"):
        paths.data_dir()
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store.tempfile, "mkstemp", refused)                 # a read-only folder (even for root)
    with pytest.raises(PermissionError, match="read-only. Set DCGAN_RUNS_DIR"):
        store.save_atomic({"x": 1}, tmp_path / "runs" / "x.pt")
