"""The deflate code walker: block kinds, literals and matches counted as zlib wrote them, and no fault or
exception other than a reported fault on corrupt streams."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgclass.parsers.deflate import MAX_SYMBOLS, DeflateStats, deflate_stats, idat_stream
from imgclass.parsers.png import SIGNATURE, parse_png
from tests.conftest import draw_cartoon, encode, noisy_photo


def png_with(idat: bytes, width: int = 8, height: int = 4, chunks: int = 1) -> bytes:
    """A greyscale 8-bit PNG whose IDAT payload (split into ``chunks`` chunks) is ``idat``."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    size = max(1, -(-len(idat) // chunks))
    parts = [idat[i : i + size] for i in range(0, len(idat), size)] or [b""]
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return SIGNATURE + header + b"".join(chunk(b"IDAT", p) for p in parts) + chunk(b"IEND", b"")


def stats_of(raw: bytes, compressor: zlib._Compress, width: int = 8, chunks: int = 1) -> DeflateStats:
    data = png_with(compressor.compress(raw) + compressor.flush(), width, len(raw) // (width + 1), chunks)
    return deflate_stats(data, parse_png(data))


@pytest.mark.parametrize("level", [1, 6, 9])
@pytest.mark.parametrize("chunks", [1, 3])
def test_counts_cover_exactly_what_zlib_wrote(level: int, chunks: int) -> None:
    rng = np.random.default_rng(level)
    rows = rng.integers(0, 4, (40, 33), dtype=np.uint8)  # small alphabet: literals and matches mixed
    rows[:, 0] = 1
    raw = rows.tobytes()
    stats = stats_of(raw, zlib.compressobj(level), width=32, chunks=chunks)
    assert stats.complete and not stats.fault
    assert stats.output_bytes == len(raw) and stats.literals + stats.matches > 0
    assert stats.dynamic_blocks + stats.fixed_blocks >= 1 and stats.stored_blocks == 0


def test_stored_and_fixed_blocks() -> None:
    raw = bytes(range(256)) * 4
    stored = stats_of(raw, zlib.compressobj(0), width=255)
    assert stored.stored_blocks >= 1 and stored.output_bytes == len(raw) and stored.complete
    fixed = stats_of(raw, zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_FIXED), width=255)
    assert fixed.fixed_blocks >= 1 and fixed.dynamic_blocks == 0 and fixed.output_bytes == len(raw)
    assert fixed.first_hlit == 0 and fixed.literal_code_bits == 0.0


def test_repeated_rows_are_matches_one_row_back() -> None:
    rng = np.random.default_rng(0)
    row = np.r_[0, rng.integers(0, 256, 40)].astype(np.uint8)  # filter byte 0, then noise
    raw = np.tile(row, 30).tobytes()
    stats = stats_of(raw, zlib.compressobj(9), width=40)
    # The first row literally (and the byte zlib keeps back), then matches of up to 258 bytes one row back.
    assert stats.literals == 42 and stats.left_matches == 0
    assert stats.matches == stats.up_matches == -(-(len(raw) - 42) // 258)
    assert stats.output_bytes == len(raw)


def test_flat_drawing_against_noisy_photo() -> None:
    drawing, photo = encode(draw_cartoon(1), ".png"), encode(noisy_photo(1), ".png")
    a, b = deflate_stats(drawing, parse_png(drawing)), deflate_stats(photo, parse_png(photo))
    assert a.literals / a.symbols < b.literals / b.symbols
    assert a.distance_code == 0  # OpenCV writes PNGs with zlib's run-length strategy: matches one byte back
    assert a.output_bytes > 5 * b.output_bytes  # the same number of symbols covers far more of the drawing
    assert a.symbols == b.symbols == MAX_SYMBOLS


def test_the_stream_is_gathered_across_chunks_and_capped() -> None:
    data = png_with(bytes(range(200)), chunks=7)
    info = parse_png(data)
    assert idat_stream(data, info) == bytes(range(200))
    assert idat_stream(data, info, max_bytes=50) == bytes(range(50))
    with pytest.raises(ValueError, match="positive"):
        deflate_stats(data, info, max_symbols=0)


SMALL = encode(draw_cartoon(2, size=48), ".png", cv2.IMWRITE_PNG_COMPRESSION, 9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), min_size=1, max_size=10))
def test_corrupt_streams_are_a_reported_fault_never_an_exception(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL)
    for at, value in edits:
        data[at] = value
    try:
        info = parse_png(bytes(data))
    except ValueError:
        return
    stats = deflate_stats(bytes(data), info)
    assert 0 <= stats.symbols <= MAX_SYMBOLS and stats.matches >= stats.left_matches


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_idat_payload(idat: bytes) -> None:
    data = png_with(idat)
    stats = deflate_stats(data, parse_png(data))
    assert stats.symbols <= MAX_SYMBOLS


@pytest.mark.slow
def test_the_uncompiled_walk_stays_in_bounds() -> None:
    script = textwrap.dedent(
        f"""
        import numpy as np
        from imgclass.parsers import _inflate
        from imgclass.parsers.deflate import deflate_stats
        from imgclass.parsers.png import parse_png
        assert not hasattr(_inflate.walk, "py_func"), "numba compiled the walk"
        data = bytes.fromhex("{SMALL.hex()}")
        info = parse_png(data)
        rng = np.random.default_rng(0)
        for trial in range(40):
            corrupt = bytearray(data)
            for at in rng.integers(info.idat_start, info.idat_end, size=rng.integers(1, 8)):
                corrupt[at] = rng.integers(0, 256)
            deflate_stats(bytes(corrupt), info, max_symbols=300)
        print("ok")
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
