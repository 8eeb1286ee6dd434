"""Benchmark the byte-stream classifier: files per second on 512x512 JPEGs, beside hashing and decoding.

    python benchmarks/byte_stream.py               # the reference set (474 JPEGs, 512x512), a few minutes
    python benchmarks/byte_stream.py --quick       # every 8th image, fewer repeats: a smoke run

One process, one thread (OpenMP/BLAS/OpenCV limited to one), every image held in memory (no disk read is
timed). Each workload runs over the whole set ``--repeat`` times; the median run is reported, as CPU time
of this thread (``time.thread_time``: other processes on a shared machine slow the wall clock, not this)
and as wall time. Workloads, all on the same bytes in the same run:

* ``byte-stream``: ``extract_features`` + ``model.predict`` of a classifier fitted on the set (features
  in batches, as ``predict`` computes them);
* ``byte-stream, one call per file``: ``predict([data])`` for each file, the per-request path of a server;
* ``byte-stream, no header cache``: as the first, but every JPEG header parsed afresh, as if each file
  came from a different encoder (the cache keyed on header bytes never hits);
* ``features only`` and ``predict only``: where the time goes; ``coefficients only``: reading the sampled
  blocks' quantised DCT coefficients (Huffman decoding, :func:`imgclass.parsers.jpeg_scan.read_blocks`);
* baselines: ``hashlib.sha256`` of each file (reading every byte once, in C) and ``cv2.imdecode`` of
  each file (the floor for any pixel classifier).

Ratios are baseline time over byte-stream time (above 1: byte-stream is faster). Goals: at least
:data:`TARGET_FILES_PER_S` files/s on one core, and :data:`TARGET_DECODE_RATIO` times faster than
``cv2.imdecode`` of the same files in the same run. The compiled loops are built (or loaded from numba's
cache) before anything is timed. Leave-one-source-out balanced accuracy is measured too
(``--no-accuracy`` skips it). Results go to ``benchmarks/results/byte_stream.json``.
"""

from __future__ import annotations

import os

# Before numpy, scikit-learn and OpenCV start their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

from _requires import require  # noqa: E402

require(["numpy", "cv2", "sklearn", "numba", "imgclass"])  # the core package: say so before anything starts

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

from imgclass import __version__  # noqa: E402
from imgclass.classifiers.byte_stream import ByteStreamClassifier  # noqa: E402
from imgclass.data import load_dataset  # noqa: E402
from imgclass.features import byte_stream as features_module  # noqa: E402
from imgclass.parsers.jpeg_scan import read_blocks  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "byte_stream.json"
TARGET_FILES_PER_S = 2_000
TARGET_DECODE_RATIO = 3.0


def median_run(work: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Median CPU (this thread) and wall seconds of ``repeat`` runs of ``work``."""
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.thread_time(), time.perf_counter()
        work()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_s": float(np.median(cpu)), "wall_s": float(np.median(wall))}


def no_header_cache(work: Callable[[], Any]) -> Callable[[], Any]:
    """``work`` with the JPEG header cache bypassed: every header is parsed."""

    def run() -> Any:
        cached = features_module._cached_jpeg_layout
        features_module._cached_jpeg_layout = features_module._jpeg_layout  # type: ignore[assignment]
        try:
            return work()
        finally:
            features_module._cached_jpeg_layout = cached

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each workload (median kept)")
    parser.add_argument("--quick", action="store_true", help="every 8th image, 3 repeats, no accuracy")
    parser.add_argument("--no-accuracy", action="store_true", help="skip leave-one-source-out accuracy")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)

    dataset = load_dataset()
    images, labels = list(dataset.images), dataset.labels
    if args.quick:
        images, labels, args.repeat = images[::8], labels[::8], 3  # both classes, every source
    n = len(images)
    mean_kb = sum(map(len, images)) / n / 1024
    clf = ByteStreamClassifier().fit(images, labels)
    model = clf.model_
    features = clf.extract_features(images)

    workloads: dict[str, Callable[[], Any]] = {
        "byte-stream": lambda: model.predict(clf.extract_features(images)),
        "byte-stream, one call per file": lambda: [clf.predict([data]) for data in images],
        "byte-stream, no header cache": no_header_cache(lambda: model.predict(clf.extract_features(images))),
        "features only": lambda: clf.extract_features(images),
        "predict only": lambda: model.predict(features),
        "coefficients only": lambda: [read_blocks(data) for data in images],
        "sha256": lambda: [hashlib.sha256(data).digest() for data in images],
        "cv2.imdecode": lambda: [cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) for data in images],
    }
    results: dict[str, dict[str, float]] = {}
    for name, work in workloads.items():
        work()  # warm up: imports, caches, allocator
        repeat = max(1, args.repeat // 3) if name in ("cv2.imdecode", "byte-stream, one call per file") else args.repeat
        timing = median_run(work, repeat)
        timing["files_per_s_cpu"] = n / timing["cpu_s"]
        timing["files_per_s_wall"] = n / timing["wall_s"]
        timing["us_per_file_cpu"] = timing["cpu_s"] / n * 1e6
        results[name] = timing

    base = results["byte-stream"]["cpu_s"]
    ratios = {
        "sha256_time_over_byte_stream": results["sha256"]["cpu_s"] / base,
        "imdecode_time_over_byte_stream": results["cv2.imdecode"]["cpu_s"] / base,
    }
    print(f"{n} files, {mean_kb:.1f} KiB mean, median of {args.repeat} runs, one thread (CPU time of this thread)\n")
    print(f"{'workload':34s} {'us/file':>9s} {'files/s':>9s} {'files/s wall':>13s} {'x byte-stream':>14s}")
    for name, timing in results.items():
        print(
            f"{name:34s} {timing['us_per_file_cpu']:9.1f} {timing['files_per_s_cpu']:9.0f} "
            f"{timing['files_per_s_wall']:13.0f} {timing['cpu_s'] / base:14.2f}"
        )
    reached = results["byte-stream"]["files_per_s_cpu"]
    verdict = "reached" if reached >= TARGET_FILES_PER_S else "NOT reached"
    print(f"\ntarget {TARGET_FILES_PER_S} files/s per core: {verdict} ({reached:.0f} files/s CPU time)")
    faster = ratios["imdecode_time_over_byte_stream"]
    verdict = "reached" if faster >= TARGET_DECODE_RATIO else "NOT reached"
    print(f"target {TARGET_DECODE_RATIO:.0f}x faster than cv2.imdecode: {verdict} ({faster:.2f}x)")
    print(f"sha256 takes {ratios['sha256_time_over_byte_stream']:.2f}x the byte-stream time")

    accuracy: dict[str, Any] | None = None
    if not (args.quick or args.no_accuracy):
        from imgclass.evaluation import reproduce

        report = reproduce(dataset, ["byte-stream"], cv="source")
        print("\n" + report.to_table() + "\n\n" + report.per_source_table())
        accuracy = report.to_dict()

    document = {
        "benchmark": "byte_stream",
        "files": n,
        "mean_kib": mean_kb,
        "repeat": args.repeat,
        "timing": "median over runs; cpu = time.thread_time of the one working thread",
        "results": results,
        "ratios": ratios,
        "target_files_per_s": TARGET_FILES_PER_S,
        "target_reached_cpu": reached >= TARGET_FILES_PER_S,
        "target_decode_ratio": TARGET_DECODE_RATIO,
        "target_decode_ratio_reached": faster >= TARGET_DECODE_RATIO,
        "accuracy_leave_one_source_out": accuracy,
        "versions": {
            "imgclass": __version__,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "numba": numba.__version__,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
    }
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(document, indent=1, default=str) + "\n")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
