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
