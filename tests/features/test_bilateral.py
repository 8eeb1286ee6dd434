import numpy as np
import pytest

from imgclass.decode import decode_image
from imgclass.features.bilateral import HIST_METRICS, bilateral_distance, channel_histograms


def test_golden_values(china_jpeg: bytes, flower_jpeg: bytes, cartoon_png: bytes) -> None:
    assert bilateral_distance(decode_image(china_jpeg)) == pytest.approx(0.095908, abs=2e-3)
    assert bilateral_distance(decode_image(flower_jpeg)) == pytest.approx(0.075434, abs=2e-3)
    assert bilateral_distance(decode_image(cartoon_png)) == pytest.approx(0.087870, abs=2e-3)
    assert bilateral_distance(decode_image(china_jpeg), metric="correl", diameter=5) == pytest.approx(
        0.970317, abs=2e-3
    )


def test_flat_image_is_unchanged_by_the_filter() -> None:
    flat = np.full((40, 40, 3), 120, np.uint8)
    assert bilateral_distance(flat) == pytest.approx(0.0, abs=1e-6)
    assert bilateral_distance(flat, metric="correl") == pytest.approx(1.0)


def test_more_blur_moves_a_noisy_image_more() -> None:
    noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    light = bilateral_distance(noisy, diameter=3, sigma_color=10, sigma_space=10)
    heavy = bilateral_distance(noisy, diameter=9, sigma_color=150, sigma_space=150)
    assert heavy > light > 0


def test_histograms_are_normalised() -> None:
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    hists = channel_histograms(image, bins=16)
    assert len(hists) == 3 and all(h.size == 16 and h.sum() == pytest.approx(1.0) for h in hists)


def test_every_metric_runs_and_bad_ones_fail() -> None:
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert all(np.isfinite(bilateral_distance(image, metric=m)) for m in HIST_METRICS)
    with pytest.raises(ValueError, match="metric"):
        bilateral_distance(image, metric="euclid")
    with pytest.raises(ValueError, match="diameter"):
        bilateral_distance(image, diameter=0)
