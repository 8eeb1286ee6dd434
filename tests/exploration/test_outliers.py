from __future__ import annotations

import numpy as np
import pytest

from imgclass.exploration.outliers import outlier_study, outlier_table


def test_uniform_ranges_collapse_and_quantile_ranges_hold() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    lengths = np.where(labels == 1, rng.normal(30e3, 4e3, 100), rng.normal(60e3, 8e3, 100))
    rows = {r.model: r for r in outlier_study(lengths, labels, n_ranges=6)}
    assert set(rows) == {"threshold", "logistic (raw length)", "one-hot uniform", "one-hot quantile",
                         "one-hot kmeans", "one-hot tree"}  # fmt: skip
    assert all(r.clean.accuracy > 0.9 for r in rows.values())
    assert rows["one-hot uniform"].drop > 0.3
    assert abs(rows["one-hot quantile"].drop) < 0.05 and abs(rows["threshold"].drop) < 0.05
    assert "one-hot tree" in outlier_table(tuple(rows.values()))


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="n_outliers"):
        outlier_study([1.0, 2.0], [0, 1], n_outliers=0)
