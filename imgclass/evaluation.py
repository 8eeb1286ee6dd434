"""Score classifiers honestly: cross-validation, held-out sets, Wilson intervals, per-source tables.

Features are computed once per classifier and data set (they depend only on the parameters), then
only the learned part is cross-validated, so a 5-fold run costs one feature pass. Every result is a
frozen dataclass with a ``to_dict`` that gives the JSON form of ``imgclass reproduce/evaluate``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_val_predict

from imgclass.classifiers import POSTER_CLASSIFIERS, ImageClassifier, make_classifier
from imgclass.data import Dataset
from imgclass.labels import LABEL_NAMES

logger = logging.getLogger(__name__)

#: The poster's metrics table (83 images of equal resolution).
POSTER_FIGURES: dict[str, float] = {
    "byte-length": 0.53,
    "byte-onehot": 0.58,
    "bilateral": 0.69,
    "colour-count": 0.77,
}

CVScheme = Literal["stratified", "group"]
IntArray = npt.NDArray[np.int64]


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
class Report:
    """The metrics table of one ``reproduce`` or ``evaluate`` run."""

    command: str
    data: str
    classifiers: tuple[ClassifierScore, ...]
    train: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "data": self.data,
            "train": self.train,
            "settings": dict(self.settings),
            "classifiers": [c.to_dict() for c in self.classifiers],
        }

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


def _median_ms(feature_ms: npt.NDArray[np.float64], model: Any, features: npt.NDArray[np.float64]) -> float:
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
    y = dataset.labels
    if classifier.__sklearn_tags__().requires_fit:
        splitter = make_splitter(cv, folds, seed)
        groups = dataset.sources if cv == "group" else None
        y_pred = cross_val_predict(classifier.make_model(), features, y, cv=splitter, groups=groups)
        protocol = f"{folds}-fold" if cv == "stratified" else "by-source"
        model = classifier.fit_features(features, y).model_
    else:
        model = classifier._fitted_model()
        y_pred = model.predict(features)
        protocol = "fixed rule"
    ms = _median_ms(feature_ms, model, features)
    return score_predictions(name, protocol, y, np.asarray(y_pred), dataset.sources, ms)


def reproduce(
    dataset: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> Report:
    """The poster's metrics table on ``dataset``."""
    rows = tuple(
        cross_validate(make_classifier(name), name, dataset, cv=cv, folds=folds, seed=seed, progress=progress)
        for name in names
    )
    settings = {"cv": cv, "folds": folds, "seed": seed}
    return Report("reproduce", str(dataset.root), rows, settings=settings)


def held_out(
    classifier: ImageClassifier, name: str, train: Dataset, test: Dataset, *, progress: bool = False
) -> ClassifierScore:
    """Fit on ``train`` (unless it is a fixed rule) and score on ``test``."""
    if classifier.__sklearn_tags__().requires_fit:
        classifier.fit_features(classifier.extract_features_timed(train.images, progress=progress)[0], train.labels)
    features, feature_ms = classifier.extract_features_timed(test.images, progress=progress, desc=name)
    model = classifier._fitted_model()
    y_pred = np.asarray(model.predict(features))
    ms = _median_ms(feature_ms, model, features)
    return score_predictions(name, "held-out", test.labels, y_pred, test.sources, ms)


def evaluate(
    train: Dataset, test: Dataset, names: Sequence[str] = POSTER_CLASSIFIERS, *, progress: bool = False
) -> Report:
    """Fit each classifier on ``train`` and score it on the separate ``test`` set, per source too."""
    rows = tuple(held_out(make_classifier(name), name, train, test, progress=progress) for name in names)
    return Report("evaluate", str(test.root), rows, train=str(train.root))
