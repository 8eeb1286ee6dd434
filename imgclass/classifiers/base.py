"""The shared shape of every imgclass classifier: encoded image bytes in, labels out.

A subclass says how to turn one image into a few numbers (:meth:`ImageClassifier.image_features`)
and which scikit-learn estimator learns from them (:meth:`ImageClassifier.make_model`). The base class
does the rest: input checks, the label convention (0 real, 1 animated; names accepted) and delegation
of ``predict``/``predict_proba``/``decision_function``. Features are a pure function of the
parameters, so evaluation can compute them once and cross-validate only the model
(:meth:`extract_features` and :meth:`fit_features`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from imgclass.labels import LABEL_NAMES, encode_labels
from imgclass.progress import progress as progress_bar
from imgclass.threads import one_thread

FloatArray = npt.NDArray[np.float64]


def check_images(X: Any) -> list[bytes]:
    """Check that ``X`` is a non-empty sequence of ``bytes``-like encoded images."""
    if isinstance(X, (bytes, bytearray, memoryview, str)):
        raise ValueError("expected a sequence of encoded images (bytes), got a single bytes/str object")
    try:
        images = list(X)
    except TypeError:
        raise ValueError(f"expected a sequence of encoded images (bytes), got {type(X).__name__}") from None
    if not images:
        raise ValueError("expected at least one image, got an empty sequence")
    for i, item in enumerate(images):
        if isinstance(item, (bytearray, memoryview)):
            images[i] = bytes(item)
        elif not isinstance(item, bytes):
            raise ValueError(f"image {i} is {type(item).__name__}, expected encoded bytes")
    return images


class ImageClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Base class: subclasses define :meth:`image_features` and :meth:`make_model`."""

    #: Names of the columns :meth:`image_features` returns.
    feature_names: tuple[str, ...] = ()
    #: Whether :meth:`image_features` decodes every image's pixels (a failed decode raises
    #: ``ImageDecodeError``), so that scoring an image also proves it decodes.
    decodes_pixels: bool = False

    def image_features(self, data: bytes) -> Sequence[float]:
        """The feature vector of one encoded image."""
        raise NotImplementedError

    def make_model(self) -> Any:
        """A fresh, unfitted scikit-learn classifier on the features."""
        raise NotImplementedError

    def extract_features(self, X: Any) -> FloatArray:
        """An ``(n, n_features)`` array of :meth:`image_features` for each image."""
        features, _ = self.extract_features_timed(X)
        return features

    def extract_features_timed(
        self, X: Any, *, progress: bool = False, desc: str | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """The features and, per image, the milliseconds it took to compute them."""
        images = check_images(X)
        rows, times = [], []
        for data in progress_bar(images, enabled=progress, desc=desc or type(self).__name__, unit="img", leave=False):
            start = time.perf_counter()
            rows.append(self.image_features(data))
            times.append((time.perf_counter() - start) * 1e3)
        return np.asarray(rows, dtype=np.float64).reshape(len(images), -1), np.asarray(times)

    def fit(self, X: Any, y: Any) -> ImageClassifier:
        images = check_images(X)
        labels = encode_labels(y)
        if len(images) != labels.size:
            raise ValueError(f"got {len(images)} images but {labels.size} labels")
        return self.fit_features(self.extract_features(images), labels)

    @one_thread()
    def fit_features(self, features: FloatArray, y: Any) -> ImageClassifier:
        """Fit the model on features already computed by :meth:`extract_features`."""
        labels = encode_labels(y)
        if np.unique(labels).size != 2:
            raise ValueError("fitting needs images of both classes, real (0) and animated (1)")
        self.model_ = clone(self.make_model()).fit(features, labels)
        self.classes_ = np.array([0, 1])
        return self

    def fitted_model(self) -> Any:
        """The fitted estimator on features: what ``predict`` applies to :meth:`extract_features`.

        A fixed rule returns its rule without being fitted. Raises ``NotFittedError`` otherwise, before
        :meth:`fit`. Evaluation uses it to score features computed once (treat it as read-only).
        """
        return self._fitted_model()

    @one_thread()
    def predict_features(self, features: FloatArray) -> npt.NDArray[np.int64]:
        """0 (real) or 1 (animated) for each row of features already computed by :meth:`extract_features`."""
        return np.asarray(self._fitted_model().predict(features), dtype=np.int64)

    def _fitted_model(self) -> Any:
        # The hook subclasses override (a fixed rule needs no fit); callers use fitted_model().
        check_is_fitted(self)
        return self.model_

    @one_thread()
    def predict_proba(self, X: Any) -> FloatArray:
        """``(n, 2)`` probabilities; column 1 is P(animated)."""
        model = self._fitted_model()
        return np.asarray(model.predict_proba(self.extract_features(X)), dtype=np.float64)

    @one_thread()
    def decision_function(self, X: Any) -> FloatArray:
        """A score that grows towards animated; 0 is the decision boundary where the model has one."""
        model = self._fitted_model()
        features = self.extract_features(X)
        if hasattr(model, "decision_function"):
            return np.asarray(model.decision_function(features), dtype=np.float64)
        return np.asarray(model.predict_proba(features)[:, 1] - 0.5, dtype=np.float64)

    @one_thread()
    def predict(self, X: Any) -> npt.NDArray[np.int64]:
        """0 (real) or 1 (animated) for each image."""
        model = self._fitted_model()
        return np.asarray(model.predict(self.extract_features(X)), dtype=np.int64)

    def predict_names(self, X: Any) -> list[str]:
        """``"real"`` or ``"animated"`` for each image."""
        return [LABEL_NAMES[i] for i in self.predict(X)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True  # closest tag to "a list of encoded files"
        tags.classifier_tags.multi_class = False
        return tags
