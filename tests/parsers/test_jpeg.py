"""The JPEG header parser: pinned values on known files, and clean errors on anything else."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgclass.parsers.jpeg import (
    MAX_SEGMENTS,
    STANDARD_HUFFMAN,
    STANDARD_LUMA_QUANT,
    ZIGZAG,
    JpegInfo,
    estimate_quality,
    iter_segments,
    jpeg_size,
    parse_jpeg,
)
from tests.conftest import encode

IMAGE = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
SMALL = encode(IMAGE, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)
SMALL_INFO = parse_jpeg(SMALL)


def parses_or_value_error(data: bytes) -> JpegInfo | None:
    try:
        return parse_jpeg(data)
    except ValueError:
        return None


def test_cv2_q90_golden_values() -> None:
    info = SMALL_INFO
    assert (info.width, info.height, info.precision, info.sof_marker) == (40, 24, 8, 0xC0)
    assert [(c.id, c.h, c.v, c.quant_table) for c in info.components] == [(1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 1, 1)]
    assert info.subsampling == (2.0, 2.0)
    assert info.quality() == (90.0, 90.0)
    assert not info.progressive and not info.arithmetic and not info.lossless
    assert not info.huffman_optimised and len(info.huffman_tables) == 4
    assert info.restart_interval == 0 and info.comments == 0 and info.scan_components == 3
    assert info.has_jfif and not (info.has_exif or info.has_icc or info.has_xmp or info.has_adobe)
    # SOI + APP0(18) + 2 x DQT(69) + SOF0(19) + DHT(33, 183, 33, 183) + SOS(14): libjpeg's fixed layout.
    assert info.scan_offset == 2 + 18 + 2 * 69 + 19 + 33 + 183 + 33 + 183 + 14 == 623


def test_china_golden_values(china_jpeg: bytes) -> None:
    info = parse_jpeg(china_jpeg)
    assert (info.width, info.height, info.scan_offset) == (640, 427, 4307)
    assert info.subsampling == (1.0, 1.0)
    assert info.huffman_optimised
    assert info.quality() == (96.0, 96.0)
    assert info.has_icc and info.has_jfif and not info.has_exif
    assert [seg.n for seg in info.app_segments] == [0, 2, 1]


@pytest.mark.parametrize("quality", [5, 25, 50, 75, 95, 100])
def test_quality_estimate_inverts_libjpeg(quality: int) -> None:
    info = parse_jpeg(encode(IMAGE, ".jpg", cv2.IMWRITE_JPEG_QUALITY, quality))
    assert info.quality() == (quality, quality)
    assert estimate_quality(info.quant_tables[0].values)[1] == 0.0


def test_quality_50_is_the_annex_k_table() -> None:
    info = parse_jpeg(encode(IMAGE, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 50))
    assert info.quant_tables[0].natural() == STANDARD_LUMA_QUANT
    assert sorted(ZIGZAG) == list(range(64))


def test_standard_huffman_tables_match_what_libjpeg_writes() -> None:
    written = {(t.table_class, t.id): (t.counts, t.symbols) for t in SMALL_INFO.huffman_tables}
    assert written == STANDARD_HUFFMAN
    assert all(sum(counts) == len(symbols) for counts, symbols in STANDARD_HUFFMAN.values())


def test_encoder_options_are_seen() -> None:
    data = encode(
        IMAGE,
        ".jpg",
        cv2.IMWRITE_JPEG_OPTIMIZE, 1,
        cv2.IMWRITE_JPEG_PROGRESSIVE, 1,
        cv2.IMWRITE_JPEG_RST_INTERVAL, 4,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    )  # fmt: skip
    info = parse_jpeg(data)
    assert info.progressive and info.huffman_optimised
    assert info.restart_interval == 4 and info.subsampling == (1.0, 1.0)
    grey = parse_jpeg(encode(IMAGE[:, :, 0], ".jpg"))
    assert len(grey.components) == 1 and grey.quality()[1] == 0.0 and grey.subsampling == (1.0, 1.0)


def test_app_segments_and_fill_bytes() -> None:
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 6 + 4) + b"Exif\x00\x00MM\x00*"
    comment = b"\xff\xfe\x00\x05hi!"
    data = SMALL[:2] + exif + b"\xff\xff\xff" + comment + SMALL[2:]
    info = parse_jpeg(data)
    assert info.has_exif and info.comments == 1
    assert info.scan_offset == SMALL_INFO.scan_offset + len(exif) + 3 + len(comment)


def test_size_matches_full_parse() -> None:
    assert jpeg_size(SMALL) == (40, 24)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "start-of-image"),
        (b"\xff\xd8", "ends before"),
        (b"\xff\xd8\xff", "ends before"),
        (b"\xff\xd8\x00", "expected a marker"),
        (b"\xff\xd8\xff\xd9", "end of image"),
        (b"\xff\xd8\xff\xd8", "unexpected marker"),
        (b"\xff\xd8\xff\xe0\x00\x01", "length 1"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "past the end"),
        (b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00", "before any frame"),
    ],
)
def test_malformed_headers_are_value_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_jpeg(data)


def test_segment_walk_is_bounded() -> None:
    comments = b"\xff\xfe\x00\x02" * (MAX_SEGMENTS + 1)
    with pytest.raises(ValueError, match="more than"):
        parse_jpeg(b"\xff\xd8" + comments + SMALL[2:])


def test_second_frame_header_is_refused() -> None:
    sof = next(s for s in iter_segments(SMALL) if s.marker == 0xC0)
    segment = SMALL[sof.offset - 4 : sof.offset + sof.length]
    with pytest.raises(ValueError, match="more than one frame"):
        parse_jpeg(SMALL[:2] + segment + SMALL[2:])


def test_every_truncation_is_clean() -> None:
    for cut in range(len(SMALL)):
        info = parses_or_value_error(SMALL[:cut])
        if cut < SMALL_INFO.scan_offset:
            assert info is None, cut
        else:  # everything before the scan is present: the header reads the same
            assert info == SMALL_INFO, cut


@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data: bytes) -> None:
    parses_or_value_error(data)
    parses_or_value_error(b"\xff\xd8\xff" + data)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, SMALL_INFO.scan_offset - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_headers_parse_or_raise_value_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL)
    for pos, value in edits:
        data[pos] = value
    info = parses_or_value_error(bytes(data))
    if info is not None:
        assert 0 < info.scan_offset <= len(data)
        assert info.width > 0 and info.height > 0
        assert all(len(t.values) == 64 for t in info.quant_tables)


segments = st.lists(st.tuples(st.integers(0xC0, 0xFE), st.binary(max_size=80)), max_size=12)


@given(segments)
def test_assembled_segment_lists_parse_or_raise_value_error(parts: list[tuple[int, bytes]]) -> None:
    body = b"".join(b"\xff" + bytes([m]) + struct.pack(">H", len(p) + 2) + p for m, p in parts)
    parses_or_value_error(b"\xff\xd8" + body + SMALL[2:])
    parses_or_value_error(b"\xff\xd8" + body)


@pytest.mark.parametrize(
    ("image", "params", "bits", "pattern"),
    [
        (np.full((64, 64, 3), 128, np.uint8), (), 32, "28a28a00"),
        (np.full((64, 64, 3), 128, np.uint8), (cv2.IMWRITE_JPEG_SAMPLING_FACTOR, 0x111111), 14, "2800a002800a00"),
        (np.full((64, 64), 128, np.uint8), (), 6, "28a28a"),
    ],
)
def test_flat_mcus_repeat_with_the_predicted_period(
    image: np.ndarray, params: tuple[int, ...], bits: int, pattern: str
) -> None:
    data = encode(image, ".jpg", *params)
    info = parse_jpeg(data)
    assert info.flat_mcu_bits() == bits
    period = bytes.fromhex(pattern)
    assert data[info.scan_offset : info.scan_offset + 3 * len(period)] == period * 3


def test_code_lengths_follow_the_counts() -> None:
    dc_luma = next(t for t in SMALL_INFO.huffman_tables if (t.table_class, t.id) == (0, 0))
    assert [dc_luma.code_length(s) for s in range(12)] == [2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9]
    assert dc_luma.code_length(12) is None
    assert SMALL_INFO.scan_tables == ((1, 0, 0), (2, 1, 1), (3, 1, 1))
    assert parse_jpeg(encode(IMAGE, ".jpg", cv2.IMWRITE_JPEG_PROGRESSIVE, 1)).flat_mcu_bits() is None
