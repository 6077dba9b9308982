import json
from pathlib import Path

import pytest
import torch

from dcgan_lib.core import results, store
from dcgan_lib.core.runtime import pick_device
from dcgan_lib.train.configs import config_from_record
from dcgan_lib.train.loop import TrainConfig, load_trained, train
from dcgan_lib.zoo import model_config, pretrained, run_dir_for

CONFIG = TrainConfig(dataset="rooms", image_size=32, n_train=128, ngf=8, ndf=8, batch_size=32, epochs=2, n_fixed=16)


def random_images(n=128, seed=0):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


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
    assert straight.steps_per_epoch == 2              # 85 of the 96: a tenth is held out by name
    train(config, tmp_cache / "resumed", progress=False, stop_after_epoch=1)
    resumed = train(config, tmp_cache / "resumed", progress=False)
    assert states_equal(straight.generator.state_dict(), resumed.generator.state_dict())


def test_independent_runs_of_one_model_train_side_by_side_and_differ_only_by_seed(tmp_cache, monkeypatch):
    from dcgan_lib import zoo
    from dcgan_lib.zoo import pretrained_runs

    tiny = dict(image_size=32, ngf=4, ndf=4, n_train=32, batch_size=16, epochs=1)
    runs = pretrained_runs("faces", [0, 1], "ci", device="cpu", workers=2, progress=False, **tiny)
    assert [r.config.seed for r in runs] == [0, 1] and all(r.epochs_done == 1 for r in runs)
    assert {f for f in runs[0].config.__dataclass_fields__ if getattr(runs[0].config, f) != getattr(
        runs[1].config, f)} == {"seed"}
    first = [p for p in runs[0].generator.parameters()][0]
    assert not torch.equal(first, [p for p in runs[1].generator.parameters()][0])
    monkeypatch.setattr(zoo, "train", lambda *a, **k: pytest.fail("should load, not train"))
    again = pretrained_runs("faces", [0, 1], "ci", device="cpu", workers=2, progress=False, **tiny)
    assert torch.equal([p for p in again[1].generator.parameters()][0], [p for p in runs[1].generator.parameters()][0])


def test_the_faces_judge_names_its_group_and_refuses_a_dataset_without_labels(tmp_cache):
    from dcgan_lib.zoo import faces_judge

    predict, group = faces_judge("faces", "ci", image_size=32, epochs=1, progress=False)
    p = predict(torch.zeros(2, 3, 32, 32))
    assert group == "long_hair" and set(p) == {"smile", "glasses", "group", "yaw", "blend"}
    with pytest.raises(ValueError, match="DATASET='faces'.*'celeba'"):
        faces_judge("folder", "ci")
