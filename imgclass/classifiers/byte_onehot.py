"""``byte-onehot``: the poster's byte-array model "with modifiers".

The three byte lengths are one-hot encoded into fitted ranges (``KBinsDiscretizer``), which caps the
pull of outliers (the poster's reason for it), then a logistic regression weighs the ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer

from imgclass.classifiers.base import ImageClassifier
from imgclass.features.byte_lengths import byte_lengths

STRATEGIES = ("uniform", "quantile", "kmeans")


class ByteOneHotClassifier(ImageClassifier):
    """One-hot ranges of the byte lengths, then logistic regression.

    Parameters
    ----------
    n_bins : int
        Number of ranges per length.
    strategy : {"uniform", "quantile", "kmeans"}
        How the range edges are fitted (``KBinsDiscretizer``'s strategies).
    C : float
        Inverse regularisation of the logistic regression.
    """

    feature_names = ("bytes", "hex", "base64")

    def __init__(self, n_bins: int = 8, strategy: str = "quantile", C: float = 1.0) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        self.C = C

    def image_features(self, data: bytes) -> Sequence[float]:
        return byte_lengths(data)

    def make_model(self) -> Any:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if int(self.n_bins) < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        kwargs: dict[str, Any] = {"quantile_method": "averaged_inverted_cdf"} if self.strategy == "quantile" else {}
        if self.strategy == "kmeans":
            kwargs["random_state"] = 0
        return make_pipeline(
            KBinsDiscretizer(n_bins=int(self.n_bins), encode="onehot-dense", strategy=self.strategy, **kwargs),
            LogisticRegression(C=self.C),
        )
