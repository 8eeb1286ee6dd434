import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclass.classifiers.balance import ClassBalanced, balanced_sample_weight, checked_sample_weight


@parametrize_with_checks([ClassBalanced(LogisticRegression())])
def test_class_balanced_is_a_scikit_learn_estimator(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def test_balanced_weights_give_each_class_the_same_total_and_average_one() -> None:
    y = np.array(["a", "a", "a", "b"])
    weights = balanced_sample_weight(y)
    assert weights.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
    assert weights[y == "a"].sum() == pytest.approx(weights[y == "b"].sum())
    # The caller's weights are kept in proportion within a class.
    given = balanced_sample_weight(y, [1.0, 2.0, 1.0, 5.0])
    assert given[1] == pytest.approx(2 * given[0]) and given.mean() == pytest.approx(9 / 4)
    assert balanced_sample_weight(np.array([0, 1, 0, 1])).tolist() == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("y", "weights", "match"),
    [
        (np.array([]), None, "non-empty"),
        (np.array([0, 1]), [1.0], "shape"),
        (np.array([0, 1]), [1.0, np.nan], "finite"),
        (np.array([0, 1]), [1.0, 0.0], "every class"),
    ],
)
def test_bad_weights_are_refused(y: np.ndarray, weights: list[float] | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        balanced_sample_weight(y, weights)


def test_checked_sample_weight_refuses_all_zero() -> None:
    assert checked_sample_weight(None, 3).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="not all zero"):
        checked_sample_weight([0.0, 0.0], 2)


def test_calibrated_probabilities_assume_equal_priors() -> None:
    # Features that say nothing: the calibrated probability is then the prior the model assumes.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 3)), np.r_[np.zeros(300, int), np.ones(100, int)]
    calibrated = CalibratedClassifierCV(LogisticRegression(), cv=3, ensemble=False)
    assert ClassBalanced(calibrated).fit(X, y).predict_proba(X)[:, 1].mean() == pytest.approx(0.5, abs=0.05)
    assert calibrated.fit(X, y).predict_proba(X)[:, 1].mean() == pytest.approx(0.25, abs=0.05)
    with pytest.raises(ValueError, match="needs an estimator"):
        ClassBalanced().fit(X, y)
