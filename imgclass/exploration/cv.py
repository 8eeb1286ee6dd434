"""Cross-validated accuracy of a numeric model on features already computed.

The notebooks sweep parameters over the same images many times; scoring only the learned part (as
:func:`imgclass.evaluation.cross_validate` does) keeps each point cheap. Same splitter, same seed and
same Wilson interval as the metrics table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import cross_val_predict

from imgclass.evaluation import make_splitter, wilson_interval
from imgclass.threads import one_thread

#: The sweeps' name for :func:`imgclass.threads.one_thread` (OpenMP and BLAS on one thread; nests).
single_threaded = one_thread


@dataclass(frozen=True)
class CVAccuracy:
    """Out-of-fold accuracy, balanced accuracy and the accuracy's 95% Wilson interval."""

    accuracy: float
    balanced_accuracy: float
    ci95: tuple[float, float]
    n: int


def cv_accuracy(model: Any, X: Any, y: Any, *, folds: int = 5, seed: int = 0) -> CVAccuracy:
    """Score ``model`` (an unfitted sklearn classifier) by stratified ``folds``-fold cross-validation."""
    features = np.asarray(X, dtype=np.float64)
    if features.ndim == 1:
        features = features.reshape(-1, 1)
    labels = np.asarray(y, dtype=np.int64)
    if features.shape[0] != labels.size:
        raise ValueError(f"got {features.shape[0]} rows of features but {labels.size} labels")
    with single_threaded():
        y_pred = cross_val_predict(clone(model), features, labels, cv=make_splitter("stratified", folds, seed))
    return score(labels, np.asarray(y_pred, dtype=np.int64))


def score(y_true: npt.NDArray[np.int64], y_pred: npt.NDArray[np.int64]) -> CVAccuracy:
    """Accuracy, balanced accuracy and Wilson interval of predictions."""
    correct = int((y_true == y_pred).sum())
    n = int(y_true.size)
    balanced = float(balanced_accuracy_score(y_true, y_pred)) if np.unique(y_true).size == 2 else correct / n
    return CVAccuracy(correct / n, balanced, wilson_interval(correct, n), n)
