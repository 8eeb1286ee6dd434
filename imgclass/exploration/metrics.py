"""The poster's metrics table under every protocol, and how much it can move on 83 images.

:func:`metrics_report` is :func:`imgclass.evaluation.reproduce`, the package's one scorer, which takes
its features from :mod:`imgclass.feature_cache`: the stratified and the by-source tables share one
feature pass per classifier. :func:`size_spread` draws many class-stratified subsets of a given size
(83 is the poster's) and cross-validates on each with the same splits and fold models, to show how far a
table from that few images can wander.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgclass.classifiers import POSTER_CLASSIFIERS, make_classifier
from imgclass.data import Dataset
from imgclass.evaluation import (
    POSTER_FIGURES,
    ClassifierScore,
    CVScheme,
    Report,
    cross_validate,
    out_of_fold,
    reproduce,
)
from imgclass.exploration.cv import single_threaded
from imgclass.exploration.sampling import stratified_indices
from imgclass.feature_cache import cached_features

POSTER_N = 83


def score_classifier(
    dataset: Dataset, name: str, *, cv: CVScheme = "stratified", folds: int = 5, seed: int = 0, progress: bool = False
) -> ClassifierScore:
    """One row of the table (:func:`imgclass.evaluation.cross_validate` on cached features)."""
    with single_threaded():
        return cross_validate(name, dataset, cv=cv, folds=folds, seed=seed, progress=progress)


def metrics_report(
    dataset: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> Report:
    """The poster's table on ``dataset``: :func:`~imgclass.evaluation.reproduce` without the extra rows."""
    with single_threaded():
        return reproduce(dataset, names, cv=cv, folds=folds, seed=seed, progress=progress, cv_rows=False)


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
        for j, size in enumerate(sizes):
            for r in range(repeats):
                idx = stratified_indices(labels, int(size), seed=seed + r)
                draw = Dataset(dataset.root, tuple(dataset.records[k] for k in idx))
                y_pred, _, _ = out_of_fold(classifier, features[idx], draw, cv="stratified", folds=folds, seed=seed + r)
                out[i, j, r] = float((y_pred == labels[idx]).mean())
