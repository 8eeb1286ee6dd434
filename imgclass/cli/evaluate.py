"""``imgclass evaluate``: fit on one set, score on a separate one, per source."""

from __future__ import annotations

import argparse
from typing import Any

from imgclass.cli.reproduce import (
    add_common_arguments,
    chosen,
    load_sets,
    print_report,
    robustness_names,
    warn_skipped,
)

ORDER = 20


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand (fit on a training set, score on a test set) to ``subparsers``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="fit on a training set, score on a separate test set",
        description="Fit each classifier on --train (default: the bundled reference set) and score it on "
        "TEST_DIR, with per-source rows where filenames carry a source prefix (source__name.ext) and "
        "per-domain rows where a manifest names domains. Also cross-validates on the training set under "
        "every protocol (stratified k-fold, leave-one-source-out, leave-one-domain-out; --cv to choose) "
        "and scores re-encoded copies of the test images (--no-robustness to skip). A --model is scored as "
        "it was saved, without refitting.",
    )
    parser.add_argument("test_dir", metavar="TEST_DIR", help="folder with real/ and animated/")
    parser.add_argument("--train", metavar="DIR", help="training folder (default: bundled reference set)")
    add_common_arguments(parser, robustness_default=True)
    parser.add_argument(
        "--cv",
        nargs="+",
        choices=("stratified", "source", "domain", "group", "none"),
        metavar="PROTOCOL",
        help="cross-validation protocols on the training set: stratified, source (group is its old name), "
        "domain, or none (default: every protocol the data supports)",
    )
    parser.set_defaults(func=run, per_source=True)


def run(args: argparse.Namespace) -> int:
    """Score the classifiers of ``args`` on the test folder (:func:`imgclass.evaluation.evaluate`), print it."""
    from imgclass.evaluation import evaluate

    names, models = chosen(args)
    test, train = load_sets(args.test_dir, args.train)
    warn_if_trained_on(args.model or (), test)
    protocols = None if args.cv is None else [p for p in args.cv if p != "none"]
    report = evaluate(
        train,
        test,
        names,
        progress=not args.no_progress,
        models=models,
        cv_rows=protocols != [],
        protocols=protocols or None,
        robustness=robustness_names(args),
        folds=args.folds,
        seed=args.seed,
    )
    args.per_source = True
    print_report(report, args)
    return 1 if warn_skipped(train, test) else 0


def warn_if_trained_on(paths: Any, test: Any) -> None:
    """Say so when a model file was fitted on exactly the test images: its scores would be training scores."""
    import sys

    from imgclass.models import read_model_info, training_fingerprint

    fingerprint = training_fingerprint(test.images, test.labels)
    for path in paths:
        if read_model_info(path).get("training", {}).get("sha256") == fingerprint:
            print(
                f"imgclass evaluate: warning: {path} was fitted on these very test images; "
                "its held-out row measures training accuracy",
                file=sys.stderr,
            )
