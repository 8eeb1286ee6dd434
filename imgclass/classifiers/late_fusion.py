"""Late fusion of a trained network's log-odds with the hand-made fusion, and the rule that picks its weight.

A third block beside ``combined``'s two (the hand-made features and the frozen nsfwjs hidden layer): the
log-odds of a network whose top was trained on reference set v2 (:mod:`imgclass.finetune`; none ships yet,
``docs/domain-shift/v2-finetune.md`` says why). The first two go through
:class:`~imgclass.classifiers.fusion.FusionModel` as before; :class:`LateFusion` then mixes that model's
log-odds ``z_f`` with the network's ``z_n``:

    z = w * z_n + (1 - w) * z_f - t,    P(animated) = 1 / (1 + exp(-z))

so that ``predict`` at 0.5 is the threshold ``t`` on the mixed log-odds. ``w`` and ``t`` are not fitted by
:meth:`LateFusion.fit` (a network's log-odds on its own training images are overconfident, so fitting
them there would trust it too much): they are chosen by :func:`choose_mix` on log-odds the models gave to
domains they did not see, inside the training data (:func:`domain_halves`), never on a held-out result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from imgclass.classifiers.balance import log_odds
from imgclass.classifiers.fusion import FusionModel

FloatArray = npt.NDArray[np.float64]

#: Network weights ``w`` the rule tries.
MIX_WEIGHTS: Final = tuple(round(0.1 * i, 1) for i in range(11))
#: Thresholds ``t`` on the mixed log-odds the rule tries.
MIX_THRESHOLDS: Final = tuple(round(0.1 * i, 1) for i in range(-30, 31))


@dataclass(frozen=True)
class Mix:
    """A chosen network weight and threshold, with the balanced accuracy they scored where they were chosen."""

    weight: float
    threshold: float
    score: float


def balanced_accuracy(y: npt.NDArray[Any], predicted: npt.NDArray[np.bool_]) -> float:
    """The mean of the two classes' recalls (``predicted`` True means animated)."""
    y = np.asarray(y).astype(bool)
    return float(0.5 * (predicted[y].mean() + (~predicted[~y]).mean()))


def choose_mix(
    z_network: Any,
    z_other: Any,
    y: Any,
    *,
    weights: Sequence[float] = MIX_WEIGHTS,
    thresholds: Sequence[float] = MIX_THRESHOLDS,
) -> Mix:
    """The ``w`` and ``t`` with the best balanced accuracy of ``w * z_network + (1 - w) * z_other > t``.

    Ties go to the threshold nearest 0, then to the weight nearest 0.5 (the least committed choice).
    """
    zn, zo = np.asarray(z_network, dtype=np.float64), np.asarray(z_other, dtype=np.float64)
    labels = np.asarray(y).astype(bool)
    if not zn.shape == zo.shape == labels.shape or labels.all() or not labels.any():
        raise ValueError("choose_mix needs equal-length log-odds and labels of both classes")
    best: tuple[float, float, float] | None = None
    best_mix = Mix(0.5, 0.0, 0.0)
    for w in weights:
        z = w * zn + (1 - w) * zo
        for t in thresholds:
            score = balanced_accuracy(labels, z > t)
            key = (round(score, 12), -abs(t), -abs(w - 0.5))
            if best is None or key > best:
                best, best_mix = key, Mix(float(w), float(t), score)
    return best_mix


def domain_halves(domains: Any, labels: Any) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Two halves of the data by whole domains, each with both classes: the inner folds of the nested rule.

    The domains of each class, sorted by name, go alternately to half A and half B (every v2 domain holds
    one class, so each half holds domains of both). A model trained on one half and scored on the other
    is scored on domains it never saw, as leave-one-domain-out scores the outer model.
    """
    domains, labels = np.asarray(domains), np.asarray(labels)
    half_a = np.zeros(domains.shape, dtype=bool)
    for label in np.unique(labels):
        names = sorted(set(domains[labels == label].tolist()))
        for i, name in enumerate(names):
            if i % 2 == 0:
                half_a |= (domains == name) & (labels == label)
    # A domain with both classes counts for the class it has most of: keep each domain on one side.
    for name in set(domains.tolist()):
        m = domains == name
        half_a[m] = half_a[m].mean() >= 0.5
    if half_a.all() or not half_a.any():
        raise ValueError("the nested rule needs at least two domains of each class")
    return half_a, ~half_a


class LateFusion(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """:class:`FusionModel` on all but the last column, mixed with the last column (a network's log-odds).

    Parameters
    ----------
    fusion : FusionModel or None
        The model of the hand-made and frozen-network columns (default: ``FusionModel()``).
    network_weight : float
        ``w`` in the module's formula (0: the fusion alone; 1: the network alone).
    threshold : float
        ``t``: the mixed log-odds at which an image is called animated.
    """

    def __init__(self, fusion: Any = None, network_weight: float = 0.5, threshold: float = 0.0) -> None:
        self.fusion = fusion
        self.network_weight = network_weight
        self.threshold = threshold

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LateFusion:
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if not 0.0 <= float(self.network_weight) <= 1.0:
            raise ValueError(f"network_weight must be between 0 and 1, got {self.network_weight}")
        if not np.isfinite(float(self.threshold)):
            raise ValueError(f"threshold must be finite, got {self.threshold}")
        if X.shape[1] < 2:
            raise ValueError(f"LateFusion needs the fusion's columns and log-odds, got {X.shape[1]} feature(s)")
        fusion = FusionModel() if self.fusion is None else self.fusion
        self.fusion_ = clone(fusion).fit(X[:, :-1], y, sample_weight=sample_weight)
        self.classes_ = self.fusion_.classes_
        return self

    def decision_function(self, X: Any) -> FloatArray:
        """The mixed log-odds minus the threshold: 0 at P = 0.5."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        z_fusion = log_odds(self.fusion_.predict_proba(X[:, :-1])[:, 1])
        w = float(self.network_weight)
        return np.asarray(w * X[:, -1] + (1 - w) * z_fusion - float(self.threshold), dtype=np.float64)

    def predict_proba(self, X: Any) -> FloatArray:
        p = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -50, 50)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> Any:
        animated = self.decision_function(X) > 0
        return self.classes_[animated.astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


__all__ = ["MIX_THRESHOLDS", "MIX_WEIGHTS", "LateFusion", "Mix", "balanced_accuracy", "choose_mix", "domain_halves"]
