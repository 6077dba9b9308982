"""Class-conditional networks for the paper's §8.1: a conditional DCGAN and a fully connected ("GAN") baseline.

* **Conditional DCGAN.** The label enters G as a one-hot vector concatenated with z, and again as ten constant
  one-hot feature maps concatenated to the input of every later layer; D sees the same maps beside the image
  and beside every hidden layer (the scheme of the authors' released conditional MNIST code,
  Newmu/dcgan_code ``mnist/train_cond_dcgan.py``). Otherwise the book's DCGAN guidelines hold: no pooling,
  4×4 stride-2 (fractionally-)strided convolutions, no fully connected hidden layers, BatchNorm but at G's
  output and D's input, ReLU and Tanh in G, LeakyReLU(0.2) in D.
* **Fully connected GAN**, permutation invariant (the paper's "GAN" row): the image is a flat vector, G and D are
  multilayer perceptrons with the same conditioning (one-hot concatenated with z, and with the flat image), the
  same BatchNorm placement, activations, initialisation and optimiser.

Both are called as G(z, labels) and D(images, labels); `dcgan_lib.train.loop` trains them with the same loop
as the unconditional DCGAN.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lib.core.runtime import evaluating
from dcgan_lib.models.dcgan import init_weights, num_layers, sample_z

ARCHITECTURES = ("dcgan", "fc")


def one_hot(labels: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Labels (N,) as one-hot rows (N, n_classes)."""
    return F.one_hot(labels.long(), n_classes).to(dtype)


class LabelConcat(nn.Module):
    """A convolution (or transposed convolution) applied to [h, ten constant one-hot label maps].

    Convolution is linear, so conv([h, maps]) = conv(h, W_h) + conv(maps, W_label), and the second term depends
    only on the label: it is computed once per class (ten small images) and looked up, which gives the result of
    the concatenation at the cost of a convolution of h alone.
    """

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d, channels: int, n_classes: int):
        super().__init__()
        self.conv, self.channels, self.n_classes = conv, channels, n_classes
        self.transposed = isinstance(conv, nn.ConvTranspose2d)

    def _convolve(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        c = self.conv
        if self.transposed:
            return F.conv_transpose2d(x, weight, None, c.stride, c.padding)
        return F.conv2d(x, weight, None, c.stride, c.padding)

    def forward(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        w = self.conv.weight  # Conv2d: (out, in, k, k); ConvTranspose2d: (in, out, k, k)
        w_h, w_y = (w[:self.channels], w[self.channels:]) if self.transposed else \
            (w[:, :self.channels], w[:, self.channels:])
        eye = torch.eye(self.n_classes, dtype=h.dtype, device=h.device)[:, :, None, None]
        per_class = self._convolve(eye.expand(-1, -1, *h.shape[-2:]), w_y)
        out = self._convolve(h, w_h) + per_class[labels]
        return out if self.conv.bias is None else out + self.conv.bias.view(1, -1, 1, 1)

    def concatenated(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The plain definition: concatenate the label maps, then convolve (`forward` computes the same)."""
        maps = one_hot(labels, self.n_classes, h.dtype)[:, :, None, None].expand(-1, -1, *h.shape[-2:])
        return self.conv(torch.cat([h, maps], 1))


class ConditionalGenerator(nn.Module):
    """(z, label) -> image, a DCGAN generator told the label at every layer.

    z and the one-hot label are concatenated and projected to 4×4; before every fractionally-strided
    convolution the label is concatenated again as constant one-hot feature maps (as in the authors' released
    conditional MNIST code). BatchNorm and ReLU in every layer but the output, Tanh at the output.
    """

    def __init__(self, image_size: int = 32, nz: int = 100, ngf: int = 64, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        n = num_layers(image_size)
        self.image_size, self.nz, self.nc, self.n_classes = image_size, nz, nc, n_classes
        widths = [ngf * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 4·ngf, 2·ngf, ngf at 32×32
        self.project = nn.Linear(nz + n_classes, widths[0] * 16, bias=False)
        self.project_bn = nn.BatchNorm2d(widths[0], affine=bn_affine)
        self.ups = nn.ModuleList(
            LabelConcat(nn.ConvTranspose2d(c_in + n_classes, c_out, 4, 2, 1, bias=False), c_in, n_classes)
            for c_in, c_out in zip(widths[:-1], widths[1:]))
        self.bns = nn.ModuleList(nn.BatchNorm2d(c, affine=bn_affine) for c in widths[1:])
        self.to_image = LabelConcat(nn.ConvTranspose2d(widths[-1] + n_classes, nc, 4, 2, 1, bias=False),
                                    widths[-1], n_classes)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z.flatten(1), one_hot(labels, self.n_classes, z.dtype)], 1))
        h = F.relu(self.project_bn(h.view(len(z), -1, 4, 4)))
        for up, bn in zip(self.ups, self.bns):
            h = F.relu(bn(up(h, labels)))
        return torch.tanh(self.to_image(h, labels))


class ConditionalDiscriminator(nn.Module):
    """(image, label) -> logit, a DCGAN discriminator told the label at every layer.

    The label is concatenated as constant one-hot feature maps to the image and to the input of every strided
    convolution, down to the last 4×4 convolution that gives the logit. BatchNorm in every layer but the input
    layer, LeakyReLU(0.2).
    """

    def __init__(self, image_size: int = 32, ndf: int = 64, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        n = num_layers(image_size)
        self.image_size, self.nc, self.n_classes = image_size, nc, n_classes
        widths = [ndf * 2 ** i for i in range(n)]  # e.g. ndf, 2·ndf, 4·ndf at 32×32
        c_ins = [nc] + widths[:-1]
        self.downs = nn.ModuleList(
            LabelConcat(nn.Conv2d(c_in + n_classes, c_out, 4, 2, 1, bias=False), c_in, n_classes)
            for c_in, c_out in zip(c_ins, widths))
        self.bns = nn.ModuleList([nn.Identity()] + [nn.BatchNorm2d(c, affine=bn_affine) for c in widths[1:]])
        self.to_logit = LabelConcat(nn.Conv2d(widths[-1] + n_classes, 1, 4, 1, 0, bias=False), widths[-1], n_classes)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = x
        for down, bn in zip(self.downs, self.bns):
            h = F.leaky_relu(bn(down(h, labels)), 0.2)
        return self.to_logit(h, labels).flatten()


class FCGenerator(nn.Module):
    """(z, label) -> image with fully connected layers only: [z, y] -> h -> [., y] -> 2h -> [., y] -> pixels (Tanh).

    The label (one-hot y) is concatenated to the input of every layer, as in the conditional DCGAN.
    """

    def __init__(self, image_size: int = 32, nz: int = 100, hidden: int = 256, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        self.image_size, self.nz, self.nc, self.n_classes = image_size, nz, nc, n_classes
        k = n_classes
        self.layers = nn.ModuleList([nn.Linear(nz + k, hidden, bias=False),
                                     nn.Linear(hidden + k, 2 * hidden, bias=False),
                                     nn.Linear(2 * hidden + k, nc * image_size * image_size)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(hidden, affine=bn_affine),
                                   nn.BatchNorm1d(2 * hidden, affine=bn_affine)])
        self.apply(_init_fc)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.n_classes, z.dtype)
        h = z.flatten(1)
        for layer, bn in zip(self.layers[:-1], self.bns):
            h = F.relu(bn(layer(torch.cat([h, y], 1))))
        x = torch.tanh(self.layers[-1](torch.cat([h, y], 1)))
        return x.view(-1, self.nc, self.image_size, self.image_size)


class FCDiscriminator(nn.Module):
    """(image, label) -> logit, permutation invariant: [flat image, y] -> 2h -> [., y] -> h -> [., y] -> 1.

    LeakyReLU(0.2), BatchNorm in the hidden layer but not at the input, label concatenated at every layer.
    """

    def __init__(self, image_size: int = 32, hidden: int = 256, nc: int = 1, n_classes: int = 10,
                 bn_affine: bool = True):
        super().__init__()
        self.image_size, self.nc, self.n_classes = image_size, nc, n_classes
        k = n_classes
        self.layers = nn.ModuleList([nn.Linear(nc * image_size * image_size + k, 2 * hidden),
                                     nn.Linear(2 * hidden + k, hidden, bias=False), nn.Linear(hidden + k, 1)])
        self.bns = nn.ModuleList([nn.Identity(), nn.BatchNorm1d(hidden, affine=bn_affine)])
        self.apply(_init_fc)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.n_classes, x.dtype)
        h = x.flatten(1)
        for layer, bn in zip(self.layers[:-1], self.bns):
            h = F.leaky_relu(bn(layer(torch.cat([h, y], 1))), 0.2)
        return self.layers[-1](torch.cat([h, y], 1)).flatten()


def _init_fc(module: nn.Module) -> None:
    """The paper's initialisation, N(0, 0.02) weights and N(1, 0.02) BatchNorm scales, for 1-d BatchNorm too."""
    init_weights(module)
    if isinstance(module, nn.BatchNorm1d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@torch.no_grad()
def generate_conditional(G: nn.Module, labels: torch.Tensor, seed: int = 0, prior: str = "uniform",
                         z: torch.Tensor | None = None, batch_size: int = 2000) -> torch.Tensor:
    """G(z, label) for each label, in [-1, 1] on the CPU, z ~ prior drawn with `seed` (or the given z)."""
    device = next(G.parameters()).device
    if z is None:
        z = sample_z(len(labels), G.nz, prior, generator=torch.Generator().manual_seed(seed))
    with evaluating(G):
        return torch.cat([G(zc.to(device), lc.to(device)).float().cpu()
                          for zc, lc in zip(z.split(batch_size), labels.split(batch_size))])
