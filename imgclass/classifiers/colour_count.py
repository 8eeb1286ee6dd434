"""``colour-count``: the poster's colour rule, exact by default, tunable by ``fit``.

With its defaults (1024x1024, 512 colours, animated above 0.3) it is the poster's fixed rule and
predicts without being fitted. ``threshold=None`` makes ``fit`` choose the cut instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from imgclass.classifiers.base import ImageClassifier
from imgclass.classifiers.threshold import ThresholdClassifier
from imgclass.decode import decode_image
from imgclass.features.colour_count import POSTER_N_COLOURS, POSTER_SIZE, POSTER_THRESHOLD, top_colour_share

#: How steeply the unfitted rule's probability rises around the threshold (share units). Only the
#: fitted rule's probabilities are calibrated; the fixed rule's are a monotone readout of the margin.
RULE_TEMPERATURE = 0.05


class ColourCountClassifier(ImageClassifier):
    """Animated when the ``n_colours`` most common colours cover more than ``threshold`` of the pixels.

    Parameters
    ----------
    size : int or None
        Side of the square the image is resized to first (the poster: 1024); ``None`` keeps it.
    n_colours : int
        How many of the most common colours to count (the poster: 512).
    threshold : float or None
        The cut on the covered share (the poster: 0.3), or ``None`` to fit it.
    """

    feature_names = ("top_colour_share",)
    decodes_pixels = True

    def __init__(
        self,
        size: int | None = POSTER_SIZE,
        n_colours: int = POSTER_N_COLOURS,
        threshold: float | None = POSTER_THRESHOLD,
    ) -> None:
        self.size = size
        self.n_colours = n_colours
        self.threshold = threshold

    def image_features(self, data: bytes) -> Sequence[float]:
        return (top_colour_share(decode_image(data), size=self.size, n_colours=self.n_colours),)

    def make_model(self) -> Any:
        # A fixed threshold keeps the poster's direction: many pixels in few colours means drawn.
        if self.threshold is None:
            return ThresholdClassifier(direction="auto")
        return ThresholdClassifier(threshold=self.threshold, direction=1)

    def _fitted_model(self) -> Any:
        if self.threshold is not None and not hasattr(self, "model_"):
            return _fixed_rule(float(self.threshold))
        check_is_fitted(self)
        return self.model_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = self.threshold is None
        return tags


def _fixed_rule(threshold: float) -> ThresholdClassifier:
    """The poster's rule as an already-fitted :class:`ThresholdClassifier`."""
    rule = ThresholdClassifier(threshold=threshold, direction=1)
    rule.classes_ = np.array([0, 1])
    rule.n_features_in_ = 1
    rule.feature_, rule.threshold_, rule.direction_ = 0, threshold, 1
    rule.slope_ = 1.0 / RULE_TEMPERATURE
    return rule
