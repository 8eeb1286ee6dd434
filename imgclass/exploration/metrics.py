"""The poster's metrics table under two protocols, and how much it can move on 83 images.

:func:`metrics_report` is :func:`imgclass.evaluation.reproduce` on features computed once per data set
(:mod:`~imgclass.exploration.feature_cache`), so that the stratified and the by-source protocols share
one feature pass. :func:`size_spread` draws many class-stratified subsets of a given size (83 is the
poster's) and cross-validates on each, to show how far a table from that few images can wander.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import cross_val_predict

from imgclass.classifiers import POSTER_CLASSIFIERS, make_classifier
from imgclass.data import Dataset
from imgclass.evaluation import POSTER_FIGURES, ClassifierScore, CVScheme, Report, make_splitter, score_predictions
from imgclass.exploration.cv import cv_accuracy, single_threaded
from imgclass.exploration.feature_cache import cached_features
from imgclass.exploration.sampling import stratified_indices

POSTER_N = 83


def score_classifier(
    dataset: Dataset, name: str, *, cv: CVScheme = "stratified", folds: int = 5, seed: int = 0, progress: bool = False
) -> ClassifierScore:
    """One row of the table, on cached features (same protocol as :func:`imgclass.evaluation.cross_validate`)."""
    classifier = make_classifier(name)
    table = cached_features(dataset, name, progress=progress)
    y = dataset.labels
    if classifier.__sklearn_tags__().requires_fit:
        groups = dataset.sources if cv == "group" else None
        splitter = make_splitter(cv, folds, seed)
        y_pred = cross_val_predict(classifier.make_model(), table.features, y, cv=splitter, groups=groups)
        protocol = f"{folds}-fold" if cv == "stratified" else "by-source"
    else:
        y_pred = classifier._fitted_model().predict(table.features)
        protocol = "fixed rule"
    return score_predictions(
        name, protocol, y, np.asarray(y_pred, dtype=np.int64), dataset.sources, float(np.median(table.ms))
    )


def metrics_report(
    dataset: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> Report:
    """The poster's table on ``dataset`` (a :class:`~imgclass.evaluation.Report`, like ``reproduce``)."""
    with single_threaded():
        rows = tuple(score_classifier(dataset, n, cv=cv, folds=folds, seed=seed, progress=progress) for n in names)
    return Report("reproduce", str(dataset.root), rows, settings={"cv": cv, "folds": folds, "seed": seed})


@dataclass(frozen=True)
class SizeSpread:
    """``accuracy[i, j, r]``: classifier ``names[i]`` on draw ``r`` of ``sizes[j]`` images."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    accuracy: npt.NDArray[np.float64]

    def interval(self, name: str, size: int) -> tuple[float, float]:
        """The central 95% of the accuracies over the draws."""
        values = self.accuracy[self.names.index(name), self.sizes.index(size)]
        low, high = np.quantile(values, [0.025, 0.975])
        return float(low), float(high)

    def width(self, name: str, size: int) -> float:
        low, high = self.interval(name, size)
        return high - low

    def poster_inside(self, name: str, size: int = POSTER_N) -> bool | None:
        """Whether the poster's figure lies within the central 95% of our draws of ``size`` images."""
        figure = POSTER_FIGURES.get(name)
        if figure is None:
            return None
        low, high = self.interval(name, size)
        return low <= figure <= high

    def to_table(self) -> str:
        head = f"{'classifier':<14}" + "".join(f"{f'n={s}':>16}" for s in self.sizes) + f"{'poster':>8}"
        lines = [head, "-" * len(head)]
        for name in self.names:
            cells = "".join(f"{_span(self.interval(name, s)):>16}" for s in self.sizes)
            poster = POSTER_FIGURES.get(name)
            lines.append(f"{name:<14}{cells}{'-' if poster is None else f'{poster:.2f}':>8}")
        return "\n".join(lines)


def _span(interval: tuple[float, float]) -> str:
    return f"{interval[0]:.2f}-{interval[1]:.2f}"


def size_spread(
    dataset: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    sizes: Sequence[int] = (POSTER_N, 160, 320),
    repeats: int = 20,
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> SizeSpread:
    """Accuracy of each classifier on ``repeats`` random class-stratified draws of each size.

    Learned classifiers are cross-validated within each draw; the fixed rule is simply applied. A size
    at least as large as the set re-draws only the folds.
    """
    if repeats < 2:
        raise ValueError(f"repeats must be >= 2, got {repeats}")
    out = np.zeros((len(names), len(sizes), repeats))
    with single_threaded():
        _fill_spread(dataset, names, sizes, out, folds=folds, seed=seed, progress=progress)
    return SizeSpread(tuple(names), tuple(int(s) for s in sizes), out)


def _fill_spread(
    dataset: Dataset,
    names: Sequence[str],
    sizes: Sequence[int],
    out: npt.NDArray[np.float64],
    *,
    folds: int,
    seed: int,
    progress: bool,
) -> None:
    labels = dataset.labels
    repeats = out.shape[2]
    for i, name in enumerate(names):
        classifier = make_classifier(name)
        features = cached_features(dataset, name, progress=progress).features
        learns = classifier.__sklearn_tags__().requires_fit
        for j, size in enumerate(sizes):
            for r in range(repeats):
                idx = stratified_indices(labels, int(size), seed=seed + r)
                if learns:
                    out[i, j, r] = cv_accuracy(
                        classifier.make_model(), features[idx], labels[idx], folds=folds, seed=seed + r
                    ).accuracy
                else:
                    y_pred = classifier._fitted_model().predict(features[idx])
                    out[i, j, r] = float((y_pred == labels[idx]).mean())
