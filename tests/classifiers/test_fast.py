import numpy as np
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV

from imgclass.classifiers.balance import ClassBalanced
from imgclass.classifiers.fast import FAST_FEATURES, FastClassifier, fast_features

FAST = {"max_iter": 20, "min_samples_leaf": 2, "calibration_folds": 3}


def test_features_are_named_and_finite(tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, _ = tiny_set
    features = FastClassifier().extract_features(images[:4])
    assert features.shape == (4, len(FAST_FEATURES)) == (4, len(FastClassifier.feature_names))
    assert np.isfinite(features).all()
    assert len(set(FAST_FEATURES)) == len(FAST_FEATURES)


def test_features_barely_move_when_the_image_is_saved_at_half_size(china_jpeg: bytes) -> None:
    import cv2

    from imgclass.decode import decode_image

    full = decode_image(china_jpeg)
    half = cv2.resize(full, (full.shape[1] // 2, full.shape[0] // 2), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", half, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    a, b = np.array(fast_features(china_jpeg)), np.array(fast_features(buf.tobytes()))
    shares = [i for i, name in enumerate(FAST_FEATURES) if "share" in name]
    assert np.abs(a[shares] - b[shares]).max() < 0.1


def test_separates_drawings_from_photos_with_calibrated_probabilities(
    tiny_set: tuple[list[bytes], np.ndarray],
) -> None:
    images, labels = tiny_set
    clf = FastClassifier(**FAST).fit(images[:16], labels[:16])
    # Equal priors by default: the calibrated boosting inside a class-balancing wrapper.
    assert isinstance(clf.model_, ClassBalanced) and isinstance(clf.model_.estimator_, CalibratedClassifierCV)
    assert isinstance(FastClassifier(balanced=False).make_model(), CalibratedClassifierCV)
    assert clf.predict(images[16:]).tolist() == labels[16:].tolist()
    proba = clf.predict_proba(images[16:])
    assert proba.shape == (8, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba[:, 1] > 0.5) == labels[16:].astype(bool)).all()
    assert clf.predict_names(images[16:18]) == ["real", "animated"]


def test_parameters_are_checked_and_cloneable() -> None:
    clf = FastClassifier(max_iter=7, calibration="isotonic")
    assert clone(clf).get_params()["max_iter"] == 7
    assert clf.make_model().estimator.method == "isotonic"
    with pytest.raises(ValueError, match="calibration must be"):
        FastClassifier(calibration="platt").make_model()
    with pytest.raises(ValueError, match="calibration_folds"):
        FastClassifier(calibration_folds=1).make_model()
