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
from dataclasses import dataclass, replace
from typing import Any, Protocol

from imgclass.bulk.main_guard import unguarded_main_hint
from imgclass.bulk.paths import PathInput, Skipped, expand_paths, skip_done
from imgclass.bulk.results import BulkResult, ChunkOutcome
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

#: Paths per task: large enough that a task's overhead (pickling, a Dask scheduler round trip, a batched
#: ``predict_proba`` call) is noise next to its work even for a 1 ms classifier, small enough that a
#: kill loses little and the last chunks balance across workers.
DEFAULT_CHUNK_SIZE = 64
#: Paths per task on Dask: a task costs the scheduler, client and worker a few ms of CPU (4-5 ms each on a
#: loaded 2-core machine), 7% of a 64-file chunk of a 1 ms classifier; a quarter of that with 256.
DASK_CHUNK_SIZE = 256
#: Chunks submitted and not yet yielded, per worker (a worker thread, on Dask): enough that a worker always
#: has the next chunk at hand while the engine waits on an older one, or on a Dask scheduler round trip.
IN_FLIGHT_PER_WORKER = 4
#: The last chunks of a stream are this many times smaller, so the workers finish together.
TAIL_SPLIT = 4


class _OutcomeFuture(Protocol):
    def result(self) -> ChunkOutcome: ...

    def cancel(self) -> Any: ...


Submit = Callable[[Sequence[str]], _OutcomeFuture]


@dataclass(frozen=True)
class BulkOptions:
    """How a bulk run classifies: every setting of :func:`classify_paths` but the paths.

    Parameters
    ----------
    recursive : bool
        Descend into subfolders of the folders given (without it, each subfolder gets an error line).
    classifier : str, ClassifierSpec or estimator, optional
        A registry name (default :data:`~imgclass.ready.DEFAULT_CLASSIFIER`, the accurate one; the
        fast one is :data:`~imgclass.ready.FAST_CLASSIFIER`), or a fitted estimator with
        ``predict_proba`` on encoded bytes. ``model`` is a saved model file instead.
    workers : int
        Processes in a local pool (1: classify in this process). With ``dask="local"``, the number of
        Dask workers.
    dask : None, "local", scheduler address or ``distributed.Client``
        Run the chunks on a Dask cluster instead: ``"local"`` starts a ``LocalCluster`` for the
        duration; an address (``"tcp://host:8786"``) connects to a running one; a ``Client`` is used as is.
    executor : concurrent.futures.Executor, optional
        Your own pool (left running afterwards), e.g. one kept warm across calls.
    chunk_size, in_flight : int
        Paths per task (default 64, on Dask 256), and tasks submitted but not yet yielded (default: four
        per worker). With more than one worker, the last chunk per worker (plus one) of the stream goes out
        in chunks a quarter the size.
    max_pixels, max_bytes, verify :
        Refuse images whose header declares more pixels, files larger than ``max_bytes``; with
        ``verify``, fully decode every image before classifying (byte-only classifiers never decode).
    cache_size : int
        Outcomes remembered per worker process for repeated paths (0 turns the cache off).
    progress : bool
        Show a ``tqdm`` bar with images/s.
    """

    recursive: bool = False
    classifier: Any = None
    model: str | os.PathLike[str] | None = None
    workers: int = 1
    dask: Any = None
    executor: Executor | None = None
    chunk_size: int | None = None
    in_flight: int | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = MAX_FILE_BYTES
    verify: bool = False
    cache_size: int = DEFAULT_CACHE_SIZE
    progress: bool = False

    def __post_init__(self) -> None:
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.in_flight is not None and self.in_flight < 1:
            raise ValueError(f"in_flight must be at least 1, got {self.in_flight}")
        if self.dask is not None and self.executor is not None:
            raise ValueError("give at most one of dask and executor")
        ChunkOptions(self.max_pixels, self.max_bytes, self.verify, self.cache_size)  # checks them

    @property
    def spec(self) -> ClassifierSpec:
        """The picklable description of the classifier that is shipped to the workers."""
        return as_spec(self.classifier, self.model)

    @property
    def paths_per_chunk(self) -> int:
        """``chunk_size``, or its default for the backend (:data:`DEFAULT_CHUNK_SIZE`, :data:`DASK_CHUNK_SIZE`)."""
        if self.chunk_size is not None:
            return self.chunk_size
        return DASK_CHUNK_SIZE if self.dask is not None else DEFAULT_CHUNK_SIZE

    @property
    def chunk_options(self) -> ChunkOptions:
        return ChunkOptions(self.max_pixels, self.max_bytes, self.verify, self.cache_size)


def classify_paths(
    paths: PathInput | Iterable[PathInput],
    options: BulkOptions | None = None,
    /,
    *,
    skip: Counter[str] | None = None,
    skipped: Skipped | None = None,
    **settings: Any,
) -> Iterator[BulkResult]:
    """Classify every image named by ``paths``, yielding one frozen :class:`BulkResult` per path, in order.

    ``paths`` are files, folders (their files; subfolders too with ``recursive``) and ``"@list.txt"``
    files of paths. Any iterable works, including an endless generator: nothing is read far ahead of the
    chunks in flight. A path named twice is classified (from a per-worker cache) and reported twice.

    ``options`` is a :class:`BulkOptions`; keyword ``settings`` override its fields
    (``classify_paths(folder, workers=2)``). ``skip`` counts occurrences of paths to leave out, consumed
    as they are met (``--resume`` passes what is already written); ``skipped``, if given, counts the
    subfolders that were not descended into. Arguments are checked when this is called.
    """
    return itertools.chain.from_iterable(classify_batches(paths, options, skip=skip, skipped=skipped, **settings))


def classify_batches(
    paths: PathInput | Iterable[PathInput],
    options: BulkOptions | None = None,
    /,
    *,
    skip: Counter[str] | None = None,
    skipped: Skipped | None = None,
    **settings: Any,
) -> Iterator[list[BulkResult]]:
    """:func:`classify_paths` one chunk at a time, as each is ready (the CLI writes and flushes per chunk)."""
    options = replace(options or BulkOptions(), **settings)
    spec = options.spec  # checks the classifier now, before the first chunk is asked for
    stream = expand_paths(paths, recursive=options.recursive, skipped=skipped)
    if skip:
        stream = skip_done(stream, skip)
    return _run(spec, options, stream)


def _run(spec: ClassifierSpec, options: BulkOptions, stream: Iterator[str]) -> Iterator[list[BulkResult]]:
    with (
        _backend(spec, options) as (submit, capacity),
        progress_bar(desc=f"classify ({spec.label})", unit="img", enabled=options.progress, smoothing=0.1) as bar,
    ):
        in_flight = options.in_flight or capacity
        workers = capacity // IN_FLIGHT_PER_WORKER
        work = chunks(stream, options.paths_per_chunk, lookahead=workers + 1 if workers > 1 else 1)
        try:
            for chunk, outcome in run_ordered(submit, work, in_flight):
                results = outcome.results(chunk)
                bar.update(len(results))
                yield results
        except BrokenProcessPool as exc:
            hint = unguarded_main_hint()
            if hint is None:
                raise
            raise BrokenProcessPool(f"{exc} {hint}") from exc


def chunks(items: Iterable[str], size: int, *, lookahead: int = 1) -> Iterator[list[str]]:
    """Consecutive lists of ``size`` items, pulled lazily; the end of the stream in smaller ones.

    With ``lookahead`` > 1, ``lookahead`` chunks' worth of items are read ahead, so the end of the stream
    is seen before the last chunks are cut: those are cut ``TAIL_SPLIT`` times smaller. Otherwise
    the workers that finish first sit idle while the last full-size chunks run (half a chunk each, on
    average): on a short run of a fast classifier that was the largest part of the time lost.
    """
    iterator = iter(items)
    if lookahead <= 1:
        while chunk := list(itertools.islice(iterator, size)):
            yield chunk
        return
    window = size * lookahead
    buffer: deque[str] = deque(itertools.islice(iterator, window))
    while len(buffer) >= window:
        yield [buffer.popleft() for _ in range(size)]
        buffer.extend(itertools.islice(iterator, size))
    small = max(1, -(-size // TAIL_SPLIT))
    while buffer:
        yield [buffer.popleft() for _ in range(min(small, len(buffer)))]


def run_ordered(
    submit: Submit, work: Iterable[Sequence[str]], in_flight: int
) -> Iterator[tuple[Sequence[str], ChunkOutcome]]:
    """Submit chunks with at most ``in_flight`` outstanding; yield each with its outcome, in submission order.

    Waiting on the oldest chunk while the others run costs little (chunks take similar time) and
    buys a deterministic output order; the window also bounds memory.
    """
    window: deque[tuple[Sequence[str], _OutcomeFuture]] = deque()
    try:
        for chunk in work:
            window.append((chunk, submit(chunk)))
            if len(window) >= in_flight:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()
    finally:
        for _, future in window:  # the consumer stopped early or a chunk failed: drop queued work
            future.cancel()


@contextlib.contextmanager
def _backend(spec: ClassifierSpec, options: BulkOptions) -> Iterator[tuple[Submit, int]]:
    chunk_options, workers = options.chunk_options, options.workers
    if options.dask is not None:
        from imgclass.bulk.dask_backend import GatheredResults, dask_client

        with dask_client(options.dask, workers=workers) as client:
            capacity = IN_FLIGHT_PER_WORKER * max(1, sum(client.nthreads().values()))
            logger.info("classifying on Dask (%s), %d chunks in flight", client.dashboard_link, capacity)
            gathered = GatheredResults()

            def submit_dask(chunk: Sequence[str]) -> _OutcomeFuture:
                return gathered.add(client.submit(remote_chunk, spec, list(chunk), chunk_options, pure=False))

            yield submit_dask, capacity
        return
    if options.executor is not None:
        executor = options.executor
        slots = max(1, getattr(executor, "_max_workers", 1))
        yield _executor_submit(executor, spec, chunk_options), IN_FLIGHT_PER_WORKER * slots
        return
    if workers == 1:
        yield (lambda chunk: _done(classify_chunk(spec, chunk, chunk_options))), 1
        return
    with process_pool(workers, spec) as pool:
        yield _executor_submit(pool, spec, chunk_options), IN_FLIGHT_PER_WORKER * workers


def _executor_submit(executor: Executor, spec: ClassifierSpec, options: ChunkOptions) -> Submit:
    # Only worker processes get OpenCV pinned to one thread; a thread pool shares the caller's process.
    task = remote_chunk if isinstance(executor, ProcessPoolExecutor) else classify_chunk

    def submit(chunk: Sequence[str]) -> _OutcomeFuture:
        return executor.submit(task, spec, list(chunk), options)

    return submit


def _done(outcome: ChunkOutcome) -> Future[ChunkOutcome]:
    future: Future[ChunkOutcome] = Future()
    future.set_result(outcome)
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
