"""Score classifiers honestly: cross-validation, held-out sets, Wilson intervals, per-source tables.

Features are computed once per classifier and data set (they depend only on the parameters), then
only the learned part is cross-validated, so a 5-fold run costs one feature pass. Every result is a
frozen dataclass with a ``to_dict`` that gives the JSON form of ``imgclass reproduce/evaluate``.

Two protocols are reported side by side (the ``cv`` rows): stratified k-fold, where every source is in
every training set, and leave-one-source-out (``group``), where the images of one source are never seen
in training: the honest figure for images from somewhere new. Each held-out source is a single class, so
those folds are scored by pooling their predictions. The ``robustness`` rows re-encode the test images
(:mod:`imgclass.robustness`) and report how much balanced accuracy drops.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

from imgclass.classifiers import POSTER_CLASSIFIERS, ImageClassifier, make_classifier
from imgclass.data import Dataset
from imgclass.labels import LABEL_NAMES
from imgclass.progress import progress as progress_bar
from imgclass.robustness import TRANSFORMS, check_transforms, reencode_all

logger = logging.getLogger(__name__)

#: The poster's metrics table (83 images of equal resolution).
POSTER_FIGURES: dict[str, float] = {
    "byte-length": 0.53,
    "byte-onehot": 0.58,
    "bilateral": 0.69,
    "colour-count": 0.77,
}

CVScheme = Literal["stratified", "group"]
CV_SCHEMES: tuple[CVScheme, ...] = ("stratified", "group")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class SourceScore:
    """How one source fared: its class ("real", "animated" or "mixed"), size and accuracy."""

    source: str
    label: str
    n: int
    accuracy: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class ClassifierScore:
    """One row of the metrics table."""

    name: str
    protocol: str
    accuracy: float
    balanced_accuracy: float
    f1: float
    ci95: tuple[float, float]
    n: int
    ms_per_image: float
    poster: float | None = None
    per_source: tuple[SourceScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RobustnessScore:
    """One classifier on re-encoded test images: its balanced accuracy, and the drop from the clean images.

    ``drop`` is ``clean_balanced_accuracy - balanced_accuracy`` (0.01 is one point; negative is a gain).
    """

    name: str
    transform: str
    protocol: str
    balanced_accuracy: float
    clean_balanced_accuracy: float
    drop: float
    accuracy: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """The metrics table of one ``reproduce`` or ``evaluate`` run.

    ``classifiers`` is the main table; ``cv`` holds the cross-validated rows under both protocols
    (stratified k-fold and leave-one-source-out; for ``evaluate`` on the training set); ``robustness``
    the re-encoding rows.
    """

    command: str
    data: str
    classifiers: tuple[ClassifierScore, ...]
    train: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    cv: tuple[ClassifierScore, ...] = ()
    robustness: tuple[RobustnessScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "data": self.data,
            "train": self.train,
            "settings": dict(self.settings),
            "classifiers": [c.to_dict() for c in self.classifiers],
            "cv": [c.to_dict() for c in self.cv],
            "robustness": [r.to_dict() for r in self.robustness],
        }

    def cv_table(self) -> str:
        """Both cross-validation protocols, one row each, with the worst source under each."""
        if not self.cv:
            return ""
        head = f"{'classifier':<24}{'protocol':<13}{'acc':>6}{'bal.acc':>8}{'F1':>6}{'n':>6}  worst source"
        lines = [head, "-" * (len(head) + 20)]
        for c in self.cv:
            worst = min(c.per_source, key=lambda s: s.accuracy) if c.per_source else None
            worst_text = f"{worst.source} {worst.accuracy:.3f}" if worst else "-"
            lines.append(
                f"{c.name:<24}{c.protocol:<13}{c.accuracy:>6.3f}{c.balanced_accuracy:>8.3f}{c.f1:>6.3f}{c.n:>6}"
                f"  {worst_text}"
            )
        return "\n".join(lines)

    def cv_per_source_table(self) -> str:
        """Accuracy per source under every cross-validated row (columns: classifier/protocol)."""
        rows = [c for c in self.cv if c.per_source]
        if not rows:
            return ""
        columns = [f"{c.name}/{c.protocol}" for c in rows]
        width = max(14, *(len(c) + 2 for c in columns))
        head = f"{'source':<22}{'class':<10}{'n':>5}" + "".join(f"{c:>{width}}" for c in columns)
        lines = [head, "-" * len(head)]
        for i, s in enumerate(rows[0].per_source):
            line = f"{s.source:<22}{s.label:<10}{s.n:>5}"
            line += "".join(f"{c.per_source[i].accuracy:>{width}.3f}" for c in rows)
            lines.append(line)
        return "\n".join(lines)

    def robustness_table(self) -> str:
        """Balanced accuracy on clean images and its drop, in points, under each re-encoding."""
        if not self.robustness:
            return ""
        transforms = list(dict.fromkeys(r.transform for r in self.robustness))
        names = list(dict.fromkeys(r.name for r in self.robustness))
        head = f"{'classifier':<24}{'clean':>7}" + "".join(f"{t:>16}" for t in transforms)
        lines = [head, "-" * len(head), "balanced accuracy, and its drop in points under each re-encoding"]
        by_key = {(r.name, r.transform): r for r in self.robustness}
        for name in names:
            first = next(r for r in self.robustness if r.name == name)
            line = f"{name:<24}{first.clean_balanced_accuracy:>7.3f}"
            for t in transforms:
                r = by_key.get((name, t))
                line += f"{r.balanced_accuracy:>8.3f} ({100 * r.drop:+5.1f})" if r else f"{'-':>16}"
            lines.append(line)
        return "\n".join(lines)

    def to_table(self) -> str:
        """The table as fixed-width text, the poster's figure beside each row."""
        head = f"{'classifier':<14}{'protocol':<13}{'acc':>6}{'bal.acc':>8}{'F1':>6}"
        head += f"{'95% CI':>15}{'n':>6}{'ms/img':>8}{'poster':>8}"
        lines = [head, "-" * len(head)]
        for c in self.classifiers:
            poster = f"{c.poster:.2f}" if c.poster is not None else "-"
            ci = f"[{c.ci95[0]:.2f}, {c.ci95[1]:.2f}]"
            lines.append(
                f"{c.name:<14}{c.protocol:<13}{c.accuracy:>6.3f}{c.balanced_accuracy:>8.3f}{c.f1:>6.3f}"
                f"{ci:>15}{c.n:>6}{c.ms_per_image:>8.2f}{poster:>8}"
            )
        return "\n".join(lines)

    def per_source_table(self) -> str:
        """Accuracy per source and classifier, one row per source."""
        if not self.classifiers or not self.classifiers[0].per_source:
            return ""
        names = [c.name for c in self.classifiers]
        head = f"{'source':<22}{'class':<10}{'n':>5}" + "".join(f"{n:>14}" for n in names)
        lines = [head, "-" * len(head)]
        for i, s in enumerate(self.classifiers[0].per_source):
            row = f"{s.source:<22}{s.label:<10}{s.n:>5}"
            row += "".join(f"{c.per_source[i].accuracy:>14.3f}" for c in self.classifiers)
            lines.append(row)
        return "\n".join(lines)


def score_predictions(
    name: str,
    protocol: str,
    y_true: IntArray,
    y_pred: IntArray,
    sources: npt.NDArray[np.str_],
    ms_per_image: float,
) -> ClassifierScore:
    """Accuracy, balanced accuracy, F1 (animated positive), Wilson interval and per-source rows."""
    n = int(y_true.size)
    correct = int((y_true == y_pred).sum())
    return ClassifierScore(
        name=name,
        protocol=protocol,
        accuracy=float(accuracy_score(y_true, y_pred)),
        balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)),
        f1=float(f1_score(y_true, y_pred, pos_label=1, zero_division=0.0)),
        ci95=wilson_interval(correct, n),
        n=n,
        ms_per_image=ms_per_image,
        poster=POSTER_FIGURES.get(name),
        per_source=per_source_scores(y_true, y_pred, sources),
    )


def per_source_scores(y_true: IntArray, y_pred: IntArray, sources: npt.NDArray[np.str_]) -> tuple[SourceScore, ...]:
    rows = []
    for source in sorted(set(sources.tolist())):
        mask = sources == source
        labels = set(y_true[mask].tolist())
        label = LABEL_NAMES[labels.pop()] if len(labels) == 1 else "mixed"
        n = int(mask.sum())
        correct = int((y_true[mask] == y_pred[mask]).sum())
        rows.append(SourceScore(source, label, n, correct / n, wilson_interval(correct, n)))
    return tuple(rows)


def _median_ms(feature_ms: FloatArray, model: Any, features: FloatArray) -> float:
    """Median per-image feature time plus the model's per-image share of one batch prediction."""
    start = time.perf_counter()
    model.predict(features)
    model_ms = (time.perf_counter() - start) * 1e3 / max(len(features), 1)
    return float(np.median(feature_ms) + model_ms)


def make_splitter(cv: CVScheme, folds: int, seed: int) -> Any:
    if cv == "stratified":
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    if cv == "group":
        return LeaveOneGroupOut()
    raise ValueError(f"cv must be 'stratified' or 'group', got {cv!r}")


def protocol_name(cv: CVScheme, folds: int) -> str:
    return f"{folds}-fold" if cv == "stratified" else "by-source"


def cv_splits(
    y: IntArray, sources: npt.NDArray[np.str_], *, cv: CVScheme = "stratified", folds: int = 5, seed: int = 0
) -> list[tuple[IntArray, IntArray]]:
    """The ``(train, test)`` index pairs of one protocol, checked so that every training set has both classes."""
    splitter = make_splitter(cv, folds, seed)
    if cv == "group" and np.unique(sources).size < 2:
        raise ValueError("leave-one-source-out needs at least two sources (filenames source__name.ext)")
    groups = sources if cv == "group" else None
    splits = [(np.asarray(a), np.asarray(b)) for a, b in splitter.split(np.zeros(y.size), y, groups)]
    for train, test in splits:
        if np.unique(y[train]).size < 2:
            held = ", ".join(sorted(set(sources[test].tolist())))
            raise ValueError(f"holding out {held} leaves a training set with one class only")
    return splits


def _learns(classifier: ImageClassifier) -> bool:
    return bool(classifier.__sklearn_tags__().requires_fit)


def fit_folds(
    classifier: ImageClassifier, features: FloatArray, y: IntArray, splits: Sequence[tuple[IntArray, IntArray]]
) -> list[Any]:
    """One fresh ``make_model()`` fitted on each training part (none for a fixed rule)."""
    if not _learns(classifier):
        return []
    return [clone(classifier.make_model()).fit(features[train], y[train]) for train, _ in splits]


def predict_folds(
    classifier: ImageClassifier,
    fold_models: Sequence[Any],
    splits: Sequence[tuple[IntArray, IntArray]],
    features: FloatArray,
) -> IntArray:
    """Out-of-fold predictions of the fold models on ``features``; a fixed rule predicts every row."""
    if not _learns(classifier):
        return np.asarray(classifier._fitted_model().predict(features), dtype=np.int64)
    predicted = np.empty(features.shape[0], dtype=np.int64)
    for model, (_, test) in zip(fold_models, splits, strict=True):
        predicted[test] = model.predict(features[test])
    return predicted


def cv_predict(
    classifier: ImageClassifier,
    features: FloatArray,
    y: IntArray,
    splits: Sequence[tuple[IntArray, IntArray]],
    *,
    test_features: FloatArray | None = None,
) -> IntArray:
    """Out-of-fold predictions: fit ``make_model()`` on each training part, predict its test part.

    ``test_features`` (same rows as ``features``) are what the test parts are predicted from, so a model
    trained on clean images can be scored on re-encoded ones. A fixed rule is applied as it is.
    """
    target = features if test_features is None else test_features
    return predict_folds(classifier, fit_folds(classifier, features, y, splits), splits, target)


def _fitted_for_timing(classifier: ImageClassifier, features: FloatArray, y: IntArray) -> Any:
    """The model whose batch prediction time is added to the feature time (fitted on everything)."""
    if _learns(classifier) and not hasattr(classifier, "model_"):
        classifier.fit_features(features, y)
    return classifier._fitted_model()


def _cv_rows(
    classifier: ImageClassifier,
    name: str,
    dataset: Dataset,
    features: FloatArray,
    ms: float,
    *,
    folds: int,
    seed: int,
    notes: list[str],
    known: ClassifierScore | None = None,
) -> list[ClassifierScore]:
    """Rows under both protocols (one row for a fixed rule); a protocol the data cannot support is noted.

    ``known`` is a row already scored under one of the protocols, reused rather than recomputed.
    """
    y, sources = dataset.labels, dataset.sources
    if not _learns(classifier):
        y_pred = cv_predict(classifier, features, y, [])
        return [score_predictions(name, "fixed rule", y, y_pred, sources, ms)]
    rows = []
    if known is not None and known.protocol == "fixed rule":
        return [known]
    for scheme in CV_SCHEMES:
        if known is not None and known.protocol == protocol_name(scheme, folds):
            rows.append(known)
            continue
        try:
            splits = cv_splits(y, sources, cv=scheme, folds=folds, seed=seed)
        except ValueError as exc:
            notes.append(f"{name}: no {scheme} cross-validation: {exc}")
            logger.warning("%s: no %s cross-validation: %s", name, scheme, exc)
            continue
        y_pred = cv_predict(classifier, features, y, splits)
        rows.append(score_predictions(name, protocol_name(scheme, folds), y, y_pred, sources, ms))
    return rows


def cross_validate(
    classifier: ImageClassifier,
    name: str,
    dataset: Dataset,
    *,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> ClassifierScore:
    """Score one classifier on one set: cross-validated if it learns, as it is if it is a fixed rule."""
    features, feature_ms = classifier.extract_features_timed(dataset.images, progress=progress, desc=name)
    return _score_cv(classifier, name, dataset, features, feature_ms, cv=cv, folds=folds, seed=seed)


def _score_cv(
    classifier: ImageClassifier,
    name: str,
    dataset: Dataset,
    features: FloatArray,
    feature_ms: FloatArray,
    *,
    cv: CVScheme,
    folds: int,
    seed: int,
) -> ClassifierScore:
    y = dataset.labels
    if _learns(classifier):
        splits = cv_splits(y, dataset.sources, cv=cv, folds=folds, seed=seed)
        y_pred = cv_predict(classifier, features, y, splits)
        protocol = protocol_name(cv, folds)
    else:
        y_pred = cv_predict(classifier, features, y, [])
        protocol = "fixed rule"
    ms = _median_ms(feature_ms, _fitted_for_timing(classifier, features, y), features)
    return score_predictions(name, protocol, y, y_pred, dataset.sources, ms)


@dataclass
class _Scored:
    """Working state of one classifier inside ``reproduce``/``evaluate``."""

    name: str
    classifier: ImageClassifier
    main: ClassifierScore
    splits: list[tuple[IntArray, IntArray]]
    fold_models: list[Any]


def _robustness_rows(
    scored: Sequence[_Scored],
    test: Dataset,
    transforms: Sequence[str],
    *,
    held_out: bool,
    progress: bool,
) -> list[RobustnessScore]:
    """Re-encode the test images once per transform, then score every classifier on them."""
    rows = []
    y = test.labels
    for transform in progress_bar(transforms, enabled=progress, desc="robustness", unit="transform", leave=False):
        images = reencode_all(test.images, transform, progress=progress)
        for item in scored:
            features = item.classifier.extract_features(images)
            if held_out:
                y_pred = np.asarray(item.classifier._fitted_model().predict(features), dtype=np.int64)
            else:
                y_pred = predict_folds(item.classifier, item.fold_models, item.splits, features)
            balanced = float(balanced_accuracy_score(y, y_pred))
            clean = item.main.balanced_accuracy
            rows.append(
                RobustnessScore(
                    name=item.name,
                    transform=transform,
                    protocol=item.main.protocol,
                    balanced_accuracy=balanced,
                    clean_balanced_accuracy=clean,
                    drop=clean - balanced,
                    accuracy=float(accuracy_score(y, y_pred)),
                    n=int(y.size),
                )
            )
    return rows


def _named(
    names: Sequence[str], models: Mapping[str, ImageClassifier] | None
) -> list[tuple[str, ImageClassifier, bool]]:
    """``(row name, classifier, pre-fitted)`` for every registry name and every loaded model."""
    out = [(name, make_classifier(name), False) for name in names]
    out += [(label, model, True) for label, model in (models or {}).items()]
    if not out:
        raise ValueError("nothing to score: give at least one classifier name or model")
    return out


def reproduce(
    dataset: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
    models: Mapping[str, ImageClassifier] | None = None,
    cv_rows: bool = True,
    robustness: Sequence[str] = (),
) -> Report:
    """The poster's metrics table on ``dataset``, cross-validated with protocol ``cv``.

    ``models`` (row name -> loaded classifier) are cross-validated with their own parameters, refitted in
    every fold: scoring a model on the images it was fitted on would measure nothing. ``cv_rows`` adds the
    rows of both protocols; ``robustness`` names the re-encodings (:data:`imgclass.robustness.TRANSFORMS`)
    to score, with training folds clean and test folds re-encoded.
    """
    transforms = check_transforms(robustness)
    notes: list[str] = []
    scored: list[_Scored] = []
    cv_scores: list[ClassifierScore] = []
    for name, classifier, _ in _named(names, models):
        features, feature_ms = classifier.extract_features_timed(dataset.images, progress=progress, desc=name)
        y = dataset.labels
        splits = cv_splits(y, dataset.sources, cv=cv, folds=folds, seed=seed) if _learns(classifier) else []
        # The fold models are kept: the robustness rows score the same models on re-encoded images.
        fold_models = fit_folds(classifier, features, y, splits)
        y_pred = predict_folds(classifier, fold_models, splits, features)
        protocol = protocol_name(cv, folds) if _learns(classifier) else "fixed rule"
        ms = _median_ms(feature_ms, _fitted_for_timing(classifier, features, y), features)
        main = score_predictions(name, protocol, y, y_pred, dataset.sources, ms)
        scored.append(_Scored(name, classifier, main, splits, fold_models))
        if cv_rows:
            cv_scores += _cv_rows(
                classifier, name, dataset, features, ms, folds=folds, seed=seed, notes=notes, known=main
            )
    rows = _robustness_rows(scored, dataset, transforms, held_out=False, progress=progress)
    settings: dict[str, Any] = {"cv": cv, "folds": folds, "seed": seed, "transforms": list(transforms)}
    if notes:
        settings["notes"] = notes
    return Report(
        "reproduce",
        str(dataset.root),
        tuple(s.main for s in scored),
        settings=settings,
        cv=tuple(cv_scores),
        robustness=tuple(rows),
    )


def held_out(
    classifier: ImageClassifier,
    name: str,
    train: Dataset,
    test: Dataset,
    *,
    progress: bool = False,
    refit: bool = True,
) -> ClassifierScore:
    """Fit on ``train`` (unless it is a fixed rule, or ``refit`` is off for a loaded model) and score on ``test``."""
    if refit and _learns(classifier):
        classifier.fit_features(classifier.extract_features_timed(train.images, progress=progress)[0], train.labels)
    features, feature_ms = classifier.extract_features_timed(test.images, progress=progress, desc=name)
    model = classifier._fitted_model()
    y_pred = np.asarray(model.predict(features))
    ms = _median_ms(feature_ms, model, features)
    return score_predictions(name, "held-out", test.labels, y_pred, test.sources, ms)


def evaluate(
    train: Dataset,
    test: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    progress: bool = False,
    models: Mapping[str, ImageClassifier] | None = None,
    cv_rows: bool = True,
    robustness: Sequence[str] = tuple(TRANSFORMS),
    folds: int = 5,
    seed: int = 0,
) -> Report:
    """Fit each classifier on ``train`` and score it on the separate ``test`` set, per source too.

    ``models`` (row name -> loaded classifier) are scored as they are, without refitting. ``cv_rows``
    adds both cross-validation protocols on the training set (a loaded model's parameters refitted per
    fold); ``robustness`` re-encodes the test images and scores the same fitted classifiers on them.
    """
    transforms = check_transforms(robustness)
    notes: list[str] = []
    scored: list[_Scored] = []
    cv_scores: list[ClassifierScore] = []
    for name, classifier, prefitted in _named(names, models):
        train_features: FloatArray | None = None
        if cv_rows or (not prefitted and _learns(classifier)):
            train_features = classifier.extract_features_timed(train.images, progress=progress, desc=name)[0]
        if not prefitted and _learns(classifier) and train_features is not None:
            classifier.fit_features(train_features, train.labels)
        main = held_out(classifier, name, train, test, progress=progress, refit=False)
        scored.append(_Scored(name, classifier, main, [], []))
        if cv_rows and train_features is not None:
            # A copy, so the per-fold refits leave the classifier scored above untouched.
            fresh = clone(classifier) if _learns(classifier) else classifier
            cv_scores += _cv_rows(
                fresh, name, train, train_features, main.ms_per_image, folds=folds, seed=seed, notes=notes
            )
    rows = _robustness_rows(scored, test, transforms, held_out=True, progress=progress)
    settings: dict[str, Any] = {"folds": folds, "seed": seed, "transforms": list(transforms)}
    if notes:
        settings["notes"] = notes
    return Report(
        "evaluate",
        str(test.root),
        tuple(s.main for s in scored),
        train=str(train.root),
        settings=settings,
        cv=tuple(cv_scores),
        robustness=tuple(rows),
    )
