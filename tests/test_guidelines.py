"""The guidelines chapter's parts: variants that break one guideline each, runs that may diverge and are stored
as such, and the measures that compare them."""
import math

import pytest
import torch
from torch import nn

from dcgan_lib.analysis.guidelines import RunFigures, class_entropy, measure_run, pinned, summarise
from dcgan_lib.models.dcgan import guideline_checks
from dcgan_lib.models.variants import VARIANTS, ablate
from dcgan_lib.train.configs import (
    AblationConfig,
    ConfigError,
    TrainConfig,
    build_models,
    config_from_record,
    config_record,
)

BROKEN = {  # variant -> the guideline checks of chapter 1 it must fail (and no other)
    "dcgan": set(), "lr_0.001": set(), "beta1_0.9": set(),
    "pooling": {"no pooling layers", "G upsamples with fractionally-strided 4x4 stride-2 convolutions",
                "D downsamples with strided 4x4 stride-2 convolutions"},
    "fc_hidden": {"no fully connected hidden layers"},
    "global_pool": {"no pooling layers"},
    "no_batchnorm": {"BatchNorm in every G layer but the output", "BatchNorm in every D layer but the input"},
    "batchnorm_everywhere": {"BatchNorm in every G layer but the output", "BatchNorm in every D layer but the input"},
    "relu_in_d": {"LeakyReLU(0.2) in every D layer"},
    "linear_output": {"ReLU in G, Tanh at its output"},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", [32, 64])
def test_each_variant_breaks_its_guideline_and_only_it(variant, size):
    G, D = build_models(AblationConfig(image_size=size, nc=1, ngf=4, ndf=4, variant=variant))
    assert {rule for rule, kept in guideline_checks(G, D).items() if not kept} == BROKEN[variant]
    images = G(torch.rand(3, 100) * 2 - 1)
    assert images.shape == (3, 1, size, size) and D(images).shape == (3,)


def test_the_dcgan_variant_is_the_dcgan_and_configs_round_trip():
    plain = build_models(TrainConfig(image_size=32, ngf=4, ndf=4))[0].state_dict()
    ablated = build_models(AblationConfig(image_size=32, ngf=4, ndf=4))[0].state_dict()
    assert all(torch.equal(plain[k], ablated[k]) for k in plain)
    config = AblationConfig(image_size=32, variant="no_batchnorm", lr=1e-3)
    assert config_from_record(config_record(config)) == config
    with pytest.raises(ConfigError, match="variant='no_bn' is not valid: use one of dcgan, pooling"):
        AblationConfig(variant="no_bn")
    with pytest.raises(ValueError, match="variant='x' is unknown"):
        ablate("x", *build_models(TrainConfig(image_size=32, ngf=4, ndf=4)))


def test_a_diverged_run_is_stored_as_such_and_loaded_without_training(tmp_cache, monkeypatch):
    from dcgan_lib.train.loop import TrainingDiverged
    from dcgan_lib.zoo import guidelines

    def diverge(*args, **kwargs):
        raise TrainingDiverged("Training diverged at step 7 (epoch 1): a loss became NaN or infinite.")

    monkeypatch.setattr(guidelines, "train", diverge)
    run = guidelines.pretrained_guideline("lr_0.001", 0, "ci", device="cpu", progress=False)
    assert run.result is None and "step 7" in run.diverged and run.config.lr == 1e-3
    monkeypatch.setattr(guidelines, "train", lambda *a, **k: pytest.fail("stored: should load, not train"))
    assert guidelines.pretrained_guideline("lr_0.001", 0, "ci", device="cpu").diverged == run.diverged


class Constant(nn.Module):
    """A generator that draws one image whatever z is: a total collapse."""

    nz = 100

    def __init__(self, image: torch.Tensor):
        super().__init__()
        self.image = nn.Parameter(image)

    def forward(self, z):
        return self.image.expand(len(z), *self.image.shape)


class ClassJudge(nn.Module):
    """Reads the class of a digit-like image as its mean brightness in tenths; features: row means."""

    n_classes = 10
    num_features = 8

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def features(self, x):
        return x.mean(1).mean(-1)[:, ::4].float()

    def predict(self, x):
        return {"label": ((x.mean((1, 2, 3)) + 1) / 2 * 10).long().clamp(0, 9)}


def test_a_trained_run_is_stored_and_measured(tmp_cache):
    from dcgan_lib.data import load_dataset
    from dcgan_lib.zoo import guidelines

    [run] = guidelines.pretrained_guidelines(["global_pool"], [0], "ci", device="cpu", progress=False)
    assert run.result.epochs_done == run.config.epochs and run.variant == "global_pool"
    real = load_dataset("mnist5k", 32, n=64, split="test").as_float()
    generators = [run.result.generator_at(e) for e in range(1, run.result.epochs_done + 1)]
    figures = measure_run("global_pool", 0, generators, run.result.history["d_fake"], "", real, ClassJudge(), 64)
    assert len(figures.distances) == run.config.epochs and all(math.isfinite(d) for d in figures.distances)
    assert 0 <= figures.class_entropy and figures.diversity > 0


def test_a_collapsed_generator_is_called_collapsed_and_a_varied_one_not():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(200, 1, 32, 32, generator=g) * 2 - 1
    real += torch.linspace(-0.9, 0.9, 200).view(-1, 1, 1, 1)       # ten brightness classes
    real = real.clamp(-1, 1)
    judge = ClassJudge()
    collapsed = measure_run("x", 0, [Constant(real[0])], [0.5] * 30, "", real, judge, 200)
    assert collapsed.collapsed and collapsed.diversity < 0.01 and collapsed.class_entropy < 0.1
    assert len(collapsed.distances) == 1 and math.isfinite(collapsed.final)
    diverged = measure_run("x", 0, None, [], "a loss became NaN", real, judge)
    assert diverged.failed and diverged.final == math.inf and diverged.epochs_to(1e9) is None


def test_pinned_discriminators_and_class_entropy():
    assert "near 0" in pinned([0.4] * 20 + [0.001] * 10) and "near 1" in pinned([0.5] * 6 + [0.999] * 3)
    assert pinned([0.4] * 20 + [0.001] * 9 + [0.3]) == ""
    assert class_entropy(torch.arange(10), 10) == pytest.approx(math.log(10))
    assert class_entropy(torch.zeros(5, dtype=torch.long), 10) == 0


def test_the_summary_compares_each_variant_with_the_dcgan():
    figures = [RunFigures("dcgan", 0, [9.0, 5.0, 4.0]), RunFigures("dcgan", 1, [8.0, 6.0, 5.0]),
               RunFigures("slow", 0, [20.0, 10.0, 4.4]), RunFigures("slow", 1, [], diverged="NaN"),
               RunFigures("fast", 0, [4.0, 6.0, 4.0])]
    summary = summarise(figures, epochs=3)
    assert summary["dcgan"]["median final distance"] == 4.0 and summary["dcgan"]["failure rate"] == 0
    assert summary["slow"]["failure rate"] == 0.5 and summary["slow"]["diverged"] == 1
    assert summary["dcgan"]["median epochs to the DCGAN's distance"] == 3      # torch's median: the lower one
    assert summary["slow"]["median epochs to the DCGAN's distance"] == 4       # never: epochs + 1
    assert summary["fast"]["median epochs to the DCGAN's distance"] == 1
    assert summary["fast"]["median oscillation"] == pytest.approx(0.5)


def test_the_drawn_ablation_has_its_own_data_and_steps_and_the_digits_runs_keep_theirs():
    """guideline_config(drawn=True) trains on the chapter's drawn dataset, in colour, for its own images and
    epochs; the default config (and so every stored digit run) is what it was."""
    from dcgan_lib.zoo import chapter_sizes, guideline_config

    sizes = chapter_sizes("guidelines", "book")
    digits, drawn = guideline_config("dcgan", 0, "book"), guideline_config("dcgan", 0, "book", drawn=True)
    assert (digits.dataset, digits.nc, digits.epochs, digits.n_train) == ("mnist5k", 1, sizes.epochs, None)
    assert (drawn.dataset, drawn.nc, drawn.epochs, drawn.n_train) == \
        (sizes.drawn, 3, sizes.drawn_epochs, sizes.drawn_n_train)
    assert guideline_config("lr_0.001", 1, "book", drawn=True).lr == 0.001
    with pytest.raises(ValueError, match="no drawn dataset at the full profile"):
        guideline_config("dcgan", 0, "full", drawn=True)


def test_the_papers_sentences_compare_the_right_variants():
    """Each sentence reads its variant's measure and a bar from the summary; the one about the DCGAN's distance
    names the images the runs learned."""
    from dcgan_lib.analysis.guidelines import paper_sentences

    summary = {v: {"failure rate": 0.2, "median final distance": 10.0, "median epochs to the DCGAN's distance": 3.0,
                   "median oscillation": 0.1} for v in VARIANTS}
    summary["fc_hidden"]["failure rate"] = 0.6
    sentences = {name: (words, variant, measure, op, bar)
                 for name, words, variant, measure, op, bar in paper_sentences(summary, "objects")}
    assert len(sentences) == 10 and "real objects" in sentences["dcgan_best_distance"][0]
    assert sentences["global_pool_more_stable"][1:] == ("global_pool", "failure rate", "<=", 0.6)
    assert all(variant in VARIANTS for _, variant, *_ in sentences.values())
