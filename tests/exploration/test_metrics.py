from __future__ import annotations

import numpy as np
import pytest

from imgclass.data import Dataset
from imgclass.evaluation import reproduce
from imgclass.exploration.metrics import metrics_report, size_spread

NAMES = ("byte-length", "bilateral", "colour-count")


@pytest.mark.parametrize("cv", ["stratified", "group"])
def test_same_table_as_reproduce(tiny_dataset: Dataset, cv: str) -> None:
    ours = metrics_report(tiny_dataset, NAMES, cv=cv, folds=3)  # type: ignore[arg-type]
    theirs = reproduce(tiny_dataset, NAMES, cv=cv, folds=3, cv_rows=False)  # type: ignore[arg-type]
    for a, b in zip(ours.classifiers, theirs.classifiers, strict=True):
        assert (a.name, a.protocol, a.accuracy, a.ci95, a.n) == (b.name, b.protocol, b.accuracy, b.ci95, b.n)
        assert a.per_source == b.per_source


def test_spread_over_draws(tiny_dataset: Dataset) -> None:
    spread = size_spread(tiny_dataset, ("byte-length", "colour-count"), sizes=(12, 24), repeats=3, folds=3)
    assert spread.accuracy.shape == (2, 2, 3)
    assert ((spread.accuracy >= 0) & (spread.accuracy <= 1)).all()
    low, high = spread.interval("byte-length", 12)
    assert low <= high and spread.width("byte-length", 12) == pytest.approx(high - low)
    assert isinstance(spread.poster_inside("byte-length", 12), bool)
    assert "n=12" in spread.to_table()
    # The fixed rule on the whole set does not depend on the draw.
    assert np.ptp(spread.accuracy[1, 1]) == 0
    with pytest.raises(ValueError, match="repeats"):
        size_spread(tiny_dataset, sizes=(12,), repeats=1)
