import struct

import cv2
import numpy as np
import pytest

from imgclass.decode import ImageDecodeError, decode_image, flatten_alpha, to_bgr8
from tests.conftest import encode


def test_bgr_round_trip_is_exact_for_png() -> None:
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = decode_image(encode(image))
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, image)


def test_alpha_is_flattened_onto_white() -> None:
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 2] = 255  # red
    bgra[:2, :, 3] = 255  # top half opaque, bottom half transparent
    out = decode_image(encode(bgra))
    np.testing.assert_array_equal(out[0, 0], [0, 0, 255])
    np.testing.assert_array_equal(out[3, 3], [255, 255, 255])


def test_half_alpha_blends() -> None:
    pixel = np.array([[[0, 0, 0, 128]]], np.uint8)
    assert flatten_alpha(pixel)[0, 0].tolist() == [127, 127, 127]


def test_gray_and_16_bit_become_bgr8() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert decode_image(encode(gray)).shape == (3, 4, 3)
    deep = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    out = to_bgr8(deep)
    assert out.dtype == np.uint8 and out[0, 0, 0] == 0 and out[-1, -1, 0] == 55000 // 257


def test_not_an_image() -> None:
    with pytest.raises(ImageDecodeError, match="unknown magic"):
        decode_image(b"%PDF-1.4 not an image")
    with pytest.raises(ValueError):  # ImageDecodeError is a ValueError
        decode_image(b"")


def test_truncated_image_is_refused(china_jpeg: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        decode_image(china_jpeg[:300])


def test_bomb_header_is_refused_before_decoding() -> None:
    png = bytearray(encode(np.zeros((2, 2, 3), np.uint8)))
    png[16:24] = struct.pack(">II", 100_000, 100_000)  # claims 10 gigapixels
    with pytest.raises(ImageDecodeError, match="exceeds the limit"):
        decode_image(bytes(png))
    with pytest.raises(ImageDecodeError, match="exceeds the limit"):
        decode_image(encode(np.zeros((10, 10, 3), np.uint8)), max_pixels=99)


def test_decodes_sample_photo(china_jpeg: bytes) -> None:
    assert decode_image(china_jpeg).shape == cv2.imread(
        str(__import__("tests.conftest", fromlist=["SAMPLE_DIR"]).SAMPLE_DIR / "china.jpg")
    ).shape
