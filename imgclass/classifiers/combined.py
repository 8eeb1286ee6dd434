"""``combined``: the accurate default, a pretrained embedding fused with the hand-made features.

The hand-made features of :mod:`imgclass.classifiers.fast` describe *how an image was made* only where
the training data showed that look; a frozen pretrained network (:mod:`imgclass.features.embedding`,
MobileNetV2 from npm ``nsfwjs``, MIT) has seen millions of images and carries to collections we never
trained on. ``combined`` reads both from **one decode**: the image is decoded straight to the small
working image of ``fast`` (a 512-pixel JPEG at a quarter of its size), the hand-made features are
computed on it, and the same pixels, resized to ``embedding_side``, go through the network, whose head's
first hidden layer (256 numbers) is the network block. :class:`~imgclass.classifiers.fusion.FusionModel`
(standardised, the hand-made block up-weighted, a class-balanced calibrated logistic regression) learns
from the concatenation.

Why the hidden layer and not the 1280-d pooled map: leaving one domain of reference set v2 out at a
time, the fusion scores 0.901 on the hidden layer against 0.886 on the pooled map (both class-balanced,
``docs/domain-shift/``); the hidden layer was trained to separate drawings from photographs (among
nsfwjs' classes), the pooled map describes content, which a linear model then ties to the domains it saw.

``augment`` trains on re-encoded, resized, greyscale, cropped and screenshot copies as well
(:mod:`imgclass.augment`), so that the answer does not depend on how a file was saved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from imgclass.augment import augment_dataset
from imgclass.classifiers.base import FloatArray, ImageClassifier, check_images
from imgclass.classifiers.fast import COLOUR_SIDE, FAST_FEATURES, working_image_features
from imgclass.classifiers.fusion import FusionModel
from imgclass.features.embedding import BATCH_SIZE, HIDDEN_SIZE, hidden
from imgclass.features.working_image import WORKING_SIDE, decode_working
from imgclass.labels import encode_labels
from imgclass.progress import progress as progress_bar

#: Side the network reads by default: the working image itself, so no pixel is decoded twice.
COMBINED_EMBEDDING_SIDE: Final = 128
NETWORK_FEATURES: Final[tuple[str, ...]] = tuple(f"hidden_{i}" for i in range(HIDDEN_SIZE))
COMBINED_FEATURES: Final[tuple[str, ...]] = (*FAST_FEATURES, *NETWORK_FEATURES)


class CombinedClassifier(ImageClassifier):
    """Hand-made features and a pretrained embedding from one decode, fused by a calibrated linear model.

    Parameters
    ----------
    side, colour_side : int
        As in :class:`~imgclass.classifiers.fast.FastClassifier`: the working image's longest side and
        the side the palette and tone statistics are read at.
    embedding_side : int
        Side of the square the network reads (it was trained at 224; 128 costs a third of that).
    hand_weight, C, calibration_folds :
        Passed to :class:`~imgclass.classifiers.fusion.FusionModel`.
    augment : int
        Augmented copies of every training image :meth:`fit` adds (0: none). Features computed once and
        fitted with :meth:`fit_features` (as cross-validation does) are not augmented.
    augment_seed : int
        Seed of the augmentations.
    batch_size : int
        Images per forward pass of the network.
    balanced : bool
        Weigh the two classes equally (``FusionModel(class_weight="balanced")``), so that
        ``predict_proba`` assumes equal priors (:mod:`imgclass.classifiers.balance`).
    """

    feature_names = COMBINED_FEATURES
    decodes_pixels = True

    def __init__(
        self,
        side: int = WORKING_SIDE,
        colour_side: int = COLOUR_SIDE,
        embedding_side: int = COMBINED_EMBEDDING_SIDE,
        hand_weight: float = 10.0,
        C: float = 0.01,
        calibration_folds: int = 5,
        augment: int = 0,
        augment_seed: int = 0,
        batch_size: int = BATCH_SIZE,
        balanced: bool = True,
    ) -> None:
        self.side = side
        self.colour_side = colour_side
        self.embedding_side = embedding_side
        self.hand_weight = hand_weight
        self.C = C
        self.calibration_folds = calibration_folds
        self.augment = augment
        self.augment_seed = augment_seed
        self.batch_size = batch_size
        self.balanced = balanced

    def image_features(self, data: bytes) -> Sequence[float]:
        return tuple(self.extract_features([data])[0].tolist())

    def extract_features_timed(
        self, X: Any, *, progress: bool = False, desc: str | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Both feature blocks, batch by batch; an image's time is its share of its batch."""
        images = check_images(X)
        batch = max(1, int(self.batch_size))
        features = np.empty((len(images), len(COMBINED_FEATURES)), dtype=np.float64)
        times = np.empty(len(images), dtype=np.float64)
        n_hand = len(FAST_FEATURES)
        with progress_bar(total=len(images), desc=desc or "CombinedClassifier", unit="img", enabled=progress) as bar:
            for start in range(0, len(images), batch):
                began = time.perf_counter()
                chunk = images[start : start + batch]
                working = [decode_working(data, side=self.side) for data in chunk]
                stop = start + len(chunk)
                for row, image in enumerate(working, start):
                    features[row, :n_hand] = working_image_features(image, colour_side=self.colour_side)
                features[start:stop, n_hand:] = hidden(working, side=self.embedding_side, batch_size=batch)
                times[start:stop] = (time.perf_counter() - began) * 1e3 / len(chunk)
                bar.update(len(chunk))
        return features, times

    def fit(self, X: Any, y: Any) -> CombinedClassifier:
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

    def make_model(self) -> Any:
        return FusionModel(
            n_hand=len(FAST_FEATURES),
            hand_weight=self.hand_weight,
            C=self.C,
            calibration_folds=self.calibration_folds,
            class_weight="balanced" if self.balanced else None,
        )
