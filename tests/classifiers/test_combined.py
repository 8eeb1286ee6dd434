from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclass.classifiers import make_classifier
from imgclass.classifiers.combined import COMBINED_FEATURES, CombinedClassifier
from imgclass.classifiers.fast import FAST_FEATURES, fast_features
from imgclass.classifiers.fusion import FusionModel
from imgclass.features.embedding import EMBEDDING_SIZE
from imgclass.models import load_model, save_model

SMALL = {"calibration_folds": 3}


@parametrize_with_checks([FusionModel(), FusionModel(n_hand=1, hand_weight=5.0, calibration_folds=0)])
def test_fusion_model_is_a_scikit_learn_estimator(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def test_one_decode_gives_the_fast_features_and_the_embedding(tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, _ = tiny_set
    features = CombinedClassifier(batch_size=3).extract_features(images[:5])
    assert features.shape == (5, len(FAST_FEATURES) + EMBEDDING_SIZE) == (5, len(COMBINED_FEATURES))
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
