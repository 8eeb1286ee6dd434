"""Every figure function draws on small inputs and returns a figure with the expected axes."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pytest

from imgclass import plots
from imgclass.data import Dataset
from imgclass.exploration.blur_sweep import blur_sweep
from imgclass.exploration.metrics import metrics_report, size_spread
from imgclass.exploration.outliers import outlier_study
from imgclass.exploration.range_fitting import range_sweep
from imgclass.exploration.reencode import ReencodedLengths, summarise
from imgclass.exploration.thresholds import roc, threshold_outcome
from imgclass.features.byte_lengths import byte_length_matrix
from tests.exploration.conftest import as_dataset

RNG = np.random.default_rng(0)
LABELS = np.repeat([0, 1], 20)
LENGTHS = byte_length_matrix([bytes(int(n)) for n in RNG.integers(1000, 9000, 40)])
IMAGE = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def dataset(tiny_set: tuple[list[bytes], np.ndarray]) -> Dataset:
    return as_dataset(*tiny_set)


@pytest.fixture(autouse=True)
def close_all() -> Iterator[None]:
    yield
    plt.close("all")


def test_byte_length_figures() -> None:
    assert len(plots.length_distributions(LENGTHS, LABELS).axes) == 6
    assert len(plots.length_identities(LENGTHS).axes) == 1
    measured = ReencodedLengths(("A", "B"), np.vstack([LENGTHS[:, 0], 2 * LENGTHS[:, 0]]).astype(np.int64), LABELS)
    fig = plots.encoding_boxplots(measured, summarise(measured, folds=2))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["A", "B"]


def test_range_figures() -> None:
    fig = plots.ranges_over_histogram(LENGTHS, LABELS, [3000.0, 6000.0])
    assert len(fig.axes[0].lines) == 2 and "3 ranges" in fig.axes[0].get_title()
    sweep = range_sweep(LENGTHS[:, 0], LABELS, n_ranges=(2, 3), strategies=("quantile",), folds=2)
    assert len(plots.range_sweep_plot(sweep).axes[0].lines) >= 2
    rows = outlier_study(LENGTHS[:, 0], LABELS, n_ranges=3, folds=2)
    assert len(plots.outlier_chart(rows).axes[0].patches) == 2 * len(rows)


def test_threshold_figures() -> None:
    scores = RNG.random(40) + LABELS
    outcome = threshold_outcome(scores, LABELS, 1.0)
    fig = plots.confusion_matrix_plot(outcome)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(str(v) for row in outcome.confusion for v in row)
    assert plots.score_histogram(scores, LABELS, threshold=1.0).axes[0].get_legend() is not None
    assert "AUC" in plots.roc_plot(roc(scores, LABELS), point=(0.1, 0.9)).axes[0].get_legend().texts[0].get_text()


def test_image_figures() -> None:
    assert len(plots.before_after([("x", IMAGE, IMAGE), ("y", IMAGE, IMAGE)]).axes) == 4
    assert len(plots.colour_preview_grid([("x", IMAGE, IMAGE, 0.5)]).axes) == 2
    fig = plots.thumbnail_grid([IMAGE] * 3, ["a", "b", "c"], columns=2)
    assert len(fig.axes) == 4 and fig.axes[2].get_title() == "c"
    _fig, ax = plt.subplots()
    plots.show_image(ax, IMAGE, "t")
    assert ax.get_title() == "t" and not ax.axison
    np.testing.assert_array_equal(ax.images[0].get_array(), IMAGE[..., ::-1])


def test_sweep_and_metrics_figures(dataset: Dataset) -> None:
    sweep = blur_sweep(dataset, "diameter", (3, 5), folds=2)
    assert len(plots.blur_sweep_plot([sweep, sweep]).axes) == 2
    names = ("byte-length", "colour-count")
    stratified = metrics_report(dataset, names, folds=2)
    grouped = metrics_report(dataset, names, cv="source")
    assert len(plots.metrics_bar_chart(stratified).axes) == 1
    fig = plots.protocol_chart([stratified, grouped])
    assert len(fig.axes[0].get_legend().texts) == 3
    heat = plots.per_source_chart(grouped)
    assert len(heat.axes[0].get_yticklabels()) == len(set(dataset.sources))
    spread = size_spread(dataset, names, sizes=(12, 24), repeats=2, folds=2)
    assert plots.size_spread_plot(spread).axes[0].get_legend() is not None
