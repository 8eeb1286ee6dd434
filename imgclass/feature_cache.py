"""A classifier's features, computed once per data set and parameter set within a process.

Features are a pure function of a classifier's parameters (see
:class:`imgclass.classifiers.base.ImageClassifier`), not of its fitted state, so evaluation scores every
protocol of a classifier on one feature pass, and the notebooks redraw widgets and rerun sweeps over the
same images without recomputing them. The cache holds read-only arrays and lives as long as the process
(or kernel); it keeps at most :data:`MAX_TABLES` tables, dropping the oldest first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imgclass.classifiers import ImageClassifier, make_classifier
from imgclass.data import Dataset

FloatArray = npt.NDArray[np.float64]
Params = tuple[tuple[str, Any], ...]

MAX_TABLES = 64


@dataclass(frozen=True)
class FeatureTable:
    """The ``(n, n_features)`` features of a data set and the milliseconds each image took."""

    name: str
    params: Params
    features: FloatArray
    ms: FloatArray

    @property
    def column(self) -> FloatArray:
        """The first feature column: the score of the one-feature classifiers."""
        return self.features[:, 0]


# Keyed by the data set itself: a frozen dataclass of bytes hashes by content, and bytes cache their hash.
_CACHE: OrderedDict[tuple[Dataset, str, str], FeatureTable] = OrderedDict()


def cached_features(
    dataset: Dataset,
    classifier: str | ImageClassifier,
    *,
    progress: bool = False,
    **params: Any,
) -> FeatureTable:
    """The features of ``classifier`` (a registry name with ``params``, or an estimator) on ``dataset``.

    Computed at most once per data set, classifier class and parameters; a fitted and an unfitted
    estimator with the same parameters share their table.
    """
    if isinstance(classifier, str):
        estimator = make_classifier(classifier, **params)
        name = classifier
    elif params:
        raise ValueError("params go with a classifier name, not with an estimator")
    else:
        estimator, name = classifier, type(classifier).__name__
    if not callable(getattr(estimator, "extract_features_timed", None)):
        raise ValueError(f"{type(estimator).__name__} does not compute features from images")
    own = tuple(sorted(estimator.get_params(deep=False).items()))
    # repr: parameters may be unhashable (lists); the class keeps two classifiers' equal params apart.
    key = (dataset, f"{type(estimator).__module__}.{type(estimator).__qualname__}", repr(own))
    table = _CACHE.get(key)
    if table is not None:
        _CACHE.move_to_end(key)
        return table
    features, ms = estimator.extract_features_timed(dataset.images, progress=progress, desc=name)
    features.flags.writeable = False
    ms.flags.writeable = False
    table = FeatureTable(name, own, features, ms)
    _CACHE[key] = table
    while len(_CACHE) > MAX_TABLES:
        _CACHE.popitem(last=False)
    return table


def cache_size() -> int:
    """How many tables the cache holds."""
    return len(_CACHE)


def clear_feature_cache() -> None:
    """Forget every cached table (for tests, and to free memory)."""
    _CACHE.clear()
