from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclass.exploration.tree_binning import TreeBinner


@parametrize_with_checks([TreeBinner(n_bins=4)])
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    check(estimator)


def test_cuts_where_the_classes_change() -> None:
    x = np.r_[np.linspace(0, 1, 20), np.linspace(5, 6, 20), np.linspace(10, 11, 20)].reshape(-1, 1)
    y = np.r_[np.zeros(20), np.ones(20), np.zeros(20)].astype(int)
    binner = TreeBinner(n_bins=3).fit(x, y)
    assert binner.n_bins_.tolist() == [3]
    (edges,) = binner.bin_edges_
    assert 1 < edges[0] < 5 and 6 < edges[1] < 10
    onehot = binner.transform(x)
    assert onehot.shape == (60, 3) and (onehot.sum(axis=1) == 1).all()
    assert onehot[:20, 0].all() and onehot[20:40, 1].all() and onehot[40:, 2].all()
    assert binner.get_feature_names_out().tolist() == ["x0_0", "x0_1", "x0_2"]


def test_value_on_a_cut_goes_to_the_lower_range() -> None:
    binner = TreeBinner(n_bins=2).fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    (edges,) = binner.bin_edges_
    assert binner.transform([[edges[0]]]).tolist() == [[1.0, 0.0]]


def test_too_few_bins() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        TreeBinner(n_bins=1).fit([[0.0], [1.0]], [0, 1])
