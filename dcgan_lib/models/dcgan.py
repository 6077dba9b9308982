"""The DCGAN generator and discriminator (paper §3), built from the paper's guidelines.

* no pooling: the generator upsamples with fractionally-strided 4×4/stride-2 convolutions and the
  discriminator downsamples with strided 4×4/stride-2 convolutions;
* no fully connected hidden layers: z is projected by one matrix multiply reshaped to 4×4, and
  the discriminator's last convolution maps straight to a single logit;
* BatchNorm everywhere except the generator's output and the discriminator's input layer;
* ReLU in the generator (Tanh at the output), LeakyReLU(0.2) in the discriminator.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from dcgan_lib.core.runtime import evaluating

SUPPORTED_SIZES = {32: 3, 64: 4, 128: 5}  # image size -> number of stride-2 layers
PRIORS = ("uniform", "normal")


def num_layers(image_size: int) -> int:
    """Number of stride-2 (up- or down-sampling) layers needed to go between 4×4 and `image_size`."""
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(
            f"image_size={image_size} is not supported: DCGAN models here are built for "
            f"{sorted(SUPPORTED_SIZES)} (4×4 doubled by each stride-2 layer). Resize your data to one of them."
        )
    return SUPPORTED_SIZES[image_size]


def init_weights(module: nn.Module) -> None:
    """Initialise as the paper: conv/linear weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (nz) -> image (nc × size × size) in [-1, 1]; exposes its hidden feature maps and can zero chosen maps."""

    def __init__(self, image_size: int = 64, nz: int = 100, ngf: int = 64, nc: int = 3, bn_affine: bool = True):
        super().__init__()
        n = num_layers(image_size)
        self.image_size, self.nz, self.ngf, self.nc = image_size, nz, ngf, nc
        widths = [ngf * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 512, 256, 128, 64 at 64×64
        self.project = nn.Linear(nz, widths[0] * 4 * 4, bias=False)  # the "matrix multiply" of Fig. 1
        blocks = [nn.Sequential(nn.BatchNorm2d(widths[0], affine=bn_affine), nn.ReLU(True))]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            blocks.append(nn.Sequential(
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out, affine=bn_affine),
                nn.ReLU(True),
            ))
        self.blocks = nn.ModuleList(blocks)
        self.to_image = nn.Sequential(nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=False), nn.Tanh())
        self.apply(init_weights)

    @property
    def feature_channels(self) -> list[int]:
        """Number of feature maps of each hidden layer (index 0 is the 4×4 projection)."""
        return [block[-2].num_features for block in self.blocks]

    def forward(self, z: torch.Tensor, drop: Mapping[int, Sequence[int] | torch.Tensor] | None = None,
                return_features: bool = False):
        """Generate images; `drop={layer: maps}` zeroes those feature maps of that hidden layer at every location."""
        h = self.project(z.flatten(1)).view(z.shape[0], -1, 4, 4)
        features = []
        for layer, block in enumerate(self.blocks):
            h = block(h)
            if drop and layer in drop:
                keep = torch.ones(h.shape[1], device=h.device, dtype=h.dtype)
                keep[torch.as_tensor(drop[layer], device=h.device, dtype=torch.long)] = 0
                h = h * keep.view(1, -1, 1, 1)
            features.append(h)
        image = self.to_image(h)
        return (image, features) if return_features else image


class Discriminator(nn.Module):
    """image -> one real/fake logit per image; `features(x)` returns every layer's activations."""

    def __init__(self, image_size: int = 64, ndf: int = 64, nc: int = 3, bn_affine: bool = True):
        super().__init__()
        n = num_layers(image_size)
        self.image_size, self.ndf, self.nc = image_size, ndf, nc
        widths = [ndf * 2 ** i for i in range(n)]  # e.g. 64, 128, 256, 512 at 64×64
        blocks = [nn.Sequential(nn.Conv2d(nc, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True))]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out, affine=bn_affine),
                nn.LeakyReLU(0.2, True),
            ))
        self.blocks = nn.ModuleList(blocks)
        self.to_logit = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)  # 4×4 map -> one number
        self.apply(init_weights)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after every hidden layer, from the first (largest) to the last (4×4)."""
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one logit per image (apply a sigmoid for the probability that it is real)."""
        return self.to_logit(self.features(x)[-1]).flatten()


def sample_z(n: int, nz: int = 100, prior: str = "uniform", generator: torch.Generator | None = None,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Draw n latent vectors from the paper's U(-1, 1)^nz prior (or N(0, 1) with prior='normal')."""
    if prior == "uniform":
        z = torch.rand(n, nz, generator=generator, device=device) * 2 - 1
    elif prior == "normal":
        z = torch.randn(n, nz, generator=generator, device=device)
    else:
        raise ValueError(f"prior={prior!r} is unknown: choose one of {PRIORS}.")
    return z


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _outputs(head: nn.Module) -> int:
    """How many numbers the last convolution or linear layer of `head` gives per position."""
    last = [m for m in head.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
    return last.out_channels if isinstance(last, nn.Conv2d) else last.out_features


def guideline_checks(generator: Generator, discriminator: Discriminator) -> dict[str, bool]:
    """Check each of the paper's architecture guidelines on built models; maps guideline -> holds."""
    g_mods, d_mods = list(generator.modules()), list(discriminator.modules())
    pooling = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    g_convs = [m for m in g_mods if isinstance(m, nn.ConvTranspose2d)]
    d_convs = [m for m in d_mods if isinstance(m, nn.Conv2d)]
    g_acts = [type(m) for m in g_mods if isinstance(m, (nn.ReLU, nn.Tanh, nn.LeakyReLU, nn.Sigmoid))]
    d_acts = [m for m in d_mods if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid))]
    return {
        "no pooling layers": not any(isinstance(m, pooling) for m in g_mods + d_mods),
        "G upsamples with fractionally-strided 4x4 stride-2 convolutions":
            bool(g_convs) and all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in g_convs)
            and not any(isinstance(m, nn.Upsample) for m in g_mods),
        "D downsamples with strided 4x4 stride-2 convolutions":
            all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in d_convs[:-1]),
        "no fully connected hidden layers":
            [m for m in g_mods if isinstance(m, nn.Linear)] == [generator.project]
            and not any(isinstance(m, nn.Linear) and m.out_features > 1 for m in d_mods),
        "BatchNorm in every G layer but the output":
            all(isinstance(b[-2], nn.BatchNorm2d) for b in generator.blocks)
            and not any(isinstance(m, nn.BatchNorm2d) for m in generator.to_image.modules()),
        "BatchNorm in every D layer but the input":
            not any(isinstance(m, nn.BatchNorm2d) for m in discriminator.blocks[0].modules())
            and all(isinstance(b[1], nn.BatchNorm2d) for b in discriminator.blocks[1:]),
        "ReLU in G, Tanh at its output": g_acts[:-1] == [nn.ReLU] * (len(g_acts) - 1) and g_acts[-1] is nn.Tanh,
        "LeakyReLU(0.2) in every D layer": all(isinstance(a, nn.LeakyReLU) and a.negative_slope == 0.2 for a in d_acts),
        "D ends in a single logit": _outputs(discriminator.to_logit) == 1,
    }


@torch.no_grad()
def generate(G: Generator, n: int, batch_size: int = 500, seed: int = 0, prior: str = "uniform",
             z: torch.Tensor | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """n images from G (eval mode) in [-1, 1] on the CPU, from z ~ prior drawn with `seed` (or the given z)."""
    device = device or next(G.parameters()).device
    if z is None:
        z = sample_z(n, G.nz, prior, generator=torch.Generator().manual_seed(seed))
    with evaluating(G):
        return torch.cat([G(chunk.to(device)).float().cpu() for chunk in z.split(batch_size)])
