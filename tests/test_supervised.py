import torch

from dcgan_lib.analysis.supervised import SupervisedCNN, accuracy, train_supervised
from dcgan_lib.models import Discriminator


def test_same_architecture_as_d_with_a_class_head():
    net, D = SupervisedCNN(32, ndf=8, n_classes=10), Discriminator(32, ndf=8)
    assert [type(m) for m in net.blocks.modules()] == [type(m) for m in D.blocks.modules()]
    assert net(torch.zeros(3, 3, 32, 32)).shape == (3, 10)


def test_learns_an_easy_problem_and_keeps_best_setting():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    x = torch.randint(0, 100, (200, 3, 32, 32), dtype=torch.uint8, generator=g)
    x[y == 1, :, :16] += 150                        # class 1: bright top half
    res = train_supervised(x[:150], y[:150], x[150:], y[150:], settings=[{"lr": 1e-3}, {"lr": 1e-6}],
                           steps=30, batch_size=32, eval_every=10, ndf=8)
    assert res.val_accuracy >= 0.9 and res.setting["lr"] == 1e-3 and len(res.all_val_accuracies) == 2
    assert accuracy(res.model, x[150:], y[150:]) == res.val_accuracy


def test_augment_shifts_and_flips_whole_images():
    import pytest

    from dcgan_lib.analysis.supervised import augment

    x = torch.rand(6, 3, 8, 8) * 2 - 1
    assert augment(x, "none", torch.Generator()) is x
    shifted = augment(x, "shift", torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape
    for image, out in zip(x, shifted):      # each is the image moved by at most 2 pixels: its middle is there
        middle = out[:, 2:6, 2:6]
        assert any(torch.equal(middle, image[:, 2 + dy:6 + dy, 2 + dx:6 + dx])
                   for dy in range(-2, 3) for dx in range(-2, 3))
    flipped = augment(x, "shift+flip", torch.Generator().manual_seed(1))
    assert flipped.shape == x.shape and not torch.equal(flipped, shifted)
    with pytest.raises(ValueError, match="augment='rotate' is not valid"):
        augment(x, "rotate", torch.Generator())


def test_early_stopping_keeps_the_best_step_and_its_curve():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    x = torch.randint(0, 100, (200, 3, 32, 32), dtype=torch.uint8, generator=g)
    x[y == 1, :, :16] += 150
    res = train_supervised(x[:150], y[:150], x[150:], y[150:], settings=[{"lr": 1e-3, "augment": "shift"}],
                           steps=400, batch_size=32, eval_every=5, ndf=8, patience=3)
    assert res.stopped_early and res.steps_trained < 400 and res.best_step <= res.steps_trained
    assert [s for s, _ in res.curve] == list(range(5, res.steps_trained + 1, 5))
    assert max(a for _, a in res.curve) == res.val_accuracy == dict(res.curve)[res.best_step]
    assert res.steps_trained - res.best_step == 3 * 5           # three evaluations without improvement


def test_settings_are_chosen_at_select_steps_and_only_the_chosen_one_trains_on():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    x = torch.randint(0, 100, (200, 3, 32, 32), dtype=torch.uint8, generator=g)
    x[y == 1, :, :16] += 150
    res = train_supervised(x[:150], y[:150], x[150:], y[150:], settings=[{"lr": 1e-6}, {"lr": 1e-3}],
                           steps=40, select_steps=10, batch_size=32, eval_every=5, ndf=8)
    assert res.setting["lr"] == 1e-3 and len(res.all_val_accuracies) == 2
    assert res.steps_trained == 40 and [s for s, _ in res.curve] == list(range(5, 41, 5))
    # the chosen run continues where it was: its first 10 steps are those of a run that stops at 10
    short = train_supervised(x[:150], y[:150], x[150:], y[150:], settings=[{"lr": 1e-3}], steps=10,
                             batch_size=32, eval_every=5, ndf=8)
    assert res.curve[:2] == short.curve
