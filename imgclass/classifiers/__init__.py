"""The classifiers, by name.

``make_classifier(name, **params)`` builds an unfitted estimator. A classifier *ready to predict* (a shipped
model, a fixed rule or a model file) comes from :mod:`imgclass.ready`, which sits above this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from imgclass.classifiers.base import ImageClassifier, check_images
from imgclass.classifiers.bilateral import BilateralClassifier
from imgclass.classifiers.byte_length import ByteLengthClassifier
from imgclass.classifiers.byte_onehot import ByteOneHotClassifier
from imgclass.classifiers.byte_stream import ByteStreamClassifier
from imgclass.classifiers.colour_count import ColourCountClassifier
from imgclass.classifiers.combined import CombinedClassifier
from imgclass.classifiers.threshold import ThresholdClassifier

logger = logging.getLogger(__name__)

#: Name -> estimator class. The poster's four rows first, in its order.
REGISTRY: dict[str, Callable[..., ImageClassifier]] = {
    "byte-length": ByteLengthClassifier,
    "byte-onehot": ByteOneHotClassifier,
    "bilateral": BilateralClassifier,
    "colour-count": ColourCountClassifier,
    "combined": CombinedClassifier,
    "byte-stream": ByteStreamClassifier,
}

#: The poster's classifiers, in the order of its metrics table.
POSTER_CLASSIFIERS: tuple[str, ...] = ("byte-length", "byte-onehot", "bilateral", "colour-count")


def classifier_names() -> tuple[str, ...]:
    """Every registered classifier name."""
    return tuple(REGISTRY)


CLASSIFIER_NAMES = classifier_names()


def make_classifier(name: str, **params: Any) -> ImageClassifier:
    """A new unfitted classifier; unknown names raise ``ValueError`` listing the known ones."""
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(REGISTRY)}") from None
    return factory(**params)


__all__ = [
    "CLASSIFIER_NAMES",
    "POSTER_CLASSIFIERS",
    "REGISTRY",
    "BilateralClassifier",
    "ByteLengthClassifier",
    "ByteOneHotClassifier",
    "ByteStreamClassifier",
    "ColourCountClassifier",
    "CombinedClassifier",
    "ImageClassifier",
    "ThresholdClassifier",
    "check_images",
    "classifier_names",
    "make_classifier",
]
