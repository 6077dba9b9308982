"""The DCGAN with one of the paper's guidelines broken (§3, §4): the ablated networks of the guidelines chapter.

Each variant starts from the library's `Generator` and `Discriminator` and replaces the modules its guideline is
about, nothing else, so that any difference in training is that guideline's:

* `pooling`: max-pooling after a stride-1 convolution in D, nearest upsampling before one in G, instead of
  (fractionally-)strided convolutions;
* `fc_hidden`: a fully connected hidden layer at the bottom of G (z -> hidden -> 4×4 maps) and on top of D;
* `global_pool`: D ends in global average pooling and a linear unit instead of a 4×4 convolution;
* `no_batchnorm` / `batchnorm_everywhere`: no BatchNorm at all, or also on G's output and D's input layer;
* `relu_in_d`: ReLU instead of LeakyReLU(0.2) in D; `linear_output`: no Tanh on G's output.

The recipe's variants (a learning rate of 0.001, β1 = 0.9) keep the networks and change the optimiser's settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from dcgan_lib.models.dcgan import Discriminator, Generator, init_weights

FC_HIDDEN = 256   # units of the fully connected hidden layers of `fc_hidden`


@dataclass(frozen=True)
class Variant:
    """One broken guideline: what it changes, and the optimiser settings it trains with (the paper's if none)."""

    change: str
    recipe: dict = field(default_factory=dict)


VARIANTS = {
    "dcgan": Variant("the paper's DCGAN, every guideline kept"),
    "pooling": Variant("max-pooling in D, upsampling in G, instead of strided convolutions"),
    "fc_hidden": Variant("a fully connected hidden layer at the bottom of G and on top of D"),
    "global_pool": Variant("global average pooling at the top of D"),
    "no_batchnorm": Variant("no BatchNorm in G or D"),
    "batchnorm_everywhere": Variant("BatchNorm on every layer, G's output and D's input included"),
    "relu_in_d": Variant("ReLU instead of LeakyReLU in D"),
    "linear_output": Variant("no Tanh on G's output"),
    "lr_0.001": Variant("learning rate 0.001 instead of 0.0002", {"lr": 1e-3}),
    "beta1_0.9": Variant("Adam's β1 = 0.9 instead of 0.5", {"beta1": 0.9}),
}


def ablate(variant: str, G: Generator, D: Discriminator) -> tuple[Generator, Discriminator]:
    """G and D with `variant`'s guideline broken (in place; new modules initialised as the paper's)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is unknown: choose one of {', '.join(VARIANTS)}.")
    edit = _EDITS.get(variant)
    if edit is not None:
        edit(G, D)
        G.apply(init_weights)
        D.apply(init_weights)
    return G, D


def _pooling(G: Generator, D: Discriminator) -> None:
    for block in list(G.blocks[1:]) + [G.to_image]:
        up = block[0]
        block[0] = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                 nn.Conv2d(up.in_channels, up.out_channels, 3, 1, 1, bias=False))
    for block in D.blocks:
        down = block[0]
        block[0] = nn.Sequential(nn.Conv2d(down.in_channels, down.out_channels, 3, 1, 1, bias=False),
                                 nn.MaxPool2d(2))


def _fc_hidden(G: Generator, D: Discriminator) -> None:
    G.project = nn.Sequential(nn.Linear(G.nz, FC_HIDDEN, bias=False), nn.BatchNorm1d(FC_HIDDEN), nn.ReLU(True),
                              nn.Linear(FC_HIDDEN, G.project.out_features, bias=False))
    D.to_logit = nn.Sequential(nn.Flatten(), nn.Linear(D.to_logit.in_channels * 16, FC_HIDDEN),
                               nn.LeakyReLU(0.2, True), nn.Linear(FC_HIDDEN, 1))


def _global_pool(G: Generator, D: Discriminator) -> None:
    D.to_logit = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(D.to_logit.in_channels, 1))


def _no_batchnorm(G: Generator, D: Discriminator) -> None:
    for net in (G, D):
        for block in net.blocks:
            for i, module in enumerate(block):
                if isinstance(module, nn.BatchNorm2d):
                    block[i] = nn.Identity()


def _batchnorm_everywhere(G: Generator, D: Discriminator) -> None:
    G.to_image = nn.Sequential(G.to_image[0], nn.BatchNorm2d(G.nc), G.to_image[1])
    first = D.blocks[0]
    D.blocks[0] = nn.Sequential(first[0], nn.BatchNorm2d(first[0].out_channels), first[1])


def _relu_in_d(G: Generator, D: Discriminator) -> None:
    for block in D.blocks:
        block[-1] = nn.ReLU(True)


def _linear_output(G: Generator, D: Discriminator) -> None:
    G.to_image[1] = nn.Identity()


_EDITS = {"pooling": _pooling, "fc_hidden": _fc_hidden, "global_pool": _global_pool, "no_batchnorm": _no_batchnorm,
          "batchnorm_everywhere": _batchnorm_everywhere, "relu_in_d": _relu_in_d, "linear_output": _linear_output}
