import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imgclass.features.gradients import GRADIENT_FEATURES, gradient_magnitude, gradient_stats
from imgclass.features.working_image import decode_working


def gray_of(data: bytes) -> np.ndarray:
    return cv2.cvtColor(decode_working(data, side=256), cv2.COLOR_BGR2GRAY)


def test_golden_values(china_jpeg: bytes, cartoon_png: bytes) -> None:
    china = (0.373858, 0.562614, 0.400745, 0.036641, 0.043439, 0.019608, 0.117647, 0.091427, 0.345238)
    assert gradient_stats(gray_of(china_jpeg)) == pytest.approx(china, abs=3e-3, rel=2e-2)
    cartoon = (0.919373, 0.919373, 0.02182, 0.058807, 0.024031, 0.0, 0.0, 2.693222, 0.798828)
    assert gradient_stats(gray_of(cartoon_png)) == pytest.approx(cartoon, abs=1e-4)


def test_flat_image_is_all_flat() -> None:
    stats = dict(zip(GRADIENT_FEATURES, gradient_stats(np.full((32, 32), 77, np.uint8)), strict=True))
    assert stats["flat_share"] == 1 and stats["flat_block_share"] == 1
    assert stats["edge_share"] == 0 and stats["texture_share"] == 0 and stats["gradient_mean"] == 0


def test_step_edge_is_an_edge() -> None:
    image = np.zeros((32, 32), np.uint8)
    image[:, 16:] = 200
    magnitude = gradient_magnitude(image)
    assert (magnitude[:, 15:17] == 100).all()  # a central difference spreads the step over two pixels
    assert not magnitude[:, :15].any() and not magnitude[:, 17:].any()
    stats = dict(zip(GRADIENT_FEATURES, gradient_stats(image), strict=True))
    assert stats["edge_share"] == pytest.approx(2 / 32)
    assert stats["flat_share"] == pytest.approx(30 / 32)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.just((24, 24))))
def test_transposing_changes_nothing(image: np.ndarray) -> None:
    stats = gradient_stats(image)
    assert gradient_stats(np.ascontiguousarray(image.T)) == pytest.approx(stats)
    shares = stats[:4]
    assert sum(shares[1:]) == pytest.approx(1.0) and 0 <= shares[0] <= shares[1]


def test_tiny_and_bad_images() -> None:
    assert gradient_stats(np.zeros((3, 3), np.uint8))[-1] == 0.0  # no whole 8x8 block
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        gradient_stats(np.zeros((4, 4, 3), np.uint8))
