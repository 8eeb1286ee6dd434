"""One cut on a one-dimensional score: accuracy, confusion matrix, the best cut, and the ROC curve.

The bilateral and colour-count classifiers are each a threshold on one number. The notebooks move
that threshold by hand; these functions say what it does. Class 1 (animated) is the positive class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score, roc_curve

from imgclass.classifiers.threshold import best_split
from imgclass.evaluation import wilson_interval

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _check(scores: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, IntArray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if s.size != y.size:
        raise ValueError(f"got {s.size} scores but {y.size} labels")
    if s.size == 0:
        raise ValueError("need at least one score")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (animated)")
    return s, y


@dataclass(frozen=True)
class ThresholdOutcome:
    """What a cut does: ``direction`` 1 calls a score above ``threshold`` animated, -1 below.

    ``confusion[i][j]`` counts images of true class ``i`` predicted as ``j`` (0 real, 1 animated).
    """

    threshold: float
    direction: int
    accuracy: float
    balanced_accuracy: float
    ci95: tuple[float, float]
    confusion: tuple[tuple[int, int], tuple[int, int]]
    n: int


def predict_with(scores: npt.ArrayLike, threshold: float, direction: int) -> IntArray:
    """0/1 predictions of a cut."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction!r}")
    s = np.asarray(scores, dtype=np.float64)
    above = s > threshold
    return np.asarray(above if direction == 1 else ~above, dtype=np.int64)


def threshold_outcome(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    threshold: float,
    direction: int = 1,
    *,
    predicted: npt.ArrayLike | None = None,
) -> ThresholdOutcome:
    """Accuracy, balanced accuracy, Wilson interval and confusion matrix of one cut.

    ``predicted`` are the cut's predictions when a classifier made them (its own rule), else the cut
    is applied here.
    """
    s, y = _check(scores, labels)
    pred = predict_with(s, threshold, direction) if predicted is None else np.asarray(predicted, dtype=np.int64)
    if pred.shape != y.shape:
        raise ValueError(f"got {pred.size} predictions for {y.size} labels")
    cm = [[int(((y == i) & (pred == j)).sum()) for j in (0, 1)] for i in (0, 1)]
    correct = cm[0][0] + cm[1][1]
    rates = [cm[i][i] / (cm[i][0] + cm[i][1]) for i in (0, 1) if cm[i][0] + cm[i][1]]
    return ThresholdOutcome(
        threshold=float(threshold),
        direction=direction,
        accuracy=correct / y.size,
        balanced_accuracy=float(np.mean(rates)),
        ci95=wilson_interval(correct, int(y.size)),
        confusion=((cm[0][0], cm[0][1]), (cm[1][0], cm[1][1])),
        n=int(y.size),
    )


def class_direction(scores: npt.ArrayLike, labels: npt.ArrayLike) -> int:
    """1 if animated images score higher than real ones (by median), else -1."""
    s, y = _check(scores, labels)
    if not (y == 0).any() or not (y == 1).any():
        raise ValueError("need scores of both classes")
    return 1 if np.median(s[y == 1]) >= np.median(s[y == 0]) else -1


def best_threshold(scores: npt.ArrayLike, labels: npt.ArrayLike, direction: int | None = None) -> ThresholdOutcome:
    """The cut with the best balanced accuracy on these scores (in-sample: an optimistic figure)."""
    s, y = _check(scores, labels)
    _score, cut, fitted = best_split(s, y == 1, "auto" if direction is None else direction)  # type: ignore[arg-type]
    return threshold_outcome(s, y, cut, fitted)


@dataclass(frozen=True)
class RocCurve:
    """False and true positive rates over every cut, and the area under them with a 95% interval.

    The interval is Hanley and McNeil's (1982) normal approximation: closed form, so deterministic.
    """

    fpr: FloatArray
    tpr: FloatArray
    thresholds: FloatArray
    auc: float
    auc_ci95: tuple[float, float]


def roc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> RocCurve:
    """ROC curve of ``scores`` for the animated class, larger scores meaning more animated."""
    s, y = _check(scores, labels)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("an ROC curve needs both classes")
    fpr, tpr, cuts = roc_curve(y, s)
    auc = float(roc_auc_score(y, s))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    half = 1.959963984540054 * math.sqrt(max(var, 0.0))
    return RocCurve(fpr, tpr, cuts, auc, (max(0.0, auc - half), min(1.0, auc + half)))


@dataclass(frozen=True)
class Reading:
    """What a live panel shows: the chosen cut, and the best cut on the same scores for reference."""

    chosen: ThresholdOutcome
    best: ThresholdOutcome

    def describe(self, feature: str = "score") -> str:
        """One line of HTML for a widget's readout."""
        c, b = self.chosen, self.best
        side = ">" if c.direction == 1 else "<"
        return (
            f"<b>accuracy {c.accuracy:.3f}</b> (balanced {c.balanced_accuracy:.3f}, 95% CI "
            f"[{c.ci95[0]:.2f}, {c.ci95[1]:.2f}], n = {c.n}): animated when {feature} {side} {c.threshold:.4g}. "
            f"Best cut here: {b.threshold:.4g}, accuracy {b.accuracy:.3f} (in-sample)."
        )


def reading(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    threshold: float,
    direction: int | None = None,
    *,
    predicted: npt.ArrayLike | None = None,
) -> Reading:
    """The outcome of ``threshold`` and of the best cut; ``direction=None`` takes it from the class medians.

    ``predicted``: the chosen cut's predictions as a classifier made them (see :func:`threshold_outcome`).
    """
    if direction is None:
        direction = class_direction(scores, labels)
    chosen = threshold_outcome(scores, labels, threshold, direction, predicted=predicted)
    return Reading(chosen, best_threshold(scores, labels, direction))
