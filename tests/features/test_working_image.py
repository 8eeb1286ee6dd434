import cv2
import numpy as np
import pytest

from imgclass.decode import ImageDecodeError, decode_image
from imgclass.features.working_image import WORKING_SIDE, decode_working, fit_within, reduction_factor
from tests.conftest import draw_cartoon, encode, noisy_photo


def test_reduction_factor() -> None:
    assert reduction_factor(512, 512, 256) == 2
    assert reduction_factor(512, 300, 128) == 4
    assert reduction_factor(4000, 3000, 256) == 8
    assert reduction_factor(300, 200, 256) == 1
    assert reduction_factor(100, 100, 256) == 1
    assert reduction_factor(511, 511, 256) == 2  # libjpeg rounds the scaled size up: ceil(511 / 2) = 256
    assert reduction_factor(510, 510, 256) == 1
    with pytest.raises(ValueError, match="side"):
        reduction_factor(10, 10, 0)


def test_jpeg_reduced_decode_matches_full_decode_then_resize() -> None:
    image = cv2.resize(noisy_photo(1), (512, 384), interpolation=cv2.INTER_CUBIC)
    data = encode(image, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)
    working = decode_working(data, side=256)
    assert working.shape == (192, 256, 3) and working.dtype == np.uint8
    reference = cv2.resize(decode_image(data), (256, 192), interpolation=cv2.INTER_AREA)
    # DCT scaling and area averaging differ by rounding and a little ringing, never by content.
    assert np.abs(working.astype(int) - reference.astype(int)).mean() < 2.0


def test_other_formats_are_decoded_whole_and_area_averaged() -> None:
    image = cv2.resize(draw_cartoon(3), (600, 300), interpolation=cv2.INTER_NEAREST)
    working = decode_working(encode(image, ".png"), side=256)
    assert working.shape == (128, 256, 3)
    assert np.array_equal(working, cv2.resize(image, (256, 128), interpolation=cv2.INTER_AREA))


def test_alpha_is_flattened_on_white_and_small_images_kept() -> None:
    bgra = np.zeros((40, 30, 4), np.uint8)
    bgra[:, :15, 3] = 255  # left half opaque black, right half transparent
    working = decode_working(encode(bgra, ".png"))
    assert working.shape == (40, 30, 3)
    assert working[:, :15].max() == 0 and working[:, 15:].min() == 255


def test_side_is_respected() -> None:
    data = encode(noisy_photo(0), ".jpg")
    for side in (17, 64, WORKING_SIDE, 1000):
        assert max(decode_working(data, side=side).shape[:2]) == min(side, 256)


def test_fit_within_leaves_small_images_alone() -> None:
    image = np.zeros((10, 20, 3), np.uint8)
    assert fit_within(image, 20) is image
    assert fit_within(image, 10).shape == (5, 10, 3)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ImageDecodeError):
        decode_working(b"not an image")
    data = encode(noisy_photo(0), ".jpg")
    with pytest.raises(ImageDecodeError, match="limit"):
        decode_working(data, max_pixels=100)
    with pytest.raises(ImageDecodeError):
        decode_working(data[:200])
