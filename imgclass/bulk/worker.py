"""The work one task does: read each path of a chunk safely, check it, classify the chunk in batches.

Everything a file can do wrong becomes an ``error`` string on its result, never an exception out of
the chunk, so one bad file cannot stop a run of millions. Outcomes are cached per process by path and
file identity (device, inode, size, modification time), so a list that names the same few files
100,000 times classifies each of them once per worker. A chunk's outcome goes back to the caller as
one compact :class:`~imgclass.bulk.results.ChunkOutcome`.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import stat
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from imgclass.bulk.paths import Unlisted
from imgclass.bulk.results import ChunkOutcome
from imgclass.bulk.spec import ClassifierSpec, resolve
from imgclass.decode import DEFAULT_MAX_PIXELS, decode_image
from imgclass.parent_watch import exit_with_parent
from imgclass.ready import DEFAULT_MAX_BYTES, Limits, ReadyClassifier, check_image, describe_error

#: Files larger than this are refused before they are read (no photo comes near it).
MAX_FILE_BYTES = DEFAULT_MAX_BYTES
#: Results remembered per process for repeated paths; bounded so memory stays flat.
DEFAULT_CACHE_SIZE = 4096

# O_NONBLOCK: opening a FIFO that a folder walk found must not hang the worker until a writer appears.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)

#: Bytes of files classified by one ``predict_proba`` call at most (a chunk of big photos is split).
BATCH_BYTES = 32 * 1024 * 1024

Outcome = tuple[float | None, str | None]  # score, error


@dataclass(frozen=True)
class ChunkOptions:
    """Per-file checks, the same for every chunk of a run."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = MAX_FILE_BYTES
    verify: bool = False
    cache_size: int = DEFAULT_CACHE_SIZE

    def __post_init__(self) -> None:
        self.limits  # noqa: B018 - checks max_pixels and max_bytes
        if self.cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {self.cache_size}")

    @property
    def limits(self) -> Limits:
        return Limits(max_pixels=self.max_pixels, max_bytes=self.max_bytes)


def classify_chunk(spec: ClassifierSpec, paths: Sequence[str], options: ChunkOptions) -> ChunkOutcome:
    """Scores, times and errors for ``paths``, in order. This is the function every backend runs remotely.

    Files are read and checked one by one (:func:`imgclass.ready.check_image`), then classified in batches
    (:meth:`imgclass.ready.ReadyClassifier.scores`, one ``predict_proba`` call for up to :data:`BATCH_BYTES`
    of files): a model's per-call cost (input validation, tree traversal set-up, a network's forward pass)
    is paid once per batch instead of once per image. A batch that fails is retried an image at a time.
    """
    classifier = resolve(spec)
    scope = _scope(spec, options)
    limits = options.limits
    count = len(paths)
    scores = np.full(count, np.nan)
    ms = np.zeros(count)
    errors: dict[int, str] = {}
    batch = _Batch()
    for i, path in enumerate(paths):
        start = time.perf_counter()
        try:
            found = _read_checked(scope, path, options, limits)
        except Exception as exc:
            errors[i] = describe_error(exc)
        else:
            if isinstance(found, tuple):  # a cached outcome
                score, error = found
                if error is None:
                    scores[i] = score
                else:
                    errors[i] = error
            else:
                batch.add(i, found)
        ms[i] = time.perf_counter() - start
        if batch.size >= BATCH_BYTES:
            batch.classify(classifier, scores, ms, errors, options.cache_size)
    batch.classify(classifier, scores, ms, errors, options.cache_size)
    return ChunkOutcome(scores, np.round(ms * 1e3, 3), tuple(sorted(errors.items())), spec.label)


def remote_chunk(spec: ClassifierSpec, paths: Sequence[str], options: ChunkOptions) -> ChunkOutcome:
    """:func:`classify_chunk` in a pool or Dask worker process: OpenCV single-threaded first.

    The processes are the parallelism; OpenCV's own threads on top would only oversubscribe the cores.
    """
    start_worker(spec)
    return classify_chunk(spec, paths, options)


def start_worker(spec: ClassifierSpec) -> None:
    """Prepare this worker process (once) and load the classifier (once): a pool's initializer.

    A worker that multiprocessing started (a pool's, or a Dask nanny's) also exits as soon as the process
    that started it dies, however it dies (:func:`~imgclass.parent_watch.exit_with_parent`).
    """
    global _worker_started
    if not _worker_started:
        exit_with_parent()
        cv2.setNumThreads(1)
        one_thread_pools()
        keep_freed_memory()
        _worker_started = True
    resolve(spec)


_worker_started = False


def one_thread_pools() -> None:
    """Limit OpenMP and BLAS to one thread in this process, for good (a worker is one core's worth of work).

    ``fast``'s gradient boosting predicts through OpenMP. On 64 rows a parallel region costs far more than
    the trees, and its idle threads spin: with the default two threads on 2 loaded cores, one chunk's
    ``predict_proba`` took 54 ms of CPU against 1.8 ms on one thread, and bulk ``fast`` in a pool ran at a
    third of its rate. Dask's nannies set ``OMP_NUM_THREADS=1`` for their workers; this does it for the
    pool's workers and for a command that is its own worker: the libraries loaded by now are limited, and
    the environment tells those loaded later.
    """
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    threadpool_limits(limits=1)


#: glibc ``mallopt`` parameters (malloc.h) and the values :func:`keep_freed_memory` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD = 128 << 20
MMAP_THRESHOLD = 32 << 20


def keep_freed_memory() -> bool:
    """Let glibc keep freed heap memory for reuse instead of returning it to the OS after every image.

    A pixel classifier allocates and frees tens of MB of temporaries per image. glibc's defaults (and
    Dask's worker environment, ``MALLOC_TRIM_THRESHOLD_=65536``) hand that memory back each time, so the
    next image page-faults it all in again: for ``colour-count`` a third of the CPU time went to the
    kernel. Keeping up to 128 MB of free heap, and serving blocks up to 32 MB from it, removes that
    without raising the peak. Returns whether it applied (glibc only; elsewhere it does nothing).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


@dataclass(frozen=True)
class _Read:
    """A file's bytes, checked and waiting for its batch, and the key its outcome is cached under."""

    data: bytes
    key: Hashable | None


def _read_checked(scope: int, path: str, options: ChunkOptions, limits: Limits) -> _Read | Outcome:
    """The file's bytes (checked against the limits), or its cached outcome; raises for a file that fails."""
    if isinstance(path, Unlisted):
        raise ValueError(path.reason)
    if "://" in path:
        return _Read(_checked(_read_url(path, options.max_bytes), options, limits), None)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        key = (scope, path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if stat.S_ISDIR(info.st_mode):
            raise ValueError("a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > options.max_bytes:
            raise ValueError(f"file of {info.st_size} bytes exceeds the limit of {options.max_bytes}")
        data = _read_fd(fd, info.st_size, options.max_bytes)
    finally:
        os.close(fd)
    return _Read(_checked(data, options, limits), key)


def _checked(data: bytes, options: ChunkOptions, limits: Limits) -> bytes:
    check_image(data, limits)
    if options.verify:
        decode_image(data, max_pixels=options.max_pixels)
    return data


class _Batch:
    """Files read and checked, classified together by one ``predict_proba`` call."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.reads: list[_Read] = []
        self.size = 0

    def add(self, index: int, read: _Read) -> None:
        self.indices.append(index)
        self.reads.append(read)
        self.size += len(read.data)

    def classify(
        self,
        classifier: ReadyClassifier,
        scores: npt.NDArray[np.float64],
        ms: npt.NDArray[np.float64],
        errors: dict[int, str],
        cache_size: int,
    ) -> None:
        """Score the batch into ``scores``/``errors``, share its time out over ``ms``, cache, and empty it."""
        if not self.reads:
            return
        start = time.perf_counter()
        outcomes = classifier.scores([read.data for read in self.reads])
        share = (time.perf_counter() - start) / len(self.reads)
        for index, read, scored in zip(self.indices, self.reads, outcomes, strict=True):
            outcome: Outcome
            if isinstance(scored, Exception):
                outcome = (None, describe_error(scored))
                errors[index] = outcome[1]
            else:
                outcome = (scored, None)
                scores[index] = scored
            ms[index] += share
            if read.key is not None:
                _cache.put(read.key, outcome, cache_size)
        self.indices, self.reads, self.size = [], [], 0


def _read_fd(fd: int, size: int, max_bytes: int) -> bytes:
    """The whole file, asking for its ``fstat`` size (plus one byte, to see it grow) in one ``read``.

    A buffered ``read(max_bytes + 1)`` allocated a 256 MB buffer per file before trimming it: three times
    the system-call cost of reading the file.
    """
    parts: list[bytes] = []
    total = 0
    want = size + 1
    while chunk := os.read(fd, min(want, max_bytes + 1 - total)):
        parts.append(chunk)
        total += len(chunk)
        if total > max_bytes:  # it grew since fstat
            raise ValueError(f"file exceeds the limit of {max_bytes} bytes")
        want = 1 << 16
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_capped(file: Any, max_bytes: int) -> bytes:
    data: bytes = file.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew since fstat, or a URL did not say its size
        raise ValueError(f"file exceeds the limit of {max_bytes} bytes")
    return data


def _read_url(url: str, max_bytes: int) -> bytes:
    try:
        fsspec = importlib.import_module("fsspec")
    except ImportError:
        raise ValueError("reading URLs needs fsspec (and the filesystem's own package, e.g. s3fs)") from None
    with fsspec.open(url, "rb") as file:
        return _read_capped(file, max_bytes)


class _LRU:
    """A small thread-safe least-recently-used map (Dask may run tasks in threads)."""

    def __init__(self) -> None:
        self._items: OrderedDict[Hashable, Outcome] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Outcome | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Outcome, size: int) -> None:
        with self._lock:
            if size <= 0:
                return
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _LRU()


def _scope(spec: ClassifierSpec, options: ChunkOptions) -> int:
    """Stands for (classifier, options) in cache keys: hashed once per chunk, not once per file.

    Keeping the spec itself out of the cache also keeps an API user's estimator from living on in it.
    """
    return hash((spec, options))


def clear_cache() -> None:
    """Forget this process's cached results (benchmarks time cold runs)."""
    _cache.clear()
