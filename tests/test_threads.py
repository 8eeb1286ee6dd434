"""Fitting and predicting run on one OpenMP/BLAS thread by themselves, whatever the caller's setting (issue 21).

``tests/conftest.py`` limits the whole session to one thread, which once hid that the package did not:
these tests lift that limit first (two OpenMP and BLAS threads, as an unset ``OMP_NUM_THREADS`` gives on
the 2-core CI machine) and watch the thread count from inside the boosting's own ``fit`` and ``predict``.
Speed itself is measured in ``benchmarks/threads.py``, not here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_info, threadpool_limits

from imgclass.classifiers import make_classifier
from imgclass.data import load_dataset
from imgclass.evaluation import cross_validate
from imgclass.ready import ReadyClassifier
from imgclass.threads import one_thread


def _threads() -> dict[str, int]:
    """The largest thread count per API (openmp, blas) of the loaded libraries."""
    counts: dict[str, int] = {}
    for pool in threadpool_info():
        counts[pool["user_api"]] = max(counts.get(pool["user_api"], 0), pool["num_threads"])
    return counts


@pytest.fixture
def two_threads() -> Iterator[None]:
    """Lift the session-wide limit of tests/conftest.py for this test."""
    with threadpool_limits(limits=2):
        assert _threads()["openmp"] == 2  # the limit is lifted: a fit outside one_thread would use two
        yield


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, int]]]:
    """Record the thread counts inside every HistGradientBoosting fit and predict."""
    calls: list[tuple[str, dict[str, int]]] = []
    for method in ("fit", "predict_proba", "predict", "decision_function"):
        original = getattr(HistGradientBoostingClassifier, method)

        @functools.wraps(original)  # scikit-learn checks a method's name
        def spy(self: Any, *args: Any, _original: Any = original, _name: str = method, **kwargs: Any) -> Any:
            calls.append((_name, _threads()))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(HistGradientBoostingClassifier, method, spy)
    return calls


def _tiny() -> tuple[list[bytes], np.ndarray]:
    dataset = load_dataset(sources=["flare", "scratch_photos"])
    return dataset.images[:60], dataset.labels[:60]


def test_fitting_and_predicting_use_one_thread(two_threads: None, seen: list[tuple[str, dict[str, int]]]) -> None:
    images, labels = _tiny()
    classifier = make_classifier("fast", calibration_folds=2, max_iter=5).fit(images, labels)
    classifier.predict_proba(images[:4])
    ReadyClassifier("fast", classifier).scores(images[:4])
    assert {name for name, _ in seen} >= {"fit", "decision_function"}  # the calibration reads the decision
    assert all(counts.get("openmp", 1) == 1 and counts.get("blas", 1) == 1 for _, counts in seen), seen
    assert _threads()["openmp"] == 2, "the caller's setting comes back afterwards"


def test_cross_validation_fits_on_one_thread(two_threads: None, seen: list[tuple[str, dict[str, int]]]) -> None:
    dataset = load_dataset(sources=["flare", "scratch_cartoon", "scratch_photos", "wallpaper_photos"])
    classifier = make_classifier("fast", calibration_folds=2, max_iter=5)
    cross_validate(classifier, dataset, cv="source")
    assert sum(name == "fit" for name, _ in seen) >= 4 * 2  # a model per held-out source, two calibration folds
    assert all(counts.get("openmp", 1) == 1 for _, counts in seen), seen


def test_one_thread_nests_and_restores(two_threads: None) -> None:
    with one_thread():
        with one_thread():
            assert _threads() == {api: 1 for api in _threads()}
        assert _threads()["openmp"] == 1
    assert _threads()["openmp"] == 2
