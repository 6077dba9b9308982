"""Guided backpropagation (Springenberg et al. 2014), as the paper uses it to look inside D (§6.2, Fig. 5).

The gradient of one unit's activation with respect to the input image shows which pixels it depends on, but
plain gradients are noisy. Guided backpropagation changes only the backward pass through the rectifiers: a
gradient passes a ReLU where the forward input was positive (the ordinary ReLU derivative) *and* where the
gradient arriving from above is positive (the "deconvnet" rule). For D's LeakyReLU(0.2) the forward gate
becomes the LeakyReLU derivative (1 for positive inputs, 0.2 for negative ones), still multiplied by the
positive part of the incoming gradient; ``leaky_gate="relu"`` closes the negative side completely instead.

The forward pass is unchanged, so the activations (and the unit whose gradient we take) are the network's own.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from dcgan_lib.core.runtime import evaluating

LEAKY_GATES = ("derivative", "relu")


class _GuidedRectifier(torch.autograd.Function):
    """y = x for x > 0 and slope·x otherwise; backward: grad · [grad > 0] · (1 if x > 0 else gate)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float, gate: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.gate = gate
        return torch.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        local = torch.where(x > 0, torch.ones_like(x), torch.full_like(x, ctx.gate))
        return grad.clamp(min=0) * local, None, None


def guided_rectifier(x: torch.Tensor, negative_slope: float = 0.0, leaky_gate: str = "derivative") -> torch.Tensor:
    """ReLU (slope 0) or LeakyReLU (slope > 0) whose backward pass follows the guided-backpropagation rule."""
    if leaky_gate not in LEAKY_GATES:
        raise ValueError(f"leaky_gate={leaky_gate!r}: choose one of {LEAKY_GATES}")
    gate = negative_slope if leaky_gate == "derivative" else 0.0
    return _GuidedRectifier.apply(x, float(negative_slope), float(gate))


def guided_forward(modules: Iterable[nn.Module] | nn.Module, x: torch.Tensor, leaky_gate: str = "derivative",
                   return_all: bool = False) -> torch.Tensor | list[torch.Tensor]:
    """Run `modules` (an nn.Sequential or a list of modules, nested Sequentials allowed) on `x`, with every
    ReLU / LeakyReLU replaced by its guided version; with `return_all`, the output of each top-level module."""
    seq = [modules] if isinstance(modules, nn.Module) and not return_all else list(modules)
    outputs = []
    for module in seq:
        x = _run(module, x, leaky_gate)
        outputs.append(x)
    return outputs if return_all else x


def _run(module: nn.Module, x: torch.Tensor, leaky_gate: str) -> torch.Tensor:
    if isinstance(module, nn.Sequential):
        for child in module:
            x = _run(child, x, leaky_gate)
        return x
    if isinstance(module, nn.ReLU):
        return guided_rectifier(x, 0.0, leaky_gate)
    if isinstance(module, nn.LeakyReLU):
        return guided_rectifier(x, module.negative_slope, leaky_gate)
    return module(x)


def discriminator_features_guided(D: nn.Module, x: torch.Tensor, leaky_gate: str = "derivative") -> list[torch.Tensor]:
    """Every hidden layer's activations of a `dcgan_lib.models.dcgan.Discriminator`, computed with guided rectifiers
    (same values as ``D.features(x)``; only the backward pass differs). Put D in eval mode first."""
    return guided_forward(D.blocks, x, leaky_gate, return_all=True)


def guided_backprop(D: nn.Module, images: torch.Tensor, layer: int, channel: int | torch.Tensor,
                    position: str = "max", leaky_gate: str = "derivative") -> torch.Tensor:
    """Guided-backpropagation maps of one feature of D's hidden layer `layer` for each image.

    `channel` is one feature-map index for all images, or one per image. With ``position="max"`` the unit
    is the feature map's maximally responding location in each image (the paper's "maximal axis-aligned
    response"); with ``"sum"`` it is the whole map's sum. Returns maps shaped like `images` (D in eval mode).
    """
    if position not in ("max", "sum"):
        raise ValueError(f"position={position!r}: choose 'max' or 'sum'")
    x = images.detach().clone().requires_grad_(True)
    with evaluating(D):
        h = discriminator_features_guided(D, x, leaky_gate)[layer]
        channels = torch.as_tensor(channel, device=h.device).long().expand(len(x))
        maps = h[torch.arange(len(x), device=h.device), channels].flatten(1)      # [N, H*W]
        unit = maps.max(1).values if position == "max" else maps.sum(1)
        (grad,) = torch.autograd.grad(unit.sum(), x)
    return grad.detach()


@torch.no_grad()
def top_activating(D: nn.Module, images: torch.Tensor, layer: int, channels: Iterable[int], k: int,
                   batch_size: int = 500) -> torch.Tensor:
    """Indices [len(channels), k] of the images whose maximal response (over positions) of each channel of D's
    hidden layer `layer` is largest, best first (D in eval mode)."""
    device = next(D.parameters()).device
    channels = torch.as_tensor(list(channels)).long()
    with evaluating(D):
        peaks = torch.cat([D.features(chunk.to(device))[layer][:, channels.to(device)].flatten(2).amax(2).cpu()
                           for chunk in images.split(batch_size)])                  # [N, C]
    return peaks.topk(k, dim=0).indices.T.contiguous()


def positive_energy_fraction(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per map, the share of positive guided-backprop energy inside a region: Σ_mask e / Σ e with
    e = Σ_colours max(g, 0)² per pixel. `maps` [N, C, H, W], `masks` bool [N, H, W]; NaN when e is 0 everywhere."""
    energy = maps.clamp(min=0).pow(2).sum(1)                                     # [N, H, W]
    total = energy.flatten(1).sum(1)
    inside = (energy * masks.to(energy.dtype)).flatten(1).sum(1)
    return torch.where(total > 0, inside / total.clamp(min=1e-30), torch.full_like(total, float("nan")))
