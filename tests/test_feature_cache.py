from __future__ import annotations

import numpy as np
import pytest

from imgclass.classifiers import make_classifier
from imgclass.data import Dataset
from imgclass.feature_cache import cache_size, cached_features, clear_feature_cache
from tests.exploration.conftest import as_dataset


@pytest.fixture(scope="module")
def tiny_dataset(tiny_set: tuple[list[bytes], np.ndarray]) -> Dataset:
    return as_dataset(*tiny_set)


def test_computed_once_read_only_and_equal_to_the_classifier(tiny_dataset: Dataset) -> None:
    clear_feature_cache()
    first = cached_features(tiny_dataset, "bilateral", diameter=5)
    again = cached_features(tiny_dataset, "bilateral", diameter=5, progress=True)
    assert again is first and cache_size() == 1
    expected = make_classifier("bilateral", diameter=5).extract_features(tiny_dataset.images)
    np.testing.assert_array_equal(first.features, expected)
    assert first.column.shape == (len(tiny_dataset),)
    assert first.ms.shape == (len(tiny_dataset),) and (first.ms >= 0).all()
    with pytest.raises(ValueError, match="read-only"):
        first.features[0, 0] = 1.0


def test_parameters_and_names_key_the_cache(tiny_dataset: Dataset) -> None:
    clear_feature_cache()
    a = cached_features(tiny_dataset, "byte-length")
    b = cached_features(tiny_dataset, "bilateral", diameter=3)
    c = cached_features(tiny_dataset, "bilateral", diameter=5)
    assert cache_size() == 3 and a.name == "byte-length"
    assert dict(b.params)["diameter"] == 3 and not np.array_equal(b.features, c.features)
    clear_feature_cache()
    assert cache_size() == 0


def test_unknown_classifier_is_a_value_error(tiny_dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="unknown classifier"):
        cached_features(tiny_dataset, "no-such-thing")


def test_an_estimator_shares_the_table_of_its_name_and_parameters(tiny_dataset: Dataset) -> None:
    clear_feature_cache()
    by_name = cached_features(tiny_dataset, "byte-length")
    fitted = make_classifier("byte-length").fit(tiny_dataset.images, tiny_dataset.labels)
    assert cached_features(tiny_dataset, fitted) is by_name and cache_size() == 1
    other = cached_features(tiny_dataset, make_classifier("bilateral", diameter=3))
    assert other is not by_name and cache_size() == 2
    with pytest.raises(ValueError, match="params go with a classifier name"):
        cached_features(tiny_dataset, fitted, diameter=3)


def test_a_missing_dependency_stops_the_run_instead_of_skipping_every_image(
    tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken install (here: a compiled dependency that cannot be imported) is not a bad file: before, every
    image was skipped and the run ended in "none of the N images could be read"."""
    clear_feature_cache()
    estimator = make_classifier("fast")

    def missing(images: object) -> object:
        raise ModuleNotFoundError("No module named 'numba'")

    monkeypatch.setattr(estimator, "extract_features_timed", missing)
    with pytest.raises(ModuleNotFoundError, match="numba"):
        cached_features(tiny_dataset, estimator)
