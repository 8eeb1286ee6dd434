import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imgclass.features.colour_stats import (
    PALETTE_FEATURES,
    histogram_peakiness,
    palette_stats,
    quantised_histogram,
)
from imgclass.features.working_image import decode_working

small_images = arrays(np.uint8, st.tuples(st.integers(1, 16), st.integers(1, 16), st.just(3)))


def test_golden_values(china_jpeg: bytes, cartoon_png: bytes) -> None:
    china = palette_stats(decode_working(china_jpeg, side=256))
    assert china == pytest.approx((0.07945, 0.303705, 0.749589, 146.0, 0.123779, 0.572212), abs=2e-3, rel=2e-2)
    cartoon = palette_stats(decode_working(cartoon_png, side=256))
    assert cartoon == pytest.approx((0.658371, 1.0, 1.0, 4.0, 0.001953, 0.142537), abs=1e-4)
    assert histogram_peakiness(decode_working(china_jpeg, side=256)) == pytest.approx(0.061984, abs=2e-3)
    assert histogram_peakiness(decode_working(cartoon_png, side=256)) == pytest.approx(0.853998, abs=1e-4)


def test_quantised_histogram_counts_every_pixel_in_its_bin() -> None:
    image = np.array([[[0, 0, 0], [255, 255, 255], [16, 32, 48]]], np.uint8)
    hist = quantised_histogram(image, bits=4)
    assert hist.size == 4096 and hist.sum() == 3
    assert hist[0] == 1 and hist[4095] == 1 and hist[(1 << 8) | (2 << 4) | 3] == 1


def test_single_colour() -> None:
    stats = dict(zip(PALETTE_FEATURES, palette_stats(np.full((10, 10, 3), 200, np.uint8)), strict=True))
    assert stats["prevalent_colour_share"] == 1.0 and stats["top64_colour_share"] == 1.0
    assert stats["colours_for_90pct"] == 1.0 and stats["colour_entropy"] == 0.0
    assert stats["distinct_colours"] == pytest.approx(1 / 100)


def test_noise_spreads_over_many_colours() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    stats = dict(zip(PALETTE_FEATURES, palette_stats(noise), strict=True))
    assert stats["colour_entropy"] > 0.95 and stats["colours_for_90pct"] > 3000
    assert stats["prevalent_colour_share"] < 0.01
    assert histogram_peakiness(noise) < 0.2


@settings(max_examples=40, deadline=None)
@given(small_images, st.integers(0, 2**32 - 1))
def test_properties(image: np.ndarray, seed: int) -> None:
    stats = palette_stats(image)
    assert len(stats) == len(PALETTE_FEATURES)
    top1, top8, top64, needed, distinct, entropy = stats
    assert 0 < top1 <= top8 <= top64 <= 1.0
    assert 1 <= needed <= image.shape[0] * image.shape[1]
    assert 0 < distinct <= 1 and 0 <= entropy <= 1
    # Statistics of a colour histogram cannot depend on where the pixels are.
    shuffled = np.random.default_rng(seed).permutation(image.reshape(-1, 3)).reshape(image.shape)
    assert palette_stats(shuffled) == pytest.approx(stats)
    assert histogram_peakiness(shuffled) == pytest.approx(histogram_peakiness(image))
    assert 0 <= histogram_peakiness(image) <= 1


def test_bad_arguments() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="bits"):
        quantised_histogram(image, bits=0)
    with pytest.raises(ValueError, match="coverage"):
        palette_stats(image, coverage=0.0)
    with pytest.raises(ValueError, match="window"):
        histogram_peakiness(image, window=0)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        palette_stats(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="no pixels"):
        palette_stats(np.zeros((0, 4, 3), np.uint8))
