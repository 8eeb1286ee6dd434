"""The classifiers, by name.

``make_classifier(name, **params)`` builds an unfitted estimator; ``pretrained(name)`` returns one that
is ready to predict (a shipped model, the poster's fixed rule, or, failing those, one fitted once per
process on the bundled reference set).
"""

from __future__ import annotations

import functools
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
from imgclass.classifiers.fast import FastClassifier
from imgclass.classifiers.threshold import ThresholdClassifier

logger = logging.getLogger(__name__)

#: Name -> estimator class. The poster's four rows first, in its order.
REGISTRY: dict[str, Callable[..., ImageClassifier]] = {
    "byte-length": ByteLengthClassifier,
    "byte-onehot": ByteOneHotClassifier,
    "bilateral": BilateralClassifier,
    "colour-count": ColourCountClassifier,
    "fast": FastClassifier,
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


def ready_classifier_names() -> tuple[str, ...]:
    """Names that :func:`pretrained` serves without fitting: fixed rules and shipped models."""
    from imgclass.models import shipped_model_path

    return tuple(
        name
        for name in REGISTRY
        if not make_classifier(name).__sklearn_tags__().requires_fit or shipped_model_path(name) is not None
    )


@functools.cache
def pretrained(name: str) -> ImageClassifier:
    """A classifier ready to predict, shared within the process (treat it as read-only)."""
    classifier = make_classifier(name)
    if not classifier.__sklearn_tags__().requires_fit:
        return classifier
    from imgclass.models import load_model, shipped_model_path

    shipped = shipped_model_path(name)
    if shipped is not None:
        try:
            return load_model(shipped)
        except (ValueError, ImportError) as exc:
            # A stale or unreadable shipped model must not break classification: refit instead.
            logger.warning("shipped model %s not used (%s); fitting on the reference set instead", shipped, exc)
    from imgclass.data import load_dataset

    logger.info("fitting %s on the bundled reference set", name)
    dataset = load_dataset()
    return classifier.fit(dataset.images, dataset.labels)


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
    "FastClassifier",
    "ImageClassifier",
    "ThresholdClassifier",
    "check_images",
    "classifier_names",
    "make_classifier",
    "pretrained",
    "ready_classifier_names",
]
