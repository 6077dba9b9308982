"""Working in G's input space Z (paper §6.1 and §6.3.2): interpolation, walks, smoothness and vector arithmetic.

* `lerp` / `slerp` / `interpolate` / `walk`: paths between latent points (linear or spherical).
* `step_distances` / `smooth_fraction`: how far consecutive frames of a walk move (in any feature space), and the
  share of steps that are not sharp jumps.
* `find_transition`: where along walks an attribute appears (a judge's probability goes from low to high).
* `select`: exemplars by a judge's predictions; `arithmetic`, `neighbours`, `concept_vector`, `along`: the
  paper's vector arithmetic and its "turn" vector.
* `spearman`: rank correlation per row, to check that an attribute changes monotonically along a path.
* `linear_separability`: how well a half-space of Z predicts an attribute, the assumption behind the arithmetic.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

METHODS = ("lerp", "slerp")


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Linear interpolation: z0 + t (z1 − z0) for each t. z0, z1: [..., nz]; t: [T]; returns [..., T, nz]."""
    t = torch.as_tensor(t, dtype=z0.dtype).view(-1, 1)
    return z0.unsqueeze(-2) + t * (z1 - z0).unsqueeze(-2)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation (Shoemake): along the great circle between the directions, norms interpolated linearly.

    For the usual case of two points of nearly the same norm this is the classic formula
    sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, with Ω the angle between z0 and z1. Falls back to `lerp` when the
    two directions (nearly) coincide. Shapes as in `lerp`.
    """
    t = torch.as_tensor(t, dtype=z0.dtype).view(-1, 1)
    n0, n1 = z0.norm(dim=-1, keepdim=True), z1.norm(dim=-1, keepdim=True)
    u0, u1 = z0 / n0.clamp_min(eps), z1 / n1.clamp_min(eps)
    cos = (u0 * u1).sum(-1, keepdim=True).clamp(-1 + eps, 1 - eps)
    omega = torch.arccos(cos).unsqueeze(-2)                               # [..., 1, 1]
    sin = torch.sin(omega)
    a, b = torch.sin((1 - t) * omega) / sin, torch.sin(t * omega) / sin   # [..., T, 1]
    direction = a * u0.unsqueeze(-2) + b * u1.unsqueeze(-2)               # unit length along the great circle
    norm = n0.unsqueeze(-2) + t * (n1 - n0).unsqueeze(-2)
    result = direction * norm
    close = (omega < 1e-3).expand_as(result)
    return torch.where(close, lerp(z0, z1, t.flatten()), result)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "lerp") -> torch.Tensor:
    """`steps` points from z0 to z1 inclusive ([..., steps, nz]) by 'lerp' or 'slerp'."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown: choose one of {METHODS}.")
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps (its two end points)")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype)
    return (lerp if method == "lerp" else slerp)(z0, z1, t)


def walk(points: torch.Tensor, steps_per_segment: int, method: str = "lerp") -> torch.Tensor:
    """A walk through a series of points ([K, nz] or [W, K, nz] for W walks): `steps_per_segment` steps from each
    point to the next, end points shared, so [(K−1)·steps_per_segment + 1, nz] (or [W, ..., nz])."""
    segments = interpolate(points[..., :-1, :], points[..., 1:, :], steps_per_segment + 1, method)  # [.., K-1, S+1, nz]
    body = segments[..., :-1, :].flatten(-3, -2)
    return torch.cat([body, points[..., -1:, :]], dim=-2)


def step_distances(features: torch.Tensor) -> torch.Tensor:
    """Euclidean distance between consecutive frames: features [..., T, D] -> [..., T − 1]."""
    return (features[..., 1:, :] - features[..., :-1, :]).norm(dim=-1)


def smooth_fraction(steps: torch.Tensor, factor: float = 3.0) -> float:
    """Share of steps within `factor` × the median step of their own walk (steps: [W, T − 1] or [T − 1])."""
    steps = steps.reshape(-1, steps.shape[-1])
    median = steps.median(dim=1, keepdim=True).values
    return (steps <= factor * median).float().mean().item()


def find_transition(probs: torch.Tensor, low: float = 0.2, high: float = 0.8) -> tuple[int, int, int] | None:
    """Where an attribute appears along walks: probs [W, T] (a judge's P(attribute) per frame).

    In each walk, `end` is the first frame above `high` that comes after a frame below `low`, and `start` the last
    frame below `low` before it: the attribute appears between them. Among walks, the one with the largest rise in
    probability wins (then the slowest, i.e. longest, rise). Returns (walk, start, end), or None when no walk has
    such a rise. Reverse the walks (`probs.flip(-1)`) to find disappearances.
    """
    probs = probs.reshape(-1, probs.shape[-1])
    best, best_key = None, None
    for w, p in enumerate(probs):
        seen_low, end = False, None
        for i, v in enumerate(p.tolist()):
            seen_low = seen_low or v < low
            if seen_low and v > high:
                end = i
                break
        if end is None:
            continue
        start = torch.nonzero(p[:end] < low).flatten()[-1].item()
        key = ((p[end] - p[start]).item(), end - start)
        if best_key is None or key > best_key:
            best, best_key = (w, start, end), key
    return best


def select(predictions: Mapping[str, torch.Tensor], conditions: Mapping[str, bool],
           margin: float = 0.3) -> torch.Tensor:
    """Indices of samples that a judge confidently puts in a concept, e.g. {'smile': True, 'long_hair': False}.

    A binary attribute counts as present when P > 0.5 + margin and absent when P < 0.5 − margin.
    """
    keep = None
    for name, present in conditions.items():
        p = predictions[name]
        ok = p > 0.5 + margin if present else p < 0.5 - margin
        keep = ok if keep is None else keep & ok
    return torch.nonzero(keep).flatten()


def matches(predictions: Mapping[str, torch.Tensor], conditions: Mapping[str, bool]) -> torch.Tensor:
    """Per sample: does the judge (threshold 0.5) give exactly the wanted value of every listed attribute? (bool [N])"""
    ok = None
    for name, present in conditions.items():
        hit = (predictions[name] > 0.5) == present
        ok = hit if ok is None else ok & hit
    return ok


def arithmetic(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """mean(a) − mean(b) + mean(c) over the first dimension (latent vectors [k, nz] or images [k, C, H, W])."""
    return a.mean(0) - b.mean(0) + c.mean(0)


def neighbours(y: torch.Tensor, n: int = 8, scale: float = 0.25, seed: int = 0) -> torch.Tensor:
    """y and n noisy copies y + U(−scale, scale) (the paper's 3×3 figure): [n + 1, nz] with y first."""
    g = torch.Generator().manual_seed(seed)
    noise = (torch.rand(n, *y.shape, generator=g) * 2 - 1) * scale
    return torch.cat([y.unsqueeze(0), y.unsqueeze(0) + noise.to(y.dtype)])


def concept_vector(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """mean(positive) − mean(negative): the direction from one concept to another (e.g. the paper's turn vector)."""
    return positive.mean(0) - negative.mean(0)


def along(z: torch.Tensor, vector: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
    """z + a · vector for each amount a: z [B, nz], amounts [T] -> [B, T, nz]."""
    amounts = torch.as_tensor(amounts, dtype=z.dtype).view(1, -1, 1)
    return z.unsqueeze(1) + amounts * vector.view(1, 1, -1)


def _ranks(x: torch.Tensor) -> torch.Tensor:
    """Average ranks (ties share their mean rank) along the last dimension."""
    order = x.argsort(dim=-1)
    ranks = torch.empty_like(x)
    ranks.scatter_(-1, order, torch.arange(x.shape[-1], dtype=x.dtype).expand_as(x).contiguous())
    # average the ranks of ties
    out = ranks.clone()
    for i in range(x.shape[0]):
        values, inverse = torch.unique(x[i], return_inverse=True)
        if len(values) < x.shape[-1]:
            sums = torch.zeros(len(values), dtype=x.dtype).index_add_(0, inverse, ranks[i])
            counts = torch.zeros(len(values), dtype=x.dtype).index_add_(0, inverse, torch.ones_like(ranks[i]))
            out[i] = (sums / counts)[inverse]
    return out


def spearman(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation per row of x and y ([B, T] or [T]; returns [B] or a scalar)."""
    squeeze = x.dim() == 1
    x, y = torch.broadcast_tensors(x.reshape(-1, x.shape[-1]).double(), y.reshape(-1, y.shape[-1]).double())
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(-1, keepdim=True), ry - ry.mean(-1, keepdim=True)
    rho = (rx * ry).sum(-1) / (rx.norm(dim=-1) * ry.norm(dim=-1)).clamp_min(1e-12)
    return rho[0] if squeeze else rho


def linear_separability(z: torch.Tensor, labels: torch.Tensor, folds: int = 3) -> tuple[float, float]:
    """Cross-validated accuracy of a logistic regression that predicts a 0/1 attribute from z, and the accuracy of
    always guessing the commoner value, which it must beat. Vector arithmetic assumes that an attribute is (nearly)
    a half-space of Z; this measures how nearly. Returns (accuracy, majority accuracy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    y = labels.flatten().long().numpy()
    majority = max(y.mean(), 1 - y.mean())
    if min(y.sum(), len(y) - y.sum()) < folds:       # (almost) one value only: nothing to separate
        return float(majority), float(majority)
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), z.reshape(len(z), -1).numpy(), y, cv=folds).mean()
    return float(accuracy), float(majority)
