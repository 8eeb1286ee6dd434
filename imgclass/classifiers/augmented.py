"""Fitting on augmented copies too: the ``augment`` and ``augment_seed`` parameters some classifiers take.

:meth:`AugmentedClassifier.fit` adds ``augment`` copies of every training image (:mod:`imgclass.augment`:
re-encoded, resized, thumbnailed, saved twice, greyscale, cropped, screenshot), so that the answer does
not depend on how a file was saved. Features computed once and fitted with ``fit_features`` (as
cross-validation does) are not augmented. Making the copies decodes pixels: that is training, never
prediction.
"""

from __future__ import annotations

from typing import Any

from imgclass.augment import augment_dataset
from imgclass.classifiers.base import ImageClassifier, check_images
from imgclass.labels import encode_labels


class AugmentedClassifier(ImageClassifier):
    """An :class:`ImageClassifier` whose ``fit`` also learns from ``augment`` copies of each image."""

    augment: int
    augment_seed: int

    def fit(self, X: Any, y: Any) -> AugmentedClassifier:
        if int(self.augment) < 0:
            raise ValueError(f"augment must be >= 0, got {self.augment}")
        if int(self.augment) == 0:
            super().fit(X, y)
            return self
        images = check_images(X)
        labels = encode_labels(y)
        if len(images) != labels.size:
            raise ValueError(f"got {len(images)} images but {labels.size} labels")
        images, labels = augment_dataset(images, labels, copies=int(self.augment), seed=int(self.augment_seed))
        super().fit(images, labels)
        return self
