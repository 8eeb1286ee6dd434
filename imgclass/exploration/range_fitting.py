"""Fitting the one-hot ranges of the byte length: how many, and where.

The ``byte-onehot`` classifier cuts the byte length into ranges, one-hot encodes them and weighs them
with a logistic regression. Here the number of ranges and the way their edges are fitted are swept
under cross-validation. One column suffices: hex and base64 lengths are functions of the byte length.
Strategies ``uniform``, ``quantile`` and ``kmeans`` are the classifier's own (``KBinsDiscretizer``);
``tree`` cuts where a decision tree would (:class:`~imgclass.exploration.tree_binning.TreeBinner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from imgclass.classifiers import make_classifier
from imgclass.exploration.cv import CVAccuracy, cv_accuracy, single_threaded
from imgclass.exploration.tree_binning import TreeBinner

STRATEGIES: tuple[str, ...] = ("uniform", "quantile", "kmeans", "tree")
DEFAULT_N_RANGES: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24)

FloatArray = npt.NDArray[np.float64]


def range_model(n_ranges: int, strategy: str) -> Any:
    """An unfitted pipeline: ``n_ranges`` one-hot ranges fitted by ``strategy``, then logistic regression."""
    if strategy == "tree":
        if int(n_ranges) < 2:
            raise ValueError(f"n_ranges must be >= 2, got {n_ranges}")
        return make_pipeline(TreeBinner(n_bins=int(n_ranges)), LogisticRegression())
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    return make_classifier("byte-onehot", n_bins=int(n_ranges), strategy=strategy).make_model()


def _column(lengths: npt.ArrayLike) -> FloatArray:
    x = np.asarray(lengths, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, 0]  # the byte column of (bytes, hex, base64)
    return x.reshape(-1, 1)


def range_edges(lengths: npt.ArrayLike, labels: npt.ArrayLike, n_ranges: int, strategy: str) -> FloatArray:
    """The inner edges of the ranges fitted on all of ``lengths`` (for drawing; scoring uses CV)."""
    model = clone(range_model(n_ranges, strategy)).fit(_column(lengths), np.asarray(labels))
    binner = model.steps[0][1]
    edges = np.asarray(binner.bin_edges_[0], dtype=np.float64)
    # KBinsDiscretizer keeps the outer edges (min and max); TreeBinner keeps only inner cuts.
    return edges if strategy == "tree" else edges[1:-1]


def range_accuracy(
    lengths: npt.ArrayLike, labels: npt.ArrayLike, n_ranges: int, strategy: str, *, folds: int = 5, seed: int = 0
) -> CVAccuracy:
    """Cross-validated accuracy of the one-hot model with these ranges."""
    with single_threaded():
        return cv_accuracy(range_model(n_ranges, strategy), _column(lengths), labels, folds=folds, seed=seed)


@dataclass(frozen=True)
class RangeFit:
    """Ranges fitted on all the lengths (to draw) and their cross-validated accuracy (to trust)."""

    strategy: str
    n_ranges: int
    edges: tuple[float, ...]
    accuracy: CVAccuracy

    def describe(self) -> str:
        """One line of HTML for a widget's readout."""
        a = self.accuracy
        return (
            f"<b>accuracy {a.accuracy:.3f}</b> (5-fold, 95% CI [{a.ci95[0]:.2f}, {a.ci95[1]:.2f}], n = {a.n}) "
            f"with {len(self.edges) + 1} {self.strategy} ranges"
        )


def fit_ranges(
    lengths: npt.ArrayLike, labels: npt.ArrayLike, n_ranges: int, strategy: str, *, folds: int = 5, seed: int = 0
) -> RangeFit:
    """:func:`range_edges` and :func:`range_accuracy` together."""
    edges = range_edges(lengths, labels, n_ranges, strategy)
    accuracy = range_accuracy(lengths, labels, n_ranges, strategy, folds=folds, seed=seed)
    return RangeFit(strategy, int(n_ranges), tuple(float(e) for e in edges), accuracy)


@dataclass(frozen=True)
class RangeSweep:
    """Cross-validated accuracy for each strategy (rows) and number of ranges (columns).

    ``baseline`` is the single fitted threshold of the ``byte-length`` classifier on the same folds.
    """

    strategies: tuple[str, ...]
    n_ranges: tuple[int, ...]
    scores: tuple[tuple[CVAccuracy, ...], ...]
    baseline: CVAccuracy

    def accuracy(self) -> FloatArray:
        """The accuracies as a ``(strategies, n_ranges)`` array."""
        return np.array([[s.accuracy for s in row] for row in self.scores])

    def best(self) -> tuple[str, int, CVAccuracy]:
        """The strategy and number of ranges with the highest accuracy (first one on ties)."""
        acc = self.accuracy()
        i, j = np.unravel_index(int(np.argmax(acc)), acc.shape)
        return self.strategies[int(i)], self.n_ranges[int(j)], self.scores[int(i)][int(j)]

    def to_table(self) -> str:
        head = f"{'strategy':<10}" + "".join(f"{n:>7}" for n in self.n_ranges)
        lines = [head, "-" * len(head)]
        for name, row in zip(self.strategies, self.scores, strict=True):
            lines.append(f"{name:<10}" + "".join(f"{s.accuracy:>7.3f}" for s in row))
        lines.append(f"{'threshold':<10}{self.baseline.accuracy:>7.3f}  (one fitted cut, no ranges)")
        return "\n".join(lines)


def range_sweep(
    lengths: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    n_ranges: Sequence[int] = DEFAULT_N_RANGES,
    strategies: Sequence[str] = STRATEGIES,
    folds: int = 5,
    seed: int = 0,
) -> RangeSweep:
    """Accuracy against the number of ranges and the strategy, every point on the same folds."""
    x = _column(lengths)
    with single_threaded():
        scores = tuple(
            tuple(range_accuracy(x, labels, n, strategy, folds=folds, seed=seed) for n in n_ranges)
            for strategy in strategies
        )
        baseline = cv_accuracy(make_classifier("byte-length").make_model(), x, labels, folds=folds, seed=seed)
    return RangeSweep(tuple(strategies), tuple(int(n) for n in n_ranges), scores, baseline)
