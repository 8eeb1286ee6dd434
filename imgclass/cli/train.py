"""``imgclass train DATA_DIR --classifier NAME --out MODEL``: fit a classifier on your own images."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ORDER = 25


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand (fit a classifier and save it as a model file) to ``subparsers``."""
    from imgclass.classifiers import classifier_names

    parser = subparsers.add_parser(
        "train",
        help="fit a classifier on a folder of your own images and save it as a model file",
        description="Fit classifier NAME on DATA_DIR (real/ and animated/ subfolders) and write a model file "
        "that --model accepts in classify, evaluate and reproduce. Model "
        "files are JSON with a checked, pickle-free payload; they record the parameters, the feature names, "
        "the versions and a fingerprint of the training images.",
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="folder with real/ and animated/")
    parser.add_argument(
        "--classifier", metavar="NAME", required=True, choices=classifier_names(), help="classifier to fit"
    )
    parser.add_argument("--out", metavar="MODEL", required=True, help="model file to write (e.g. my-model.json)")
    parser.add_argument(
        "--param",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a classifier parameter (repeatable); VALUE is read as JSON if it parses, else as a string",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["max_iter=50", "calibration=isotonic"]`` -> ``{"max_iter": 50, "calibration": "isotonic"}``."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            value: Any = json.loads(text)
        except json.JSONDecodeError:
            value = text
        params[key.strip()] = value
    return params


def run(args: argparse.Namespace) -> int:
    """Fit the classifier of ``args`` on its data folder and save it (:func:`imgclass.models.save_model`)."""
    from imgclass.classifiers import make_classifier
    from imgclass.data import load_dataset
    from imgclass.models import describe_training, save_model
    from imgclass.training_size import check_fitted_scores, check_training_set, internal_folds

    params = parse_params(args.param)
    try:
        classifier = make_classifier(args.classifier, **params)
    except TypeError as exc:
        raise ValueError(f"bad --param for {args.classifier}: {exc}") from None
    dataset = load_dataset(args.data_dir, on_error="skip")
    folds = internal_folds(classifier.get_params(deep=False))
    for warning in check_training_set(dataset.labels, dataset.sources, folds=folds):
        print(f"imgclass train: warning: {warning}", file=sys.stderr)
    features, _ = classifier.extract_features_timed(
        dataset.images, progress=not args.no_progress, desc=f"features ({args.classifier})"
    )
    classifier.fit_features(features, dataset.labels)
    check_fitted_scores(classifier.model_.predict_proba(features)[:, 1])
    training = describe_training(dataset.images, dataset.labels, dataset.sources, str(dataset.root))
    path = save_model(classifier, args.out, training=training)
    print(
        f"{args.classifier} fitted on {training['n_images']} images "
        f"({training['n_real']} real, {training['n_animated']} animated) -> {path} ({path.stat().st_size} bytes)"
    )
    return 1 if dataset.skipped else 0
