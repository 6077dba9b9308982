"""The small supervised CNNs that measure what the paper judged by eye: the judges and the object locator.

Both take images in [-1, 1] of any size, resized (with antialiasing) to a 32×32 input: cheap on a CPU, and
every object of the book's datasets is still visible. They share that input and the Conv-BN-ReLU block.
How they are trained and scored is in `dcgan_lib.analysis.judges` and `dcgan_lib.analysis.dissection`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    """A 3×3 convolution (padding keeps the size at stride 1), BatchNorm and ReLU: the CNNs' one block."""
    return [nn.Conv2d(c_in, c_out, 3, stride, dilation, dilation=dilation, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(True)]


class SmallCNN(nn.Module):
    """What the judges and the locator share: the 32×32 input and batched prediction in eval mode."""

    input_size = 32

    def resize(self, x: torch.Tensor) -> torch.Tensor:
        """Images resized (with antialiasing) to the 32×32 input."""
        if x.shape[-1] == self.input_size:
            return x
        return F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True,
                             align_corners=False)

    @torch.no_grad()
    def batched(self, images: torch.Tensor, batch_size: int = 500) -> list:
        """The network's outputs on `images` chunk by chunk, in eval mode, on its own device."""
        self.eval()
        device = next(self.parameters()).device
        return [self(chunk.to(device).float()) for chunk in images.split(batch_size)]


@dataclass(frozen=True)
class JudgeSpec:
    """What a judge predicts for one dataset."""

    classes: bool = False             # a softmax over dataset.labels
    binary: tuple[str, ...] = ()      # 0/1 attributes (sigmoid heads)
    continuous: tuple[str, ...] = ()  # real-valued attributes (regression heads)
    blend: bool = False               # also tell one image from a superposition of two (a 'blend' head)


class Judge(SmallCNN):
    """Three stride-2 blocks and global average pooling, with one head per quantity of its `spec`."""

    num_features = 128

    def __init__(self, image_size: int, nc: int, spec: JudgeSpec, n_classes: int = 0):
        super().__init__()
        self.image_size, self.nc, self.spec = image_size, nc, spec
        layers, c_in = [], nc
        for c_out in (32, 64, 128):  # 32 -> 16 -> 8 -> 4
            layers += conv_bn_relu(c_in, c_out, stride=2) + conv_bn_relu(c_out, c_out)
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(c_in, self.num_features), nn.ReLU(True))
        self.class_head = nn.Linear(self.num_features, n_classes) if spec.classes else None
        self.binary_head = nn.Linear(self.num_features, len(spec.binary)) if spec.binary else None
        self.continuous_head = nn.Linear(self.num_features, len(spec.continuous)) if spec.continuous else None
        self.blend_head = nn.Linear(self.num_features, 1) if spec.blend else None

    @property
    def n_classes(self) -> int:
        return self.class_head.out_features if self.class_head is not None else 0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (N × 128) of images in [-1, 1] of any size (resized to 32×32)."""
        return self.body(self.resize(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs: 'class' logits, 'binary' logits, 'continuous' values and the 'blend' logit (those the
        spec has)."""
        h = self.features(x)
        heads = {"class": self.class_head, "binary": self.binary_head, "continuous": self.continuous_head,
                 "blend": self.blend_head}
        return {name: head(h) for name, head in heads.items() if head is not None}

    def predict(self, images: torch.Tensor, batch_size: int = 500) -> dict[str, torch.Tensor]:
        """Per image: 'label' (class index), P(attribute) for each binary attribute, each continuous value, and
        'blend', the probability that the image is a superposition of images rather than one (if the spec has it)."""
        outs = self.batched(images, batch_size)
        merged = {k: torch.cat([o[k] for o in outs]).cpu() for k in outs[0]}
        result = {}
        if "class" in merged:
            result["label"] = merged["class"].argmax(1)
            result["class_probs"] = merged["class"].softmax(1)
        for i, name in enumerate(self.spec.binary):
            result[name] = merged["binary"][:, i].sigmoid()
        for i, name in enumerate(self.spec.continuous):
            result[name] = merged["continuous"][:, i]
        if "blend" in merged:
            result["blend"] = merged["blend"][:, 0].sigmoid()
        return result


class ObjectLocator(SmallCNN):
    """A fully-convolutional net: image in [-1, 1] (resized to 32×32) -> logit per cell of a 16×16 grid.

    A cell's target is 1 when its centre lies inside a box of the object (`dissection.boxes_to_mask`).
    """

    grid = 16

    def __init__(self, nc: int = 3, width: int = 16):
        super().__init__()
        w, self.nc = width, nc
        self.body = nn.Sequential(
            *conv_bn_relu(nc, w), *conv_bn_relu(w, 2 * w, stride=2),                        # 16×16
            *conv_bn_relu(2 * w, 2 * w, dilation=2), *conv_bn_relu(2 * w, 2 * w, dilation=4),
            *conv_bn_relu(2 * w, 2 * w), nn.Conv2d(2 * w, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 16, 16]."""
        return self.body(self.resize(x))[:, 0]

    def predict(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """P(cell inside the object) [N, 16, 16] for images in [-1, 1]."""
        return torch.cat([logits.sigmoid().cpu() for logits in self.batched(images, batch_size)])
