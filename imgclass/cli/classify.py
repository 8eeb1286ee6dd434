"""``imgclass classify PATH...``: classify many images, streaming results as JSON lines, CSV or Parquet."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgclass.bulk.output import Writer
    from imgclass.bulk.paths import Skipped

ORDER = 30


def register(subparsers: Any) -> None:
    """Add the ``classify`` subcommand (bulk classification) to ``subparsers``."""
    from imgclass.bulk.engine import DASK_CHUNK_SIZE, DEFAULT_CHUNK_SIZE
    from imgclass.classifiers import classifier_names
    from imgclass.decode import DEFAULT_MAX_PIXELS
    from imgclass.ready import DEFAULT_CLASSIFIER, FAST_CLASSIFIER

    parser = subparsers.add_parser(
        "classify",
        help="classify files, folders or lists of paths, in bulk",
        description="Classify every image named by PATH (a file, a folder, or @LIST: a text file of paths, "
        "one per line; @- reads standard input). Prints one JSON line per path (path, label, score, classifier, "
        "ms, error), or appends to --out as results arrive, in input order. A file that cannot be classified, "
        "and a subfolder not descended into, gets a line with an error and the run goes on. Exit status: 0 all "
        "classified, 1 some paths failed, 2 usage error.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image file, folder, or @LIST of paths")
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="descend into subfolders (without it each gets an error line)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--classifier",
        metavar="NAME",
        choices=classifier_names(),
        help=f"registered classifier (default {DEFAULT_CLASSIFIER}, the accurate one; "
        f"choices: {', '.join(classifier_names())})",
    )
    which.add_argument(
        "--fast",
        action="store_const",
        dest="classifier",
        const=FAST_CLASSIFIER,
        help=f"the fast classifier ({FAST_CLASSIFIER}: about the cost of decoding a reduced image)",
    )
    which.add_argument("--model", metavar="FILE", help="a saved model file instead of a registered classifier")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="append results to FILE (.jsonl, .csv, or .parquet: a folder of Parquet files) instead of stdout",
    )
    parser.add_argument("--resume", action="store_true", help="skip paths already in --out and append the rest")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default 1; with --dask local: CPUs)"
    )
    parser.add_argument("--dask", metavar="ADDRESS", help="'local' for a LocalCluster, or a scheduler address")
    parser.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help=f"paths per task (default {DEFAULT_CHUNK_SIZE}; {DASK_CHUNK_SIZE} with --dask)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse images whose header declares more pixels (default %(default)s)",
    )
    parser.add_argument("--verify", action="store_true", help="fully decode every image before classifying it")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Classify the paths of ``args`` through :mod:`imgclass.bulk`; 0 if every path was classified, 1 if some failed."""
    from concurrent.futures.process import BrokenProcessPool

    from imgclass.bulk.engine import BulkOptions, classify_batches
    from imgclass.bulk.output import ResultWriter, open_output
    from imgclass.bulk.paths import Skipped
    from imgclass.bulk.worker import start_worker

    if args.resume and not args.out:
        raise ValueError("--resume needs --out")
    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite contradict each other")
    for name in ("workers", "chunk_size", "max_pixels"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    list_files = [p[1:] for p in args.paths if p.startswith("@") and p != "@-"]
    for name in list_files:  # fail now, not after an hour of classifying the earlier arguments
        if not os.path.isfile(name):
            raise ValueError(f"list file {name} does not exist")
    workers = args.workers or ((os.cpu_count() or 1) if args.dask == "local" else 1)
    options = BulkOptions(
        recursive=args.recursive,
        classifier=args.classifier,
        model=args.model,
        workers=workers,
        dask=args.dask,
        chunk_size=args.chunk_size,
        max_pixels=args.max_pixels,
        verify=args.verify,
        progress=not args.no_progress,
    )
    spec = options.spec
    if args.dask and getattr(args, "verbose", 0) < 2:
        from imgclass.bulk.dask_backend import quiet_dask_logs

        quiet_dask_logs()
    writer: Writer
    if args.out:
        writer, done = open_output(args.out, resume=args.resume, overwrite=args.overwrite, classifier=spec.label)
    else:
        writer, done = ResultWriter(sys.stdout, "jsonl"), None
    already = sum(done.values()) if done else 0
    skipped = Skipped()
    with writer:
        if workers == 1 and not args.dask:
            start_worker(spec)  # this process is the worker: OpenCV on one thread, freed heap kept, model loaded
        start = time.perf_counter()
        batches = classify_batches(args.paths, options, skip=done, skipped=skipped)
        try:
            for batch in batches:
                writer.write(batch)
        except BrokenPipeError:
            # stdout closed early (| head): stop quietly and keep Python from complaining at exit.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except BrokenProcessPool as exc:
            raise ValueError(
                f"a worker process died ({exc}); --resume continues after the last chunk written"
            ) from None
    elapsed = time.perf_counter() - start
    _report_skipped(skipped)
    if not args.no_progress:
        before = f", {already} already in {args.out}" if already else ""
        rate = writer.written / elapsed if elapsed > 0 else 0.0
        print(
            f"classified {writer.written} paths ({writer.failed} failed{before}) in {elapsed:.1f} s, {rate:.1f} img/s",
            file=sys.stderr,
        )
    return 1 if writer.failed else 0


def _report_skipped(skipped: Skipped) -> None:
    """Say on stderr which folders were not descended into (each also has an error line) and what to do."""
    if skipped.folders:
        examples = ", ".join(skipped.examples[:3]) + (", ..." if skipped.folders > 3 else "")
        print(
            f"imgclass classify: {skipped.folders} subfolder(s) not descended into ({examples}); "
            "pass -r/--recursive to classify the images inside them",
            file=sys.stderr,
        )
    if skipped.loops:
        print(
            f"imgclass classify: {skipped.loops} symbolic-link loop(s) not followed (each has an error line)",
            file=sys.stderr,
        )
