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


def test_weights_round_trip(tmp_path):
    import torch

    net, other = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    store.save_weights(net, tmp_path / "w.pt", scores={"accuracy": 0.5})
    assert store.load_weights(other, tmp_path / "w.pt") == {"scores": {"accuracy": 0.5}}
    assert torch.equal(net.weight, other.weight)
