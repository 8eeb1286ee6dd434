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
