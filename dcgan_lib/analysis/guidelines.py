"""Measuring a trained GAN the way the guidelines chapter compares them: did it diverge, did it collapse, how
good did it get and how fast, and does its quality swing at the end.

* diverged: a loss became NaN or infinite, or D(G(z)) stayed pinned near 0 or 1 over the last third of training;
* collapsed: its samples cover the data's classes far more unevenly than the data (a judge reads the classes),
  or they are far less varied than real images (mean distance between two samples);
* quality: the Fréchet distance in the judge's features (Inception's without one) after each epoch;
* oscillation: how far that distance swings over the last three epochs, relative to its median there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from dcgan_lib.analysis.metrics import frechet_distance
from dcgan_lib.models.dcgan import generate

PINNED = 0.02            # D(G(z)) within this of 0 or 1 ...
PINNED_SHARE = 1 / 3     # ... over this last share of the steps: D has won for good
COLLAPSED_ENTROPY = 0.8  # class entropy below this share of the real data's
COLLAPSED_DIVERSITY = 0.6  # mean distance between samples below this share of the real images'


@dataclass
class RunFigures:
    """What one trained run measured: the chapter's table holds one row of these per variant and seed."""

    variant: str
    seed: int
    distances: list[float] = field(default_factory=list)  # after epochs 1, 2, ... (empty when diverged)
    diverged: str = ""          # why, when it did
    class_entropy: float = math.nan   # of the judge's class histogram, as a share of the real data's
    diversity: float = math.nan       # mean distance between samples over that between real images
    collapsed: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.diverged) or self.collapsed

    @property
    def final(self) -> float:
        return self.distances[-1] if self.distances and not self.diverged else math.inf

    @property
    def oscillation(self) -> float:
        last = self.distances[-3:]
        return (max(last) - min(last)) / float(torch.tensor(last).median()) if len(last) == 3 else math.nan

    def epochs_to(self, distance: float) -> int | None:
        """The first epoch whose distance is at most `distance` (None: never, or diverged)."""
        if self.diverged:
            return None
        return next((epoch for epoch, d in enumerate(self.distances, 1) if d <= distance), None)


def pinned(d_fake: list[float]) -> str:
    """Why D(G(z)) counts as pinned over the last third of the steps ('' when it is not)."""
    tail = torch.tensor(d_fake[-max(1, int(len(d_fake) * PINNED_SHARE)):])
    if len(tail) and (tail < PINNED).all():
        return "D(G(z)) stayed near 0: D rejects every sample, G gets no signal"
    if len(tail) and (tail > 1 - PINNED).all():
        return "D(G(z)) stayed near 1: D accepts every sample"
    return ""


def mean_pairwise_distance(images: torch.Tensor, n: int = 500) -> float:
    """The mean L2 distance between two different images among the first `n` (a measure of variety)."""
    flat = images[:n].flatten(1).double()
    d = torch.cdist(flat, flat)
    return float(d.sum() / (len(flat) * (len(flat) - 1)))


def class_entropy(labels: torch.Tensor, n_classes: int) -> float:
    """The entropy of a histogram of class labels, in nats."""
    p = torch.bincount(labels, minlength=n_classes).double() / len(labels)
    return float(-(p[p > 0] * p[p > 0].log()).sum())


@torch.no_grad()
def measure_run(variant: str, seed: int, generators: list[nn.Module] | None, d_fake: list[float], diverged: str,
                real: torch.Tensor, judge: nn.Module | None = None, n: int = 1000) -> RunFigures:
    """Measure one run: `generators` after each epoch (None when it diverged), its D(G(z)) per step, and `n`
    held-out real images in [-1, 1] (`judge`: a classifier with `features` and `predict`, or None for
    Inception's features and no class count). Samples are clamped to [-1, 1], as any picture of them is."""
    figures = RunFigures(variant, seed, diverged=diverged or pinned(d_fake))
    if generators is None:
        return figures
    real = real[:n]
    for G in generators:
        samples = generate(G, len(real), seed=1).clamp(-1, 1)
        figures.distances.append(frechet_distance(real, samples, judge))
    figures.diversity = mean_pairwise_distance(samples) / mean_pairwise_distance(real)
    collapsed = figures.diversity < COLLAPSED_DIVERSITY
    if judge is not None and getattr(judge, "n_classes", 0):
        ours, theirs = (judge.predict(x)["label"] for x in (samples, real))
        figures.class_entropy = class_entropy(ours, judge.n_classes) / class_entropy(theirs, judge.n_classes)
        collapsed = collapsed or figures.class_entropy < COLLAPSED_ENTROPY
    figures.collapsed = bool(collapsed)
    return figures


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(torch.tensor(finite).median()) if finite else math.inf


def summarise(figures: list[RunFigures], epochs: int, reference: str = "dcgan") -> dict[str, dict[str, float]]:
    """Per variant (in the order met): its runs, the share that failed (diverged or collapsed), the median final
    distance, the median epoch at which it first reached the `reference` variant's median final distance
    (`epochs + 1` for a run that never did) and the median oscillation."""
    target = _median([f.final for f in figures if f.variant == reference])
    rows: dict[str, dict[str, float]] = {}
    for variant in dict.fromkeys(f.variant for f in figures):
        runs = [f for f in figures if f.variant == variant]
        reached = [f.epochs_to(target) for f in runs]
        rows[variant] = {
            "runs": len(runs),
            "failure rate": sum(f.failed for f in runs) / len(runs),
            "diverged": sum(bool(f.diverged) for f in runs),
            "collapsed": sum(f.collapsed for f in runs),
            "median final distance": _median([f.final for f in runs]),
            "median epochs to the DCGAN's distance": _median([float(e or epochs + 1) for e in reached]),
            "median oscillation": _median([f.oscillation for f in runs if not f.diverged]),
        }
    return rows


FAIL, FINAL = "failure rate", "median final distance"
SPEED, OSCILLATION = "median epochs to the DCGAN's distance", "median oscillation"


def paper_sentences(summary: dict[str, dict[str, float]], images: str = "digits",
                    ) -> list[tuple[str, str, str, str, str, float]]:
    """The paper's sentences about the guidelines (§3, §4), each as a comparison on `summary` (see `summarise`):
    (name, the paper's words, the variant, the measure, the operator, the value it is compared with); `images`
    names what the runs learned, in the words of the sentences."""
    row = summary
    return [
        ("dcgan_fails_least", "the DCGAN fails no more often than any variant",
         "dcgan", FAIL, "<=", min(r[FAIL] for r in row.values())),
        ("dcgan_best_distance", f"the DCGAN ends closest to the real {images}",
         "dcgan", FINAL, "<=", min(r[FINAL] for r in row.values())),
        ("global_pool_more_stable", "global average pooling increased model stability (fails no more than a "
         "fully connected top)", "global_pool", FAIL, "<=", row["fc_hidden"][FAIL]),
        ("global_pool_slower", "global average pooling hurt convergence speed",
         "global_pool", SPEED, ">", row["dcgan"][SPEED]),
        ("batchnorm_prevents_collapse", "without BatchNorm the generator fails (collapses) more often",
         "no_batchnorm", FAIL, ">", row["dcgan"][FAIL]),
        ("batchnorm_everywhere_oscillates", "BatchNorm on every layer made samples oscillate",
         "batchnorm_everywhere", OSCILLATION, ">", row["dcgan"][OSCILLATION]),
        ("tanh_learns_faster", "the bounded Tanh output learns more quickly",
         "linear_output", SPEED, ">", row["dcgan"][SPEED]),
        ("leaky_relu_works_well", "LeakyReLU in D works at least as well as ReLU",
         "relu_in_d", FINAL, ">=", row["dcgan"][FINAL]),
        ("lr_0.001_too_high", "a learning rate of 0.001 is too high (ends farther)",
         "lr_0.001", FINAL, ">", row["dcgan"][FINAL]),
        ("beta1_0.9_oscillates", "β1 = 0.9 made training oscillate",
         "beta1_0.9", OSCILLATION, ">", row["dcgan"][OSCILLATION]),
    ]
