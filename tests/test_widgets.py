"""The widget factories run headless: setting a control reruns the package function and updates the readout."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pytest

from imgclass import widgets
from imgclass.data import Dataset
from imgclass.decode import decode_image
from imgclass.exploration.blur_sweep import BlurSettings
from imgclass.exploration.colour_preview import share_curves
from imgclass.exploration.range_fitting import RangeFit
from imgclass.exploration.thresholds import Reading
from imgclass.features.byte_lengths import byte_length_matrix
from tests.exploration.conftest import as_dataset


@pytest.fixture(scope="module")
def dataset(tiny_set: tuple[list[bytes], np.ndarray]) -> Dataset:
    return as_dataset(*tiny_set)


@pytest.fixture(autouse=True)
def no_figures_left() -> Iterator[None]:
    yield
    assert plt.get_fignums() == [], "a widget left a figure open"


def test_range_fitting_widget(dataset: Dataset) -> None:
    panel = widgets.range_fitting_widget(byte_length_matrix(dataset.images), dataset.labels, n_ranges=6)
    assert isinstance(panel.result, RangeFit) and panel.result.n_ranges == 6
    assert set(panel.controls) == {"n_ranges", "strategy"}
    panel.controls["n_ranges"].value = 3
    panel.controls["strategy"].value = "uniform"
    assert (panel.result.n_ranges, panel.result.strategy) == (3, "uniform") and len(panel.result.edges) <= 2
    assert "uniform ranges" in panel.readout.value
    assert widgets.READOUT_CLASS in panel.readout._dom_classes and panel.readout in panel.children
    with pytest.raises(ValueError, match="strategy"):
        widgets.range_fitting_widget([1.0, 2.0], [0, 1], strategy="median")


def test_bilateral_widget(dataset: Dataset) -> None:
    panel = widgets.bilateral_widget(dataset, settings=BlurSettings(5, 50, 50))
    first = panel.result
    assert isinstance(first, Reading) and first.chosen.n == len(dataset)
    # Starts at the best cut for its settings.
    assert first.chosen.accuracy == pytest.approx(first.best.accuracy, abs=0.05)
    panel.controls["threshold"].value = 0.0
    assert panel.result.chosen.threshold == 0.0 and panel.result.chosen.accuracy == 0.5
    before = panel.readout.value
    panel.controls["diameter"].value = 3
    assert panel.readout.value != before
    assert panel.controls["diameter"].min == 3 and panel.controls["diameter"].step == 2


def test_colour_count_widget(dataset: Dataset) -> None:
    curves = share_curves(dataset, size=128, max_colours=64)
    examples = [("a", decode_image(dataset.images[0])), ("b", decode_image(dataset.images[1]))]
    panel = widgets.colour_count_widget(curves, examples, n_colours=32, threshold=0.3)
    assert panel.result.chosen.threshold == 0.3 and panel.result.chosen.direction == 1
    panel.controls["threshold"].value = 1.0
    assert panel.result.chosen.accuracy == 0.5  # nothing covers more than all pixels: all called real
    panel.controls["n_colours"].value = 1
    assert panel.controls["n_colours"].max == 64 and "share &gt;" not in panel.readout.value
    assert "share > 1" in panel.readout.value
