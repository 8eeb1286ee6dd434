import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclass.classifiers.balance import log_odds
from imgclass.classifiers.fusion import FusionModel
from imgclass.classifiers.late_fusion import LateFusion, balanced_accuracy, choose_mix, domain_halves


def _expected_failures(estimator: LateFusion) -> dict[str, str]:
    # The last column is set apart as a network's log-odds (the fusion never reads it); on the check's
    # generic two-feature data that leaves the fusion one feature, under the check's accuracy bar.
    return {"check_classifiers_train": "the last column is taken as a network's log-odds"}


@parametrize_with_checks(
    [LateFusion(FusionModel(calibration_folds=0), 0.0), LateFusion(FusionModel(calibration_folds=0), 0.3, -0.5)],
    expected_failed_checks=_expected_failures,
)
def test_late_fusion_is_a_scikit_learn_estimator(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def test_the_weight_moves_from_the_fusion_to_the_network() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    fusion = FusionModel(calibration_folds=0)
    alone = fusion.fit(X[:, :-1], y).predict_proba(X[:, :-1])[:, 1]
    assert np.allclose(LateFusion(fusion, 0.0).fit(X, y).predict_proba(X)[:, 1], alone)
    network_only = LateFusion(fusion, 1.0, threshold=0.4).fit(X, y)
    assert np.allclose(network_only.decision_function(X), X[:, -1] - 0.4)
    assert np.array_equal(network_only.predict(X), (X[:, -1] > 0.4).astype(int))
    half = LateFusion(fusion, 0.5).fit(X, y).decision_function(X)
    assert np.allclose(half, 0.5 * X[:, -1] + 0.5 * log_odds(alone))
    with pytest.raises(ValueError, match="network_weight"):
        LateFusion(fusion, 1.5).fit(X, y)


def test_the_rule_finds_the_better_source_and_its_threshold() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    good = (2 * y - 1) * 2.0 + rng.normal(size=600) + 1.0  # separates the classes, but around 1, not 0
    noise = rng.normal(size=600)
    mix = choose_mix(good, noise, y)
    assert mix.weight >= 0.8 and mix.threshold == pytest.approx(mix.weight * 1.0, abs=0.4)
    mixed = mix.weight * good + (1 - mix.weight) * noise
    assert mix.score == balanced_accuracy(y, mixed > mix.threshold) > 0.9
    assert choose_mix(noise, good, y).weight <= 0.2
    with pytest.raises(ValueError, match="both classes"):
        choose_mix(good, noise, np.ones(600, int))


def test_domain_halves_keep_domains_whole_and_both_classes_on_each_side() -> None:
    domains = np.array(["a", "a", "b", "c", "c", "d", "e", "f"])
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    half_a, half_b = domain_halves(domains, labels)
    assert not (half_a & half_b).any() and (half_a | half_b).all()
    for half in (half_a, half_b):
        assert set(labels[half].tolist()) == {0, 1}
        assert all(half[domains == d].all() or not half[domains == d].any() for d in set(domains.tolist()))
    with pytest.raises(ValueError, match="two domains of each class"):
        domain_halves(np.array(["a", "b"]), np.array([0, 1]))
