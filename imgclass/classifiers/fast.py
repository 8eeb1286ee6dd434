"""``fast``: cheap hand-made features and calibrated gradient boosting, at about 1.6x the decode time.

Lienhart & Hartmann (2002) told photographs from graphics with a handful of cheap colour and edge
statistics; this classifier follows them. Each image is decoded once, straight to a small working image
(:mod:`imgclass.features.working_image`; a 512-pixel JPEG is decoded at a quarter of its size), and described by
four families of vectorised statistics:

* palette (:mod:`~imgclass.features.colour_stats`): the poster's colour-count share on a quantised
  image, the prevalent colour's share, how many colours cover 90% of it, colour entropy;
* tone (:mod:`~imgclass.features.tone`): saturation and value statistics, white and black shares, hues;
* gradients (:mod:`~imgclass.features.gradients`): flat regions against texture against edges;
* noise (:mod:`~imgclass.features.noise`): the noise residual and the bilateral residual.

A ``HistGradientBoostingClassifier`` learns from them, wrapped in ``CalibratedClassifierCV`` so that
``predict_proba`` is a probability one can threshold, not just a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import cv2
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from imgclass.classifiers.balance import ClassBalanced
from imgclass.classifiers.base import FloatArray, ImageClassifier, check_images
from imgclass.decode import BGRImage
from imgclass.features.colour_stats import PALETTE_FEATURES, histogram_peakiness, palette_stats
from imgclass.features.gradients import GRADIENT_FEATURES, gradient_stats
from imgclass.features.noise import BILATERAL_FEATURES, NOISE_FEATURES, bilateral_stats, noise_stats
from imgclass.features.tone import TONE_FEATURES, tone_stats
from imgclass.features.working_image import WORKING_SIDE, decode_working, fit_within

#: Longest side of the image the palette and tone statistics are read from: colour needs no detail.
COLOUR_SIDE: Final = 64
#: Images decoded and described together by :meth:`FastClassifier.extract_features` (a bulk chunk's worth,
#: about 3 MB of working images).
FEATURE_BATCH: Final = 64
CALIBRATION_METHODS: Final = ("sigmoid", "isotonic")

FAST_FEATURES: Final[tuple[str, ...]] = (
    *PALETTE_FEATURES,
    "histogram_peakiness",
    *TONE_FEATURES,
    *GRADIENT_FEATURES,
    *NOISE_FEATURES,
    *BILATERAL_FEATURES,
)


def fast_features(data: bytes, *, side: int = WORKING_SIDE, colour_side: int = COLOUR_SIDE) -> tuple[float, ...]:
    """The :data:`FAST_FEATURES` of one encoded image."""
    return working_image_features(decode_working(data, side=side), colour_side=colour_side)


def working_image_features(image: BGRImage, *, colour_side: int = COLOUR_SIDE) -> tuple[float, ...]:
    """The :data:`FAST_FEATURES` of an already decoded working image (:func:`decode_working`'s output)."""
    row: list[float] = working_images_features([image], colour_side=colour_side)[0].tolist()
    return tuple(row)


def working_images_features(images: Sequence[BGRImage], *, colour_side: int = COLOUR_SIDE) -> FloatArray:
    """The :data:`FAST_FEATURES` of decoded working images, one row each.

    One family of statistics at a time over all the images: each family calls a dozen OpenCV and numpy
    functions, and run image after image (after a JPEG decode) they started with cold caches every time.
    On a batch of 64 the statistics cost a third less than image by image; the values are the same.
    """
    smalls = [fit_within(image, colour_side) for image in images]
    grays = [cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) for image in images]
    small_grays = [cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) for small in smalls]
    families = (
        [palette_stats(small) for small in smalls],
        [(histogram_peakiness(small),) for small in smalls],
        [tone_stats(small) for small in smalls],
        [gradient_stats(gray) for gray in grays],
        [noise_stats(gray) for gray in grays],
        [bilateral_stats(gray) for gray in small_grays],
    )
    if not images:
        return np.empty((0, len(FAST_FEATURES)))
    return np.hstack([np.asarray(family, dtype=np.float64) for family in families])


class FastClassifier(ImageClassifier):
    """Calibrated gradient boosting on cheap colour, tone, gradient and noise statistics.

    Parameters
    ----------
    side : int
        Longest side of the working image for the gradient and noise statistics.
    colour_side : int
        Longest side of the image for the palette and tone statistics.
    max_iter, learning_rate, max_depth, max_leaf_nodes, min_samples_leaf, l2_regularization :
        Passed to ``HistGradientBoostingClassifier``. The defaults (100 shallow trees, at least 20 images
        a leaf) were chosen among three settings by leave-one-source-out accuracy on the reference set;
        small trees generalise to unseen sources better than deep ones on a few hundred images.
    calibration : {"sigmoid", "isotonic"}
        ``CalibratedClassifierCV`` method; sigmoid suits a few hundred training images.
    calibration_folds : int
        Folds whose out-of-fold scores ``CalibratedClassifierCV`` calibrates on (each class needs at least
        this many images).
    ensemble : bool
        ``CalibratedClassifierCV``'s ``ensemble``: keep one calibrated model per fold (True) or one model
        fitted on everything, calibrated on the out-of-fold scores (False: a fifth of the size and
        prediction time, the same accuracy within one image on the reference set).
    random_state : int
        Seed of the boosting.
    balanced : bool
        Weigh the two classes equally, in the boosting and its calibration alike, so that
        ``predict_proba`` assumes equal priors (:mod:`imgclass.classifiers.balance`); False: every image
        weighs the same and the training set's class ratio is the prior.
    """

    feature_names = FAST_FEATURES
    decodes_pixels = True

    def __init__(
        self,
        side: int = WORKING_SIDE,
        colour_side: int = COLOUR_SIDE,
        max_iter: int = 100,
        learning_rate: float = 0.05,
        max_depth: int | None = 3,
        max_leaf_nodes: int | None = 8,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        calibration: str = "sigmoid",
        calibration_folds: int = 5,
        ensemble: bool = False,
        random_state: int = 0,
        balanced: bool = True,
    ) -> None:
        self.side = side
        self.colour_side = colour_side
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.ensemble = ensemble
        self.random_state = random_state
        self.balanced = balanced

    def image_features(self, data: bytes) -> Sequence[float]:
        return fast_features(data, side=self.side, colour_side=self.colour_side)

    def extract_features(self, X: Any) -> FloatArray:
        """:meth:`image_features` of every image, computed :data:`FEATURE_BATCH` images at a time.

        Each batch is decoded first, then described family by family (:func:`working_images_features`).
        """
        images = check_images(X)
        features = np.empty((len(images), len(FAST_FEATURES)))
        for start in range(0, len(images), FEATURE_BATCH):
            decoded = [decode_working(data, side=self.side) for data in images[start : start + FEATURE_BATCH]]
            features[start : start + len(decoded)] = working_images_features(decoded, colour_side=self.colour_side)
        return features

    def make_model(self) -> Any:
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {CALIBRATION_METHODS}, got {self.calibration!r}")
        if int(self.calibration_folds) < 2:
            raise ValueError(f"calibration_folds must be >= 2, got {self.calibration_folds}")
        boosting = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        )
        calibrated = CalibratedClassifierCV(
            boosting, method=self.calibration, cv=int(self.calibration_folds), ensemble=bool(self.ensemble)
        )
        return ClassBalanced(calibrated) if self.balanced else calibrated
