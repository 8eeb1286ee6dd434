from __future__ import annotations

import numpy as np
import pytest

from imgclass.exploration.range_fitting import STRATEGIES, fit_ranges, range_edges, range_model, range_sweep


def lengths_and_labels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 40)
    lengths = np.where(labels == 1, rng.normal(30e3, 5e3, 80), rng.normal(60e3, 10e3, 80))
    return lengths, labels


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_fits_at_most_n_ranges(strategy: str) -> None:
    lengths, labels = lengths_and_labels()
    edges = range_edges(lengths, labels, 6, strategy)
    assert 1 <= edges.size <= 5 and np.all(np.diff(edges) > 0)
    assert lengths.min() <= edges.min() and edges.max() <= lengths.max()
    fit = fit_ranges(lengths, labels, 6, strategy)
    assert fit.edges == tuple(edges) and fit.accuracy.accuracy > 0.8
    assert f"{strategy} ranges" in fit.describe()


def test_three_length_columns_use_the_byte_column() -> None:
    lengths, labels = lengths_and_labels()
    three = np.column_stack([lengths, 2 * lengths, 4 * lengths / 3])
    np.testing.assert_array_equal(
        range_edges(three, labels, 4, "quantile"), range_edges(lengths, labels, 4, "quantile")
    )


def test_sweep_grid_and_best() -> None:
    lengths, labels = lengths_and_labels()
    sweep = range_sweep(lengths, labels, n_ranges=(2, 4), strategies=("uniform", "tree"))
    assert sweep.accuracy().shape == (2, 2)
    strategy, n, best = sweep.best()
    assert best.accuracy == sweep.accuracy().max() and strategy in ("uniform", "tree") and n in (2, 4)
    assert sweep.baseline.accuracy > 0.8
    assert "threshold" in sweep.to_table()


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="strategy"):
        range_model(4, "median")
    with pytest.raises(ValueError, match="n_ranges"):
        range_model(1, "tree")
