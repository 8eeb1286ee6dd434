"""Bulk classification of large collections: ``imgclass classify`` and :func:`classify_paths`.

Paths stream in lazily, chunks go to this process, a local process pool or a Dask cluster, are
classified in batches, and frozen :class:`BulkResult` objects stream out in input order; see
:mod:`imgclass.bulk.engine`. :class:`BulkOptions` holds every setting of a run.
"""

from __future__ import annotations

from imgclass.bulk.engine import DEFAULT_CHUNK_SIZE, BulkOptions, classify_batches, classify_paths, process_pool
from imgclass.bulk.output import load_done, open_output, read_results
from imgclass.bulk.paths import Skipped, expand_paths
from imgclass.bulk.results import BulkResult
from imgclass.bulk.spec import DEFAULT_CLASSIFIER, FAST_CLASSIFIER, ClassifierSpec

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CLASSIFIER",
    "FAST_CLASSIFIER",
    "BulkOptions",
    "BulkResult",
    "ClassifierSpec",
    "Skipped",
    "classify_batches",
    "classify_paths",
    "expand_paths",
    "load_done",
    "open_output",
    "process_pool",
    "read_results",
]
