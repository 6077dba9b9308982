"""Tests for the conditional models (dcgan_lib.models.conditional), their training by the one loop, their store
entries in the zoo, and dcgan_lib.data.mnist5k."""
import pytest
import torch
from torch import nn

from dcgan_lib import zoo
from dcgan_lib.core import store
from dcgan_lib.data import ImageDataset, load_mnist5k
from dcgan_lib.models.conditional import FCDiscriminator, FCGenerator, LabelConcat, generate_conditional
from dcgan_lib.train import loop
from dcgan_lib.train.configs import ConditionalConfig, build_models
from dcgan_lib.train.loop import load_trained, train
from dcgan_lib.zoo import conditional_config, conditional_run_dir, pretrained_conditional, pretrained_conditionals


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread avoids thread hand-off costs on a busy 2-core machine (tests run 10x faster)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = ConditionalConfig(dataset="random", n_train=64, width=4, batch_size=16, epochs=2)


def random_digits(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ImageDataset("random", torch.randint(0, 256, (n, 1, 32, 32), dtype=torch.uint8, generator=g),
                        labels=torch.arange(n) % 10)


@pytest.mark.parametrize("arch", ["dcgan", "fc"])
@pytest.mark.parametrize("bn_affine", [True, False])
def test_shapes_and_ranges(arch, bn_affine):
    G, D = build_models(ConditionalConfig(arch=arch, width=8, bn_affine=bn_affine))
    z, labels = torch.rand(6, 100) * 2 - 1, torch.tensor([0, 1, 2, 7, 8, 9])
    x = G(z, labels)
    assert x.shape == (6, 1, 32, 32) and x.abs().max() <= 1
    assert D(x, labels).shape == (6,)
    bn = [m for m in list(G.modules()) + list(D.modules()) if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    assert bn and all(m.affine == bn_affine for m in bn)


@pytest.mark.parametrize("arch", ["dcgan", "fc"])
def test_the_label_reaches_both_networks(arch):
    G, D = build_models(ConditionalConfig(arch=arch, width=8))
    G.eval(), D.eval()
    z = torch.rand(4, 100).repeat(2, 1)
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    x = G(z, labels)
    assert not torch.allclose(x[:4], x[4:])                 # same z, other label: another image
    assert torch.allclose(G(z, labels), x)                    # deterministic in eval mode
    image = x[:1].expand(8, -1, -1, -1)
    logits = D(image, labels)
    assert logits.unique().numel() == 8                        # same image, other label: another verdict


@pytest.mark.parametrize("conv", [nn.Conv2d(3 + 10, 5, 4, 2, 1, bias=False), nn.Conv2d(3 + 10, 1, 4, 1, 0),
                                  nn.ConvTranspose2d(3 + 10, 5, 4, 2, 1, bias=False)])
def test_label_maps_by_lookup_equal_concatenated_maps(conv):
    layer = LabelConcat(conv, 3, 10)
    h, labels = torch.randn(12, 3, 8, 8), torch.randint(0, 10, (12,))
    assert torch.allclose(layer(h, labels), layer.concatenated(h, labels), atol=1e-5)


def test_conditional_dcgan_follows_the_guidelines():
    G, D = build_models(ConditionalConfig(arch="dcgan", width=8))
    g_mods, d_mods = list(G.modules()), list(D.modules())
    pooling = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    assert not any(isinstance(m, pooling) for m in g_mods + d_mods)
    convs = [m for m in g_mods + d_mods if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert all(c.stride == (2, 2) for c in convs if c is not D.to_logit.conv)
    assert [m for m in g_mods if isinstance(m, nn.Linear)] == [G.project] and G.project.in_features == 110
    assert not any(isinstance(m, nn.Linear) for m in d_mods)
    assert len(G.bns) == len(G.ups) and isinstance(D.bns[0], nn.Identity)          # no BN at D's input
    assert all(isinstance(b, nn.BatchNorm2d) for b in D.bns[1:])
    # every layer sees the label: 10 extra input channels
    assert all(layer.conv.weight.shape[0 if layer.transposed else 1] == layer.channels + 10
               for layer in [*G.ups, G.to_image, *D.downs, D.to_logit])


def test_fully_connected_baseline_is_permutation_invariant():
    G, D = build_models(ConditionalConfig(arch="fc", width=8))
    assert isinstance(G, FCGenerator) and isinstance(D, FCDiscriminator)
    assert not any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in list(G.modules()) + list(D.modules()))
    # Permuting the pixels and D's input weights the same way gives the same logits.
    D.eval()
    x, labels = torch.rand(5, 1, 32, 32), torch.arange(5)
    perm = torch.randperm(1024)
    first = D.layers[0]
    before = D(x, labels)
    with torch.no_grad():
        first.weight[:, :1024] = first.weight[:, :1024][:, perm]
    after = D(x.flatten(1)[:, perm].view_as(x), labels)
    assert torch.allclose(before, after, atol=1e-5)


def test_the_one_loop_trains_resumes_and_loads_a_conditional_model(tmp_cache):
    data = random_digits()
    straight = train(TINY, tmp_cache / "straight", data=data, progress=False)
    assert len(straight.history["loss_d"]) == 2 * 4 and all(torch.isfinite(torch.tensor(straight.history["loss_g"])))
    assert (tmp_cache / "straight" / "samples_epoch002.png").exists()         # the loop's per-epoch grid
    half = train(TINY, tmp_cache / "half", data=data, progress=False, stop_after_epoch=1)
    assert half.epochs_done == 1
    resumed = train(TINY, tmp_cache / "half", data=data, progress=False)
    assert resumed.history == straight.history
    loaded = load_trained(tmp_cache / "straight", device="cpu")
    assert loaded.epochs_done == 2 and loaded.config == TINY and loaded.train_seconds > 0
    assert all(torch.equal(a, b) for a, b in zip(straight.generator.state_dict().values(),
                                                 loaded.generator.state_dict().values()))
    labels = torch.arange(20) % 10
    assert torch.equal(generate_conditional(straight.generator, labels, seed=3),
                       generate_conditional(loaded.generator, labels, seed=3))


def test_a_conditional_run_resumes_within_an_epoch_exactly(tmp_cache, monkeypatch):
    data = random_digits()
    straight = train(TINY, tmp_cache / "straight", data=data, progress=False)
    real_step, calls = loop.train_step, {"n": 0}

    def interrupted_step(*args):
        calls["n"] += 1
        assert len(args) == 8 and args[-1].shape == (16,)                        # the batch's labels are passed on
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(loop, "train_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        train(TINY, tmp_cache / "resumed", data=data, progress=False, checkpoint_every=2)
    monkeypatch.setattr(loop, "train_step", real_step)
    resumed = train(TINY, tmp_cache / "resumed", data=data, progress=False, checkpoint_every=2)
    assert resumed.history == straight.history
    assert all(torch.equal(a, b) for a, b in zip(straight.generator.state_dict().values(),
                                                 resumed.generator.state_dict().values()))


def test_pretrained_conditional_loads_the_second_time(tmp_cache, monkeypatch):
    data = random_digits()
    overrides = dict(dataset="random", n_train=None, width=4, batch_size=16, epochs=1)
    first = pretrained_conditional("dcgan", data, "ci", bn_affine=False, device="cpu", progress=False, **overrides)
    assert store.is_finished(conditional_run_dir(first.config))
    assert conditional_run_dir(first.config).parent.name == "conditional"
    monkeypatch.setattr(zoo, "train", lambda *a, **k: pytest.fail("should load, not train"))
    again = pretrained_conditional("dcgan", data, "ci", bn_affine=False, device="cpu", progress=False, **overrides)
    assert again.config == first.config and not again.config.bn_affine


def test_config_comes_from_the_chapter_sizes():
    config = conditional_config("fc", "book", bn_affine=False)
    assert config.arch == "fc" and config.dataset == "mnist5k" and not config.bn_affine
    with pytest.raises(ValueError, match="random"):
        pretrained_conditional("fc", random_digits(), "ci")


def test_the_data_must_be_what_the_config_names(tmp_cache):
    """A model is stored under its config: digits of the right name but another count are refused, not trained."""
    from dcgan_lib.data import load_mnist5k
    from dcgan_lib.zoo import conditional_digits

    assert len(conditional_digits("train", "ci")) == conditional_config("dcgan", "ci").n_train
    assert len(conditional_digits("test", "ci")) > 0
    with pytest.raises(ValueError, match="500 of 'mnist5k'.*conditional_digits"):
        pretrained_conditional("dcgan", load_mnist5k(32, 500, "train"), "ci")


def test_mnist5k_is_balanced_fixed_and_disjoint(tmp_cache):
    train, test = load_mnist5k(split="train"), load_mnist5k(split="test")
    assert train.images.shape == (4000, 1, 32, 32) and test.images.shape == (1000, 1, 32, 32)
    assert train.name == "mnist5k" and train.images.dtype == torch.uint8
    assert torch.equal(train.labels.bincount(), torch.full((10,), 400))
    assert torch.equal(test.labels.bincount(), torch.full((10,), 100))
    assert torch.equal(load_mnist5k(n=30).labels.bincount(), torch.full((10,), 3))
    assert (train.images[:, :, :2].amax() == 0) and (train.images[..., -2:].amax() == 0)   # zero padding
    assert train.images.float().mean() > 10
    # no test digit is also a training digit
    flat_train, flat_test = train.images.flatten(1).float(), test.images.flatten(1).float()
    assert torch.cdist(flat_test, flat_train).min() > 0
    assert list((tmp_cache / "data" / "generated").glob("mnist5k-train-32px-*/images.pt"))
    assert torch.equal(load_mnist5k(split="train").images, train.images)                   # from the cache
    assert load_mnist5k(image_size=64, n=10).images.shape == (10, 1, 64, 64)


def test_several_models_train_side_by_side_in_worker_processes(tmp_cache, monkeypatch):
    data = random_digits()
    overrides = dict(dataset="random", n_train=None, width=4, batch_size=16, epochs=1)
    variants = [("dcgan", False), ("fc", True)]
    models = pretrained_conditionals(variants, data, "ci", device="cpu", workers=2, progress=False, **overrides)
    assert list(models) == variants
    assert models["fc", True].config.arch == "fc" and models["fc", True].config.bn_affine
    assert all(r.epochs_done == 1 and len(r.history["loss_d"]) == 4 for r in models.values())
    monkeypatch.setattr(zoo, "train", lambda *a, **k: pytest.fail("should load, not train"))
    again = pretrained_conditionals(variants, data, "ci", device="cpu", workers=2, progress=False, **overrides)
    for m in variants:
        assert all(torch.equal(a, b) for a, b in zip(again[m].generator.state_dict().values(),
                                                     models[m].generator.state_dict().values()))
