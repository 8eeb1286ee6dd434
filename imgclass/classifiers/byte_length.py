"""``byte-length``: the poster's byte-array model ("base"), one fitted threshold on the file size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgclass.classifiers.base import ImageClassifier
from imgclass.classifiers.threshold import ThresholdClassifier
from imgclass.features.byte_lengths import byte_lengths


class ByteLengthClassifier(ImageClassifier):
    """Threshold and direction fitted on ``len(bytes)``, ``len(hex)`` and ``len(base64)``.

    The three lengths are one number (``2n`` and ``4*ceil(n/3)``), so the fitted stump picks the
    same cut whichever column it uses. Never decodes a pixel.
    """

    feature_names = ("bytes", "hex", "base64")

    def image_features(self, data: bytes) -> Sequence[float]:
        return byte_lengths(data)

    def make_model(self) -> Any:
        return ThresholdClassifier()
