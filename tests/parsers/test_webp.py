"""The WEBP header parser: pinned values on OpenCV-made files, and clean errors on anything else."""

from __future__ import annotations

import cv2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.parsers.webp import WebpInfo, parse_webp
from tests.conftest import draw_cartoon, encode, noisy_photo


@pytest.mark.parametrize(("quality", "quantiser", "level"), [(20, 78, 30), (75, 36, 11), (100, 0, 0)])
def test_lossy_headers(quality: int, quantiser: int, level: int) -> None:
    data = encode(noisy_photo(1), ".webp", cv2.IMWRITE_WEBP_QUALITY, quality)
    info = parse_webp(data)
    assert (info.width, info.height, info.lossless, info.animated) == (256, 256, False, False)
    assert (info.quantiser, info.filter_level, info.token_partitions) == (quantiser, level, 1)
    assert info.data_bytes == len(data) - 20 and 0 < info.first_partition < info.data_bytes


def test_drawings_spend_a_larger_share_on_modes() -> None:
    drawing = parse_webp(encode(draw_cartoon(0), ".webp", cv2.IMWRITE_WEBP_QUALITY, 75))
    photo = parse_webp(encode(noisy_photo(1), ".webp", cv2.IMWRITE_WEBP_QUALITY, 75))
    assert drawing.first_partition / drawing.data_bytes > 1.5 * photo.first_partition / photo.data_bytes


def test_lossless_headers() -> None:
    drawing = parse_webp(encode(draw_cartoon(0), ".webp", cv2.IMWRITE_WEBP_QUALITY, 101))
    assert drawing.lossless and (drawing.first_transform, drawing.palette_size) == (3, 8)
    photo = parse_webp(encode(noisy_photo(1), ".webp", cv2.IMWRITE_WEBP_QUALITY, 101))
    assert photo.lossless and photo.first_transform == 2 and photo.palette_size == 0


@pytest.mark.parametrize(
    "data",
    [b"", b"RIFF\x00\x00\x00\x00WEBP", b"RIFF\x10\x00\x00\x00WEBPVP8 \x04\x00\x00\x00abcd", b"RIFF....WEBPVP8L\x05"],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(ValueError, match="webp"):
        parse_webp(data)


SMALL = encode(draw_cartoon(2, size=48), ".webp", cv2.IMWRITE_WEBP_QUALITY, 60)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 200),
)
def test_corrupt_files_parse_or_raise_value_error(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SMALL)
    for at, value in edits:
        data[at] = value
    try:
        info = parse_webp(bytes(data[: len(data) - cut]))
    except ValueError:
        return
    assert isinstance(info, WebpInfo) and 0 <= info.quantiser <= 127
