import cv2
import numpy as np
import pytest

from imgclass.features.noise import bilateral_stats, noise_residual, noise_stats
from imgclass.features.working_image import decode_working


def gray_of(data: bytes) -> np.ndarray:
    return cv2.cvtColor(decode_working(data, side=256), cv2.COLOR_BGR2GRAY)


def test_golden_values(china_jpeg: bytes, cartoon_png: bytes) -> None:
    assert noise_stats(gray_of(china_jpeg)) == pytest.approx((4.094064, 1.044428, 0.086894), abs=3e-3, rel=3e-2)
    assert noise_stats(gray_of(cartoon_png)) == pytest.approx((2.994283, 0.0, 0.937752), abs=1e-4)
    assert bilateral_stats(gray_of(china_jpeg)) == pytest.approx((2.84905, 0.469298), abs=3e-3, rel=3e-2)
    assert bilateral_stats(gray_of(cartoon_png)) == pytest.approx((0.022034, 0.005157), abs=1e-4)


def test_linear_ramps_leave_no_residual() -> None:
    # Immerkaer's kernel cancels any locally linear signal: only noise survives.
    y, x = np.mgrid[0:40, 0:50]
    ramp = (2 * x + y).astype(np.uint8)
    assert not noise_residual(ramp).any()
    assert noise_stats(ramp) == (0.0, 0.0, 1.0)
    assert bilateral_stats(np.full((20, 20), 9, np.uint8)) == (0.0, 0.0)


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_estimates_the_noise_of_a_noisy_flat_image(sigma: float) -> None:
    rng = np.random.default_rng(int(sigma))
    image = np.clip(128 + rng.normal(0, sigma, (256, 256)), 0, 255).astype(np.uint8)
    estimate, median, free = noise_stats(image)
    assert estimate == pytest.approx(sigma, rel=0.1)
    assert 0 < median < estimate * 1.2 and free < 0.2
    residual, changed = bilateral_stats(image)
    assert residual > 0 and changed > 0


def test_tiny_and_bad_images() -> None:
    assert noise_stats(np.zeros((2, 2), np.uint8)) == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        noise_stats(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="no pixels"):
        bilateral_stats(np.zeros((0, 4), np.uint8))
