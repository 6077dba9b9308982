"""Dissecting the generator (paper §6.3.1): which of G's feature maps draw an object, and what happens without them.

The paper drew window boxes by hand on generated bedrooms, fitted a logistic regression on the second-highest
convolution layer of G to tell activations inside the boxes from activations at random places of the same
images, and zeroed every feature map with a positive weight. Here the boxes come from an *object locator*: a
small fully-convolutional network trained on the real `rooms` images and their ground-truth boxes, which
predicts for every cell of a grid whether it lies inside an object of one kind. It is kept in the store like the judges.

Pieces: `boxes_to_mask` (boxes -> grid of cells inside), `train_locator` (the detector, an `ObjectLocator` of
`dcgan_lib.models`; the book's own are `dcgan_lib.zoo.pretrained_locator`), `mask_to_boxes` (detections ->
boxes), `location_samples` (the regression's positives and negatives), `fit_location_regression` and
`maps_to_drop` (the paper's selection), `random_maps` (the control) and `attribute_rates` (a judge's rates with
and without a drop).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lib.analysis.minibatch import fit_minibatches
from dcgan_lib.core.runtime import evaluating
from dcgan_lib.data import load_dataset
from dcgan_lib.models.small_cnn import ObjectLocator


# ---------------------------------------------------------------------------------------------------------------------
# Boxes and grids
# ---------------------------------------------------------------------------------------------------------------------
def boxes_to_mask(boxes: torch.Tensor, image_size: int, grid: int) -> torch.Tensor:
    """Cells of a `grid`×`grid` map whose centre lies inside any box.

    `boxes` is [N, K, 4] (x0, y0, x1, y1 in pixels of an `image_size` image, NaN rows for absent objects);
    returns a bool tensor [N, grid, grid].
    """
    if boxes.dim() == 2:
        boxes = boxes[:, None]
    centres = (torch.arange(grid, dtype=torch.float32) + 0.5) * (image_size / grid)
    x0, y0, x1, y1 = (boxes[..., i, None, None] for i in range(4))  # [N, K, 1, 1]
    ys, xs = centres.view(1, 1, grid, 1), centres.view(1, 1, 1, grid)
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)        # NaN comparisons are False
    return inside.any(1)


def mask_to_boxes(mask: torch.Tensor, image_size: int, min_cells: int = 2) -> list[torch.Tensor]:
    """Boxes (pixels, [M, 4] per image) around the connected regions of a bool cell mask [N, grid, grid].

    Regions of fewer than `min_cells` cells are ignored (isolated false detections).
    """
    from scipy import ndimage

    grid = mask.shape[-1]
    scale = image_size / grid
    result = []
    for m in mask.cpu().numpy():
        labels, n = ndimage.label(m)
        boxes = []
        for region in ndimage.find_objects(labels):
            ys, xs = region
            if (labels[region] > 0).sum() >= min_cells:
                boxes.append([xs.start * scale, ys.start * scale, xs.stop * scale, ys.stop * scale])
        result.append(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    return result


def pad_boxes(boxes: Sequence[torch.Tensor]) -> torch.Tensor:
    """A list of [M_i, 4] boxes as one [N, max M_i, 4] tensor padded with NaN rows (the datasets' layout)."""
    k = max([len(b) for b in boxes] + [1])
    out = torch.full((len(boxes), k, 4), float("nan"))
    for i, b in enumerate(boxes):
        out[i, :len(b)] = b
    return out


def load_hand_boxes(path: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's route where no locator exists (real data): boxes drawn by hand on generated samples, from a
    torch file ``{'z': [N, nz], 'boxes': [N, K, 4] in pixels, NaN rows for no box}`` read without unpickling
    code. Returns (z, boxes)."""
    if path is None:
        raise ValueError("BOXES_FILE is None: on a real dataset there is no locator, so draw boxes on generated "
                         "samples (e.g. 150, as the paper did) and pass BOXES_FILE, a torch file "
                         "{'z': [N, nz], 'boxes': [N, K, 4] in pixels}.")
    labelled = torch.load(path, weights_only=True)
    if not isinstance(labelled, dict) or not {"z", "boxes"} <= set(labelled):
        raise ValueError(f"BOXES_FILE={path!r} must hold a dict with keys 'z' and 'boxes'")
    z, boxes = labelled["z"], labelled["boxes"]
    if z.dim() != 2 or boxes.dim() != 3 or boxes.shape[-1] != 4 or len(z) != len(boxes):
        raise ValueError(f"BOXES_FILE={path!r}: expected z [N, nz] and boxes [N, K, 4], got z "
                         f"{tuple(z.shape)} and boxes {tuple(boxes.shape)}")
    return z.float(), boxes.float()


# ---------------------------------------------------------------------------------------------------------------------
# The object locator
# ---------------------------------------------------------------------------------------------------------------------
def _degrade(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Training-time augmentation that makes real images look more like a small GAN's samples: blur and noise."""
    blur = torch.rand(len(x), 1, 1, 1, generator=rng) < 0.5
    soft = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    x = torch.where(blur, 0.5 * x + 0.5 * soft, x)
    return x + 0.05 * torch.rand(len(x), 1, 1, 1, generator=rng) * torch.randn(x.shape, generator=rng)


@dataclass
class LocatorScores:
    """Held-out per-cell scores of a locator."""

    accuracy: float
    precision: float
    recall: float


def locator_scores(locator: ObjectLocator, images: torch.Tensor, target: torch.Tensor) -> LocatorScores:
    """Per-cell accuracy, precision and recall (threshold 0.5) against a bool target mask [N, 16, 16]."""
    pred = locator.predict(images) > 0.5
    tp = (pred & target).sum().item()
    return LocatorScores(accuracy=(pred == target).float().mean().item(),
                         precision=tp / max(pred.sum().item(), 1), recall=tp / max(target.sum().item(), 1))


@dataclass(frozen=True)
class LocatorConfig:
    """Everything that determines a trained object locator (its key in the store)."""

    dataset: str = "rooms"   # an offline dataset with boxes
    obj: str = "window"      # the kind of object it finds
    image_size: int = 64
    n_train: int = 20000
    epochs: int = 10
    width: int = 16          # channels of its first layer
    seed: int = 0


def train_locator(config: LocatorConfig, device: torch.device | str = "cpu",
                  progress: bool | None = None) -> ObjectLocator:
    """Train a locator for object `config.obj` on a dataset's boxes; held-out scores in `locator.test_scores`."""
    dataset_name, obj, image_size, n_train = config.dataset, config.obj, config.image_size, config.n_train
    epochs, seed = config.epochs, config.seed
    train_set = load_dataset(dataset_name, image_size, n=n_train, split="train", seed=seed + 200)
    test_set = load_dataset(dataset_name, image_size, n=min(2000, n_train), split="test", seed=seed + 200)
    if obj not in train_set.boxes:
        raise ValueError(f"{dataset_name!r} has boxes for {sorted(train_set.boxes)}, not {obj!r}.")
    torch.manual_seed(seed)
    locator = ObjectLocator(train_set.channels, config.width).to(device)
    grid = locator.grid
    images = locator.resize(train_set.as_float())
    target = boxes_to_mask(train_set.boxes[obj], image_size, grid).float()
    pos = target.mean().clamp(1e-3, 0.5)
    optimizer = torch.optim.Adam(locator.parameters(), lr=2e-3)
    rng, batch_size = torch.Generator().manual_seed(seed), 128
    steps_per_epoch = len(images) // batch_size   # full batches only
    steps = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=4e-3, total_steps=max(steps, 1))
    pos_weight = ((1 - pos) / pos).sqrt().to(device)   # halfway to balanced classes

    def loss_of_batch(idx: torch.Tensor) -> torch.Tensor:
        logits = locator(_degrade(images[idx], rng).to(device))
        return F.binary_cross_entropy_with_logits(logits, target[idx].to(device), pos_weight=pos_weight)

    fit_minibatches(locator, loss_of_batch, len(images), batch_size, steps_per_epoch, epochs, optimizer,
                    schedule, rng, desc=f"{obj} locator for {dataset_name}", progress=progress)
    locator.eval()
    test_target = boxes_to_mask(test_set.boxes[obj], image_size, grid)
    locator.test_scores = locator_scores(locator, test_set.as_float(), test_target)
    return locator


# ---------------------------------------------------------------------------------------------------------------------
# The paper's logistic regression on G's feature maps
# ---------------------------------------------------------------------------------------------------------------------
def location_samples(features: torch.Tensor, inside: torch.Tensor, negatives_per_image: int | None = None,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Activation vectors at locations inside the boxes (label 1) and at random locations outside (label 0).

    `features` is [N, C, H, W] (one layer of G) and `inside` a bool [N, H, W] mask at the same resolution (use
    `boxes_to_mask(boxes, image_size, H)`). Negatives are drawn from the same images as the positives, as many per
    image as it has positives unless `negatives_per_image` is given. Returns X [M, C] and y [M].
    """
    if features.shape[0] != inside.shape[0] or features.shape[-2:] != inside.shape[-2:]:
        raise ValueError(f"features {tuple(features.shape)} and mask {tuple(inside.shape)} do not match")
    rng = torch.Generator().manual_seed(seed)
    flat = features.flatten(2).transpose(1, 2)   # [N, HW, C]
    mask = inside.flatten(1)
    xs, ys = [], []
    for i in torch.nonzero(mask.any(1)).flatten().tolist():
        pos = torch.nonzero(mask[i]).flatten()
        neg_pool = torch.nonzero(~mask[i]).flatten()
        k = min(negatives_per_image or len(pos), len(neg_pool))
        neg = neg_pool[torch.randperm(len(neg_pool), generator=rng)[:k]]
        xs += [flat[i, pos], flat[i, neg]]
        ys += [torch.ones(len(pos)), torch.zeros(len(neg))]
    if not xs:
        raise ValueError("no location lies inside a box: nothing to learn from")
    return torch.cat(xs), torch.cat(ys)


def fit_location_regression(X: torch.Tensor, y: torch.Tensor, C: float = 1.0, seed: int = 0):
    """Logistic regression (scikit-learn) predicting 'inside a box' from the activations of every feature map.

    Activations are used as they are (not standardised), so a positive weight means: the more this map fires,
    the more likely the location is inside the object, as in the paper. Returns the fitted model.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    model.fit(X.double().numpy(), y.numpy().astype(int))
    return model


def maps_to_drop(weights: torch.Tensor | np.ndarray, threshold: float = 0.0) -> torch.Tensor:
    """Indices of the feature maps whose regression weight is above `threshold` (the paper: > 0)."""
    weights = torch.as_tensor(np.asarray(weights)).flatten()
    return torch.nonzero(weights > threshold).flatten()


def random_maps(n_maps: int, k: int, seed: int = 0,
                exclude: Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
    """k distinct random map indices out of n_maps (optionally never those in `exclude`), sorted: the control."""
    pool = torch.arange(n_maps)
    if exclude is not None and len(exclude):
        keep = torch.ones(n_maps, dtype=torch.bool)
        keep[torch.as_tensor(exclude, dtype=torch.long)] = False
        pool = pool[keep]
    if k > len(pool):
        raise ValueError(f"cannot choose {k} maps out of {len(pool)}")
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
    return pool[order[:k]].sort().values


@torch.no_grad()
def generate_with_drop(G: nn.Module, z: torch.Tensor, drop: Mapping[int, Sequence[int] | torch.Tensor] | None = None,
                       batch_size: int = 500) -> torch.Tensor:
    """Images from G (eval mode) for the given z, with feature maps zeroed as `drop={layer: maps}` says."""
    device = next(G.parameters()).device
    with evaluating(G):
        return torch.cat([G(c.to(device), drop=drop).float().cpu() for c in z.split(batch_size)])


def attribute_rates(judge: nn.Module, images: torch.Tensor, attributes: Sequence[str],
                    threshold: float = 0.5) -> dict[str, float]:
    """Fraction of images for which the judge says each attribute is present (P > threshold)."""
    pred = judge.predict(images)
    return {a: (pred[a] > threshold).float().mean().item() for a in attributes}


def relative_change(before: float, after: float) -> float:
    """(after − before) / before: −0.5 means the rate halved."""
    return (after - before) / before if before else float("nan")
