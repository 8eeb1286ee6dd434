"""Equal class priors: every class weighs the same in training, whatever its share of the images.

A training set's ratio of animated to real images (1.4 to 1 in reference set v2, 1 to 1 in the bundled
set) says nothing about the collection a model will be used on, and a model that learns it carries it
into every unsure verdict: on domains it never saw, that ratio decided the close calls. Leaving one
domain of v2 out at a time, weighing the classes equally lifted `fast` from 0.827 to 0.866 and the
fusion of `combined` from 0.875 to 0.901 (balanced accuracy; ``docs/domain-shift/``). With the
weights in the calibration too, ``predict_proba`` is the probability under equal priors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

FloatArray = npt.NDArray[np.float64]


def log_odds(probability: Any) -> FloatArray:
    """``log(p / (1 - p))``, clipped away from 0 and 1: a calibrated model's decision function (0 at P = 0.5)."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.asarray(np.log(p / (1 - p)), dtype=np.float64)


def checked_sample_weight(sample_weight: Any, n: int) -> FloatArray:
    """The caller's per-image weights as floats (ones where there are none), or a ``ValueError``."""
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {weights.shape}")
    if not np.isfinite(weights).all() or (weights < 0).any() or not weights.sum() > 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return weights


def balanced_sample_weight(y: Any, sample_weight: Any = None) -> FloatArray:
    """Per-image weights under which every class has the same total (the caller's weights kept within it).

    The weights average 1 over the images, as unit weights do, so a regularisation strength means what it
    meant without them.
    """
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"y must be a non-empty 1-d array of labels, got shape {labels.shape}")
    weights = checked_sample_weight(sample_weight, labels.size)
    _, codes = np.unique(labels, return_inverse=True)
    totals = np.bincount(codes, weights=weights)
    if not (totals > 0).all():
        raise ValueError("every class needs a positive total sample_weight to be balanced")
    return np.asarray(weights * (weights.sum() / (totals.size * totals))[codes], dtype=np.float64)


class ClassBalanced(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Fit ``estimator`` with :func:`balanced_sample_weight`; predict with it unchanged.

    For estimators (or calibrated wrappers such as ``CalibratedClassifierCV``) that take
    ``sample_weight`` but whose own ``class_weight`` would not reach their calibration.
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ClassBalanced:
        if self.estimator is None:
            raise ValueError("ClassBalanced needs an estimator")
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if np.unique(y).size != 2:
            raise ValueError(f"Only binary classification is supported. Got {np.unique(y).size} classes.")
        self.estimator_ = clone(self.estimator).fit(X, y, sample_weight=balanced_sample_weight(y, sample_weight))
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)

    def decision_function(self, X: Any) -> FloatArray:
        """Log-odds of the (calibrated) probability: 0 at P = 0.5."""
        return log_odds(self.predict_proba(X)[:, 1])

    def predict(self, X: Any) -> Any:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
