"""A classifier ready to predict on encoded bytes, and the one way from bytes to a verdict.

This module is the single home of two ideas every caller (the CLI, the server, bulk, evaluation and the
notebooks) needs:

* **resolution**: a registry name, a saved model file, or an estimator object becomes a
  :class:`ReadyClassifier` (:func:`ready`). Names load the shipped model or the fixed rule, once per
  process; model files are loaded safely (:func:`imgclass.models.load_model`) and reloaded only when the
  file changes.
* **classification**: :func:`classify_bytes` checks the bytes against :class:`Limits` (size, then the
  header's pixel count, before any decoder sees them) and asks each classifier for P(animated). There is no
  separate "does it decode" pass: a pixel classifier's own decode is the check, so an image is decoded once
  per classifier and no more (reduced where the classifier allows, e.g. JPEG DCT scaling).

It sits above :mod:`imgclass.classifiers` and :mod:`imgclass.models` and nothing below imports it, so there
is no import cycle.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from imgclass.classifiers import REGISTRY, make_classifier
from imgclass.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, checked_header
from imgclass.headers import ImageHeader
from imgclass.input_files import NOT_THE_FILES_FAULT, describe_error
from imgclass.labels import LABEL_NAMES
from imgclass.threads import one_thread
from imgclass.verdict import Verdict

logger = logging.getLogger(__name__)

#: The accurate default of the CLI, the server, bulk and the notebooks.
DEFAULT_CLASSIFIER: Final = "combined"
#: The fast choice: hand-made features on a reduced decode, about the cost of decoding.
FAST_CLASSIFIER: Final = "fast"
#: Files larger than this are refused before they are read or decoded (no photograph comes near it).
DEFAULT_MAX_BYTES: Final = 256 * 1024 * 1024
#: P(animated) above this is called animated.
THRESHOLD: Final = 0.5

Spec = str | os.PathLike[str] | Any


@dataclass(frozen=True)
class Limits:
    """What an input may cost before it is refused: encoded bytes, and pixels declared by its header."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_pixels < 1 or self.max_bytes < 1:
            raise ValueError(f"max_pixels and max_bytes must be positive, got {self.max_pixels}, {self.max_bytes}")


@dataclass(frozen=True)
class ImageVerdict:
    """An image's header facts and every classifier's verdict on it."""

    format: str
    width: int
    height: int
    verdicts: tuple[Verdict, ...]


@dataclass(frozen=True)
class ReadyClassifier:
    """A fitted classifier on encoded bytes, with the name users see (registry name or model file name)."""

    name: str
    estimator: Any = field(compare=False, repr=False)
    #: What was resolved: the registry name, the model file's path, or ``""`` for an estimator object.
    spec: str = ""

    def predict_proba(self, images: Sequence[bytes]) -> np.ndarray:
        """``(n, 2)`` probabilities; column 1 is P(animated)."""
        with one_thread():  # a batch of rows is far too little work to share (imgclass.threads)
            return np.asarray(self.estimator.predict_proba(images), dtype=np.float64)

    def scores(self, images: Sequence[bytes]) -> list[float | Exception]:
        """P(animated) per image, or the exception that image raised.

        The batch is scored at once (a model predicts a batch far faster than one image at a time); if
        that fails, images are scored one by one so that one bad file costs only its own result.
        """
        if not images:
            return []
        try:
            proba = self.predict_proba(images)
        except NOT_THE_FILES_FAULT:
            raise
        except Exception:
            if len(images) == 1:
                return [_one_score(self, images[0])]
            return [_one_score(self, image) for image in images]
        if proba.shape != (len(images), 2):
            return [ValueError(f"classifier {self.name} returned probabilities of shape {proba.shape}")] * len(images)
        return [_checked_score(float(p)) for p in proba[:, 1]]


    def timed_scores(self, images: Sequence[bytes]) -> tuple[list[float | Exception], np.ndarray]:
        """:meth:`scores`, and the seconds each image took: its own, not an equal share of the batch.

        A classifier that computes features (every registered one, and model files) is timed image by image
        as it decodes and describes each, and the one batched model call is shared out over the images. An
        estimator that only has ``predict_proba`` on a batch cannot be timed per image: each image of the
        batch gets an equal share (scoring one image at a time would cost the batching).
        """
        extract = getattr(self.estimator, "extract_features_timed", None)
        fitted = getattr(self.estimator, "fitted_model", None)
        if images and callable(extract) and callable(fitted):
            try:
                features, ms = extract(images)
                start = time.perf_counter()
                with one_thread():
                    proba = np.asarray(fitted().predict_proba(features), dtype=np.float64)
                share = (time.perf_counter() - start) / len(images)
            except NOT_THE_FILES_FAULT:
                raise
            except Exception as exc:  # a bad image in the batch: each image is scored and timed on its own
                logger.debug("batch of %d failed (%s); scoring its images one by one", len(images), exc)
                return _one_by_one(self, images)
            if proba.shape == (len(images), 2):
                return [_checked_score(float(p)) for p in proba[:, 1]], np.asarray(ms) / 1e3 + share
        # An estimator that only scores a batch: it is timed as a batch, and each image gets an equal share.
        start = time.perf_counter()
        outcomes = self.scores(images)
        return outcomes, np.full(len(images), (time.perf_counter() - start) / max(len(images), 1))


def _one_by_one(classifier: ReadyClassifier, images: Sequence[bytes]) -> tuple[list[float | Exception], np.ndarray]:
    outcomes: list[float | Exception] = []
    seconds = np.empty(len(images))
    for i, image in enumerate(images):
        start = time.perf_counter()
        outcomes.append(_one_score(classifier, image))
        seconds[i] = time.perf_counter() - start
    return outcomes, seconds


def _one_score(classifier: ReadyClassifier, image: bytes) -> float | Exception:
    try:
        return _checked_score(float(classifier.predict_proba([image])[0, 1]))
    except NOT_THE_FILES_FAULT:
        raise
    except Exception as exc:
        return exc


def _checked_score(score: float) -> float | Exception:
    if not math.isfinite(score):
        return ValueError(f"classifier gave a non-finite score {score}")
    return score


def label_of(score: float) -> str:
    """``"animated"`` above :data:`THRESHOLD`, else ``"real"``."""
    return LABEL_NAMES[int(score > THRESHOLD)]


def verdict_of(classifier: str, outcome: float | Exception) -> Verdict:
    """A :class:`Verdict` from a score or the exception scoring raised."""
    if isinstance(outcome, Exception):
        return Verdict(classifier, None, None, error=describe_error(outcome))
    return Verdict(classifier, label_of(outcome), outcome)


# ---------------------------------------------------------------------------------------------- resolution


def ready_names() -> tuple[str, ...]:
    """Registry names that :func:`ready` serves without fitting: fixed rules and shipped models."""
    from imgclass.models import shipped_model_path

    return tuple(
        name
        for name in REGISTRY
        if not make_classifier(name).__sklearn_tags__().requires_fit or shipped_model_path(name) is not None
    )


@functools.cache
def pretrained(name: str) -> Any:
    """The estimator for a registry name, ready to predict, shared within the process (treat it as read-only).

    A fixed rule as it is; else the shipped model; else (no shipped model, or a stale one) fitted once on
    the bundled reference set.
    """
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


_model_lock = threading.Lock()
_models: dict[tuple[str, int, int], Any] = {}


def _load_model_file(path: Path) -> Any:
    """A saved model, loaded once per process per file version (path, size, modification time)."""
    from imgclass.models import load_model

    info = path.stat()
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    with _model_lock:  # Dask may run task threads: one load per process
        if key not in _models:
            _models[key] = load_model(path)
        return _models[key]


def ready(spec: Spec) -> ReadyClassifier:
    """A :class:`ReadyClassifier` from a registry name, a model file path, or an estimator object.

    Raises ``ValueError`` naming the known classifiers when ``spec`` is neither.
    """
    if isinstance(spec, ReadyClassifier):
        return spec
    if isinstance(spec, str) and spec in REGISTRY:
        return ReadyClassifier(spec, pretrained(spec), spec)
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        if path.is_file():
            return ReadyClassifier(path.name, _load_model_file(path), str(path))
        if path.suffix or os.sep in str(spec):
            raise ValueError(f"model file {path} does not exist")
        raise ValueError(f"unknown classifier {str(spec)!r}; choose one of {', '.join(REGISTRY)}, or a model file")
    if callable(getattr(spec, "predict_proba", None)):
        return ReadyClassifier(type(spec).__name__, spec)
    raise ValueError(f"a classifier is a name, a model file or an estimator, got {type(spec).__name__}")


def ready_many(specs: Iterable[Spec] | None = None) -> tuple[ReadyClassifier, ...]:
    """Several classifiers (default: :data:`DEFAULT_CLASSIFIER`); their names must differ."""
    chosen = tuple(ready(s) for s in ([DEFAULT_CLASSIFIER] if specs is None else specs))
    names = [c.name for c in chosen]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"classifier named more than once: {', '.join(duplicates)}")
    return chosen


# -------------------------------------------------------------------------------------------- classification


def check_image(data: bytes | memoryview, limits: Limits = Limits()) -> ImageHeader:
    """The header of ``data``, after the byte limit and the header's pixel count are checked.

    Raises :class:`~imgclass.decode.ImageDecodeError` (a ``ValueError``) for an empty, oversized or
    unrecognised file, or one whose header declares more than ``limits.max_pixels`` (a decompression bomb).
    """
    if len(data) == 0:
        raise ImageDecodeError("empty file")
    if len(data) > limits.max_bytes:
        raise ImageDecodeError(f"file of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    return checked_header(bytes(data), max_pixels=limits.max_pixels)


def classify_bytes(
    data: bytes, classifiers: Sequence[ReadyClassifier], limits: Limits = Limits()
) -> ImageVerdict:
    """Check ``data`` and classify it with each of ``classifiers``.

    Raises :class:`~imgclass.decode.ImageDecodeError` when the bytes are not an acceptable image: the
    limits refuse them, or a classifier's decode fails (the image is then not an image, whichever
    classifier found out). Any other failure of one classifier becomes that classifier's ``error`` and
    does not cost the others their verdicts. ``MemoryError`` propagates: it says nothing about the image.
    """
    header = check_image(data, limits)
    verdicts = []
    for classifier in classifiers:
        outcome = classifier.scores([data])[0]
        if isinstance(outcome, ImageDecodeError):
            raise outcome
        if isinstance(outcome, Exception):
            logger.warning("classifier %s failed: %s", classifier.name, describe_error(outcome))
        verdicts.append(verdict_of(classifier.name, outcome))
    return ImageVerdict(header.format, header.width, header.height, tuple(verdicts))


__all__ = [
    "DEFAULT_CLASSIFIER",
    "DEFAULT_MAX_BYTES",
    "FAST_CLASSIFIER",
    "THRESHOLD",
    "ImageVerdict",
    "Limits",
    "ReadyClassifier",
    "Verdict",
    "check_image",
    "classify_bytes",
    "describe_error",
    "label_of",
    "pretrained",
    "ready",
    "ready_many",
    "ready_names",
    "verdict_of",
]
