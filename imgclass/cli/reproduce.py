"""``imgclass reproduce``: the poster's metrics table on the bundled (or any) data set."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ORDER = 10


def register(subparsers: Any) -> None:
    """Add the ``reproduce`` subcommand (the poster's metrics table) to ``subparsers``."""
    parser = subparsers.add_parser(
        "reproduce",
        help="the poster's metrics table on our data",
        description="Score the poster's classifiers (5-fold CV for fitted ones, the fixed colour rule as it "
        "is) and print the table with the poster's figure beside each row, then the same classifiers under "
        "every protocol (stratified k-fold, leave-one-source-out, and leave-one-domain-out where domains "
        "differ from sources) and, with --robustness, on re-encoded test images.",
    )
    add_common_arguments(parser, robustness_default=False)
    parser.add_argument("--data", metavar="DIR", help="folder with real/ and animated/ (default: bundled set)")
    parser.add_argument(
        "--cv",
        choices=("stratified", "source", "domain", "group"),
        default="stratified",
        help="the main table's protocol: stratified k-fold, leave-one-source-out (source; group is its old "
        "name) or leave-one-domain-out (domain); content groups never straddle train and test",
    )
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the bar chart, ours beside the poster's")
    parser.set_defaults(func=run)


def add_common_arguments(parser: argparse.ArgumentParser, *, robustness_default: bool) -> None:
    """Arguments shared by ``reproduce`` and ``evaluate``."""
    from imgclass.classifiers import POSTER_CLASSIFIERS, classifier_names
    from imgclass.cli._args import add_classifier_option
    from imgclass.robustness import GROUPS

    add_classifier_option(
        parser, choices=classifier_names(), help=f"classifiers to score (default: {' '.join(POSTER_CLASSIFIERS)})"
    )
    add_classifier_option(
        parser,
        "--model",
        metavar="FILE",
        help="saved model files (imgclass train) to score as well; alone, they replace the default list",
    )
    parser.add_argument("--folds", type=int, default=5, help="folds for stratified cross-validation (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="shuffling seed for the folds")
    parser.add_argument(
        "--robustness",
        nargs="*",
        metavar="TRANSFORM",
        default=["default"] if robustness_default else None,
        help="also score on re-encoded test images: with no names the default five "
        f"({', '.join(GROUPS['default'])}); names or groups ({', '.join(GROUPS)}) choose others, e.g. "
        f"--robustness default stress (default: {'on' if robustness_default else 'off'})",
    )
    parser.add_argument(
        "--no-robustness", dest="robustness", action="store_const", const=None, help="no re-encoded test images"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--per-source", action="store_true", help="also print accuracy per source and per domain")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def robustness_names(args: argparse.Namespace) -> tuple[str, ...]:
    """The transforms ``--robustness`` names: the default five for the bare flag, none for ``--no-robustness``."""
    from imgclass.robustness import expand_transforms

    names: list[str] | None = args.robustness
    if names is None:
        return ()
    return expand_transforms(names or ["default"])


def load_sets(*folders: str | None) -> list[Any]:
    """Load each data folder (``None``: the bundled set), skipping bad files; a folder given twice is read once.

    The loader's own log line per skipped file is held back: :func:`warn_skipped` names each file once.
    """
    import logging
    from pathlib import Path

    from imgclass.data import load_dataset, reference_dir

    def quiet(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("skipping ")

    data_logger = logging.getLogger("imgclass.data")
    data_logger.addFilter(quiet)
    try:
        loaded: dict[Path, Any] = {}
        for folder in folders:
            key = (reference_dir() if folder is None else Path(folder)).resolve()
            if key not in loaded:
                loaded[key] = load_dataset(folder, on_error="skip")
        return [loaded[(reference_dir() if f is None else Path(f)).resolve()] for f in folders]
    finally:
        data_logger.removeFilter(quiet)


def warn_skipped(*datasets: Any) -> bool:
    """Name every skipped file once on stderr, with why; True if there were any."""
    seen: dict[str, str] = {}
    for item in (s for d in datasets for s in d.skipped):
        # The loader's reason starts with the path; say it once.
        reason = item.reason.removeprefix(f"{item.path}: ")
        seen.setdefault(str(item.path), reason)
    for path, reason in seen.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return bool(seen)


def chosen(args: argparse.Namespace) -> tuple[list[str], tuple[Any, ...]]:
    """The registry names to fit and the ready model files (:func:`imgclass.ready.ready_many`) to score."""
    from imgclass.classifiers import POSTER_CLASSIFIERS
    from imgclass.ready import ready_many

    if args.folds < 2:
        raise ValueError(f"--folds must be at least 2, got {args.folds}")
    models = ready_many(args.model) if args.model else ()
    names = list(args.classifier or ([] if models else POSTER_CLASSIFIERS))
    return names, models


def print_report(report: Any, args: argparse.Namespace) -> None:
    """Print ``report`` as JSON (``--json``) or as the text tables, per source too with ``--per-source``."""
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    print(report.to_table())
    per_domain = args.per_source and not report.domains_are_sources()
    for title, table in (
        ("Per source", report.per_source_table() if args.per_source else ""),
        ("Per domain", report.per_domain_table() if per_domain else ""),
        ("Cross-validated, every protocol", report.cv_table()),
        ("Per source, cross-validated", report.cv_per_source_table() if args.per_source else ""),
        ("Per domain, cross-validated", report.cv_per_domain_table() if per_domain else ""),
        ("Robustness", report.robustness_table()),
        ("Robustness per domain", report.robustness_per_domain_table() if args.per_source else ""),
    ):
        if table:
            print(f"\n{title}\n{table}")
    for note in report.settings.get("notes", ()):
        print(f"note: {note}")


def run(args: argparse.Namespace) -> int:
    """Cross-validate the classifiers of ``args`` (:func:`imgclass.evaluation.reproduce`) and print the report."""
    from imgclass.evaluation import reproduce

    names, models = chosen(args)
    (dataset,) = load_sets(args.data)
    report = reproduce(
        dataset,
        names,
        cv=args.cv,
        folds=args.folds,
        seed=args.seed,
        progress=not args.no_progress,
        models=models,
        robustness=robustness_names(args),
    )
    print_report(report, args)
    if args.plot:
        import matplotlib.pyplot as plt

        from imgclass.plots import metrics_bar_chart

        figure = metrics_bar_chart(report)
        figure.savefig(args.plot, dpi=120)
        plt.close(figure)  # a long-lived caller (tests, a notebook) would otherwise keep it open
    return 1 if warn_skipped(dataset) else 0
