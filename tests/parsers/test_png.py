"""The PNG chunk parser: pinned values on cv2-made files, and clean errors on anything else."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgclass.parsers.png import MAX_CHUNKS, SIGNATURE, PngInfo, parse_png, png_size
from tests.conftest import encode

IMAGE = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
SMALL = encode(IMAGE, ".png", cv2.IMWRITE_PNG_COMPRESSION, 9)
SMALL_INFO = parse_png(SMALL)
HEADER_END = 8 + 12 + 13


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def ihdr(width: int = 4, height: int = 3, depth: int = 8, colour: int = 2, interlace: int = 0) -> bytes:
    return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))


def parses_or_value_error(data: bytes) -> PngInfo | None:
    try:
        return parse_png(data)
    except ValueError:
        return None


def test_cv2_golden_values() -> None:
    info = SMALL_INFO
    assert (info.width, info.height, info.bit_depth, info.colour_type) == (30, 20, 8, 2)
    assert info.has_colour and not info.has_alpha and not info.has_palette and info.channels == 3
    assert not info.interlaced and info.palette_size == 0 and not info.has_transparency
    assert info.complete and not info.animated and info.text_chunks == info.ancillary_chunks == 0
    assert info.idat_chunks == 1 and info.idat_start == HEADER_END + 8
    assert info.idat_end - info.idat_start == info.idat_bytes == len(SMALL) - HEADER_END - 8 - 4 - 12
    grey_alpha = parse_png(encode(np.zeros((5, 6, 4), np.uint16), ".png"))
    assert (grey_alpha.colour_type, grey_alpha.bit_depth, grey_alpha.has_alpha) == (6, 16, True)


def test_palette_transparency_and_text() -> None:
    data = (
        ihdr(colour=3)
        + chunk(b"PLTE", bytes(12))
        + chunk(b"tRNS", b"\x00")
        + chunk(b"tEXt", b"k\x00v")
        + chunk(b"IDAT", zlib.compress(bytes(16)))
        + chunk(b"IEND", b"")
    )
    info = parse_png(data)
    assert info.has_palette and info.palette_size == 4 and info.has_transparency
    assert info.text_chunks == 1 and info.ancillary_chunks == 2 and info.complete


def test_size_reader() -> None:
    assert png_size(SMALL) == (30, 20)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "signature"),
        (SIGNATURE, "truncated"),
        (SIGNATURE + chunk(b"IDAT", b""), "IHDR"),
        (ihdr(width=0), "dimensions"),
        (ihdr(depth=3), "bit depth"),
        (ihdr(colour=5), "bit depth"),
        (ihdr(interlace=2), "interlace"),
        (ihdr() + chunk(b"IHDR", bytes(13)), "more than one IHDR"),
        (ihdr() + chunk(b"PLTE", bytes(4)), "palette"),
        (ihdr() + b"\x00\x00\x00\x00\x00\x01\x02\x03" + bytes(4), "malformed chunk"),
        (ihdr(colour=3) + chunk(b"IEND", b""), "without a PLTE"),
    ],
)
def test_malformed_files_are_value_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_png(data)


def test_chunk_walk_is_bounded() -> None:
    data = ihdr() + chunk(b"tIME", b"") * (MAX_CHUNKS + 1)
    with pytest.raises(ValueError, match="more than"):
        parse_png(data)


def test_every_truncation_is_clean() -> None:
    for cut in range(len(SMALL)):
        info = parses_or_value_error(SMALL[:cut])
        if cut < HEADER_END - 4:  # the IHDR fields are needed, its CRC is not
            assert info is None, cut
        else:
            assert info is not None and not info.complete, cut
            assert (info.width, info.height, info.colour_type) == (30, 20, 2)
            assert info.idat_end <= cut
    assert parse_png(SMALL) == SMALL_INFO


@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data: bytes) -> None:
    parses_or_value_error(data)
    parses_or_value_error(SIGNATURE + data)
    parses_or_value_error(SMALL[:HEADER_END] + data)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_headers_parse_or_raise_value_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL)
    for pos, value in edits:
        data[pos] = value
    info = parses_or_value_error(bytes(data))
    if info is not None:
        assert 0 <= info.idat_start <= info.idat_end <= len(data)


@given(
    st.lists(st.tuples(st.sampled_from([b"IDAT", b"PLTE", b"tRNS", b"IEND", b"acTL", b"zzzz"]), st.binary(max_size=40)))
)
def test_assembled_chunk_lists_parse_or_raise_value_error(parts: list[tuple[bytes, bytes]]) -> None:
    parses_or_value_error(ihdr() + b"".join(chunk(kind, payload) for kind, payload in parts))
