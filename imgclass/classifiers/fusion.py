"""The learnt part of ``combined``: one linear model over hand-made features and a network's activations.

The two blocks differ in size (30 hand-made numbers against 256 activations of the network's hidden
layer), so a plain standardised concatenation lets the network drown the hand-made block under one L2
penalty. Each column is standardised, then the hand-made columns are multiplied by ``hand_weight``: with
one shared penalty that is the same as penalising them ``hand_weight**2`` times less, a prior that says
"trust the few designed features as much as the many generic ones". A sigmoid calibration on out-of-fold
scores (``CalibratedClassifierCV``) makes ``predict_proba`` a probability.

``class_weight="balanced"`` (the default) weighs each class by the inverse of its count, in the
regression and in the calibration alike, so ``predict_proba`` is the probability under **equal priors**
(:mod:`imgclass.classifiers.balance` says why).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from imgclass.classifiers.balance import balanced_sample_weight, checked_sample_weight, log_odds

FloatArray = npt.NDArray[np.float64]


class FusionModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Standardise, weight the first ``n_hand`` columns by ``hand_weight``, calibrated logistic regression.

    Parameters
    ----------
    n_hand : int
        How many leading columns are the hand-made block (the rest is the embedding).
    hand_weight : float
        Multiplier of the standardised hand-made columns (1 is a plain concatenation).
    C : float
        Inverse L2 strength of the logistic regression.
    calibration_folds : int
        Folds of the sigmoid calibration (0 turns calibration off: the regression's own probabilities).
    max_iter : int
        Iterations of the logistic regression's solver.
    class_weight : {"balanced"}, dict or None
        ``"balanced"``: every class weighs the same in total (probabilities under equal priors); a dict:
        a multiplier per class label; None: every image weighs the same (the training set's priors).
    """

    def __init__(
        self,
        n_hand: int = 0,
        hand_weight: float = 10.0,
        C: float = 0.01,
        calibration_folds: int = 5,
        max_iter: int = 2000,
        class_weight: str | dict[Any, float] | None = "balanced",
    ) -> None:
        self.n_hand = n_hand
        self.hand_weight = hand_weight
        self.C = C
        self.calibration_folds = calibration_folds
        self.max_iter = max_iter
        self.class_weight = class_weight

    def _weighted(self, X: FloatArray) -> FloatArray:
        return np.asarray(self.scaler_.transform(X) * self.weights_, dtype=np.float64)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FusionModel:
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if not 0 <= int(self.n_hand) <= X.shape[1]:
            raise ValueError(f"n_hand must be between 0 and {X.shape[1]}, got {self.n_hand}")
        if not float(self.hand_weight) > 0:
            raise ValueError(f"hand_weight must be > 0, got {self.hand_weight}")
        folds = int(self.calibration_folds)
        if folds == 1 or folds < 0:
            raise ValueError(f"calibration_folds must be 0 (off) or >= 2, got {folds}")
        if not (self.class_weight is None or self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise ValueError(f"class_weight must be 'balanced', a dict or None, got {self.class_weight!r}")
        self.classes_, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        if self.classes_.size != 2:
            raise ValueError(f"Only binary classification is supported. Got {self.classes_.size} classes.")
        given = checked_sample_weight(sample_weight, len(y))
        weights = given
        if isinstance(self.class_weight, dict):
            weights = given * np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_])[codes]
        elif self.class_weight == "balanced":
            weights = balanced_sample_weight(codes, given)
        # Too few images of a class for the calibration folds: calibrate on as many as there are.
        folds = min(folds, int(counts.min())) if folds else 0
        # The scaler describes the data as given (the caller's weights count as repeated rows); class
        # weights only change what the regression's loss cares about.
        self.scaler_ = StandardScaler().fit(X, sample_weight=given)
        self.weights_ = np.ones(X.shape[1])
        self.weights_[: int(self.n_hand)] = float(self.hand_weight)
        linear = LogisticRegression(C=float(self.C), max_iter=int(self.max_iter))
        if folds < 2:
            self.model_ = linear.fit(self._weighted(X), y, sample_weight=weights)
            self.n_iter_ = linear.n_iter_
        else:
            calibrated = CalibratedClassifierCV(linear, method="sigmoid", cv=folds, ensemble=False)
            self.model_ = calibrated.fit(self._weighted(X), y, sample_weight=weights)
            self.n_iter_ = self.model_.calibrated_classifiers_[0].estimator.n_iter_
        return self

    def predict_proba(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        Z = self._weighted(X)
        # One row at a time: a matrix product over many rows may round differently from one over a single
        # row (BLAS picks other kernels), and an image's score must not depend on the batch it came in.
        return np.vstack([self.model_.predict_proba(Z[i : i + 1]) for i in range(Z.shape[0])]).astype(np.float64)

    def decision_function(self, X: Any) -> FloatArray:
        """Log-odds of the calibrated probability: 0 at P = 0.5."""
        return log_odds(self.predict_proba(X)[:, 1])

    def predict(self, X: Any) -> Any:
        animated = self.predict_proba(X)[:, 1] > 0.5
        return self.classes_[animated.astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
