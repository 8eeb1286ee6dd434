"""A classifier's features, computed once per data set and parameter set within a process.

Features are a pure function of a classifier's parameters (see
:class:`imgclass.classifiers.base.ImageClassifier`), not of its fitted state, so evaluation scores every
protocol of a classifier on one feature pass, and the notebooks redraw widgets and rerun sweeps over the
same images without recomputing them. The cache holds read-only arrays and lives as long as the process
(or kernel); it keeps at most :data:`MAX_TABLES` tables, dropping the oldest first.

One bad image never costs the others their features: a file whose header passed the loader's check but
that does not decode (a JPEG truncated after its header, say) is found, its row left empty, and the
table says which rows failed and why. :func:`cached_features` refuses such a table with an error naming
the files; :func:`screened` is what the commands use instead: the data set less every image any of the
classifiers could not read, each named in ``Dataset.skipped``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from imgclass.classifiers import ImageClassifier, make_classifier
from imgclass.data import Dataset
from imgclass.input_files import NOT_THE_FILES_FAULT, describe_error
from imgclass.progress import progress as progress_bar

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Params = tuple[tuple[str, Any], ...]

MAX_TABLES = 64
#: Images per call when a batch failed and the bad images are being found.
RETRY_CHUNK = 32


@dataclass(frozen=True)
class FeatureTable:
    """The ``(n, n_features)`` features of a data set and the milliseconds each image took."""

    name: str
    params: Params
    features: FloatArray
    ms: FloatArray
    #: ``(row, reason)`` of every image whose features could not be computed (its row is NaN).
    failed: tuple[tuple[int, str], ...] = ()

    @property
    def column(self) -> FloatArray:
        """The first feature column: the score of the one-feature classifiers."""
        return self.features[:, 0]

    def rows(self, keep: Sequence[int]) -> FeatureTable:
        """The table of the rows ``keep`` only (read-only, like every cached table)."""
        index = np.asarray(keep, dtype=np.intp)
        return _frozen(replace(self, features=self.features[index], ms=self.ms[index], failed=()))


# Keyed by the data set itself: a frozen dataclass of bytes hashes by content, and bytes cache their hash.
_CACHE: OrderedDict[tuple[Dataset, str, str], FeatureTable] = OrderedDict()


def _estimator(classifier: str | ImageClassifier, params: dict[str, Any]) -> tuple[ImageClassifier, str]:
    if isinstance(classifier, str):
        return make_classifier(classifier, **params), classifier
    if params:
        raise ValueError("params go with a classifier name, not with an estimator")
    return classifier, type(classifier).__name__


def _key(dataset: Dataset, estimator: ImageClassifier) -> tuple[Dataset, str, str]:
    own = tuple(sorted(estimator.get_params(deep=False).items()))
    # repr: parameters may be unhashable (lists); the class keeps two classifiers' equal params apart.
    return (dataset, f"{type(estimator).__module__}.{type(estimator).__qualname__}", repr(own))


def _table(dataset: Dataset, estimator: ImageClassifier, name: str, progress: bool) -> FeatureTable:
    """The cached table, computed (with its failed rows found) when missing."""
    if not callable(getattr(estimator, "extract_features_timed", None)):
        raise ValueError(f"{type(estimator).__name__} does not compute features from images")
    key = _key(dataset, estimator)
    table = _CACHE.get(key)
    if table is not None:
        _CACHE.move_to_end(key)
        return table
    images = dataset.images
    failed: tuple[tuple[int, str], ...] = ()
    try:
        features, ms = estimator.extract_features_timed(images, progress=progress, desc=name)
    except NOT_THE_FILES_FAULT:
        raise
    except Exception:
        features, ms, failed = _find_failures(estimator, images, name, progress)
    table = _frozen(FeatureTable(name, tuple(sorted(estimator.get_params(deep=False).items())), features, ms, failed))
    _store(key, table)
    return table


def _find_failures(
    estimator: ImageClassifier, images: Sequence[bytes], name: str, progress: bool
) -> tuple[FloatArray, FloatArray, tuple[tuple[int, str], ...]]:
    """Features chunk by chunk, and image by image inside a chunk that fails: rows of failures are NaN."""
    parts: dict[int, tuple[FloatArray, FloatArray]] = {}  # first row -> (features, ms) of a run of rows
    failed: list[tuple[int, str]] = []
    starts = range(0, len(images), RETRY_CHUNK)
    for start in progress_bar(starts, enabled=progress, desc=f"{name} (finding bad images)", unit="chunk", leave=False):
        chunk = images[start : start + RETRY_CHUNK]
        try:
            parts[start] = estimator.extract_features_timed(chunk)
            continue
        except NOT_THE_FILES_FAULT:
            raise
        except Exception as exc:
            logger.debug("%s: a chunk failed (%s); trying its images one by one", name, exc)
        for row in range(start, start + len(chunk)):
            try:
                parts[row] = estimator.extract_features_timed([images[row]])
            except NOT_THE_FILES_FAULT:
                raise
            except Exception as exc:
                logger.debug("%s: image %d failed", name, row, exc_info=True)
                failed.append((row, describe_error(exc)))
    width = next((f.shape[1] for f, _ in parts.values()), max(1, len(estimator.feature_names)))
    features = np.full((len(images), width), np.nan)
    ms = np.zeros(len(images))
    for row, (part, times) in parts.items():
        features[row : row + len(part)] = part
        ms[row : row + len(part)] = times
    return features, ms, tuple(failed)


def _frozen(table: FeatureTable) -> FeatureTable:
    table.features.flags.writeable = False
    table.ms.flags.writeable = False
    return table


def _store(key: tuple[Dataset, str, str], table: FeatureTable) -> None:
    _CACHE[key] = table
    while len(_CACHE) > MAX_TABLES:
        _CACHE.popitem(last=False)


def cached_features(
    dataset: Dataset,
    classifier: str | ImageClassifier,
    *,
    progress: bool = False,
    **params: Any,
) -> FeatureTable:
    """The features of ``classifier`` (a registry name with ``params``, or an estimator) on ``dataset``.

    Computed at most once per data set, classifier class and parameters; a fitted and an unfitted
    estimator with the same parameters share their table. ``ValueError`` names the images whose features
    could not be computed (:func:`screened` leaves them out instead).
    """
    estimator, name = _estimator(classifier, params)
    table = _table(dataset, estimator, name, progress)
    if table.failed:
        named = "; ".join(f"{dataset.records[i].path}: {reason}" for i, reason in table.failed[:3])
        more = f" (and {len(table.failed) - 3} more)" if len(table.failed) > 3 else ""
        raise ValueError(f"{name}: {len(table.failed)} images could not be read: {named}{more}")
    return table


def screened(dataset: Dataset, classifiers: Sequence[ImageClassifier], *, progress: bool = False) -> Dataset:
    """``dataset`` less every image whose features one of ``classifiers`` could not compute.

    Each image left out is added to ``Dataset.skipped`` with the first reason found;
    the features of the images kept are cached for the smaller set, so nothing is computed twice. Where
    every image is fine, ``dataset`` itself comes back.
    """
    tables = [(c, _table(dataset, c, type(c).__name__, progress)) for c in classifiers]
    reasons: dict[int, str] = {}
    for _, table in tables:
        for row, reason in table.failed:
            reasons.setdefault(row, reason)
    if not reasons:
        return dataset
    kept = dataset.without(reasons)
    if not kept.records:
        raise ValueError(f"none of the {len(dataset)} images under {dataset.root} could be read")
    keep = [i for i in range(len(dataset)) if i not in reasons]
    for classifier, table in tables:
        _store(_key(kept, classifier), table.rows(keep))
    logger.info("left out %d of %d images that could not be read", len(reasons), len(dataset))
    return kept


def cache_size() -> int:
    """How many tables the cache holds."""
    return len(_CACHE)


def clear_feature_cache() -> None:
    """Forget every cached table (for tests, and to free memory)."""
    _CACHE.clear()
