import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclass.classifiers.threshold import ThresholdClassifier, best_split, split_scores


@parametrize_with_checks([ThresholdClassifier(), ThresholdClassifier(direction=-1)])
def test_sklearn_contract(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def test_finds_cut_and_direction() -> None:
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    up = ThresholdClassifier().fit(X, [0, 0, 1, 1])
    assert (up.threshold_, up.direction_) == (2.5, 1)
    down = ThresholdClassifier().fit(X, [1, 1, 0, 0])
    assert (down.threshold_, down.direction_) == (2.5, -1)
    assert down.predict(X).tolist() == [1, 1, 0, 0]


def test_fixed_direction_is_kept() -> None:
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    forced = ThresholdClassifier(direction=1).fit(X, [1, 1, 0, 0])
    assert forced.direction_ == 1 and forced.train_balanced_accuracy_ <= 0.5


def test_fixed_threshold_is_not_moved() -> None:
    X = np.array([[0.1], [0.2], [0.4], [0.9]])
    model = ThresholdClassifier(threshold=0.3, direction=1).fit(X, [0, 0, 1, 1])
    assert model.threshold_ == 0.3
    assert model.predict([[0.29], [0.31]]).tolist() == [0, 1]


def test_picks_the_separating_feature_and_balanced_accuracy() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0] * 90 + [1] * 10)  # imbalanced: accuracy would favour "always 0"
    X = np.column_stack([rng.normal(size=100), y * 3.0 + rng.normal(0, 0.1, 100)])
    model = ThresholdClassifier().fit(X, y)
    assert model.feature_ == 1 and model.train_balanced_accuracy_ == 1.0


def test_probabilities_agree_with_predictions() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 1))
    y = (X[:, 0] + rng.normal(0, 0.5, 200) > 0).astype(int)
    model = ThresholdClassifier().fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:, 1] > 0.5, model.predict(X) == 1)
    order = np.argsort(model.decision_function(X))
    assert np.all(np.diff(proba[order, 1]) >= 0)  # monotone in the margin


def test_split_scores_match_brute_force() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 10, 60).astype(float)
    pos = rng.random(60) < 0.4
    cuts, scores = split_scores(x, pos)
    for cut, score in zip(cuts, scores, strict=True):
        pred = x > cut
        assert score == pytest.approx(0.5 * (pred[pos].mean() + (~pred[~pos]).mean()))
    assert best_split(np.ones(5), pos[:5])[0] == 0.5


def test_errors() -> None:
    with pytest.raises(ValueError, match="Only binary"):
        ThresholdClassifier().fit([[1.0], [2.0], [3.0]], [0, 1, 2])
    with pytest.raises(ValueError, match="direction"):
        ThresholdClassifier(direction=2).fit([[1.0], [2.0]], [0, 1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="feature"):
        ThresholdClassifier(feature=3).fit([[1.0], [2.0]], [0, 1])
