import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from imgclass.data import load_dataset
from imgclass.evaluation import POSTER_FIGURES, evaluate, per_source_scores, reproduce, wilson_interval


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (77, 83), (250, 480)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_wilson_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        wilson_interval(1, 0)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_per_source_rows() -> None:
    y = np.array([0, 0, 1, 1, 1])
    pred = np.array([0, 1, 1, 1, 0])
    rows = per_source_scores(y, pred, np.array(["a", "a", "b", "b", "c"]))
    assert [(r.source, r.label, r.n, r.accuracy) for r in rows] == [
        ("a", "real", 2, 0.5),
        ("b", "animated", 2, 1.0),
        ("c", "animated", 1, 0.0),
    ]


def test_reproduce_scores_every_poster_row(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), folds=3)
    assert [c.name for c in report.classifiers] == list(POSTER_FIGURES)
    for row in report.classifiers:
        assert row.n == 24 and 0 <= row.ci95[0] <= row.accuracy <= row.ci95[1] <= 1
        assert row.poster == POSTER_FIGURES[row.name] and row.ms_per_image > 0
    protocols = {c.name: c.protocol for c in report.classifiers}
    assert protocols == {
        "byte-length": "3-fold",
        "byte-onehot": "3-fold",
        "bilateral": "3-fold",
        "colour-count": "fixed rule",
    }
    # The synthetic drawings are far smaller files than the noisy photos: held out, size alone works.
    assert report.classifiers[0].accuracy == 1.0
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data["classifiers"][0]) >= {"name", "accuracy", "balanced_accuracy", "f1", "ci95", "n", "ms_per_image"}
    assert "poster" in report.to_table() and "byte-onehot" in report.to_table()


def test_group_cv_holds_out_whole_sources(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), ["byte-length"], cv="group")
    row = report.classifiers[0]
    assert row.protocol == "by-source" and {s.source for s in row.per_source} == {
        "photo_a",
        "photo_b",
        "drawn_a",
        "drawn_b",
    }
    with pytest.raises(ValueError, match="cv"):
        reproduce(load_dataset(tiny_dir), ["byte-length"], cv="random")  # type: ignore[arg-type]


def test_evaluate_on_a_separate_set_reports_sources(tiny_dir: Path) -> None:
    data = load_dataset(tiny_dir)
    train = load_dataset(tiny_dir, sources=["photo_a", "drawn_a"])
    test = load_dataset(tiny_dir, sources=["photo_b", "drawn_b"])
    assert len(train) + len(test) == len(data)
    report = evaluate(train, test, ["byte-length", "colour-count"])
    assert [r.protocol for r in report.classifiers] == ["held-out", "held-out"]
    assert {s.source for s in report.classifiers[0].per_source} == {"photo_b", "drawn_b"}
    assert report.train == str(tiny_dir) and "drawn_b" in report.per_source_table()
