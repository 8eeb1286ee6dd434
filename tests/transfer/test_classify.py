"""The server's classifier choice goes through imgclass.ready: the accurate default, names or model files."""

from __future__ import annotations

import pytest

from imgclass.ready import DEFAULT_CLASSIFIER
from imgclass.transfer.classify import resolve_classifiers


def test_default_is_the_accurate_classifier() -> None:
    assert list(resolve_classifiers(None)) == [DEFAULT_CLASSIFIER]


def test_names_and_nothing() -> None:
    assert list(resolve_classifiers(["colour-count", "byte-length"])) == ["colour-count", "byte-length"]
    assert resolve_classifiers([]) == {}


def test_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown classifier"):
        resolve_classifiers(["no-such"])


@pytest.mark.parametrize(
    ("name", "decodes"),
    [("bilateral", True), ("colour-count", True), ("fast", True), ("combined", True),
     ("byte-length", False), ("byte-onehot", False), ("byte-stream", False)],
)
def test_only_pixel_classifiers_prove_an_image_decodes(name: str, decodes: bool) -> None:
    from imgclass.classifiers import make_classifier
    from imgclass.ready import ReadyClassifier
    from imgclass.transfer.classify import decodes_pixels

    assert decodes_pixels(ReadyClassifier(name, make_classifier(name))) is decodes


def test_an_unknown_estimator_is_not_trusted_to_decode() -> None:
    from imgclass.ready import ReadyClassifier
    from imgclass.transfer.classify import decodes_pixels

    class Anything:
        decodes_pixels = "yes"

        def predict_proba(self, images: list[bytes]) -> list[list[float]]:
            return [[0.5, 0.5]] * len(images)

    assert not decodes_pixels(ReadyClassifier("x", Anything()))
