"""What a few huge files do to each byte-length model: the poster's reason for one-hot ranges.

The poster's byte lengths "had many outliers", and one-hot ranges were meant to stop them from
dragging the model. :func:`outlier_study` tests that: it adds a few files ``factor`` times longer than
the longest training file to every training fold (never to the test fold), with random labels, and
compares each model's cross-validated accuracy with and without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from imgclass.classifiers import make_classifier
from imgclass.evaluation import make_splitter
from imgclass.exploration.cv import CVAccuracy, score, single_threaded
from imgclass.exploration.range_fitting import STRATEGIES, range_model


@dataclass(frozen=True)
class OutlierEffect:
    """One model's cross-validated accuracy on clean training folds and on folds with outliers added."""

    model: str
    clean: CVAccuracy
    with_outliers: CVAccuracy

    @property
    def drop(self) -> float:
        """How much accuracy the outliers cost (negative if they helped)."""
        return self.clean.accuracy - self.with_outliers.accuracy


def models(n_ranges: int = 8) -> dict[str, Callable[[], Any]]:
    """The models compared, by name: the fitted threshold, a plain logistic regression and the one-hot ones."""
    out: dict[str, Callable[[], Any]] = {
        "threshold": lambda: make_classifier("byte-length").make_model(),
        "logistic (raw length)": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    }
    for strategy in STRATEGIES:
        out[f"one-hot {strategy}"] = lambda s=strategy: range_model(n_ranges, s)  # type: ignore[misc]
    return out


def _cv_predict(
    model: Any,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    splits: Sequence[tuple[Any, Any]],
    extra: Callable[[npt.NDArray[np.float64]], tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] | None,
) -> npt.NDArray[np.int64]:
    pred = np.zeros_like(y)
    for train, test in splits:
        x_train, y_train = x[train], y[train]
        if extra is not None:
            x_out, y_out = extra(x_train)
            x_train, y_train = np.vstack([x_train, x_out]), np.concatenate([y_train, y_out])
        pred[test] = clone(model).fit(x_train, y_train).predict(x[test])
    return pred


def outlier_study(
    lengths: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    n_ranges: int = 8,
    n_outliers: int = 5,
    factor: float = 20.0,
    folds: int = 5,
    seed: int = 0,
) -> tuple[OutlierEffect, ...]:
    """Each model's accuracy without and with ``n_outliers`` huge files in every training fold."""
    if n_outliers < 1 or factor <= 1:
        raise ValueError(f"need n_outliers >= 1 and factor > 1, got {n_outliers} and {factor}")
    x = np.asarray(lengths, dtype=np.float64)
    x = (x[:, 0] if x.ndim == 2 else x).reshape(-1, 1)
    y = np.asarray(labels, dtype=np.int64)
    splits = list(make_splitter("stratified", folds, seed).split(x, y))
    rng = np.random.default_rng(seed)
    outlier_labels = rng.permutation(np.arange(n_outliers) % 2)
    spread = rng.uniform(1.0, 2.0, n_outliers)

    def add_outliers(x_train: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        return (factor * float(x_train.max()) * spread).reshape(-1, 1), outlier_labels

    rows = []
    with single_threaded():
        for name, make in models(n_ranges).items():
            clean = score(y, _cv_predict(make(), x, y, splits, None))
            dirty = score(y, _cv_predict(make(), x, y, splits, add_outliers))
            rows.append(OutlierEffect(name, clean, dirty))
    return tuple(rows)


def outlier_table(rows: Sequence[OutlierEffect]) -> str:
    """The study as fixed-width text."""
    head = f"{'model':<24}{'clean':>8}{'outliers':>10}{'drop':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.model:<24}{r.clean.accuracy:>8.3f}{r.with_outliers.accuracy:>10.3f}{r.drop:>8.3f}")
    return "\n".join(lines)
