from __future__ import annotations

import numpy as np
import pytest

from imgclass.data import Dataset
from imgclass.exploration.blur_sweep import BlurSettings, bilateral_scores, blur_sweep, blurred, preview, sweep_settings
from imgclass.feature_cache import clear_feature_cache


def test_preview_blurs_and_keeps_the_shape(tiny_dataset: Dataset) -> None:
    before, after = preview(tiny_dataset.images[0], BlurSettings(5, 50, 50))
    assert before.shape == after.shape and after.dtype == np.uint8
    assert not np.array_equal(before, after)
    assert float(np.abs(np.diff(after.astype(int), axis=1)).mean()) < float(
        np.abs(np.diff(before.astype(int), axis=1)).mean()
    )
    # OpenCV widens d=1 to its smallest neighbourhood, d=3.
    np.testing.assert_array_equal(blurred(before, BlurSettings(1, 75, 75)), blurred(before, BlurSettings(3, 75, 75)))


def test_settings_along_each_axis() -> None:
    assert [s.diameter for s in sweep_settings("diameter", (3, 5))] == [3, 5]
    sigma = sweep_settings("sigma", (10, 20), BlurSettings(7, 1, 1))
    assert sigma == (BlurSettings(7, 10, 10), BlurSettings(7, 20, 20))
    with pytest.raises(ValueError, match="axis"):
        sweep_settings("size", (1,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="diameter"):
        blurred(np.zeros((4, 4, 3), np.uint8), BlurSettings(0))


def test_sweep_scores_every_level_on_cached_features(tiny_dataset: Dataset) -> None:
    clear_feature_cache()
    sweep = blur_sweep(tiny_dataset, "sigma", (10, 75), base=BlurSettings(diameter=5), folds=3)
    assert sweep.levels == (10.0, 75.0) and len(sweep.scores) == 2
    assert all(0 <= s.accuracy <= 1 and s.n == 24 for s in sweep.scores)
    level, best = sweep.best()
    assert best.accuracy == sweep.accuracy().max() and level in sweep.levels
    scores = bilateral_scores(tiny_dataset, BlurSettings(5, 75, 75))
    assert scores.shape == (24,)
    assert "sigma" in sweep.to_table()
