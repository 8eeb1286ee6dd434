from __future__ import annotations

import numpy as np
import pytest

from imgclass.data import Dataset
from imgclass.exploration.sampling import stratified_indices, stratified_subset, subset


def test_same_seed_same_indices_and_class_shares_kept() -> None:
    labels = np.array([0] * 40 + [1] * 60)
    a = stratified_indices(labels, 20, seed=3)
    assert np.array_equal(a, stratified_indices(labels, 20, seed=3))
    assert a.size == 20 and np.unique(a).size == 20
    assert np.all(np.diff(a) > 0)
    assert (labels[a] == 0).sum() == 8 and (labels[a] == 1).sum() == 12
    assert not np.array_equal(a, stratified_indices(labels, 20, seed=4))


@pytest.mark.parametrize("n", [2, 3, 7, 33, 99])
def test_exact_size_and_both_classes(n: int) -> None:
    labels = np.array([0] * 10 + [1] * 90)
    idx = stratified_indices(labels, n, seed=0)
    assert idx.size == n
    assert set(labels[idx].tolist()) == {0, 1}


def test_large_n_keeps_everything_and_small_n_is_refused() -> None:
    labels = np.array([0, 1, 0, 1])
    assert np.array_equal(stratified_indices(labels, 10), np.arange(4))
    with pytest.raises(ValueError, match="n >= 2"):
        stratified_indices(labels, 1)


def test_subsets_are_datasets(tiny_dataset: Dataset) -> None:
    half = stratified_subset(tiny_dataset, 12, seed=0)
    assert len(half) == 12 and half.root == tiny_dataset.root
    assert set(half.labels.tolist()) == {0, 1}
    assert stratified_subset(tiny_dataset, 1000) is tiny_dataset
    picked = subset(tiny_dataset, np.array([0, 5]))
    assert picked.records == (tiny_dataset.records[0], tiny_dataset.records[5])
