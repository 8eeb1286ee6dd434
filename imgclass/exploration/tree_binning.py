"""Supervised one-hot ranges: cut points chosen by a decision tree, as a scikit-learn transformer.

``KBinsDiscretizer`` places its edges from the feature alone (equal widths, equal counts or k-means
centres). :class:`TreeBinner` places them where the classes change, by fitting a decision tree with
``n_bins`` leaves on each column and keeping its split points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted, validate_data


class TreeBinner(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """One-hot encode each column into at most ``n_bins`` ranges cut where a tree splits it.

    Parameters
    ----------
    n_bins : int
        Largest number of ranges per column (the tree's ``max_leaf_nodes``); fewer if the tree stops.
    min_samples_leaf : int
        Smallest number of training samples in a range.
    random_state : int
        Seed of the tree, for ties.

    Attributes
    ----------
    bin_edges_ : list of ndarray
        Per column, the inner cut points in increasing order (``n_bins_[j] - 1`` of them).
    n_bins_ : ndarray of int
        Ranges per column.
    """

    def __init__(self, n_bins: int = 8, min_samples_leaf: int = 1, random_state: int = 0) -> None:
        self.n_bins = n_bins
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> TreeBinner:
        X, y = validate_data(self, X, y, dtype=np.float64)
        if int(self.n_bins) < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        edges = []
        for j in range(X.shape[1]):
            tree = DecisionTreeClassifier(
                max_leaf_nodes=int(self.n_bins),
                min_samples_leaf=self.min_samples_leaf,
                random_state=self.random_state,
            ).fit(X[:, [j]], y)
            inner = tree.tree_.children_left != tree.tree_.children_right
            edges.append(np.unique(tree.tree_.threshold[inner]))
        self.bin_edges_ = edges
        self.n_bins_ = np.array([e.size + 1 for e in edges], dtype=np.int64)
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float64]:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        blocks = []
        for j, edges in enumerate(self.bin_edges_):
            # A tree sends x <= threshold left, so a value equal to a cut belongs to the lower range.
            index = np.searchsorted(edges, X[:, j], side="left")
            blocks.append(np.eye(edges.size + 1)[index])
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self)
        names = [f"x{j}" for j in range(self.n_features_in_)] if input_features is None else list(input_features)
        return np.array(
            [f"{names[j]}_{k}" for j in range(len(names)) for k in range(int(self.n_bins_[j]))], dtype=object
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
