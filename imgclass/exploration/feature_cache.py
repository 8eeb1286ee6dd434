"""A classifier's features, computed once per data set and parameter set within a process.

Notebooks redraw widgets and rerun sweeps many times over the same images; the features depend only
on the classifier's name and parameters (see :class:`imgclass.classifiers.ImageClassifier`), so they
are worth keeping. The cache holds read-only arrays and lives as long as the kernel; it keeps at most
:data:`MAX_TABLES` tables, dropping the oldest first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imgclass.classifiers import make_classifier
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
_CACHE: OrderedDict[tuple[Dataset, str, Params], FeatureTable] = OrderedDict()


def cached_features(dataset: Dataset, name: str, *, progress: bool = False, **params: Any) -> FeatureTable:
    """The features of ``make_classifier(name, **params)`` on ``dataset``, computed at most once."""
    key = (dataset, name, tuple(sorted(params.items())))
    table = _CACHE.get(key)
    if table is not None:
        _CACHE.move_to_end(key)
        return table
    classifier = make_classifier(name, **params)
    features, ms = classifier.extract_features_timed(dataset.images, progress=progress, desc=name)
    features.flags.writeable = False
    ms.flags.writeable = False
    table = FeatureTable(name, key[2], features, ms)
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
