"""Fixed-seed, class-stratified subsets, for sweeps that would be too slow on every image."""

from __future__ import annotations

import numpy as np

from imgclass.data import Dataset


def stratified_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n`` items keeping each class's share (each class gets at least one item).

    The same labels, ``n`` and ``seed`` always give the same indices. ``n >= len(labels)`` keeps all.
    """
    labels = np.asarray(labels)
    if n < 2:
        raise ValueError(f"a stratified subset needs n >= 2, got {n}")
    if n >= labels.size:
        return np.arange(labels.size)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.maximum(1, np.floor(counts * n / labels.size).astype(int))
    # Hand the rounding remainder to the classes with the largest fractional share, in a fixed order.
    remainder = n - int(quota.sum())
    order = np.argsort(-(counts * n / labels.size - quota), kind="stable")
    for i in order[: max(remainder, 0)]:
        quota[i] += 1
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=min(q, cnt), replace=False)
        for c, q, cnt in zip(classes, quota, counts, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def subset(dataset: Dataset, indices: np.ndarray) -> Dataset:
    """A data set holding only the records at ``indices`` (same root, no skipped files)."""
    return Dataset(dataset.root, tuple(dataset.records[int(i)] for i in indices), ())


def stratified_subset(dataset: Dataset, n: int, seed: int = 0) -> Dataset:
    """``n`` records of ``dataset`` drawn with :func:`stratified_indices`; the whole set if it is smaller."""
    if n >= len(dataset):
        return dataset
    return subset(dataset, stratified_indices(dataset.labels, n, seed))
