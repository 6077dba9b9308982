"""The figures the paper reports, so the results page can set the book's measurements beside them.

`book` names the chapter and the metric (as recorded with `dcgan_lib.core.results.record`) that measures the
same thing here, where the book has a counterpart; the datasets differ at the `book` profile (offline
stand-ins), so the comparison is of the experiment, not of the number.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperFigure:
    """One number from the paper and where the book measures its counterpart."""

    table: str
    row: str
    column: str
    value: float
    unit: str = "%"
    book: tuple[str, str] | None = None  # (chapter, metric name) of the book's counterpart
    book_scale: float = 1.0              # multiply the recorded value by this to get the paper's unit (e.g. 100 for %)


PAPER_FIGURES: list[PaperFigure] = [
    # Table 1: CIFAR-10 accuracy with features from a model trained elsewhere (Imagenet-1k for DCGAN)
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "1 Layer K-means", "all labels", 80.6,
                book=("classification", "accuracy[K-means][all]"), book_scale=100),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "1 Layer K-means", "400 per class", 63.7,
                book=("classification", "accuracy[K-means][400/class]"), book_scale=100),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "3 Layer K-means Learned RF", "all labels", 82.0),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "3 Layer K-means Learned RF", "400 per class", 70.7),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "View Invariant K-means", "all labels", 81.9),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "View Invariant K-means", "400 per class", 72.6),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "Exemplar CNN", "all labels", 84.3),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "Exemplar CNN", "400 per class", 77.4),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "DCGAN + L2-SVM", "all labels", 82.8,
                book=("classification", "accuracy[DCGAN D][all]"), book_scale=100),
    PaperFigure("Table 1 (CIFAR-10 accuracy)", "DCGAN + L2-SVM", "400 per class", 73.8,
                book=("classification", "accuracy[DCGAN D][400/class]"), book_scale=100),
    # Table 2: SVHN test error with 1,000 labels
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "KNN", "error", 77.93),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "TSVM", "error", 66.55),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "M1+KNN", "error", 65.63),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "M1+TSVM", "error", 54.33),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "M1+M2", "error", 36.02),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "SWWAE without dropout", "error", 27.83),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "SWWAE with dropout", "error", 23.56),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "DCGAN + L2-SVM", "error", 22.48),
    PaperFigure("Table 2 (SVHN error, 1000 labels)", "Supervised CNN, same architecture", "error", 28.87),
    # Table 3: MNIST nearest-neighbour test error with a classifier fitted on generated samples (the paper's two
    # models are its BatchNorm variants without scale and bias, the better ones)
    PaperFigure("Table 3 (MNIST 1-NN error)", "AlignMNIST", "@10M samples", 1.4),
    PaperFigure("Table 3 (MNIST 1-NN error)", "InfiMNIST", "@10M samples", 2.6),
    PaperFigure("Table 3 (MNIST 1-NN error)", "Real data", "@50K samples", 3.1,
                book=("conditional_nearest_neighbour", "nn_error_real"), book_scale=100),
    PaperFigure("Table 3 (MNIST 1-NN error)", "GAN", "@50K samples", 6.28,
                book=("conditional_nearest_neighbour", "nn_error_fc_no_affine_large"), book_scale=100),
    PaperFigure("Table 3 (MNIST 1-NN error)", "GAN", "@10M samples", 5.65),
    PaperFigure("Table 3 (MNIST 1-NN error)", "DCGAN", "@50K samples", 2.98,
                book=("conditional_nearest_neighbour", "nn_error_dcgan_no_affine_large"), book_scale=100),
    PaperFigure("Table 3 (MNIST 1-NN error)", "DCGAN", "@10M samples", 1.48),
    # §4.1.1: de-duplication, judged by looking at collisions
    PaperFigure("§4.1.1 de-duplication", "false positive rate", "upper bound", 1.0),
]


def figures_for(table_prefix: str) -> list[PaperFigure]:
    """The paper's figures of one table (matched by the start of its name, e.g. 'Table 3')."""
    return [f for f in PAPER_FIGURES if f.table.startswith(table_prefix)]


def paper_table(table_prefix: str) -> dict[str, dict[str, float]]:
    """One of the paper's tables as {row: {column: value}} in the paper's order, so that a chapter shows the
    paper's figures from this one record (`pd.DataFrame.from_dict(paper_table("Table 1"), orient="index")`)."""
    table: dict[str, dict[str, float]] = {}
    for figure in figures_for(table_prefix):
        table.setdefault(figure.row, {})[figure.column] = figure.value
    return table
