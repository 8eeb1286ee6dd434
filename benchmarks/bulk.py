"""Benchmark bulk classification against the decode floor, across workers and Dask, and over a million paths.

    python benchmarks/bulk.py            # 2,000 images x 5 rounds, then the million-path run: ~15 min on 2 cores
    python benchmarks/bulk.py --quick    # 400 images, 1 round, 100,000 paths: a smoke run

Needs the ``dask`` extra (``distributed`` and ``psutil``): ``pip install -e ".[dask]"``, checked before
anything runs; with the ``parquet`` extra it also times Parquet output.

The input is a temporary folder of hard links to the bundled reference set (512x512 JPEGs), repeated until
it holds ``--images`` files, so every path is distinct and the per-worker cache never answers (it is also
turned off). Everything runs in one process tree, in the same run, and each figure is set against a
baseline measured in that run:

* **Floor**: read each file and decode it reduced, as the fast classifier does (``decode_working``: a
  512-pixel JPEG at a quarter size), in this process on one thread. Nothing bulk can do is cheaper.
* **Per core**: files per CPU-second of all our processes (this one, pool workers, Dask nannies and
  workers). It is what a core delivers whatever else the machine runs; files/s of wall time is shown too.
* **Classifier alone**: ``predict_proba`` on the files' bytes already in memory, in batches of the chunk
  size, in this process: the ceiling for the accurate default.
* **Busy workers**: worker time spent on files per second of wall time (the sum of the results' ``ms``
  over the run's duration). 2.0 means the engine never left either worker idle; the ratio 2 workers /
  1 worker on this measure separates the engine's overhead from contention for the cores, and
  ``1 - busy / workers`` is the share of the time the workers sat idle (the engine, the load, the tail).
* **Scheduling cost**: the same number of chunks of paths that cost a worker almost nothing (missing
  files) through the same pool or cluster, as a share of the real run's time: what scheduling, shipping
  and collecting the chunks costs.
* **Where fast's time goes**: CPU time per file of each step of ``fast`` on the same files, in this process,
  batches of the chunk size as in bulk: reading, the header check, the reduced decode, each family of
  statistics (one family at a time over the batch, as ``FastClassifier`` does) and the model.
* **Million paths**: ``imgclass classify @list --fast --workers 2 --out ...`` as a subprocess on a list of
  1,000,000 lines naming the folder's files over and over, against the same command on 10,000 lines:
  the peak resident memory (VmHWM) of the command and of its worker processes, then a run killed at a
  random moment and resumed, checked line by line against the clean run.

Configurations are interleaved within each round so load from other processes falls on all alike; each
figure is the median over rounds. Results go to ``benchmarks/results/bulk.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _requires import require

require(["distributed", "psutil"], extra="dask")  # before the imports it checks, not minutes into the run

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from imgclass.bulk import BulkOptions, BulkResult, classify_paths, open_output, process_pool, read_results  # noqa: E402
from imgclass.bulk.dask_backend import local_cluster, quiet_dask_logs  # noqa: E402
from imgclass.bulk.engine import DASK_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, chunks  # noqa: E402
from imgclass.bulk.worker import clear_cache, start_worker  # noqa: E402
from imgclass.features.working_image import WORKING_SIDE, decode_working  # noqa: E402
from imgclass.ready import DEFAULT_CLASSIFIER, FAST_CLASSIFIER, ready  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bulk.json"
REFERENCE = ROOT / "data" / "reference"
GOAL_FAST_VS_FLOOR = 0.7
GOAL_ACCURATE_VS_ALONE = 0.7
GOAL_BUSY_2_VS_1 = 1.8
GOAL_DASK_VS_POOL = 0.8
GOAL_SCHEDULING = 0.05


def source_images() -> list[Path]:
    """The reference set's JPEGs; a few generated ones if it is missing (a source checkout without data)."""
    found = sorted(p for p in REFERENCE.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if found:
        return found
    folder = Path(tempfile.mkdtemp(prefix="imgclass-bench-src-"))
    rng = np.random.default_rng(0)
    for i in range(40):
        image = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
        if i % 2:  # flat-shaded drawing
            image[:] = rng.integers(100, 256, 3)
            for _ in range(6):
                colour = tuple(int(c) for c in rng.integers(0, 256, 3))
                centre = tuple(int(c) for c in rng.integers(50, 462, 2))
                cv2.circle(image, centre, int(rng.integers(20, 120)), colour, -1)
        cv2.imwrite(str(folder / f"gen_{i:02d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return sorted(folder.iterdir())


@contextlib.contextmanager
def replicated_folder(sources: list[Path], count: int) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="imgclass-bench-bulk-") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        for i in range(count):
            src = sources[i % len(sources)]
            target = folder / f"{i:06d}_{src.name}"
            try:
                os.link(src, target)
            except OSError:  # another file system, or links not allowed: copy
                target.write_bytes(src.read_bytes())
        yield folder


def cpu_seconds() -> float:
    """CPU time of this process and every process under it (pool workers, Dask nannies and workers)."""
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


class Run:
    """One timed run: wall seconds, CPU seconds of all our processes, files, worker-busy seconds."""

    def __init__(self, wall: float, cpu: float, files: int, busy: float) -> None:
        self.wall, self.cpu, self.files, self.busy = wall, cpu, files, busy

    @property
    def rate(self) -> float:
        return self.files / self.wall

    @property
    def per_core(self) -> float:
        return self.files / self.cpu if self.cpu > 0 else float("nan")


def timed(run: Callable[[], Any], files: int) -> tuple[Run, Any]:
    cpu, start = cpu_seconds(), time.perf_counter()
    out = run()
    wall, used = time.perf_counter() - start, cpu_seconds() - cpu
    busy = sum(r.ms for r in out) / 1e3 if isinstance(out, list) and out and isinstance(out[0], BulkResult) else 0.0
    return Run(wall, used, files, busy), out


def floor(paths: list[str]) -> int:
    """Read each file and decode it reduced, as the fast classifier does: the cost bulk cannot go under."""
    for path in paths:
        with open(path, "rb") as file:
            decode_working(file.read(), side=WORKING_SIDE)
    return len(paths)


def classifier_alone(name: str, images: list[bytes], batch: int) -> int:
    classifier = ready(name)
    for start in range(0, len(images), batch):
        classifier.predict_proba(images[start : start + batch])
    return len(images)


def fast_steps(paths: list[str], batch: int, rounds: int) -> dict[str, float]:
    """Median CPU microseconds per file of each step of ``fast`` (the bulk worker's order, in batches)."""
    from imgclass.classifiers.fast import COLOUR_SIDE
    from imgclass.features.colour_stats import histogram_peakiness, palette_stats
    from imgclass.features.gradients import gradient_stats
    from imgclass.features.noise import bilateral_stats, noise_stats
    from imgclass.features.tone import tone_stats
    from imgclass.features.working_image import fit_within
    from imgclass.ready import Limits, check_image

    estimator = ready(FAST_CLASSIFIER).estimator
    model = estimator.fitted_model()
    batches = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        spent: dict[str, float] = {}
        for chunk in batches:
            data = _timed_step(spent, "read the file", lambda p: Path(p).read_bytes(), chunk)
            _timed_step(spent, "header check", lambda d: check_image(d, Limits()), data)
            images = _timed_step(spent, "reduced decode", lambda d: decode_working(d, side=WORKING_SIDE), data)
            smalls = _timed_step(spent, "colour image and greys", lambda i: fit_within(i, COLOUR_SIDE), images)
            grays = _timed_step(spent, "colour image and greys", lambda i: cv2.cvtColor(i, cv2.COLOR_BGR2GRAY), images)
            small_grays = _timed_step(
                spent, "colour image and greys", lambda i: cv2.cvtColor(i, cv2.COLOR_BGR2GRAY), smalls
            )
            _timed_step(spent, "palette", palette_stats, smalls)
            _timed_step(spent, "histogram peakiness", histogram_peakiness, smalls)
            _timed_step(spent, "tone", tone_stats, smalls)
            _timed_step(spent, "gradients", gradient_stats, grays)
            _timed_step(spent, "noise", noise_stats, grays)
            _timed_step(spent, "bilateral", bilateral_stats, small_grays)
            features = estimator.extract_features(data)
            _timed_step(spent, "model (predict_proba on the features)", model.predict_proba, [features])
            _timed_step(spent, "whole classifier on the bytes", estimator.predict_proba, [data])
        for name, seconds in spent.items():
            times.setdefault(name, []).append(seconds / len(paths) * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def _timed_step(spent: dict[str, float], name: str, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    begin = time.process_time()
    out = [work(item) for item in items]
    spent[name] = spent.get(name, 0.0) + time.process_time() - begin
    return out


def median_run(runs: list[Run]) -> dict[str, float]:
    return {
        "files_per_s": statistics.median(r.rate for r in runs),
        "files_per_cpu_s": statistics.median(r.per_core for r in runs),
        "cores_used": statistics.median(r.cpu / r.wall for r in runs),
        "busy_workers": statistics.median(r.busy / r.wall for r in runs),
    }


def output_cost(outcomes: list[Any], tmp: Path, rows: int = 50_000) -> dict[str, float]:
    """Microseconds of this process per result written, per output format (Parquet with the extra)."""
    results = [BulkResult(o[0], o[1], o[2], o[3], 1.0, o[4]) for o in outcomes] or [BulkResult("a", None, None, "x", 0)]
    batch = (results * (rows // len(results) + 1))[:rows]
    formats = [".jsonl", ".csv"]
    with contextlib.suppress(ImportError):
        importlib.import_module("pyarrow")
        formats.append(".parquet")
    cost = {}
    for suffix in formats:
        target = tmp / f"writing{suffix}"
        begin = time.process_time()
        writer, _ = open_output(target, overwrite=True)
        with writer:
            for start in range(0, rows, 64):
                writer.write(batch[start : start + 64])
        cost[suffix.lstrip(".")] = (time.process_time() - begin) / rows * 1e6
    return cost


# ------------------------------------------------------------------------------------------- million paths


def _peak_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class PeakWatcher:
    """Polls the resident memory of a command's processes: the peak of the command and of its workers."""

    def __init__(self, pid: int) -> None:
        self.pid, self.main_kb, self.workers_kb = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(self.pid)
            while not self._stop.is_set():
                with contextlib.suppress(psutil.Error):
                    self.main_kb = max(self.main_kb, _peak_kb(self.pid))
                    children = process.children(recursive=True)
                    total = sum(_peak_kb(c.pid) for c in children)
                    self.workers_kb = max(self.workers_kb, total)
                self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_command(listing: Path, out: Path, *extra: str, kill_after: float | None = None) -> dict[str, Any]:
    """``imgclass classify @listing --fast --workers 2 --out out``; killed after ``kill_after`` seconds if given."""
    command = [sys.executable, "-m", "imgclass", "classify", f"@{listing}", "--fast", "--workers", "2"]
    command += ["--out", str(out), "--no-progress", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, env=env)
    watcher = PeakWatcher(process.pid)
    try:
        _, err = process.communicate(timeout=kill_after)
        killed = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the command and its workers, as a power cut would
        _, err = process.communicate()
        killed = True
    watcher.stop()
    if not killed and process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()}")
    return {
        "seconds": time.perf_counter() - start,
        "peak_main_mb": watcher.main_kb / 1024,
        "peak_workers_mb": watcher.workers_kb / 1024,
        "killed": killed,
    }


def million(folder: Path, tmp: Path, paths: int, seed: int) -> dict[str, Any]:
    """Peak memory on 10,000 and ``paths`` paths; a run killed at a random moment and resumed, checked."""
    files = sorted(str(p) for p in folder.iterdir())
    report: dict[str, Any] = {"distinct_files": len(files)}
    runs = {}
    for n in (10_000, paths):
        listing = tmp / f"list{n}.txt"
        with listing.open("w") as file:
            for i in range(n):
                file.write(files[i % len(files)] + "\n")
        out = tmp / f"clean{n}.jsonl"
        runs[n] = run_command(listing, out)
        lines = sum(1 for _ in read_results(out))
        if lines != n:
            raise SystemExit(f"the {n}-path run wrote {lines} results")
        print(
            f"{n:>9,} paths: {runs[n]['seconds']:6.1f} s ({n / runs[n]['seconds']:8.0f} paths/s), peak RSS "
            f"command {runs[n]['peak_main_mb']:.1f} MB, workers {runs[n]['peak_workers_mb']:.1f} MB"
        )
    report["runs"] = {str(n): r for n, r in runs.items()}

    kill_at = random.Random(seed).uniform(0.1, 0.9) * runs[paths]["seconds"]
    out = tmp / "killed.jsonl"
    killed = run_command(tmp / f"list{paths}.txt", out, kill_after=kill_at)
    written = out.read_bytes().count(b"\n") if out.exists() else 0
    resumed = run_command(tmp / f"list{paths}.txt", out, "--resume")
    same = sum(
        1
        for a, b in zip(read_results(tmp / f"clean{paths}.jsonl"), read_results(out), strict=True)
        if a.outcome == b.outcome
    )
    print(
        f"killed after {kill_at:.1f} s with {written:,} lines written"
        f"{' (the run had already finished)' if not killed['killed'] else ''}; resumed in "
        f"{resumed['seconds']:.1f} s; {same:,} of {paths:,} lines identical to the clean run"
    )
    report["kill_resume"] = {
        "killed_after_s": kill_at,
        "lines_at_kill": written,
        "was_killed": killed["killed"],
        "resume": resumed,
        "identical_lines": same,
        "identical": same == paths,
    }
    report["peak_ratio_main"] = runs[paths]["peak_main_mb"] / runs[10_000]["peak_main_mb"]
    report["peak_ratio_workers"] = runs[paths]["peak_workers_mb"] / max(runs[10_000]["peak_workers_mb"], 1e-9)
    return report


# ------------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="images in the replicated folder")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each figure is the median")
    parser.add_argument("--chunk-size", type=int, help="paths per task (default: the engine's, per backend)")
    parser.add_argument("--paths", type=int, default=1_000_000, help="paths in the million-path run (0: skip it)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the moment the million-path run is killed")
    parser.add_argument("--quick", action="store_true", help="400 images, 1 round, 100,000 paths")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.rounds, args.paths = 400, 1, min(args.paths, 100_000)

    import distributed

    fast, accurate = FAST_CLASSIFIER, DEFAULT_CLASSIFIER
    start_worker(BulkOptions(classifier=fast).spec)  # this process is the "1 worker", as on the command line
    start_worker(BulkOptions(classifier=accurate).spec)
    sources = source_images()
    print(
        f"{args.images} images (hard links to {len(sources)} files), {args.rounds} round(s), chunks of "
        f"{args.chunk_size or f'{DEFAULT_CHUNK_SIZE} ({DASK_CHUNK_SIZE} on Dask)'}; "
        f"fast = {fast!r}, accurate default = {accurate!r}"
        + (" (the same classifier until the fast one is registered under its own name)" if fast == accurate else "")
    )
    load_before = os.getloadavg()
    common = {"chunk_size": args.chunk_size, "cache_size": 0}
    with replicated_folder(sources, args.images) as folder, contextlib.ExitStack() as stack:
        paths = sorted(str(p) for p in folder.iterdir())
        images = [Path(p).read_bytes() for p in paths]
        warm = paths[:8]
        list(classify_paths(warm, classifier=fast))

        startup = {}
        begin = time.perf_counter()
        pool = stack.enter_context(process_pool(2, fast))
        list(classify_paths(warm, executor=pool, classifier=fast, chunk_size=1, cache_size=0))
        startup["pool of 2"] = time.perf_counter() - begin
        quiet_dask_logs()
        begin = time.perf_counter()
        cluster = stack.enter_context(local_cluster(2))
        client = stack.enter_context(distributed.Client(cluster))
        list(classify_paths(warm, dask=client, classifier=fast, chunk_size=1, cache_size=0))
        startup["Dask LocalCluster of 2"] = time.perf_counter() - begin
        address = cluster.scheduler_address

        configs: dict[str, Callable[[], Any]] = {
            "floor: read + reduced decode": lambda: [None] * floor(paths),
            f"{accurate} alone (in memory)": lambda: (
                [None] * classifier_alone(accurate, images, args.chunk_size or DEFAULT_CHUNK_SIZE)
            ),
            f"bulk {fast}, 1 worker": lambda: list(classify_paths(folder, classifier=fast, **common)),
            f"bulk {fast}, pool of 2": lambda: list(classify_paths(folder, executor=pool, classifier=fast, **common)),
            f"bulk {fast}, Dask LocalCluster of 2": lambda: list(
                classify_paths(folder, dask=client, classifier=fast, **common)
            ),
            f"bulk {fast}, Dask scheduler address": lambda: list(
                classify_paths(folder, dask=address, classifier=fast, **common)
            ),
        }
        # The same number of chunks, of paths that cost a worker almost nothing (missing files): what is left
        # is the cost of scheduling, shipping and collecting the chunks.
        missing = [str(folder.parent / "missing" / f"{i:06d}.jpg") for i in range(len(paths))]
        configs["empty chunks, pool of 2"] = lambda: list(
            classify_paths(missing, executor=pool, classifier=fast, **common)
        )
        configs["empty chunks, Dask LocalCluster of 2"] = lambda: list(
            classify_paths(missing, dask=client, classifier=fast, **common)
        )
        if accurate != fast:  # (the same model: the fast 1-worker run is the accurate one's bulk rate too)
            configs[f"bulk {accurate}, 1 worker"] = lambda: list(classify_paths(folder, classifier=accurate, **common))
        runs: dict[str, list[Run]] = {name: [] for name in configs}
        reference: list[Any] | None = None
        for round_ in range(args.rounds):
            for name, run in configs.items():
                clear_cache()
                measured, out = timed(run, len(paths))
                runs[name].append(measured)
                if out and isinstance(out[0], BulkResult) and fast in name:
                    outcomes = [r.outcome for r in out]
                    if reference is None:
                        reference = outcomes
                    elif outcomes != reference:
                        raise SystemExit(f"{name} gave different results from the first bulk configuration")
                print(
                    f"round {round_ + 1}: {name:<40} {measured.wall:6.2f} s {measured.rate:7.1f} files/s "
                    f"{measured.per_core:7.1f} per CPU-s  busy {measured.busy / measured.wall:.2f}  "
                    f"load {os.getloadavg()[0]:.1f}"
                )
        if accurate == fast:
            runs[f"bulk {accurate}, 1 worker"] = runs[f"bulk {fast}, 1 worker"]
        figures = {name: median_run(r) for name, r in runs.items()}

        steps = fast_steps(paths, args.chunk_size or DEFAULT_CHUNK_SIZE, args.rounds)
        writing = output_cost(reference or [], folder.parent)
        print("writing results, microseconds per result: " + ", ".join(f"{k} {v:.2f}" for k, v in writing.items()))

        stack.close()
        million_report = None
        if args.paths:
            with tempfile.TemporaryDirectory(prefix="imgclass-bench-million-") as tmp:
                million_report = million(folder, Path(tmp), args.paths, args.seed)

    f = figures
    floor_name, alone_name = "floor: read + reduced decode", f"{accurate} alone (in memory)"
    one, pool2 = f"bulk {fast}, 1 worker", f"bulk {fast}, pool of 2"
    dask_local, dask_address = f"bulk {fast}, Dask LocalCluster of 2", f"bulk {fast}, Dask scheduler address"
    accurate_one = f"bulk {accurate}, 1 worker"
    pool_chunks = sum(1 for _ in chunks(paths, args.chunk_size or DEFAULT_CHUNK_SIZE, lookahead=3))
    dask_chunks = sum(1 for _ in chunks(paths, args.chunk_size or DASK_CHUNK_SIZE, lookahead=3))
    ratios = {
        "fast_vs_floor_per_core": f[one]["files_per_cpu_s"] / f[floor_name]["files_per_cpu_s"],
        "fast_vs_floor_wall": f[one]["files_per_s"] / f[floor_name]["files_per_s"],
        "accurate_vs_alone_per_core": f[accurate_one]["files_per_cpu_s"] / f[alone_name]["files_per_cpu_s"],
        "accurate_vs_alone_wall": f[accurate_one]["files_per_s"] / f[alone_name]["files_per_s"],
        "busy_2_vs_1": f[pool2]["busy_workers"] / f[one]["busy_workers"],
        "wall_2_vs_1": f[pool2]["files_per_s"] / f[one]["files_per_s"],
        "dask_local_vs_pool": f[dask_local]["files_per_s"] / f[pool2]["files_per_s"],
        "dask_address_vs_pool": f[dask_address]["files_per_s"] / f[pool2]["files_per_s"],
        "idle_share_pool": 1 - f[pool2]["busy_workers"] / 2,
        "idle_share_dask": 1 - f[dask_local]["busy_workers"] / 2,
        "scheduling_cost_pool": f[pool2]["files_per_s"] / f["empty chunks, pool of 2"]["files_per_s"],
        "scheduling_cost_dask": f[dask_local]["files_per_s"] / f["empty chunks, Dask LocalCluster of 2"]["files_per_s"],
        # What a chunk costs on its own: a cluster's cost is per chunk, so a short run has few chunks to spread
        # the first round trip and the last result over.
        "empty_chunk_ms_pool": 1e3 * statistics.median(r.wall for r in runs["empty chunks, pool of 2"]) / pool_chunks,
        "empty_chunk_ms_dask": 1e3
        * statistics.median(r.wall for r in runs["empty chunks, Dask LocalCluster of 2"])
        / dask_chunks,
    }
    goals = {
        f"fast per core >= {GOAL_FAST_VS_FLOOR}x the floor": ratios["fast_vs_floor_per_core"] >= GOAL_FAST_VS_FLOOR,
        f"accurate per core >= {GOAL_ACCURATE_VS_ALONE}x alone": ratios["accurate_vs_alone_per_core"]
        >= GOAL_ACCURATE_VS_ALONE,
        f"2 workers >= {GOAL_BUSY_2_VS_1}x 1 worker (busy workers)": ratios["busy_2_vs_1"] >= GOAL_BUSY_2_VS_1,
        "Dask LocalCluster within 20% of the pool": ratios["dask_local_vs_pool"] >= GOAL_DASK_VS_POOL,
        "Dask scheduler address within 20% of the pool": ratios["dask_address_vs_pool"] >= GOAL_DASK_VS_POOL,
        f"scheduling cost < {GOAL_SCHEDULING:.0%} (pool)": ratios["scheduling_cost_pool"] < GOAL_SCHEDULING,
        f"scheduling cost < {GOAL_SCHEDULING:.0%} (Dask)": ratios["scheduling_cost_dask"] < GOAL_SCHEDULING,
    }
    if million_report is not None:
        goals[f"{args.paths:,} paths: peak memory flat (< 1.25x of 10,000 paths)"] = (
            million_report["peak_ratio_main"] < 1.25 and million_report["peak_ratio_workers"] < 1.25
        )
        goals[f"{args.paths:,} paths: killed and resumed = clean run"] = million_report["kill_resume"]["identical"]

    result = {
        "benchmark": "bulk",
        "images": args.images,
        "distinct_files": len(sources),
        "rounds": args.rounds,
        "chunk_size": args.chunk_size,
        "fast_classifier": fast,
        "accurate_classifier": accurate,
        "figures": {k: {m: round(v, 3) for m, v in fig.items()} for k, fig in f.items()},
        "seconds": {k: [round(r.wall, 3) for r in v] for k, v in runs.items()},
        "startup_s": {k: round(v, 2) for k, v in startup.items()},
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "fast_steps_us_per_file": {k: round(v, 1) for k, v in steps.items()},
        "writing_us_per_result": writing,
        "million": million_report,
        "goals": goals,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "quick": args.quick,
    }
    print()
    print(render(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"wrote {args.out}")
    return 0


def render(result: dict[str, Any]) -> str:
    """The result as Markdown: the figures of each configuration, the ratios against their goals, the goals met.

    The one renderer of this benchmark: the run prints it, and the documentation's table is drawn from the
    committed JSON by it (``scripts/results.py``).
    """
    ratios = result["ratios"]
    machine = result["machine"]
    rounds = f"median of {result['rounds']} rounds" if result["rounds"] > 1 else "one round"
    lines = [
        f"{'A quick run' if result.get('quick') else 'A full run'} on {machine['cpus']} CPUs, load average "
        f"{machine['load_average_before'][0]:.1f} at the start and {machine['load_average_after'][0]:.1f} at the end.",
        "",
        f"| configuration ({result['images']:,} images, {rounds}) | files/s "
        "| files per CPU-s | cores used | busy workers |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, fig in result["figures"].items():
        lines.append(
            f"| {name} | {fig['files_per_s']:.1f} | {fig['files_per_cpu_s']:.1f} | {fig['cores_used']:.2f} "
            f"| {fig['busy_workers']:.2f} |"
        )
    rows = [
        ("fast bulk / floor, per core", "fast_vs_floor_per_core", f">= {GOAL_FAST_VS_FLOOR}"),
        ("accurate bulk / alone, per core", "accurate_vs_alone_per_core", f">= {GOAL_ACCURATE_VS_ALONE}"),
        ("2 workers / 1, busy workers", "busy_2_vs_1", f">= {GOAL_BUSY_2_VS_1}"),
        ("2 workers / 1, files/s", "wall_2_vs_1", "(shared machine: see cores used)"),
        ("Dask LocalCluster / pool", "dask_local_vs_pool", f">= {GOAL_DASK_VS_POOL}"),
        ("Dask scheduler address / pool", "dask_address_vs_pool", f">= {GOAL_DASK_VS_POOL}"),
        ("scheduling cost, pool (empty chunks)", "scheduling_cost_pool", f"< {GOAL_SCHEDULING}"),
        ("scheduling cost, Dask (empty chunks)", "scheduling_cost_dask", f"< {GOAL_SCHEDULING}"),
        ("idle share, pool (1 - busy / 2)", "idle_share_pool", "(load and the tail)"),
        ("idle share, Dask (1 - busy / 2)", "idle_share_dask", "(load and the tail)"),
        ("ms per empty chunk, pool", "empty_chunk_ms_pool", "(what one chunk costs)"),
        ("ms per empty chunk, Dask", "empty_chunk_ms_dask", "(what one chunk costs)"),
    ]
    lines += ["", "| ratio | measured | goal |", "|---|---:|---|"]
    lines += [f"| {label} | {ratios[key]:.3f} | {goal} |" for label, key, goal in rows if key in ratios]
    million = result.get("million")
    if million:
        lines.append(
            f"| paths: peak RSS against 10,000 paths (command / workers) | {million['peak_ratio_main']:.2f}x / "
            f"{million['peak_ratio_workers']:.2f}x | < 1.25x |"
        )
    steps = result.get("fast_steps_us_per_file")
    if steps:
        lines += [
            "",
            "Where fast's time goes, CPU microseconds per file: " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()),
        ]
    lines += ["", "| goal | |", "|---|---|"]
    lines += [f"| {goal} | {'met' if met else '**missed**'} |" for goal, met in result["goals"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
