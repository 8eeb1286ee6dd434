"""The streaming engine behind ``imgclass classify`` and :func:`classify_paths`.

Paths are expanded lazily, cut into chunks and handed to a backend (this process, a local process
pool, or a Dask cluster) with at most ``in_flight`` chunks submitted and not yet emitted. Results
come out chunk by chunk **in input order**: the engine waits on the oldest chunk while the younger
ones keep the workers busy. So memory is bounded by ``in_flight * chunk_size`` results whatever the
number of images, the output of every backend is the same sequence, and an interrupted output is a
prefix of a clean one, which is what makes ``--resume`` exact.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from imgclass.bulk.main_guard import unguarded_main_hint
from imgclass.bulk.paths import PathInput, expand_paths, skip_done
from imgclass.bulk.results import BulkResult
from imgclass.bulk.spec import ClassifierSpec, as_spec
from imgclass.bulk.worker import (
    DEFAULT_CACHE_SIZE,
    MAX_FILE_BYTES,
    ChunkOptions,
    classify_chunk,
    remote_chunk,
    start_worker,
)
from imgclass.decode import DEFAULT_MAX_PIXELS
from imgclass.progress import progress as progress_bar

logger = logging.getLogger(__name__)

#: Paths per task: small enough that a kill loses little and the last chunks balance across workers,
#: large enough that a task's overhead (pickling, a Dask scheduler round trip) is noise next to its work.
DEFAULT_CHUNK_SIZE = 32


class _ResultFuture(Protocol):
    def result(self) -> list[BulkResult]: ...

    def cancel(self) -> Any: ...


Submit = Callable[[Sequence[str]], _ResultFuture]


def classify_paths(
    paths: PathInput | Iterable[PathInput],
    *,
    recursive: bool = False,
    classifier: Any = None,
    model: str | os.PathLike[str] | None = None,
    workers: int = 1,
    dask: Any = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    in_flight: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
    verify: bool = False,
    cache_size: int = DEFAULT_CACHE_SIZE,
    skip: Counter[str] | None = None,
    progress: bool = False,
) -> Iterator[BulkResult]:
    """Classify every image named by ``paths``, yielding one frozen :class:`BulkResult` per path, in order.

    Parameters
    ----------
    paths : path, or iterable of paths
        Files, folders (their files; subfolders too with ``recursive``) and ``"@list.txt"`` files of
        paths. Any iterable works, including an endless generator: nothing is read ahead of the chunks
        in flight. A path named twice is classified (from a per-worker cache) and reported twice.
    classifier : str, ClassifierSpec or estimator, optional
        A registry name (default ``"colour-count"``), or a fitted estimator with ``predict_proba`` on
        encoded bytes. ``model`` is a saved model file instead.
    workers : int
        Processes in a local pool (1: classify in this process). With ``dask="local"``, the number of
        Dask workers.
    dask : None, "local", scheduler address or ``distributed.Client``
        Run the chunks on a Dask cluster instead: ``"local"`` starts a ``LocalCluster`` for the
        duration; an address (``"tcp://host:8786"``) connects to a running one; a ``Client`` is used as is.
    executor : concurrent.futures.Executor, optional
        Your own pool (left running afterwards), e.g. one kept warm across calls.
    chunk_size, in_flight : int
        Paths per task, and tasks submitted but not yet yielded (default: twice the workers).
    max_pixels, max_bytes, verify :
        Refuse images whose header declares more pixels, files larger than ``max_bytes``; with
        ``verify``, fully decode every image before classifying (byte-only classifiers never decode).
    cache_size : int
        Results remembered per worker process for repeated paths (0 turns the cache off).
    skip : Counter of paths, optional
        Occurrences to leave out, consumed as they are met (``--resume`` passes what is already written).
    progress : bool
        Show a ``tqdm`` bar with images/s.
    """
    batches = classify_batches(
        paths,
        recursive=recursive,
        classifier=classifier,
        model=model,
        workers=workers,
        dask=dask,
        executor=executor,
        chunk_size=chunk_size,
        in_flight=in_flight,
        max_pixels=max_pixels,
        max_bytes=max_bytes,
        verify=verify,
        cache_size=cache_size,
        skip=skip,
        progress=progress,
    )
    return itertools.chain.from_iterable(batches)


def classify_batches(
    paths: PathInput | Iterable[PathInput],
    *,
    recursive: bool = False,
    classifier: Any = None,
    model: str | os.PathLike[str] | None = None,
    workers: int = 1,
    dask: Any = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    in_flight: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
    verify: bool = False,
    cache_size: int = DEFAULT_CACHE_SIZE,
    skip: Counter[str] | None = None,
    progress: bool = False,
) -> Iterator[list[BulkResult]]:
    """:func:`classify_paths` one chunk at a time, as each is ready (the CLI writes and flushes per chunk).

    Arguments are checked when this is called, before the first chunk is asked for.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if in_flight is not None and in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    if dask is not None and executor is not None:
        raise ValueError("give at most one of dask and executor")
    spec = as_spec(classifier, model)
    options = ChunkOptions(max_pixels=max_pixels, max_bytes=max_bytes, verify=verify, cache_size=cache_size)
    stream = expand_paths(paths, recursive=recursive)
    if skip:
        stream = skip_done(stream, skip)
    return _run(spec, options, stream, chunk_size, in_flight, workers, dask, executor, progress)


def _run(
    spec: ClassifierSpec,
    options: ChunkOptions,
    stream: Iterator[str],
    chunk_size: int,
    in_flight: int | None,
    workers: int,
    dask: Any,
    executor: Executor | None,
    progress: bool,
) -> Iterator[list[BulkResult]]:
    with (
        _backend(spec, options, workers, dask, executor) as (submit, capacity),
        progress_bar(desc=f"classify ({spec.label})", unit="img", enabled=progress, smoothing=0.1) as bar,
    ):
        try:
            for results in run_ordered(submit, chunks(stream, chunk_size), in_flight or capacity):
                bar.update(len(results))
                yield results
        except BrokenProcessPool as exc:
            hint = unguarded_main_hint()
            if hint is None:
                raise
            raise BrokenProcessPool(f"{exc} {hint}") from exc


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of ``size`` items (the last may be shorter), pulled lazily."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def run_ordered(submit: Submit, work: Iterable[Sequence[str]], in_flight: int) -> Iterator[list[BulkResult]]:
    """Submit chunks with at most ``in_flight`` outstanding; yield their results in submission order.

    Waiting on the oldest chunk while the others run costs little (chunks take similar time) and
    buys a deterministic output order; the window also bounds memory.
    """
    window: deque[_ResultFuture] = deque()
    try:
        for chunk in work:
            window.append(submit(chunk))
            if len(window) >= in_flight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        for future in window:  # the consumer stopped early or a chunk failed: drop queued work
            future.cancel()


@contextlib.contextmanager
def _backend(
    spec: ClassifierSpec, options: ChunkOptions, workers: int, dask: Any, executor: Executor | None
) -> Iterator[tuple[Submit, int]]:
    if dask is not None:
        from imgclass.bulk.dask_backend import dask_client

        with dask_client(dask, workers=workers) as client:
            capacity = 2 * max(1, sum(client.nthreads().values()))
            logger.info("classifying on Dask (%s), %d chunks in flight", client.dashboard_link, capacity)

            def submit_dask(chunk: Sequence[str]) -> _ResultFuture:
                return client.submit(remote_chunk, spec, list(chunk), options, pure=False)  # type: ignore[no-any-return]

            yield submit_dask, capacity
        return
    if executor is not None:
        yield _executor_submit(executor, spec, options), 2 * max(1, getattr(executor, "_max_workers", 1))
        return
    if workers == 1:
        yield (lambda chunk: _done(classify_chunk(spec, chunk, options))), 1
        return
    with process_pool(workers, spec) as pool:
        yield _executor_submit(pool, spec, options), 2 * workers


def _executor_submit(executor: Executor, spec: ClassifierSpec, options: ChunkOptions) -> Submit:
    # Only worker processes get OpenCV pinned to one thread; a thread pool shares the caller's process.
    task = remote_chunk if isinstance(executor, ProcessPoolExecutor) else classify_chunk

    def submit(chunk: Sequence[str]) -> _ResultFuture:
        return executor.submit(task, spec, list(chunk), options)

    return submit


def _done(results: list[BulkResult]) -> Future[list[BulkResult]]:
    future: Future[list[BulkResult]] = Future()
    future.set_result(results)
    return future


def process_pool(workers: int, classifier: Any = None, *, model: str | None = None) -> ProcessPoolExecutor:
    """A local pool whose workers load the classifier once, as they start (pass it as ``executor=``).

    Workers are spawned, not forked: a fork of a process running threads (a progress bar's monitor,
    a Dask client) can deadlock, and spawn behaves the same on every platform.
    """
    spec = as_spec(classifier, model)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker, initargs=(spec,)
    )
