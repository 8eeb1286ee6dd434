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
        "is) and print the table with the poster's figure beside each row, then the same classifiers under "
        "both protocols (stratified k-fold and leave-one-source-out) and, with --robustness, on re-encoded "
        "test images.",
    )
    add_common_arguments(parser, robustness_default=False)
    parser.add_argument("--data", metavar="DIR", help="folder with real/ and animated/ (default: bundled set)")
    parser.add_argument(
        "--cv",
        choices=("stratified", "group"),
        default="stratified",
        help="stratified k-fold, or leave-one-source-out (group)",
    )
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the bar chart, ours beside the poster's")
    parser.set_defaults(func=run)


def add_common_arguments(parser: argparse.ArgumentParser, *, robustness_default: bool) -> None:
    """Arguments shared by ``reproduce`` and ``evaluate``."""
    from imgclass.classifiers import POSTER_CLASSIFIERS, classifier_names
    from imgclass.robustness import TRANSFORMS

    parser.add_argument(
        "--classifier",
        metavar="NAME",
        action="append",
        choices=classifier_names(),
        help=f"classifier to score (repeatable; default: {' '.join(POSTER_CLASSIFIERS)})",
    )
    parser.add_argument(
        "--model",
        metavar="FILE",
        action="append",
        help="a saved model file (imgclass train) to score as well (repeatable); alone, it replaces the default list",
    )
    parser.add_argument("--folds", type=int, default=5, help="folds for stratified cross-validation (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="shuffling seed for the folds")
    parser.add_argument(
        "--robustness",
        action=argparse.BooleanOptionalAction,
        default=robustness_default,
        help=f"also score on re-encoded test images ({', '.join(TRANSFORMS)}) "
        f"(default: {'on' if robustness_default else 'off'})",
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


def chosen(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    """The registry names and loaded models (row name -> classifier) the arguments ask for."""
    from pathlib import Path

    from imgclass.classifiers import POSTER_CLASSIFIERS
    from imgclass.models import classifier_name, load_model

    if args.folds < 2:
        raise ValueError(f"--folds must be at least 2, got {args.folds}")
    models: dict[str, Any] = {}
    for path in args.model or ():
        model = load_model(path)
        models[f"{classifier_name(model)}:{Path(path).name}"] = model
    names = list(args.classifier or ([] if models else POSTER_CLASSIFIERS))
    return names, models


def print_report(report: Any, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    print(report.to_table())
    if args.per_source:
        print()
        print(report.per_source_table())
    for title, table in (
        ("Cross-validated, both protocols", report.cv_table()),
        ("Per source, cross-validated", report.cv_per_source_table() if args.per_source else ""),
        ("Robustness", report.robustness_table()),
    ):
        if table:
            print(f"\n{title}\n{table}")
    for note in report.settings.get("notes", ()):
        print(f"note: {note}")


def run(args: argparse.Namespace) -> int:
    from imgclass.data import load_dataset
    from imgclass.evaluation import reproduce
    from imgclass.robustness import TRANSFORMS

    names, models = chosen(args)
    dataset = load_dataset(args.data, on_error="skip")
    report = reproduce(
        dataset,
        names,
        cv=args.cv,
        folds=args.folds,
        seed=args.seed,
        progress=not args.no_progress,
        models=models,
        robustness=tuple(TRANSFORMS) if args.robustness else (),
    )
    print_report(report, args)
    if args.plot:
        from imgclass.plots import metrics_bar_chart

        metrics_bar_chart(report).savefig(args.plot, dpi=120)
    return 1 if warn_skipped(dataset) else 0
