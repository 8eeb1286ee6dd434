from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from imgclass.exploration.thresholds import best_threshold, class_direction, reading, roc, threshold_outcome

SCORES = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
LABELS = np.array([0, 0, 1, 0, 1, 1])


def test_outcome_counts_both_directions() -> None:
    up = threshold_outcome(SCORES, LABELS, 0.35, 1)
    assert up.confusion == ((2, 1), (1, 2))
    assert up.accuracy == pytest.approx(4 / 6) and up.n == 6
    down = threshold_outcome(SCORES, LABELS, 0.35, -1)
    assert down.confusion == ((1, 2), (2, 1))
    assert up.ci95[0] < up.accuracy < up.ci95[1]


def test_best_cut_and_direction() -> None:
    assert class_direction(SCORES, LABELS) == 1
    assert class_direction(-SCORES, LABELS) == -1
    best = best_threshold(SCORES, LABELS)
    assert best.balanced_accuracy == pytest.approx(
        max(threshold_outcome(SCORES, LABELS, t, d).balanced_accuracy for t in SCORES for d in (1, -1))
    )
    r = reading(SCORES, LABELS, 0.05)
    assert r.chosen.accuracy == 0.5 and r.best.accuracy >= r.chosen.accuracy
    assert "accuracy 0.500" in r.describe("share") and "share > 0.05" in r.describe("share")


def test_roc_matches_sklearn_and_interval_brackets_it() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = y + rng.normal(size=200)
    curve = roc(s, y)
    assert curve.auc == pytest.approx(roc_auc_score(y, s))
    assert curve.auc_ci95[0] < curve.auc < curve.auc_ci95[1]
    assert curve.fpr[0] == 0 and curve.tpr[-1] == 1


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [([0.1], [0, 1], "labels"), ([], [], "at least one"), ([0.1, 0.2], [0, 2], "0 \\(real\\)")],
)
def test_bad_input(scores: list[float], labels: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        threshold_outcome(scores, labels, 0.0)


def test_one_class_refused() -> None:
    with pytest.raises(ValueError, match="both classes"):
        roc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="direction"):
        threshold_outcome(SCORES, LABELS, 0.3, 0)
