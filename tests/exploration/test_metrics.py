from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_val_predict

from imgclass.classifiers import ByteLengthClassifier, make_classifier
from imgclass.data import Dataset
from imgclass.evaluation import reproduce, score_predictions
from imgclass.exploration.metrics import metrics_report, score_classifier, size_spread
from imgclass.feature_cache import clear_feature_cache

NAMES = ("byte-length", "bilateral", "colour-count")


@pytest.mark.parametrize("cv", ["stratified", "group", "source"])
def test_same_table_as_an_independent_cross_validation(tiny_dataset: Dataset, cv: str) -> None:
    """The one scorer (via metrics_report) against sklearn's cross_val_predict on freshly computed features."""
    ours = metrics_report(tiny_dataset, NAMES, cv=cv, folds=3)  # type: ignore[arg-type]
    y = tiny_dataset.labels
    for row, name in zip(ours.classifiers, NAMES, strict=True):
        classifier = make_classifier(name)
        features = classifier.extract_features(tiny_dataset.images)
        if classifier.__sklearn_tags__().requires_fit:
            splitter = StratifiedKFold(3, shuffle=True, random_state=0) if cv == "stratified" else LeaveOneGroupOut()
            groups = None if cv == "stratified" else tiny_dataset.sources
            y_pred = cross_val_predict(classifier.make_model(), features, y, cv=splitter, groups=groups)
        else:
            y_pred = classifier.predict(tiny_dataset.images)
        expected = score_predictions(name, row.protocol, y, np.asarray(y_pred), tiny_dataset.sources, 0.0)
        assert (row.name, row.accuracy, row.balanced_accuracy, row.ci95, row.n) == (
            expected.name,
            expected.accuracy,
            expected.balanced_accuracy,
            expected.ci95,
            expected.n,
        )
        assert row.per_source == expected.per_source
    theirs = reproduce(tiny_dataset, NAMES, cv=cv, folds=3, cv_rows=False)  # type: ignore[arg-type]
    assert [(r.name, r.protocol, r.accuracy) for r in ours.classifiers] == [
        (r.name, r.protocol, r.accuracy) for r in theirs.classifiers
    ]


def test_protocols_share_one_feature_pass(tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_feature_cache()
    calls = []
    original = ByteLengthClassifier.image_features

    def counted(self: ByteLengthClassifier, data: bytes) -> object:
        calls.append(1)
        return original(self, data)

    monkeypatch.setattr(ByteLengthClassifier, "image_features", counted)
    metrics_report(tiny_dataset, ["byte-length"], folds=3)
    metrics_report(tiny_dataset, ["byte-length"], cv="source")
    score_classifier(tiny_dataset, "byte-length", cv="stratified", folds=4)
    assert len(calls) == len(tiny_dataset)


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
