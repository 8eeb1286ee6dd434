"""imgclass.ready: resolving a classifier, and bytes to a verdict."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from imgclass.classifiers import REGISTRY, make_classifier
from imgclass.decode import ImageDecodeError
from imgclass.models import save_model
from imgclass.ready import (
    DEFAULT_CLASSIFIER,
    FAST_CLASSIFIER,
    Limits,
    ReadyClassifier,
    Verdict,
    check_image,
    classify_bytes,
    label_of,
    ready,
    ready_many,
    ready_names,
)


def _png(width: int = 32, height: int = 24, value: int = 200) -> bytes:
    ok, buf = cv2.imencode(".png", np.full((height, width, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


class _Fixed:
    """An estimator on bytes that answers a fixed P(animated), or raises for one marked input."""

    def __init__(self, p: float, bad: bytes | None = None, exc: Exception | None = None) -> None:
        self.p, self.bad, self.exc, self.calls = p, bad, exc, 0

    def predict_proba(self, images: list[bytes]) -> np.ndarray:
        self.calls += 1
        if self.bad is not None and self.bad in images:
            raise self.exc or ValueError("bad input")
        return np.tile([1 - self.p, self.p], (len(images), 1))


def test_defaults_are_registered() -> None:
    assert DEFAULT_CLASSIFIER in REGISTRY
    assert FAST_CLASSIFIER in REGISTRY
    assert DEFAULT_CLASSIFIER in ready_names()


def test_ready_by_name_is_cached_and_named() -> None:
    a, b = ready("colour-count"), ready("colour-count")
    assert a.name == "colour-count" and a.spec == "colour-count"
    assert a.estimator is b.estimator


def test_ready_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown classifier 'nope'.*colour-count"):
        ready("nope")
    with pytest.raises(ValueError, match=r"model file .* does not exist"):
        ready("missing/model.json")
    with pytest.raises(ValueError, match="a classifier is a name"):
        ready(42)


def test_ready_model_file(tmp_path) -> None:
    images = [_png(value=v) for v in (10, 60, 120, 250)]
    model = make_classifier("byte-length").fit(images, [0, 0, 1, 1])
    path = tmp_path / "mine.json"
    save_model(model, path)
    loaded = ready(path)
    assert loaded.name == "mine.json" and loaded.spec == str(path)
    assert ready(str(path)).estimator is loaded.estimator  # loaded once
    np.testing.assert_array_equal(loaded.predict_proba(images), model.predict_proba(images))


def test_ready_estimator_and_many() -> None:
    fixed = _Fixed(0.9)
    chosen = ready_many([fixed, "colour-count"])
    assert [c.name for c in chosen] == ["_Fixed", "colour-count"]
    assert ready_many()[0].name == DEFAULT_CLASSIFIER
    with pytest.raises(ValueError, match="more than once: colour-count"):
        ready_many(["colour-count", "colour-count"])


def test_check_image_limits() -> None:
    data = _png(40, 30)
    header = check_image(data)
    assert (header.format, header.width, header.height) == ("png", 40, 30)
    with pytest.raises(ImageDecodeError, match="empty file"):
        check_image(b"")
    with pytest.raises(ImageDecodeError, match="exceeds the limit of 10"):
        check_image(data, Limits(max_bytes=10))
    with pytest.raises(ImageDecodeError, match="exceeds the limit of 1000 pixels"):
        check_image(data, Limits(max_pixels=1000))
    with pytest.raises(ValueError):
        check_image(b"not an image at all")
    with pytest.raises(ValueError, match="positive"):
        Limits(max_pixels=0)


def test_classify_bytes_verdicts_and_isolated_failures() -> None:
    data = _png()
    good = ReadyClassifier("good", _Fixed(0.8))
    broken = ReadyClassifier("broken", _Fixed(0.8, bad=data, exc=RuntimeError("boom")))
    result = classify_bytes(data, [good, broken])
    assert (result.format, result.width, result.height) == ("png", 32, 24)
    assert result.verdicts[0] == Verdict("good", "animated", 0.8)
    assert result.verdicts[1].label is None and result.verdicts[1].error == "RuntimeError: boom"


def test_classify_bytes_decode_failure_is_not_an_image() -> None:
    data = _png()
    decoder = ReadyClassifier("pixels", _Fixed(0.5, bad=data, exc=ImageDecodeError("corrupt")))
    with pytest.raises(ImageDecodeError, match="corrupt"):
        classify_bytes(data, [decoder])


def test_classify_bytes_memory_error_propagates() -> None:
    data = _png()
    with pytest.raises(MemoryError):
        classify_bytes(data, [ReadyClassifier("m", _Fixed(0.5, bad=data, exc=MemoryError()))])


def test_scores_batch_falls_back_to_one_by_one() -> None:
    good, bad = _png(value=1), _png(value=2)
    classifier = ReadyClassifier("c", _Fixed(0.25, bad=bad))
    scores = classifier.scores([good, bad, good])
    assert scores[0] == 0.25 and scores[2] == 0.25
    assert isinstance(scores[1], ValueError)


class _Timed(_Fixed):
    """An estimator on features that says how long each image's features took (as ImageClassifier does)."""

    def __init__(self, ms: list[float]) -> None:
        super().__init__(0.75)
        self.ms = ms

    def extract_features_timed(self, images: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(images), 1)), np.array(self.ms[: len(images)])

    def fitted_model(self) -> _Fixed:
        return _Fixed(0.75)


def test_timed_scores_give_each_image_its_own_time() -> None:
    """Issue 21: bulk's ms was one batch share for every file of a batch."""
    scores, seconds = ReadyClassifier("t", _Timed([1.0, 250.0, 3.0])).timed_scores([b"a", b"b", b"c"])
    assert scores == [0.75, 0.75, 0.75]
    spent = np.asarray(seconds) * 1e3 - np.array([1.0, 250.0, 3.0])
    assert np.all(spent >= 0) and np.ptp(spent) < 1e-9  # the model call's share, the same for each


def test_timed_scores_of_a_plain_estimator_share_its_batch() -> None:
    good, bad = _png(value=1), _png(value=2)
    scores, seconds = ReadyClassifier("c", _Fixed(0.25, bad=bad)).timed_scores([good, bad, good])
    assert scores[0] == scores[2] == 0.25 and isinstance(scores[1], ValueError)
    assert len(seconds) == 3 and np.all(np.asarray(seconds) > 0) and np.ptp(seconds) == 0


def test_timed_scores_equal_scores_for_a_real_classifier() -> None:
    images = [_png(value=v) for v in (10, 120, 240)] + [b"not an image"]
    classifier = ready(FAST_CLASSIFIER)
    timed, seconds = classifier.timed_scores(images)
    plain = classifier.scores(images)
    assert timed[:3] == plain[:3] and isinstance(timed[3], ImageDecodeError) and isinstance(plain[3], ImageDecodeError)
    assert len(set(np.round(seconds, 9))) > 1


def test_non_finite_score_is_an_error() -> None:
    result = classify_bytes(_png(), [ReadyClassifier("nan", _Fixed(float("nan")))])
    assert result.verdicts[0].error is not None and "non-finite" in result.verdicts[0].error


@pytest.mark.parametrize(("score", "label"), [(0.0, "real"), (0.5, "real"), (0.5001, "animated"), (1.0, "animated")])
def test_label_threshold(score: float, label: str) -> None:
    assert label_of(score) == label


def test_real_classifier_on_real_image() -> None:
    result = classify_bytes(_png(64, 64), [ready("colour-count")])
    verdict = result.verdicts[0]
    assert verdict.label == "animated" and verdict.score is not None and verdict.score > 0.5
