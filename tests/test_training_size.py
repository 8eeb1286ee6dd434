"""Training-set size checks: warnings for a small set, refusal where fitting cannot work."""

from __future__ import annotations

import numpy as np
import pytest

from imgclass.training_size import (
    WARN_PER_CLASS,
    WARN_PER_SOURCE,
    check_fitted_scores,
    check_training_set,
    internal_folds,
)


def _labels(real: int, animated: int) -> np.ndarray:
    return np.array([0] * real + [1] * animated)


def test_a_big_balanced_set_passes_quietly() -> None:
    labels = _labels(WARN_PER_CLASS, WARN_PER_CLASS)
    sources = ["a"] * WARN_PER_CLASS + ["b"] * WARN_PER_CLASS
    assert check_training_set(labels, sources, folds=5) == ()


def test_a_small_class_is_warned() -> None:
    (warning,) = check_training_set(_labels(WARN_PER_CLASS - 1, WARN_PER_CLASS))
    assert f"{WARN_PER_CLASS - 1} real" in warning and "animated" not in warning


def test_a_thin_source_is_warned_and_unnamed_files_are_not_counted() -> None:
    labels = _labels(WARN_PER_CLASS, WARN_PER_CLASS)
    sources = ["big"] * (2 * WARN_PER_CLASS - 3) + ["thin"] * 3
    (warning,) = check_training_set(labels, sources)
    assert "1 of 2 sources" in warning and "thin 3" in warning
    assert check_training_set(labels, ["unknown"] * (2 * WARN_PER_CLASS - 1) + ["x"] * 1)[0].startswith("1 of 1")
    assert check_training_set(labels, ["unknown"] * (2 * WARN_PER_CLASS)) == ()
    assert WARN_PER_SOURCE > 3


@pytest.mark.parametrize(("real", "animated", "folds"), [(1, 10, 0), (0, 10, 0), (10, 1, 5), (4, 10, 5)])
def test_refused_where_fitting_cannot_work(real: int, animated: int, folds: int) -> None:
    with pytest.raises(ValueError, match="too few images to fit") as info:
        check_training_set(_labels(real, animated), folds=folds)
    if folds:
        assert f"{folds} folds" in str(info.value) and "--param" in str(info.value)


def test_enough_for_the_folds_is_not_refused() -> None:
    assert len(check_training_set(_labels(5, 5), folds=5)) == 1  # warned, not refused


def test_internal_folds() -> None:
    assert internal_folds({"calibration_folds": 3, "max_iter": 100}) == 3
    assert internal_folds({"cv": 4}) == 4
    assert internal_folds({"n_bins": 5, "ensemble": True}) == 0


def test_a_constant_model_is_refused() -> None:
    check_fitted_scores([0.1, 0.9, 0.5])
    with pytest.raises(ValueError, match=r"same score \(0\.52\)"):
        check_fitted_scores(np.full(25, 0.52))
