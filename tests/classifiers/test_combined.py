from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclass.classifiers import make_classifier
from imgclass.classifiers.combined import COMBINED_FEATURES, CombinedClassifier
from imgclass.classifiers.fast import FAST_FEATURES, fast_features
from imgclass.classifiers.fusion import FusionModel
from imgclass.features.embedding import HIDDEN_SIZE
from imgclass.models import load_model, save_model

SMALL = {"calibration_folds": 3}


def _expected_failures(estimator: FusionModel) -> dict[str, str]:
    if estimator.calibration_folds:
        # Calibration folds split k repeated rows differently from one row of weight k.
        return {"check_sample_weight_equivalence_on_dense_data": "cross-validated calibration folds"}
    return {}


@parametrize_with_checks(
    [FusionModel(), FusionModel(n_hand=1, hand_weight=5.0, calibration_folds=0, class_weight=None)],
    expected_failed_checks=_expected_failures,
)
def test_fusion_model_is_a_scikit_learn_estimator(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


@pytest.mark.parametrize("calibration_folds", [0, 3])
def test_balanced_classes_give_equal_priors_whatever_the_training_ratio(calibration_folds: int) -> None:
    # Features that say nothing about the class: the probability is then the prior the model assumes.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = np.r_[np.zeros(300, int), np.ones(100, int)]
    balanced = FusionModel(calibration_folds=calibration_folds).fit(X, y)
    assert balanced.predict_proba(X)[:, 1].mean() == pytest.approx(0.5, abs=0.05)
    as_trained = FusionModel(calibration_folds=calibration_folds, class_weight=None).fit(X, y)
    assert as_trained.predict_proba(X)[:, 1].mean() == pytest.approx(0.25, abs=0.05)
    # Weights given by the caller are kept within each class: here they make the ratio 1:1 already.
    weights = np.where(y == 0, 1.0, 3.0)
    weighted = FusionModel(calibration_folds=calibration_folds, class_weight=None).fit(X, y, sample_weight=weights)
    assert weighted.predict_proba(X)[:, 1].mean() == pytest.approx(0.5, abs=0.05)


def test_balanced_parameter_reaches_the_fusion() -> None:
    assert CombinedClassifier().make_model().class_weight == "balanced"
    assert CombinedClassifier(balanced=False).make_model().class_weight is None


def test_bad_class_weight_or_sample_weight_is_refused() -> None:
    X, y = np.random.default_rng(1).normal(size=(20, 3)), np.r_[np.zeros(10, int), np.ones(10, int)]
    with pytest.raises(ValueError, match="class_weight"):
        FusionModel(class_weight="auto").fit(X, y)
    with pytest.raises(ValueError, match="shape"):
        FusionModel().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        FusionModel().fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="every class"):
        FusionModel().fit(X, y, sample_weight=np.r_[np.ones(10), np.zeros(10)])


def test_one_decode_gives_the_fast_features_and_the_network_block(tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, _ = tiny_set
    features = CombinedClassifier(batch_size=3).extract_features(images[:5])
    assert features.shape == (5, len(FAST_FEATURES) + HIDDEN_SIZE) == (5, len(COMBINED_FEATURES))
    assert np.isfinite(features).all()
    # The hand-made block is exactly what `fast` computes: the same working image feeds both blocks.
    assert np.allclose(features[:, : len(FAST_FEATURES)], [fast_features(x) for x in images[:5]])
    single = CombinedClassifier().image_features(images[2])
    assert np.allclose(single, features[2], atol=1e-5)


def test_separates_drawings_from_photos_with_probabilities_and_round_trips(
    tiny_set: tuple[list[bytes], np.ndarray], tmp_path: Path
) -> None:
    images, labels = tiny_set
    clf = CombinedClassifier(**SMALL).fit(images[:16], labels[:16])
    assert isinstance(clf.model_, FusionModel)
    proba = clf.predict_proba(images[16:])
    assert proba.shape == (8, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert clf.predict(images[16:]).tolist() == labels[16:].tolist()
    assert ((proba[:, 1] > 0.5) == labels[16:].astype(bool)).all()
    loaded = load_model(save_model(clf, tmp_path / "combined.json"))
    assert isinstance(loaded, CombinedClassifier)
    assert np.allclose(loaded.predict_proba(images[16:]), proba)


def test_augmented_fit_sees_more_images_but_records_the_originals(tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, labels = tiny_set
    clf = CombinedClassifier(augment=1, **SMALL).fit(images[:12], labels[:12])
    assert clf.model_.scaler_.n_samples_seen_ == 24
    assert clf.predict(images[12:]).tolist() == labels[12:].tolist()
    with pytest.raises(ValueError, match="augment"):
        CombinedClassifier(augment=-1).fit(images[:4], labels[:4])


def test_parameters_are_checked_and_cloneable() -> None:
    clf = make_classifier("combined", hand_weight=2.0, embedding_side=96)
    assert clone(clf).get_params()["embedding_side"] == 96
    assert clf.make_model().hand_weight == 2.0
    x, y = np.random.default_rng(0).normal(size=(20, 4)), np.tile([0, 1], 10)
    with pytest.raises(ValueError, match="n_hand"):
        FusionModel(n_hand=5).fit(x, y)
    with pytest.raises(ValueError, match="hand_weight"):
        FusionModel(hand_weight=0).fit(x, y)
    with pytest.raises(ValueError, match="calibration_folds"):
        FusionModel(calibration_folds=1).fit(x, y)
