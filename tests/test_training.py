import json
from pathlib import Path

import pytest
import torch

from dcgan_lib.core import results, store
from dcgan_lib.core.runtime import pick_device
from dcgan_lib.train import loop as training
from dcgan_lib.train.configs import ConfigError, config_from_record
from dcgan_lib.train.loop import TrainConfig, TrainingDiverged, load_trained, train
from dcgan_lib.zoo import model_config, pretrained, run_dir_for

CONFIG = TrainConfig(dataset="rooms", image_size=32, n_train=128, ngf=8, ndf=8, batch_size=32, epochs=2, n_fixed=16)


def random_images(n=128, seed=0):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_an_interruption_is_bit_identical(tmp_path):
    data = random_images()
    straight = train(CONFIG, tmp_path / "straight", device="cpu", data=data, progress=False)
    first = train(CONFIG, tmp_path / "resumed", device="cpu", data=data, progress=False, stop_after_epoch=1)
    assert first.epochs_done == 1
    resumed = train(CONFIG, tmp_path / "resumed", device="cpu", data=data, progress=False)
    assert resumed.epochs_done == 2
    assert states_equal(straight.generator.state_dict(), resumed.generator.state_dict())
    assert states_equal(straight.discriminator.state_dict(), resumed.discriminator.state_dict())
    assert straight.history == resumed.history


def test_resume_after_an_interruption_within_an_epoch_is_bit_identical(tmp_path, monkeypatch):
    data = random_images()
    straight = train(CONFIG, tmp_path / "straight", data=data, progress=False)
    calls = {"n": 0}
    real_step = training.train_step

    def interrupted_step(*args):
        calls["n"] += 1
        if calls["n"] == 4:  # Ctrl-C in the middle of the first epoch (4 steps per epoch)
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(training, "train_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        train(CONFIG, tmp_path / "resumed", data=data, progress=False, checkpoint_every=2)
    assert store.load(tmp_path / "resumed" / "checkpoint.pt")["step_in_epoch"] == 2
    monkeypatch.setattr(training, "train_step", real_step)
    resumed = train(CONFIG, tmp_path / "resumed", data=data, progress=False, checkpoint_every=2)
    assert states_equal(straight.generator.state_dict(), resumed.generator.state_dict())
    assert states_equal(straight.discriminator.state_dict(), resumed.discriminator.state_dict())
    assert straight.history == resumed.history


def test_checkpoint_round_trip_holds_everything(tmp_path):
    result = train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False)
    state = store.load(tmp_path / "checkpoint.pt")
    assert {"generator", "discriminator", "opt_g", "opt_d", "epoch", "step", "config", "rng", "history"} <= state.keys()
    assert state["epoch"] == 2 and state["step"] == 8 and config_from_record(state["config"]) == CONFIG
    loaded = load_trained(tmp_path, device="cpu")
    z = result.fixed_z
    assert torch.equal(loaded.generator(z), result.generator(z))
    assert len(loaded.history["loss_d"]) == 2 * (128 // 32)
    assert (tmp_path / "samples_epoch002.png").exists()
    assert torch.equal(loaded.generator_at(0).project.weight, train(CONFIG, tmp_path / "fresh", data=random_images(),
                       progress=False, stop_after_epoch=0).generator.project.weight)


def test_atomic_save_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "ckpt.pt"
    store.save_atomic({"a": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.save_atomic({"a": Unpicklable()}, path)
    assert torch.equal(store.load(path)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_a_corrupt_checkpoint_gives_a_clear_message(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="could not be read.*Delete it"):
        store.load(tmp_path / "checkpoint.pt")


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    good = train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    real_step = training.train_step
    monkeypatch.setattr(training, "train_step", lambda *a: real_step(*a) * float("nan"))
    with pytest.raises(TrainingDiverged, match=r"NaN or infinite.*last good checkpoint, 1 epochs and 4 steps"):
        train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False)
    state = store.load(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1
    assert states_equal(state["generator"], good.generator.state_dict())


def test_a_run_that_diverges_before_its_first_checkpoint_says_so(tmp_path, monkeypatch):
    real_step = training.train_step
    monkeypatch.setattr(training, "train_step", lambda *a: real_step(*a) * float("nan"))
    with pytest.raises(TrainingDiverged, match="No checkpoint was written yet"):
        train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False)


def test_non_finite_weights_never_replace_the_last_good_checkpoint(tmp_path, monkeypatch):
    good = train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    real_step, calls = training.train_step, {"n": 0}

    def poisoning_step(G, D, *rest):
        stats = real_step(G, D, *rest)
        calls["n"] += 1
        if calls["n"] == 4:  # the epoch's last update breaks the weights; its losses were still finite
            with torch.no_grad():
                next(G.parameters()).fill_(float("inf"))
        return stats

    monkeypatch.setattr(training, "train_step", poisoning_step)
    with pytest.raises(TrainingDiverged, match="weights became NaN or infinite.*last good checkpoint, 1 epochs"):
        train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False)
    assert states_equal(store.load(tmp_path / "checkpoint.pt")["generator"], good.generator.state_dict())


def test_images_outside_the_tanh_range_and_bad_options_are_refused(tmp_path):
    nan_images = random_images().float() / 127.5 - 1
    nan_images[5, 0, 3, 3] = float("nan")
    for images in (random_images().float(), nan_images):                        # 0..255 floats, and a NaN
        with pytest.raises(ValueError, match=r"not in \[-1, 1\].*x / 127.5 - 1"):
            train(CONFIG, tmp_path, device="cpu", data=images, progress=False)
    with pytest.raises(ValueError, match="precision='fp16' is not valid"):
        train(CONFIG, tmp_path, precision="fp16")
    with pytest.raises(ValueError, match="checkpoint_every=-1 is not valid"):
        train(CONFIG, tmp_path, checkpoint_every=-1)
    assert not list(tmp_path.iterdir())                                         # refused before any work


@pytest.mark.parametrize("field, value, words", [
    ("epochs", 0, "at least 1"), ("batch_size", -4, "at least 1"), ("nz", 0, "at least 1"),
    ("image_size", "32", "built for \\[32, 64, 128\\]"), ("image_size", 32.0, "built for"), ("n_train", True, "None"),
    ("lr", 1e6, "between 0 and 1"), ("prior", "gauss", "uniform"), ("nc", 2, "1 \\(grayscale\\) or 3")])
def test_a_config_no_run_could_use_is_refused_where_it_is_made(field, value, words):
    with pytest.raises(ConfigError, match=f"TrainConfig.{field}={value!r} is not valid.*{words}"):
        TrainConfig(**{field: value})


def test_resuming_with_another_config_is_refused(tmp_path):
    train(CONFIG, tmp_path, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    other = TrainConfig(**{**CONFIG.__dict__, "lr": 1e-3})
    with pytest.raises(ValueError, match="another config"):
        train(other, tmp_path, device="cpu", data=random_images(), progress=False)


def test_bad_data_gets_clear_messages(tmp_path):
    with pytest.raises(ValueError, match="fewer than one batch"):
        train(CONFIG, tmp_path / "a", data=random_images(8), progress=False)
    with pytest.raises(ValueError, match="image_size=32"):
        train(CONFIG, tmp_path / "b", data=torch.zeros(64, 3, 64, 64, dtype=torch.uint8), progress=False)
    with pytest.raises(ValueError, match="channel"):
        train(CONFIG, tmp_path / "c", data=torch.zeros(64, 1, 32, 32, dtype=torch.uint8), progress=False)


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device().type in {"cpu", "cuda", "mps"}


def test_load_or_train_trains_once_then_loads(tmp_cache):
    first = pretrained("rooms", "ci", progress=False, epochs=1, n_train=128, batch_size=32)
    config = model_config("rooms", "ci", epochs=1, n_train=128, batch_size=32)
    run_dir = run_dir_for("rooms", config)
    stamp = (run_dir / "checkpoint.pt").stat().st_mtime_ns
    second = pretrained("rooms", "ci", progress=False, epochs=1, n_train=128, batch_size=32)
    assert (run_dir / "checkpoint.pt").stat().st_mtime_ns == stamp  # loaded, not retrained
    assert torch.equal(first.generator.project.weight, second.generator.project.weight)
    with pytest.raises(ValueError, match="Unknown model"):
        pretrained("bedrooms", "ci")
    with pytest.raises(ValueError, match="Unknown profile"):
        pretrained("rooms", "huge")


def test_results_record(tmp_cache):
    results.record("training", "fid_ratio", 0.1, profile="ci", dataset="rooms")
    results.record("training", "fid_ratio", 0.2, profile="ci", dataset="rooms")
    results.record("training", "fid_ratio", 0.3, profile="book", dataset="rooms")
    entries = results.load("training")
    assert sorted(e["value"] for e in entries) == [0.2, 0.3]
    assert json.loads((Path(tmp_cache) / "runs" / "metrics" / "training.json").read_text()) == entries


def test_training_from_an_image_folder_goes_through_the_loader_and_resumes_exactly(tmp_cache):
    from PIL import Image

    root = tmp_cache / "data" / "folder" / "all"
    root.mkdir(parents=True)
    pixels = random_images(96, seed=5).permute(0, 2, 3, 1).numpy()
    for i, p in enumerate(pixels):
        Image.fromarray(p).resize((40, 40)).save(root / f"{i:03d}.png")  # resized and centre-cropped to 32 on load
    config = TrainConfig(dataset="folder", image_size=32, ngf=8, ndf=8, batch_size=32, epochs=2, n_fixed=4)
    straight = train(config, tmp_cache / "straight", progress=False)
    assert straight.steps_per_epoch == 3
    train(config, tmp_cache / "resumed", progress=False, stop_after_epoch=1)
    resumed = train(config, tmp_cache / "resumed", progress=False)
    assert states_equal(straight.generator.state_dict(), resumed.generator.state_dict())
