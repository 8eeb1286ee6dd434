"""A one-threshold classifier on numeric features: the learner behind the poster's simple rules.

:class:`ThresholdClassifier` picks the feature, the cut point and the direction that maximise balanced
accuracy on the training data (a decision stump scored by balanced accuracy rather than impurity), and
maps the signed distance to the cut through a fitted logistic slope, so ``predict_proba`` is monotone
in the same margin that ``decision_function`` returns and agrees with ``predict`` at 0.5.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

Direction = Literal["auto", 1, -1]


def split_scores(
    x: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every cut between two distinct values of ``x``, and its balanced accuracy for direction 1.

    Direction 1 predicts positive for ``x > cut``; direction -1 scores ``1 - score`` at the same cut.
    All cuts are scored at once with cumulative sums.
    """
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], positive[order]
    n_pos = max(int(ys.sum()), 1)
    n_neg = max(ys.size - int(ys.sum()), 1)
    # Cutting behind position i predicts items 0..i negative (for direction 1).
    tnr = np.cumsum(~ys) / n_neg
    tpr = (int(ys.sum()) - np.cumsum(ys)) / n_pos
    valid = np.flatnonzero(np.diff(xs) > 0)
    cuts = (xs[valid] + xs[valid + 1]) / 2.0
    return cuts, 0.5 * (tnr[valid] + tpr[valid])


def best_split(
    x: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_], direction: Direction = "auto"
) -> tuple[float, float, int]:
    """``(balanced accuracy, cut, direction)`` of the best cut of one feature."""
    cuts, up = split_scores(x, positive)
    if cuts.size == 0:  # a constant feature separates nothing
        return 0.5, float(x[0]), 1 if direction == "auto" else int(direction)
    options = []
    if direction in ("auto", 1):
        i = int(np.argmax(up))
        options.append((float(up[i]), float(cuts[i]), 1))
    if direction in ("auto", -1):
        i = int(np.argmax(1.0 - up))
        options.append((float(1.0 - up[i]), float(cuts[i]), -1))
    return max(options, key=lambda o: o[0])


class ThresholdClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Classify by one fitted threshold on the most separating feature.

    Parameters
    ----------
    threshold : float or None
        A fixed cut point, or ``None`` to fit it.
    direction : "auto", 1 or -1
        1 predicts ``classes_[1]`` above the threshold, -1 below; "auto" fits it.
    feature : int or None
        Which column to use; ``None`` fits the best one.
    """

    def __init__(
        self, threshold: float | None = None, direction: Direction = "auto", feature: int | None = None
    ) -> None:
        self.threshold = threshold
        self.direction = direction
        self.feature = feature

    def fit(self, X: Any, y: Any) -> ThresholdClassifier:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if self.classes_.size > 2:
            raise ValueError(f"Only binary classification is supported. Got {self.classes_.size} classes.")
        if self.classes_.size < 2:
            raise ValueError(f"ThresholdClassifier needs 2 classes; got 1 class: {self.classes_[0]!r}")
        if self.direction not in ("auto", 1, -1):
            raise ValueError(f"direction must be 'auto', 1 or -1, got {self.direction!r}")
        if self.feature is not None and not 0 <= self.feature < X.shape[1]:
            raise ValueError(f"feature must be in [0, {X.shape[1]}), got {self.feature}")
        positive = y_idx == 1
        columns = range(X.shape[1]) if self.feature is None else [self.feature]
        candidates = []
        for j in columns:
            score, cut, direction = self._split(X[:, j], positive)
            candidates.append((score, -j, cut, direction))
        score, neg_j, cut, direction = max(candidates)
        self.feature_, self.threshold_, self.direction_ = -neg_j, cut, direction
        self.train_balanced_accuracy_ = score
        self.slope_ = self._fit_slope(self._margin(X), positive)
        return self

    def _split(self, x: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_]) -> tuple[float, float, int]:
        if self.threshold is None:
            return best_split(x, positive, self.direction)
        cut = float(self.threshold)
        directions = [1, -1] if self.direction == "auto" else [int(self.direction)]
        return max(((_balanced(x, positive, cut, d), cut, d) for d in directions), key=lambda o: o[0])

    @staticmethod
    def _fit_slope(margin: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_]) -> float:
        scale = float(np.std(margin)) or 1.0
        model = LogisticRegression(fit_intercept=False, C=100.0)
        model.fit((margin / scale).reshape(-1, 1), positive.astype(int))
        slope = float(model.coef_[0, 0]) / scale
        # A slope <= 0 would invert the rule; keep probabilities monotone with the decision.
        return max(slope, 1e-12)

    def _margin(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        margin: npt.NDArray[np.float64] = self.direction_ * (X[:, self.feature_] - self.threshold_)
        return margin

    def decision_function(self, X: Any) -> npt.NDArray[np.float64]:
        """Signed distance to the threshold, positive towards ``classes_[1]``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._margin(X)

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        check_is_fitted(self)
        z = np.clip(self.slope_ * self.decision_function(X), -500.0, 500.0)
        p1 = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p1, p1])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def predict(self, X: Any) -> npt.NDArray[Any]:
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]  # type: ignore[no-any-return]


def _balanced(x: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_], cut: float, direction: int) -> float:
    predicted = x > cut if direction == 1 else x <= cut
    tpr = float(predicted[positive].mean()) if positive.any() else 0.0
    tnr = float((~predicted[~positive]).mean()) if (~positive).any() else 0.0
    return 0.5 * (tpr + tnr)
