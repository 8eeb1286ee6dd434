"""Format sniffing and dimension reading for every supported container (``imgclass.headers`` re-exports it)."""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgclass import headers
from imgclass.parsers.container import FORMATS, read_header, sniff_format
from tests.conftest import encode

IMAGE = np.zeros((37, 53, 3), np.uint8)
ENCODED = {
    "jpeg": encode(IMAGE, ".jpg"),
    "png": encode(IMAGE, ".png"),
    "bmp": encode(IMAGE, ".bmp"),
    "webp": encode(IMAGE, ".webp", cv2.IMWRITE_WEBP_QUALITY, 80),
    "tiff": encode(IMAGE, ".tiff"),
}


def test_headers_module_is_the_same_reader() -> None:
    assert headers.read_header is read_header and headers.sniff_format is sniff_format


@pytest.mark.parametrize("fmt", sorted(ENCODED))
def test_every_format_reads_its_dimensions(fmt: str) -> None:
    data = ENCODED[fmt]
    assert sniff_format(data) == fmt and fmt in FORMATS
    assert read_header(data) == headers.ImageHeader(fmt, 53, 37)


@pytest.mark.parametrize("fmt", sorted(ENCODED))
def test_every_truncation_of_the_header_is_clean(fmt: str) -> None:
    data = ENCODED[fmt]
    for cut in range(min(len(data), 700)):
        try:
            header = read_header(data[:cut])
        except ValueError:
            continue
        assert (header.width, header.height) == (53, 37)


@given(st.sampled_from(sorted(ENCODED)), st.binary(max_size=256))
def test_valid_magic_with_garbage_after_is_clean(fmt: str, garbage: bytes) -> None:
    magic = ENCODED[fmt][:12]
    for data in (magic + garbage, ENCODED[fmt][:16] + garbage):
        try:
            header = read_header(data)
        except ValueError:
            continue
        assert header.width > 0 and header.height > 0


@given(st.binary(max_size=512))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        read_header(data)
