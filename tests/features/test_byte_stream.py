"""Byte-stream features: pinned values on fixed files, and properties that must hold for any input."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgclass.features import byte_stream
from imgclass.features.byte_stream import (
    DEFAULT_PERIOD,
    FEATURE_NAMES,
    HEADER_FEATURES,
    STREAM_FEATURES,
    byte_entropy,
    byte_stream_features,
    image_byte_stream_features,
    stream_layout,
    stream_statistics,
)
from imgclass.features.jpeg_coefficients import COEFFICIENT_FEATURES
from imgclass.features.png_stream import DEFLATE_FEATURES
from imgclass.features.webp_header import WEBP_FEATURES
from imgclass.parsers.jpeg import parse_jpeg
from tests.conftest import draw_cartoon, encode, noisy_photo

Q90 = (cv2.IMWRITE_JPEG_QUALITY, 90)
FLAT = encode(np.full((64, 64, 3), 128, np.uint8), ".jpg", *Q90)
CARTOON = encode(draw_cartoon(0), ".jpg", *Q90)
PHOTO = encode(noisy_photo(0), ".jpg", *Q90)


def features(data: bytes) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, image_byte_stream_features(data).tolist(), strict=True))


def test_names_are_unique_and_ordered() -> None:
    assert FEATURE_NAMES == (
        HEADER_FEATURES + STREAM_FEATURES + COEFFICIENT_FEATURES + DEFLATE_FEATURES + WEBP_FEATURES
    )
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert byte_stream_features([FLAT, CARTOON]).shape == (2, len(FEATURE_NAMES))
    assert byte_stream_features([]).shape == (0, len(FEATURE_NAMES))


def test_flat_image_golden_values() -> None:
    f = features(FLAT)
    # 16 flat 4:2:0 MCUs, 4 bytes each: "28 a2 8a 00" x 16.
    assert f["stream_bits_per_pixel"] == 8 * 64 / 64**2
    assert f["flat_period"] == 4 and f["flat_share"] == f["flat_share_min"] == 1.0 and f["flat_share_std"] == 0.0
    assert f["zero_share"] == 0.25 and f["ff_share"] == 0.0 and f["entropy"] == 2.0 and f["repeat_share"] == 0.0
    assert (f["jpeg_quality_luma"], f["jpeg_subsampling_h"], f["jpeg_huffman_optimised"]) == (90, 2, 0)
    assert (f["format_jpeg"], f["log2_width"], f["jpeg_jfif"], f["jpeg_exif"]) == (1, 6, 1, 0)


def test_cartoon_and_photo_golden_values() -> None:
    cartoon, photo = features(CARTOON), features(PHOTO)
    assert cartoon["flat_share"] == pytest.approx(0.053286, abs=1e-6)
    assert cartoon["bits_per_pixel"] == pytest.approx(1.284058, abs=1e-6)
    assert cartoon["entropy"] == pytest.approx(7.83431, abs=1e-5)
    assert photo["flat_share"] == pytest.approx(0.004124, abs=1e-6)
    assert photo["bits_per_pixel"] == pytest.approx(2.948242, abs=1e-6)
    # The drawing's flat fills repeat with the flat-block period ten times as often as the photo's texture.
    assert cartoon["flat_share"] > 10 * photo["flat_share"]


def test_china_golden_values(china_jpeg: bytes) -> None:
    f = features(china_jpeg)
    assert (f["log2_width"], f["jpeg_quality_luma"], f["jpeg_subsampling_h"]) == (
        pytest.approx(np.log2(640)),
        96,
        1,
    )
    assert f["jpeg_huffman_optimised"] == 1 and f["jpeg_icc"] == 1 and f["jpeg_app_segments"] == 3
    # Its optimised tables code a flat 4:4:4 MCU in 25 bits, so flat runs repeat every 25 bytes.
    assert parse_jpeg(china_jpeg).flat_mcu_bits() == 25 and f["flat_period"] == 25
    assert f["flat_share"] == pytest.approx(0.003957, abs=1e-6)
    assert f["entropy"] == pytest.approx(7.943567, abs=1e-5)


@pytest.mark.parametrize(("ext", "fmt"), [(".png", "png"), (".bmp", "bmp"), (".webp", "webp"), (".tiff", "tiff")])
def test_other_containers(ext: str, fmt: str) -> None:
    f = features(encode(draw_cartoon(1, size=64), ext))
    assert f[f"format_{fmt}"] == 1 and sum(f[f"format_{other}"] for other in ("jpeg", "png", "gif")) == (fmt == "png")
    assert f["log2_width"] == 6 and f["flat_period"] == DEFAULT_PERIOD
    assert np.isfinite(list(f.values())).all()
    if fmt == "png":
        assert (f["png_bit_depth"], f["png_colour"], f["png_alpha"]) == (8, 1, 0)


def test_gif_payload_skips_the_colour_table() -> None:
    table = bytes(range(256)) * 3
    gif = b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0xF7, 0, 0) + table + b"\x2c" + bytes(40)
    layout = stream_layout(gif)
    assert layout.start == 13 + 768 and layout.end == len(gif)
    assert features(gif)["format_gif"] == 1


def test_rows_do_not_depend_on_the_batch(china_jpeg: bytes) -> None:
    images = [FLAT, CARTOON, PHOTO, china_jpeg, encode(draw_cartoon(2, 64), ".png")]
    batch = byte_stream_features(images)
    for i, data in enumerate(images):
        assert np.array_equal(batch[i], image_byte_stream_features(data))
    assert np.array_equal(byte_stream_features(images[::-1]), batch[::-1])


def test_truncated_scan_still_describes_the_file() -> None:
    info = parse_jpeg(CARTOON)
    cut = CARTOON[: (info.scan_offset + len(CARTOON)) // 2]
    f = features(cut)
    assert f["bits_per_pixel"] == pytest.approx(8 * len(cut) / 256**2)
    assert f["flat_share"] > 0


def test_header_cache_is_exact_when_ff_da_hides_in_an_app_segment() -> None:
    # An APP1 whose payload contains FF DA with a length reaching past the real scan header: the cached
    # guess at the header must not change anything.
    for length in (4, 2000):
        app = b"Exif\x00\x00" + b"\xff\xda" + struct.pack(">H", length) + bytes(8)
        data = CARTOON[:2] + b"\xff\xe1" + struct.pack(">H", len(app) + 2) + app + CARTOON[2:]
        byte_stream._cached_jpeg_layout.cache_clear()
        cached = image_byte_stream_features(data)
        direct = byte_stream._jpeg_layout(data)
        assert cached[: len(HEADER_FEATURES)].tolist() == list(direct[1])
        assert features(data)["jpeg_exif"] == 1
        assert stream_layout(data).start == parse_jpeg(data).scan_offset


def test_bad_images_are_value_errors_naming_the_image() -> None:
    with pytest.raises(ValueError, match="image 1: not a recognised image"):
        byte_stream_features([FLAT, b"hello"])
    with pytest.raises(ValueError, match="image 0: jpeg"):
        byte_stream_features([FLAT[:100]])


def test_stream_statistics_of_short_and_periodic_streams() -> None:
    assert stream_statistics(np.zeros(3, np.uint8), 4) == (0.0,) * 5
    assert stream_statistics(np.zeros(7, np.uint8), 4) == (0.0,) * 5  # fewer pairs than parts
    assert stream_statistics(np.zeros(8, np.uint8), 4)[:2] == (1.0, 1.0)
    periodic = np.frombuffer(b"\x28\xa2\x8a\x00" * 100, np.uint8)
    flat, low, high, spread, repeat = stream_statistics(periodic, 4)
    assert flat == low == high == 1.0 and spread == 0.0 and repeat == 0.0
    assert stream_statistics(periodic, 3)[0] == 0.0


def test_entropy_lookup_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    histograms = rng.integers(0, 16, (5, 256))
    histograms[0] = 0
    histograms[1] = 0
    histograms[1, 7] = 100
    p = histograms / np.maximum(histograms.sum(1, keepdims=True), 1)
    direct = -(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0)).sum(1)
    assert np.allclose(byte_entropy(histograms), direct)
    assert byte_entropy(np.full(256, 3))[0] == pytest.approx(8.0)
    assert np.allclose(byte_entropy(histograms * 1000), direct)  # beyond the lookup table


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b""]))
def test_any_bytes_give_a_finite_row_or_a_value_error(data: bytes, magic: bytes) -> None:
    try:
        row = image_byte_stream_features(magic + data)
    except ValueError:
        return
    assert row.shape == (len(FEATURE_NAMES),) and np.isfinite(row).all()


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(CARTOON) - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_files_give_a_finite_row_or_a_value_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(CARTOON)
    for pos, value in edits:
        data[pos] = value
    try:
        row = image_byte_stream_features(bytes(data))
    except ValueError:
        return
    assert np.isfinite(row).all()


def test_sample_statistics() -> None:
    from imgclass.features.byte_stream import HISTOGRAM_SAMPLE, sample_statistics

    assert sample_statistics(np.empty(0, np.uint8)) == (0.0, 0.0, 0.0)
    zero, ff, entropy = sample_statistics(np.array([0, 255, 7, 7], np.uint8))
    assert (zero, ff, entropy) == (0.25, 0.25, 1.5)
    uniform = np.tile(np.arange(256, dtype=np.uint8), HISTOGRAM_SAMPLE // 256)
    assert sample_statistics(uniform)[2] == pytest.approx(8.0)
    with pytest.raises(ValueError, match="at most"):
        sample_statistics(np.zeros(HISTOGRAM_SAMPLE + 1, np.uint8))
