"""``imgclass reproduce``: the poster's metrics table on the bundled (or any) data set."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ORDER = 10


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="the poster's metrics table on our data",
        description="Score the poster's classifiers (5-fold CV for fitted ones, the fixed colour rule as it "
        "is) and print the table with the poster's figure beside each row.",
    )
    add_common_arguments(parser)
    parser.add_argument("--data", metavar="DIR", help="folder with real/ and animated/ (default: bundled set)")
    parser.add_argument(
        "--cv",
        choices=("stratified", "group"),
        default="stratified",
        help="stratified k-fold, or leave-one-source-out (group)",
    )
    parser.add_argument("--folds", type=int, default=5, help="folds for --cv stratified (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="shuffling seed for the folds")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the bar chart, ours beside the poster's")
    parser.set_defaults(func=run)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``reproduce`` and ``evaluate``."""
    from imgclass.classifiers import POSTER_CLASSIFIERS, classifier_names

    parser.add_argument(
        "--classifier",
        metavar="NAME",
        action="append",
        choices=classifier_names(),
        help=f"classifier to score (repeatable; default: {' '.join(POSTER_CLASSIFIERS)})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--per-source", action="store_true", help="also print accuracy per source")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def warn_skipped(*datasets: Any) -> bool:
    """Name every file that was skipped on stderr; True if there were any."""
    skipped = [s for d in datasets for s in d.skipped]
    for item in skipped:
        print(f"skipped {item.path}: {item.reason}", file=sys.stderr)
    return bool(skipped)


def print_report(report: Any, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    print(report.to_table())
    if args.per_source:
        print()
        print(report.per_source_table())


def run(args: argparse.Namespace) -> int:
    from imgclass.classifiers import POSTER_CLASSIFIERS
    from imgclass.data import load_dataset
    from imgclass.evaluation import reproduce

    if args.folds < 2:
        raise ValueError(f"--folds must be at least 2, got {args.folds}")
    dataset = load_dataset(args.data, on_error="skip")
    report = reproduce(
        dataset,
        args.classifier or POSTER_CLASSIFIERS,
        cv=args.cv,
        folds=args.folds,
        seed=args.seed,
        progress=not args.no_progress,
    )
    print_report(report, args)
    if args.plot:
        from imgclass.plots import metrics_bar_chart

        metrics_bar_chart(report).savefig(args.plot, dpi=120)
    return 1 if warn_skipped(dataset) else 0
