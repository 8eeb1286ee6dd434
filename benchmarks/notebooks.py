"""Benchmark: how long every notebook takes, executed as CI executes it, with no thread limit anywhere.

    python benchmarks/notebooks.py                    # every notebook, once each
    python benchmarks/notebooks.py --rounds 3         # medians of three
    python benchmarks/notebooks.py 08                 # the notebooks whose names start so

Issue 21: notebook 08 took 526 s on the 2-core CI machine (its text says well under two minutes) and 60 s
with ``OMP_NUM_THREADS=1``; the test suite's session-wide ``threadpool_limits(1)`` hid it, though nbval's
kernels never inherited that limit (it lives in the pytest process, not in the environment). Each notebook
here runs top to bottom in a fresh kernel started the way ``pytest --nbval-lax --nbval-current-env`` starts
one (this interpreter, through nbval's kernel spec), with ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
``MKL_NUM_THREADS`` removed from its environment. The time includes starting the kernel. Goal: under 60 s
each (wall). The CPU seconds of the kernel and its children (Dask workers) are reported beside it: on a
machine shared with other jobs the wall time says as much about them as about the notebook. A notebook
that fails is reported as failed, with its error. Results go to ``benchmarks/results/notebooks.json``.
"""

from __future__ import annotations

from _requires import require
from _results import write_results

require(["nbclient", "nbformat", "nbval", "ipykernel", "imgclass"], extra="test")

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import nbformat  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "benchmarks" / "results" / "notebooks.json"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
GOAL_S = 60.0
CELL_TIMEOUT_S = 1200


#: A last cell the benchmark adds: the kernel's CPU seconds and its children's (Dask workers, once reaped).
CPU_PROBE = (
    "import resource as _r\n"
    "_u = [_r.getrusage(who) for who in (_r.RUSAGE_SELF, _r.RUSAGE_CHILDREN)]\n"
    "print('IMGCLASS_CPU_S', sum(u.ru_utime + u.ru_stime for u in _u))"
)


def run_notebook(path: Path) -> tuple[float, float | None, str | None]:
    """Wall and CPU seconds to start a kernel and run ``path`` top to bottom, and the error if a cell failed."""
    for name in THREAD_VARIABLES:  # the kernel inherits this process's environment
        os.environ.pop(name, None)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CPU_PROBE))
    manager = KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME, kernel_spec_manager=NbvalKernelspecManager())
    client = NotebookClient(
        notebook, km=manager, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:  # a cell that raised: report it, time the rest
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    wall = time.perf_counter() - start
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].get("outputs", []))
    cpu = float(printed.split()[-1]) if "IMGCLASS_CPU_S" in printed else None
    return wall, cpu, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="run only notebooks whose names start with these")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each notebook (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    chosen = [
        p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if not args.prefixes or p.name.startswith(tuple(args.prefixes))
    ]
    if not chosen:
        parser.error("no notebook matches")
    results: dict[str, dict[str, Any]] = {}
    for path in chosen:
        times, cpu, errors = [], [], []
        for _ in range(args.rounds):
            seconds, cpu_seconds, error = run_notebook(path)
            times.append(seconds)
            if cpu_seconds is not None:
                cpu.append(cpu_seconds)
            if error:
                errors.append(error)
        median = statistics.median(times)
        results[path.name] = {
            "median_s": median,
            "median_cpu_s": statistics.median(cpu) if cpu else None,
            "runs_s": times,
            "errors": errors,
            "under_goal": median < GOAL_S,
        }
        verdict = "FAILED: " + errors[0] if errors else ("met" if median < GOAL_S else "MISSED")
        cpu_text = f"{statistics.median(cpu):7.1f} s CPU" if cpu else "    ? s CPU"
        print(f"{path.name:<40} {median:7.1f} s wall {cpu_text}  {verdict}", flush=True)
    met = all(r["under_goal"] and not r["errors"] for r in results.values())
    print(f"\ngoal: every notebook under {GOAL_S:.0f} s, no thread limit: {'met' if met else 'MISSED'}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    document = {
        "benchmark": "notebooks",
        "timing": "wall (and CPU, kernel and children) seconds to start a kernel (nbval's current-env spec) and run "
        "every cell; no thread limit",
        "rounds": args.rounds,
        "goal_s": GOAL_S,
        "goal_met": met,
        "notebooks": results,
    }
    write_results(args.out, document)
    return 0 if not any(r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
