"""The judge networks: the blend head that tells one face from a superposition, and the judge cache."""
import torch

from dcgan_lib.analysis.judges import (
    JUDGE_SPECS,
    Judge,
    blend_pairs,
    celeba_targets,
    judge_loss,
    train_celeba_judge,
)
from dcgan_lib.core.store import artefact_dir, config_key
from dcgan_lib.data import load_dataset
from dcgan_lib.zoo import DATA_VERSION, judge_config, pretrained_judge


def test_blend_pairs_mixes_a_share_of_rows_with_other_rows():
    images = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 3, 4, 4).contiguous()
    mixed, mask = blend_pairs(images, share=0.5, generator=torch.Generator().manual_seed(0))
    assert mask.sum() == 4 and mixed.shape == images.shape
    kept = mask == 0
    assert torch.equal(mixed[kept], images[kept])
    for row in torch.nonzero(mask).flatten():
        value = mixed[row, 0, 0, 0]
        assert value != images[row, 0, 0, 0]                       # never blended with itself
        assert torch.all(mixed[row] == value)                      # a weighted mean of two constant images
        assert images.min() <= value <= images.max()


def test_blend_pairs_leaves_a_single_image_alone():
    one = torch.rand(1, 3, 8, 8)
    mixed, mask = blend_pairs(one)
    assert torch.equal(mixed, one) and mask.sum() == 0


def test_faces_judge_has_a_blend_head_and_predicts_its_probability():
    judge = Judge(32, 3, JUDGE_SPECS["faces"]).eval()
    pred = judge.predict(torch.rand(5, 3, 32, 32) * 2 - 1)
    assert set(pred) == {"smile", "glasses", "long_hair", "yaw", "blend"}
    assert ((pred["blend"] >= 0) & (pred["blend"] <= 1)).all()
    assert "blend" not in Judge(32, 3, JUDGE_SPECS["rooms"]).eval().predict(torch.zeros(2, 3, 32, 32))


def test_judge_loss_ignores_the_labels_of_blended_rows_but_trains_the_blend_head_on_all():
    judge = Judge(32, 3, JUDGE_SPECS["faces"])
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    outputs = judge(x)
    single = torch.tensor([1.0, 1, 1, 0, 0, 1])
    targets = {"binary": torch.randint(0, 2, (6, 3)).float(), "continuous": torch.rand(6, 1),
               "blend": 1 - single}
    garbage = {**targets, "binary": targets["binary"].clone(), "continuous": targets["continuous"].clone()}
    garbage["binary"][single == 0] = 1 - garbage["binary"][single == 0]
    garbage["continuous"][single == 0] += 100.0
    assert torch.allclose(judge_loss(outputs, targets, single), judge_loss(outputs, garbage, single))
    flipped = {**targets, "blend": single}
    assert not torch.allclose(judge_loss(outputs, targets, single), judge_loss(outputs, flipped, single))


def test_pretrained_faces_judge_is_cached_and_loaded_again(tmp_cache):
    judge = pretrained_judge("faces", "ci", progress=False)
    folders = list((tmp_cache / "runs" / "judges").iterdir())
    config = judge_config("faces", "ci")
    assert folders == [artefact_dir("judges", config, salt=DATA_VERSION, label="faces")]
    assert folders[0].name.endswith(config_key(config, DATA_VERSION))   # named by its config alone
    assert sorted(p.name for p in folders[0].iterdir()) == [".lock", "artefact.json", "judge.pt"]
    assert config_key(judge_config("faces", "ci", epochs=2), DATA_VERSION) != config_key(config, DATA_VERSION)
    again = pretrained_judge("faces", "ci")
    faces = load_dataset("faces", 32, n=16, split="test", seed=5).as_float()
    assert torch.allclose(again.predict(faces)["blend"], judge.predict(faces)["blend"])


class _FakeCelebA(torch.utils.data.Dataset):
    """CelebA's item layout: image, (40 attributes, 10 landmark coordinates)."""

    attr_names = [f"attr{i}" for i in range(37)] + ["Smiling", "Eyeglasses", "Male"]

    def __len__(self):
        return 20

    def __getitem__(self, i):
        attributes = torch.tensor([0] * 37 + [i % 2, 0, 1])
        landmarks = torch.tensor([60, 100, 100, 100, 80 + (i % 3 - 1) * 10, 120, 0, 0, 0, 0])
        return torch.rand(3, 32, 32) * 2 - 1, (attributes, landmarks)


def test_celeba_targets_read_smile_glasses_not_male_and_a_yaw_from_the_landmarks():
    names = _FakeCelebA.attr_names
    attributes = torch.zeros(3, 40, dtype=torch.long)
    attributes[0, 37] = 1                                     # smiling
    attributes[1, 39] = 1                                     # male
    landmarks = torch.tensor([[60, 0, 100, 0, 80, 0, 0, 0, 0, 0],
                              [60, 0, 100, 0, 90, 0, 0, 0, 0, 0],
                              [60, 0, 100, 0, 200, 0, 0, 0, 0, 0]])
    targets = celeba_targets(attributes, landmarks, names)
    assert targets["binary"].tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 1]]
    assert targets["continuous"].flatten().tolist() == [0.0, 0.5, 1.0]      # centred, half turned, clipped


def test_train_celeba_judge_runs_on_celeba_shaped_data():
    judge = train_celeba_judge(32, n_train=16, epochs=1, dataset=_FakeCelebA(), num_workers=0)
    pred = judge.predict(torch.rand(4, 3, 32, 32) * 2 - 1)
    assert set(pred) == {"smile", "glasses", "group", "yaw", "blend"}
    assert all(torch.isfinite(v).all() for v in pred.values())
