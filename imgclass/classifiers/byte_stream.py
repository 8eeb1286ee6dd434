"""``byte-stream``: classify from the encoded bytes alone, never running an image decoder.

The poster's closing proposal: "a well developed and trained pattern recognition ML model performing its
operations on byte streams rather than intensive image processing". The features
(:mod:`imgclass.features.byte_stream`) come from small bounded header parsers (:mod:`imgclass.parsers`)
and a few vectorised passes over the compressed stream; no pixel is reconstructed, so no decoder bug or
decompression bomb can be reached through this classifier. The main signal is how much of a JPEG's
entropy-coded data repeats with the period of a flat 8x8 block: drawings have flat areas, photographs
have texture almost everywhere.

The model learns the statistics of the containers it was fitted on: fitted on JPEGs only (the reference
set), it is at chance on PNG or WEBP files, whose compressed streams look nothing alike. It records the
formats it saw (``formats_``) and logs a warning when asked about others.

Two learners, chosen by ``model``: gradient boosting (``"hgb"``, the default: best under
leave-one-source-out cross-validation on the reference set) or a logistic regression on standardised
features (``"logistic"``, nearly as good, linear and easy to read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from imgclass.classifiers.augmented import AugmentedClassifier
from imgclass.classifiers.balance import ClassBalanced
from imgclass.classifiers.base import FloatArray, check_images
from imgclass.features.byte_stream import FEATURE_NAMES, byte_stream_features
from imgclass.parsers.container import FORMATS
from imgclass.progress import progress as progress_bar

logger = logging.getLogger(__name__)

MODELS: Final = ("hgb", "logistic")
#: Images whose features are computed in one call; the per-image time reported is the batch's share.
BATCH: Final = 256


class ByteStreamClassifier(AugmentedClassifier):
    """Header and compressed-stream statistics, then gradient boosting or logistic regression.

    Parameters
    ----------
    model : {"hgb", "logistic"}
        ``HistGradientBoostingClassifier`` or ``StandardScaler`` + ``LogisticRegression``.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf : int, float, int, int
        Gradient boosting's number of trees, shrinkage, tree size and smallest leaf (``model="hgb"``).
    C : float
        Inverse regularisation of the logistic regression (``model="logistic"``).
    random_state : int
        Seed of the boosting's feature binning subsample.
    balanced : bool
        Weigh the two classes equally in training (:mod:`imgclass.classifiers.balance`), so the
        training set's class ratio is not the prior of every close call.
    augment, augment_seed : int
        Augmented copies of every training image :meth:`fit` adds, and their seed
        (:mod:`imgclass.classifiers.augmented`): the shipped model learns from re-saved, shrunk and
        thumbnailed copies, so that how a file was saved does not stand in for what it shows.
    """

    feature_names = FEATURE_NAMES

    def __init__(
        self,
        model: str = "hgb",
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        C: float = 1.0,
        random_state: int = 0,
        balanced: bool = True,
        augment: int = 0,
        augment_seed: int = 0,
    ) -> None:
        self.model = model
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.C = C
        self.random_state = random_state
        self.balanced = balanced
        self.augment = augment
        self.augment_seed = augment_seed

    def image_features(self, data: bytes) -> Sequence[float]:
        return tuple(byte_stream_features([data])[0])

    def extract_features_timed(
        self, X: Any, *, progress: bool = False, desc: str | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Features image by image, each timed on its own (the progress bar moves every :data:`BATCH`).

        The rows are identical to :meth:`image_features` of each image: a row depends on its image only.
        """
        images = check_images(X)
        features = np.empty((len(images), len(FEATURE_NAMES)))
        times = np.empty(len(images))
        with progress_bar(
            total=len(images), enabled=progress, desc=desc or type(self).__name__, unit="img", leave=False
        ) as bar:
            for start in range(0, len(images), BATCH):
                batch = images[start : start + BATCH]
                for row, data in enumerate(batch, start):
                    began = time.perf_counter()
                    try:
                        features[row] = byte_stream_features([data])[0]
                    except ValueError as error:  # "image 0: why": say which image of this call, if several
                        why = str(error).removeprefix("image 0: ")
                        raise ValueError(f"image {row}: {why}" if len(images) > 1 else why) from None
                    times[row] = (time.perf_counter() - began) * 1e3
                bar.update(len(batch))
        self._warn_unseen_formats(features)
        return features, times

    def fit_features(self, features: FloatArray, y: Any) -> ByteStreamClassifier:
        super().fit_features(features, y)
        self.formats_ = _formats(features)
        return self

    def _warn_unseen_formats(self, features: FloatArray) -> None:
        seen = getattr(self, "formats_", None)
        if seen is None:
            return
        for fmt in _formats(features):
            if fmt not in seen:
                count = int(features[:, FEATURE_NAMES.index(f"format_{fmt}")].sum())
                logger.warning(
                    "byte-stream was fitted on %s files only; its predictions for %d %s file(s) are unreliable",
                    "/".join(seen),
                    count,
                    fmt,
                )

    def make_model(self) -> Any:
        if self.model == "hgb":
            boosting = HistGradientBoostingClassifier(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                early_stopping=False,
                random_state=self.random_state,
            )
            return ClassBalanced(boosting) if self.balanced else boosting
        if self.model == "logistic":
            weight = "balanced" if self.balanced else None
            return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=5000, class_weight=weight))
        raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")


def _formats(features: FloatArray) -> tuple[str, ...]:
    """The containers present among the rows, from the ``format_*`` one-hot columns."""
    return tuple(fmt for fmt in FORMATS if features[:, FEATURE_NAMES.index(f"format_{fmt}")].any())
