"""``bilateral``: the poster's bilateral-filter model, a fitted threshold on the histogram change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgclass.classifiers.base import ImageClassifier
from imgclass.classifiers.threshold import ThresholdClassifier
from imgclass.decode import decode_image
from imgclass.features.bilateral import bilateral_distance


class BilateralClassifier(ImageClassifier):
    """Blur with ``cv2.bilateralFilter``, compare RGB histograms, threshold the distance.

    Parameters
    ----------
    diameter, sigma_color, sigma_space :
        ``cv2.bilateralFilter``'s ``d``, ``sigmaColor`` and ``sigmaSpace``.
    metric : str
        ``cv2.compareHist`` method: "correl", "chisqr", "intersect", "bhattacharyya", ...
    bins : int
        Histogram bins per channel.
    threshold : float or None
        A fixed cut on the distance, or ``None`` to fit it (with its direction).
    """

    feature_names = ("histogram_distance",)
    decodes_pixels = True

    def __init__(
        self,
        diameter: int = 9,
        sigma_color: float = 75.0,
        sigma_space: float = 75.0,
        metric: str = "bhattacharyya",
        bins: int = 256,
        threshold: float | None = None,
    ) -> None:
        self.diameter = diameter
        self.sigma_color = sigma_color
        self.sigma_space = sigma_space
        self.metric = metric
        self.bins = bins
        self.threshold = threshold

    def image_features(self, data: bytes) -> Sequence[float]:
        image = decode_image(data)
        distance = bilateral_distance(
            image,
            diameter=self.diameter,
            sigma_color=self.sigma_color,
            sigma_space=self.sigma_space,
            metric=self.metric,
            bins=self.bins,
        )
        return (distance,)

    def make_model(self) -> Any:
        return ThresholdClassifier(threshold=self.threshold)
