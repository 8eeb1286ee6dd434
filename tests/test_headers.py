import contextlib
import struct

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.headers import read_header, sniff_format
from tests.conftest import encode

IMAGE = np.zeros((37, 53, 3), np.uint8)


@pytest.mark.parametrize(
    ("ext", "fmt"), [(".jpg", "jpeg"), (".png", "png"), (".bmp", "bmp"), (".webp", "webp"), (".tiff", "tiff")]
)
def test_dimensions_match_what_opencv_encoded(ext: str, fmt: str) -> None:
    header = read_header(encode(IMAGE, ext))
    assert (header.format, header.width, header.height) == (fmt, 53, 37)
    assert header.pixels == 53 * 37


def test_lossless_webp_and_progressive_jpeg() -> None:
    assert read_header(encode(IMAGE, ".webp", cv2.IMWRITE_WEBP_QUALITY, 101)).width == 53
    assert read_header(encode(IMAGE, ".jpg", cv2.IMWRITE_JPEG_PROGRESSIVE, 1)).height == 37


def test_gif_header() -> None:
    gif = b"GIF89a" + struct.pack("<HH", 640, 480) + b"\x00" * 10
    assert read_header(gif) == read_header(gif)  # frozen and comparable
    assert (read_header(gif).width, read_header(gif).height) == (640, 480)


def test_unknown_magic_is_a_clear_error() -> None:
    assert sniff_format(b"hello world") is None
    with pytest.raises(ValueError, match="unknown magic"):
        read_header(b"hello world")


@pytest.mark.parametrize("ext", [".jpg", ".png", ".bmp", ".webp"])
def test_every_truncation_is_a_value_error_or_a_header(ext: str) -> None:
    data = encode(IMAGE, ext)
    for end in range(len(data[:400])):
        try:
            header = read_header(data[:end])
        except ValueError:
            continue
        assert (header.width, header.height) == (53, 37)


def test_zero_dimensions_are_refused() -> None:
    png = bytearray(encode(IMAGE, ".png"))
    png[16:24] = struct.pack(">II", 0, 10)
    with pytest.raises(ValueError, match="impossible"):
        read_header(bytes(png))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"II*\x00", b"RIFF"]), st.binary())
def test_garbage_after_magic_never_crashes(magic: bytes, tail: bytes) -> None:
    with contextlib.suppress(ValueError):
        read_header(magic + tail)
