"""The 1-nearest-neighbour test of the paper's §8.1: fit a 1-NN classifier on samples, measure it on real test digits.

The test set is fixed and small (10,000 digits at most), while the references (generated samples) can number
millions. So the classifier is built the other way round: it holds the *queries* and is fed the references in
chunks, keeping for every query the squared distance to and the label of its nearest reference seen so far.
Memory is (queries × chunk), whatever the number of references, and generated references never need to be
stored: they can be drawn from the generator chunk by chunk and thrown away (`generated_test_error`).

Distances are Euclidean in pixel space, computed as ``|r|² - 2 q·r`` (``|q|²`` is the same for every reference of
a query, so it does not change which is nearest) with one matrix multiply per block. Ties go to the earliest
reference, as in scikit-learn's brute-force search.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class StreamingNearestNeighbour:
    """A 1-NN classifier over a fixed set of queries, fitted on references that arrive in chunks."""

    def __init__(self, queries: torch.Tensor, device: str | torch.device | None = None, query_batch: int = 4096,
                 dtype: torch.dtype = torch.float32):
        self.device = torch.device(device) if device is not None else queries.device
        self.dtype = dtype
        self.queries = queries.flatten(1).to(self.device, dtype)
        self.query_batch = query_batch
        self.best = torch.full((len(self.queries),), float("inf"), device=self.device)  # min over r of |r|²-2q·r
        self.labels = torch.full((len(self.queries),), -1, dtype=torch.long, device=self.device)
        self.n_references = 0

    @torch.no_grad()
    def add(self, references: torch.Tensor, labels: torch.Tensor) -> None:
        """Take a chunk of labelled references into account (any size; split it if memory is short)."""
        if len(references) != len(labels):
            raise ValueError(f"{len(references)} references but {len(labels)} labels")
        if len(references) == 0:
            return
        refs = references.flatten(1).to(self.device, self.dtype)
        if refs.shape[1] != self.queries.shape[1]:
            raise ValueError(f"references have {refs.shape[1]} values each but the queries {self.queries.shape[1]}: "
                             f"use images of the same size and channels")
        labels = labels.to(self.device)
        ref_sq = refs.float().pow(2).sum(1)
        for start in range(0, len(self.queries), self.query_batch):
            q = self.queries[start:start + self.query_batch]
            scores = torch.addmm(ref_sq, q, refs.T, beta=1, alpha=-2) if self.dtype == torch.float32 else \
                ref_sq - 2 * (q @ refs.T).float()
            best, idx = scores.min(1)
            rows = slice(start, start + len(q))
            better = best < self.best[rows]  # strict: on a tie the earlier reference stays
            self.best[rows] = torch.where(better, best, self.best[rows])
            self.labels[rows] = torch.where(better, labels[idx], self.labels[rows])
        self.n_references += len(refs)

    def predictions(self) -> torch.Tensor:
        """The label of each query's nearest reference so far (on the CPU)."""
        if self.n_references == 0:
            raise RuntimeError("no references yet: call add() first")
        return self.labels.cpu()

    def error(self, query_labels: torch.Tensor) -> float:
        """Fraction of queries whose nearest reference has another label (the test error)."""
        return (self.predictions() != query_labels.cpu()).float().mean().item()


def nearest_neighbour_predict(references: torch.Tensor, reference_labels: torch.Tensor, queries: torch.Tensor,
                              chunk: int = 8192, device: str | torch.device | None = None) -> torch.Tensor:
    """The 1-NN classifier fitted on (references, labels): predicted label of each query (on the CPU)."""
    knn = StreamingNearestNeighbour(queries, device=device)
    for start in range(0, len(references), chunk):
        knn.add(references[start:start + chunk], reference_labels[start:start + chunk])
    return knn.predictions()


def nearest_neighbour_error(references: torch.Tensor, reference_labels: torch.Tensor, queries: torch.Tensor,
                            query_labels: torch.Tensor, chunk: int = 8192,
                            device: str | torch.device | None = None) -> float:
    """Test error on (queries, query_labels) of the 1-NN classifier fitted on (references, reference_labels)."""
    predicted = nearest_neighbour_predict(references, reference_labels, queries, chunk, device)
    return (predicted != query_labels.cpu()).float().mean().item()


def balanced_labels(n: int, n_classes: int = 10, offset: int = 0) -> torch.Tensor:
    """Labels 0, 1, ..., n_classes-1, 0, 1, ... for references offset..offset+n: every class equally often."""
    return (torch.arange(offset, offset + n) % n_classes).long()


@torch.no_grad()
def generated_test_error(sample: Callable[[torch.Tensor, int], torch.Tensor], queries: torch.Tensor,
                         query_labels: torch.Tensor, sizes: Sequence[int], n_classes: int = 10,
                         chunk: int = 10_000, device: str | torch.device | None = None,
                         progress: Callable[[int], None] | None = None) -> dict[int, float]:
    """Test error of the 1-NN classifier fitted on generated samples only, at each number of samples in `sizes`.

    `sample(labels, seed)` returns one image per label (the conditional generator); samples are drawn in chunks
    with balanced labels and never stored, so the largest size is limited by time, not memory. The smaller sizes
    are prefixes of the same stream (their samples are the first ones of the larger sets).
    """
    sizes = sorted(int(s) for s in sizes)
    knn = StreamingNearestNeighbour(queries, device=device)
    errors, done, boundaries = {}, 0, list(sizes)
    while boundaries:
        n = min(chunk, boundaries[0] - done)
        labels = balanced_labels(n, n_classes, offset=done)
        knn.add(sample(labels, done), labels)
        done += n
        if progress is not None:
            progress(n)
        while boundaries and done >= boundaries[0]:
            errors[boundaries.pop(0)] = knn.error(query_labels)
    return errors
