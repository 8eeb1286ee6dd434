"""The byte-stream classifier: learns from the compressed bytes, batches its features, saves safely."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from imgclass.classifiers import REGISTRY, make_classifier
from imgclass.classifiers import byte_stream as module
from imgclass.classifiers.balance import ClassBalanced
from imgclass.classifiers.byte_stream import ByteStreamClassifier
from imgclass.features.byte_stream import FEATURE_NAMES


@pytest.fixture(autouse=True)
def one_openmp_thread() -> Iterator[None]:
    # Boosting 16 images on OpenMP threads that share two busy cores with other jobs spins for seconds.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def test_registered() -> None:
    assert REGISTRY["byte-stream"] is ByteStreamClassifier
    assert isinstance(make_classifier("byte-stream", model="logistic"), ByteStreamClassifier)
    assert ByteStreamClassifier.feature_names == FEATURE_NAMES


@pytest.mark.parametrize("model", ["hgb", "logistic"])
def test_separates_drawings_from_photos(model: str, tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, labels = tiny_set
    clf = ByteStreamClassifier(model=model, min_samples_leaf=2).fit(images[:16], labels[:16])
    # Eight held-out images: the trees may split on size instead of flatness with 16 training images.
    assert (clf.predict(images[16:]) == labels[16:]).mean() >= 7 / 8
    proba = clf.predict_proba(images[16:])
    assert proba.shape == (8, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert clf.predict_names(images[16:18]) == ["real", "animated"]


def test_batched_features_equal_per_image_features(
    tiny_set: tuple[list[bytes], np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    images, _ = tiny_set
    monkeypatch.setattr(module, "BATCH", 5)  # several batches and a short last one
    clf = ByteStreamClassifier()
    features, times = clf.extract_features_timed(images[:12])
    assert features.shape == (12, len(FEATURE_NAMES)) and times.shape == (12,) and (times >= 0).all()
    for row, data in zip(features, images[:12], strict=True):
        assert row.tolist() == list(clf.image_features(data))


def test_parameters_are_checked_and_cloneable() -> None:
    clf = ByteStreamClassifier(max_iter=7, C=0.5)
    assert clone(clf).get_params()["max_iter"] == 7
    model = clf.make_model()
    assert isinstance(model, ClassBalanced) and isinstance(model.estimator, HistGradientBoostingClassifier)
    assert isinstance(ByteStreamClassifier(balanced=False).make_model(), HistGradientBoostingClassifier)
    logistic = ByteStreamClassifier(model="logistic").make_model()
    assert isinstance(logistic, Pipeline) and logistic[-1].class_weight == "balanced"
    with pytest.raises(ValueError, match="model must be one of"):
        ByteStreamClassifier(model="svm").make_model()


def test_bad_input_is_a_value_error(tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, labels = tiny_set
    clf = ByteStreamClassifier().fit(images, labels)
    with pytest.raises(ValueError, match="image 1"):
        clf.predict([images[0], b"not an image"])


def test_saved_model_round_trips(tmp_path: Path, tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    from imgclass.models import load_model, save_model

    images, labels = tiny_set
    clf = ByteStreamClassifier(min_samples_leaf=2).fit(images, labels)
    loaded = load_model(save_model(clf, tmp_path / "byte-stream.json"))
    assert isinstance(loaded, ByteStreamClassifier)
    assert np.array_equal(loaded.predict_proba(images), clf.predict_proba(images))
    assert loaded.formats_ == ("jpeg",)


def test_warns_about_containers_it_was_not_fitted_on(
    tiny_set: tuple[list[bytes], np.ndarray], cartoon_png: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    images, labels = tiny_set
    clf = ByteStreamClassifier(model="logistic").fit(images, labels)
    assert clf.formats_ == ("jpeg",)
    with caplog.at_level("WARNING", logger="imgclass.classifiers.byte_stream"):
        clf.predict(images[:2])
        assert not caplog.records
        clf.predict([images[0], cartoon_png])
    assert "fitted on jpeg files only" in caplog.text and "1 png file" in caplog.text


def test_classifies_with_every_pixel_decoder_broken(
    tiny_set: tuple[list[bytes], np.ndarray], cartoon_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guarantee: no code path of byte-stream's prediction produces a pixel (or an inflated PNG row).
    import zlib

    import cv2
    import PIL.Image

    import imgclass.decode
    import imgclass.features.working_image

    images, labels = tiny_set
    webp = cv2.imencode(".webp", cv2.imdecode(np.frombuffer(images[1], np.uint8), cv2.IMREAD_COLOR))[1].tobytes()
    mixed = [*images, cartoon_png, webp]
    clf = ByteStreamClassifier(min_samples_leaf=2).fit(mixed, [*labels, 1, 1])
    expected = clf.predict_proba(mixed)

    def broken(*args: object, **kwargs: object) -> None:
        raise AssertionError("byte-stream decoded pixels")

    for target, names in [
        (cv2, ("imdecode", "imdecodemulti", "imread", "imreadmulti", "idct", "dct", "resize", "cvtColor")),
        (imgclass.decode, ("decode_image", "to_bgr8")),
        (imgclass.features.working_image, ("decode_working",)),
        (PIL.Image, ("open", "frombytes", "frombuffer")),
        (zlib, ("decompress", "decompressobj")),
    ]:
        for name in names:
            if hasattr(target, name):
                monkeypatch.setattr(target, name, broken)
    assert np.array_equal(clf.predict_proba(mixed), expected)
    assert clf.predict([images[0], cartoon_png, webp]).shape == (3,)


def test_augmented_fit_learns_from_copies(tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, labels = tiny_set
    plain = ByteStreamClassifier(min_samples_leaf=2).fit(images, labels)
    augmented = ByteStreamClassifier(min_samples_leaf=2, augment=1).fit(images, labels)
    assert plain.model_.n_features_in_ == augmented.model_.n_features_in_ == len(FEATURE_NAMES)
    # Each image and its copy: twice the rows, so the boosting's first split counts differ.
    assert not np.array_equal(plain.predict_proba(images), augmented.predict_proba(images))
    with pytest.raises(ValueError, match="augment must be"):
        ByteStreamClassifier(augment=-1).fit(images, labels)
