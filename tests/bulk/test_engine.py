"""Tests for :mod:`imgclass.bulk.engine`: streaming, ordering, backends agreeing, memory staying flat."""

from __future__ import annotations

import dataclasses
import itertools
import os
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imgclass.bulk import BulkOptions, BulkResult, ClassifierSpec, classify_paths, process_pool
from imgclass.bulk.engine import chunks, classify_batches, run_ordered
from imgclass.bulk.output import open_output, read_results
from imgclass.bulk.results import ChunkOutcome
from imgclass.bulk.worker import clear_cache


@dataclass(frozen=True)
class CountingSpec(ClassifierSpec):
    """colour-count, but every load appends this process's id to ``log``."""

    log: str = ""

    def load(self) -> Any:
        with open(self.log, "a") as file:
            file.write(f"{os.getpid()}\n")
        return super().load()


def outcomes(results: Iterator[BulkResult]) -> list[tuple[Any, ...]]:
    return [r.outcome for r in results]


@pytest.fixture
def mixed_inputs(image_dir: Path, bad_dir: Path, tmp_path: Path) -> list[str]:
    """Good and bad files, a folder (with a subfolder: an error line), duplicates and an @list."""
    (bad_dir / "subfolder").mkdir()
    images = sorted(str(p) for p in image_dir.iterdir())
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([images[0], images[1], images[0], str(bad_dir / "bomb.png")]) + "\n")
    return [*images[:6], str(bad_dir), f"@{listing}", images[0], *images[6:]]


def test_results_are_frozen_in_input_order_one_per_occurrence(mixed_inputs: list[str], bad_dir: Path) -> None:
    results = list(classify_paths(mixed_inputs, chunk_size=5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        results[0].label = "x"  # type: ignore[misc]
    paths = [r.path for r in results]
    assert paths[:6] == mixed_inputs[:6]
    assert paths[-7:] == [mixed_inputs[-7], *mixed_inputs[-6:]]
    assert Counter(paths)[mixed_inputs[0]] == 4
    assert len(results) == 6 + len(list(bad_dir.iterdir())) + 4 + 1 + 6
    duplicates = {r.outcome for r in results if r.path == mixed_inputs[0]}
    assert len(duplicates) == 1


def test_chunk_size_does_not_change_the_results(mixed_inputs: list[str]) -> None:
    assert outcomes(classify_paths(mixed_inputs, chunk_size=1)) == outcomes(classify_paths(mixed_inputs, chunk_size=64))


def test_an_endless_input_streams(tmp_path: Path) -> None:
    endless = (str(tmp_path / f"missing{i}.jpg") for i in itertools.count())
    first = list(itertools.islice(classify_paths(endless, chunk_size=7), 20))
    assert [r.path for r in first] == [str(tmp_path / f"missing{i}.jpg") for i in range(20)]
    assert all(r.error == "cannot read: No such file or directory" for r in first)


def test_skip_leaves_out_what_is_done(image_dir: Path) -> None:
    images = sorted(str(p) for p in image_dir.iterdir())
    clean = list(classify_paths(images * 2))
    rest = list(classify_paths(images * 2, skip=Counter(images[:5])))
    assert outcomes(iter(rest)) == outcomes(iter(clean[5:]))


def test_argument_checks(image_dir: Path) -> None:
    for kwargs in (
        {"chunk_size": 0},
        {"workers": 0},
        {"in_flight": 0},
        {"dask": "local", "executor": object()},
        {"cache_size": -1},
        {"max_pixels": 0},
    ):
        with pytest.raises(ValueError):
            classify_paths(image_dir, **kwargs)
        with pytest.raises(ValueError):
            BulkOptions(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown classifier"):
        classify_paths(image_dir, classifier="nope")
    with pytest.raises(TypeError):
        classify_paths(image_dir, colour="red")


def test_options_object_and_keywords_agree(image_dir: Path) -> None:
    options = BulkOptions(classifier="colour-count", chunk_size=5)
    by_object = outcomes(classify_paths(image_dir, options))
    assert by_object == outcomes(classify_paths(image_dir, classifier="colour-count", chunk_size=5))
    assert by_object == outcomes(classify_paths(image_dir, options, chunk_size=2))  # keywords override fields
    assert {r[3] for r in by_object} == {"colour-count"}
    assert {r[3] for r in outcomes(classify_paths(image_dir))} == {"combined"}  # the accurate default
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.workers = 2  # type: ignore[misc]


def test_batches_are_chunks_of_the_same_stream(image_dir: Path) -> None:
    batches = list(classify_batches(image_dir, chunk_size=5))
    assert [len(b) for b in batches] == [5, 5, 2]
    assert [r.outcome for b in batches for r in b] == outcomes(classify_paths(image_dir, chunk_size=5))


class FakeFuture:
    def __init__(self, chunk: Sequence[str], log: list[str]) -> None:
        self.chunk, self.log, self.cancelled = list(chunk), log, False

    def result(self) -> ChunkOutcome:
        self.log.append(f"result {self.chunk[0]}")
        n = len(self.chunk)
        return ChunkOutcome(np.zeros(n), np.zeros(n), (), "fake")

    def cancel(self) -> bool:
        self.cancelled = True
        return True


def test_run_ordered_bounds_the_chunks_in_flight_and_keeps_order() -> None:
    log: list[str] = []
    submitted: list[FakeFuture] = []

    def submit(chunk: Sequence[str]) -> FakeFuture:
        log.append(f"submit {chunk[0]}")
        submitted.append(FakeFuture(chunk, log))
        outstanding = sum(e.startswith("submit") for e in log) - sum(e.startswith("result") for e in log)
        assert outstanding <= 3
        return submitted[-1]

    work = chunks((f"p{i}" for i in range(10)), 2)
    out = [r.path for chunk, outcome in run_ordered(submit, work, 3) for r in outcome.results(chunk)]
    assert out == [f"p{i}" for i in range(10)]
    assert log[:4] == ["submit p0", "submit p2", "submit p4", "result p0"]


def test_run_ordered_cancels_queued_work_when_the_consumer_stops() -> None:
    submitted: list[FakeFuture] = []

    def submit(chunk: Sequence[str]) -> FakeFuture:
        submitted.append(FakeFuture(chunk, []))
        return submitted[-1]

    stream = run_ordered(submit, chunks((f"p{i}" for i in range(100)), 1), 4)
    next(stream)
    stream.close()
    assert [f.cancelled for f in submitted] == [False, True, True, True]


def test_chunks() -> None:
    assert list(chunks(iter("abcde"), 2)) == [["a", "b"], ["c", "d"], ["e"]]
    assert list(chunks(iter(""), 2)) == []


def test_the_last_chunks_are_smaller_so_workers_finish_together() -> None:
    items = [str(i) for i in range(50)]
    cut = list(chunks(iter(items), 8, lookahead=3))
    assert [x for chunk in cut for x in chunk] == items
    assert [len(c) for c in cut] == [8] * 4 + [2] * 9  # under 3 chunks left (18): cut in quarters
    assert list(chunks(iter(items[:5]), 8, lookahead=3)) == [["0", "1"], ["2", "3"], ["4"]]
    endless = (str(i) for i in itertools.count())
    assert next(chunks(endless, 4, lookahead=2)) == ["0", "1", "2", "3"]


def _peak_traced_bytes(listing: Path, out: Path) -> int:
    tracemalloc.start()
    try:
        writer, _ = open_output(out, overwrite=True)
        with writer:
            for batch in classify_batches([f"@{listing}"], chunk_size=64):
                writer.write(batch)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_memory_does_not_grow_with_the_number_of_paths(
    image_dir: Path, bad_dir: Path, tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10,000 paths need no more memory than 1,000: nothing keeps a list of paths or results.

    A list of the 9,000 extra results alone would take over a megabyte; the bound is a quarter of one.
    Parquet buffers a row group (10,000 rows) on purpose, so it is run with row groups of 500 rows.
    (The 100,000-path run of the whole command is in test_cli.py, the million-path one in benchmarks/bulk.py.)
    """
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
        from imgclass.bulk import parquet

        monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 500)
        monkeypatch.setattr(parquet, "PART_ROW_GROUPS", 4)
    files = [*sorted(str(p) for p in image_dir.iterdir())[:3], str(bad_dir / "truncated.jpg")]
    peaks = {}
    for n in (1_000, 10_000):
        listing = tmp_path / f"list{n}.txt"
        listing.write_text("".join(f"{files[i % len(files)]}\n" for i in range(n)))
        if not peaks:
            _peak_traced_bytes(listing, tmp_path / f"warm{suffix}")  # imports, classifier load, cache fill
        peaks[n] = _peak_traced_bytes(listing, tmp_path / f"out{n}{suffix}")
        assert sum(1 for _ in read_results(tmp_path / f"out{n}{suffix}")) == n
    assert peaks[10_000] - peaks[1_000] < 256 * 1024, peaks


@pytest.mark.slow
def test_every_backend_gives_the_same_results(mixed_inputs: list[str], bad_dir: Path) -> None:
    """In this process, a pool of 2 processes and a Dask LocalCluster of 2 worker processes."""
    clear_cache()
    serial = outcomes(classify_paths(mixed_inputs, chunk_size=3))
    pooled = outcomes(classify_paths(mixed_inputs, chunk_size=3, workers=2))
    dasked = outcomes(classify_paths(mixed_inputs, chunk_size=3, workers=2, dask="local"))
    assert serial == pooled == dasked
    assert sum(r[-1] is not None for r in serial) == len(list(bad_dir.iterdir()))  # the bad ones, bomb twice


def test_dask_client_in_threads_gives_the_same_results(mixed_inputs: list[str]) -> None:
    """The Dask path, on a cheap in-process cluster (the slow test above uses worker processes)."""
    distributed = pytest.importorskip("distributed")
    clear_cache()  # the workers are threads of this process: make them compute, not recall
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        dasked = outcomes(classify_paths(mixed_inputs, chunk_size=4, dask=client))
        assert client.status == "running"  # a Client we were given is left open
    assert dasked == outcomes(classify_paths(mixed_inputs, chunk_size=4))


@pytest.mark.slow
def test_each_pool_worker_loads_the_model_once(image_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "loads.txt"
    spec = CountingSpec(log=str(log))
    images = sorted(str(p) for p in image_dir.iterdir())
    results = list(classify_paths(images * 2, classifier=spec, chunk_size=1, workers=2, cache_size=0))
    assert all(r.ok for r in results) and len(results) == 24
    loads = log.read_text().split()
    assert len(loads) == len(set(loads)) <= 2


@pytest.mark.slow
def test_a_warm_pool_can_be_reused(image_dir: Path) -> None:
    images = sorted(str(p) for p in image_dir.iterdir())
    with process_pool(2) as pool:
        first = outcomes(classify_paths(images, executor=pool, chunk_size=2))
        second = outcomes(classify_paths(images[::-1], executor=pool, chunk_size=2))
    assert first == second[::-1] == outcomes(classify_paths(images))


def _openmp_threads() -> list[int]:
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    return [int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "openmp"]


@pytest.mark.slow
def test_pool_workers_run_openmp_on_one_thread() -> None:
    # The gradient boosting of `fast` predicts through OpenMP: its idle threads spinning beside every
    # worker cost a pool of 2 most of its CPU (benchmarks/bulk.py).
    with process_pool(1, "fast") as pool:
        threads = pool.submit(_openmp_threads).result()
    assert threads and set(threads) == {1}
