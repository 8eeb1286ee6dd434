"""Benchmark: does a run need ``OMP_NUM_THREADS=1`` to be fast? ``reproduce`` timed with and without it, in one run.

    python benchmarks/threads.py                 # 3 rounds (6 runs of a minute or more each)
    python benchmarks/threads.py --rounds 5
    python benchmarks/threads.py --command reproduce --cv stratified --classifier fast   # another command

Issue 21: ``imgclass reproduce --cv source --classifier fast`` took 158 s as a user runs it and 69 s with
``OMP_NUM_THREADS=1``, because scikit-learn's gradient boosting ran every iteration on OpenMP threads that
only waited for each other on a busy 2-core machine (:mod:`imgclass.threads`). Each round here starts the
command twice in fresh processes, as a user would (no thread variable in the environment: the parent's
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are removed) and with
``OMP_NUM_THREADS=1``, in alternating order, and reports the median wall time of each, the ratio
(without / with; goal <= 1.1) and the children's CPU time. Every run must print the same scores (``--json``
less its timing fields: same folds, same models): a faster run that did less work would not count. Results go to
``benchmarks/results/threads.json``.
"""

from __future__ import annotations

from _requires import require
from _results import write_results

require(["numpy", "cv2", "sklearn", "imgclass"])

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "threads.json"
DEFAULT_ARGS = ["reproduce", "--cv", "source", "--classifier", "fast", "--no-progress", "--json"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
GOAL_RATIO = 1.1
SETTINGS = {"as a user runs it": {}, "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"}}


def run_once(argv: list[str], extra_env: dict[str, str]) -> dict[str, Any]:
    """Wall and CPU seconds of one ``python -m imgclass ARGV`` in a fresh process, and what it printed."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env.update(extra_env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "imgclass", *argv], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"imgclass {' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "stdout": done.stdout}


def scores_only(stdout: str) -> str:
    """What a run printed, less its timings (``ms_per_image``), so that runs can be compared; as is if not JSON."""
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        return stdout

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not k.startswith("ms")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(document), sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each setting (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--command", nargs=argparse.REMAINDER, help=f"imgclass arguments (default: {' '.join(DEFAULT_ARGS)})"
    )
    args = parser.parse_args(argv)
    command = args.command or DEFAULT_ARGS
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    for round_ in range(args.rounds):
        order = list(SETTINGS) if round_ % 2 == 0 else list(reversed(SETTINGS))  # neither always runs first
        for name in order:
            result = run_once(command, SETTINGS[name])
            runs[name].append(result)
            print(f"round {round_ + 1}: {name:<18} {result['wall_s']:7.1f} s wall, {result['cpu_s']:7.1f} s CPU")
    tables = {scores_only(run["stdout"]) for name in runs for run in runs[name]}
    medians = {
        name: {key: statistics.median(run[key] for run in runs[name]) for key in ("wall_s", "cpu_s")} for name in runs
    }
    user, limited = (medians[name]["wall_s"] for name in SETTINGS)
    ratio = user / limited
    met = ratio <= GOAL_RATIO
    print(f"\nimgclass {' '.join(command)}: medians of {args.rounds} rounds")
    for name, median in medians.items():
        print(f"  {name:<18} {median['wall_s']:7.1f} s wall  {median['cpu_s']:7.1f} s CPU")
    print(f"  ratio without / with OMP_NUM_THREADS=1: {ratio:.2f} (goal <= {GOAL_RATIO}: {'met' if met else 'MISSED'})")
    print(f"  same output in every run: {len(tables) == 1}; load average {os.getloadavg()[0]:.1f}")
    document = {
        "benchmark": "threads",
        "command": ["imgclass", *command],
        "rounds": args.rounds,
        "timing": "median wall seconds of fresh processes; CPU = user + system of the child",
        "medians": medians,
        "runs": {name: [{k: v for k, v in run.items() if k != "stdout"} for run in runs[name]] for name in runs},
        "ratio_without_over_with": ratio,
        "goal_ratio": GOAL_RATIO,
        "goal_met": met,
        "same_output": len(tables) == 1,
    }
    write_results(args.out, document)
    return 0 if len(tables) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
