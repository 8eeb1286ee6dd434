from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from imgclass.classifiers.threshold import ThresholdClassifier
from imgclass.exploration.cv import cv_accuracy, score, single_threaded


def test_separable_scores_perfectly_and_interval_brackets_it() -> None:
    x = np.r_[np.arange(20.0), np.arange(20.0) + 100]
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    result = cv_accuracy(ThresholdClassifier(), x, y, folds=5, seed=0)
    assert result.accuracy == 1.0 and result.balanced_accuracy == 1.0 and result.n == 40
    assert result.ci95[0] < 1.0 == result.ci95[1]


def test_same_seed_same_answer_and_shape_checks() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] + rng.normal(scale=1.0, size=60) > 0).astype(int)
    assert cv_accuracy(ThresholdClassifier(), x, y, seed=1) == cv_accuracy(ThresholdClassifier(), x, y, seed=1)
    with pytest.raises(ValueError, match="labels"):
        cv_accuracy(ThresholdClassifier(), x, y[:-1])


def test_score_counts() -> None:
    result = score(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    assert result.accuracy == 0.75 and result.balanced_accuracy == 0.75


def test_single_threaded_nests() -> None:
    with single_threaded(), single_threaded():
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert all(i["num_threads"] == 1 for i in blas)
