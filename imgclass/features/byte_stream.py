"""Features of an encoded image read from its bytes alone: the header, and statistics of the compressed stream.

No pixel is decoded. Two groups of numbers describe a file:

* **Header** (:data:`HEADER_FEATURES`): the container (from the magic bytes), width and height, and what the
  JPEG or PNG header says: estimated IJG quality and how far the quantisation tables are from libjpeg's,
  chroma subsampling, progressive or baseline, restart interval, standard or optimised Huffman tables,
  which APPn segments are present (EXIF, ICC, XMP, Adobe, JFIF); PNG colour type, bit depth, palette.
* **Stream** (:data:`STREAM_FEATURES`): statistics of the compressed data (a JPEG's entropy-coded
  segment, a PNG's IDAT payload, whatever follows the header otherwise): bits per pixel, the share of
  bytes equal to the byte one *flat-block period* earlier (overall and its spread over equal parts of the
  stream) and the share equal to the previous byte; then, from a byte histogram of an evenly spaced sample
  of :data:`HISTOGRAM_SAMPLE` bytes, the shares of 0x00 and 0xFF bytes (0xFF is followed by a stuffed 0x00
  in a JPEG scan) and the byte entropy.

The flat-block period carries most of the signal. A JPEG codes an 8x8 block with no detail as a zero DC
difference and an immediate end-of-block; with the standard Huffman tables and 4:2:0 sampling one such
MCU is exactly 32 bits, so a flat region (plain background, flat fill) becomes the 4-byte pattern
``28 a2 8a 00`` repeated. The period follows from the header's tables and sampling
(:meth:`imgclass.parsers.jpeg.JpegInfo.flat_mcu_bits`), so the feature works for any sequential JPEG;
where the header gives none (progressive, PNG, ...) :data:`DEFAULT_PERIOD` is used.

Speed: the stream is touched only by a handful of vectorised numpy passes (comparisons and counts) and a
sampled byte histogram; JPEG headers are parsed once per distinct header (cached on the header bytes, as
files from one encoder share theirs byte for byte). Every value depends on its own file only.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgclass.features.jpeg_coefficients import COEFFICIENT_FEATURES, coefficient_features
from imgclass.features.png_stream import DEFLATE_FEATURES, deflate_features
from imgclass.features.webp_header import WEBP_FEATURES, webp_features
from imgclass.parsers._bytes import unpack
from imgclass.parsers.container import FORMATS, read_header, sniff_format
from imgclass.parsers.deflate import deflate_stats
from imgclass.parsers.jpeg import JpegInfo, estimate_quality, header_prefix, parse_jpeg
from imgclass.parsers.jpeg_scan import read_blocks
from imgclass.parsers.png import PngInfo, parse_png
from imgclass.parsers.webp import WebpInfo, parse_webp

FloatArray = npt.NDArray[np.float64]

#: Lag in bytes used where the header gives no flat-block period: libjpeg's 4:2:0 baseline.
DEFAULT_PERIOD = 4
#: Periods longer than this (odd bit counts give ``period == bits``) are capped: a feature, not a decoder.
MAX_PERIOD = 64
#: Equal parts of the stream over which the flat share's spread is measured.
CHUNKS = 4
#: Stream bytes, evenly spaced, that go into the byte histogram (0x00 and 0xFF shares, entropy). A fixed
#: count keeps the estimates' sampling noise and bias the same for every file, and the cost independent of
#: the file size; on the reference set the sampled shares classify as well as exact full-stream counts.
HISTOGRAM_SAMPLE = 4096

HEADER_FEATURES: tuple[str, ...] = (
    *(f"format_{name}" for name in FORMATS),
    "log2_width",
    "log2_height",
    "jpeg_quality_luma",
    "jpeg_quality_chroma",
    "jpeg_quant_gap",
    "jpeg_components",
    "jpeg_subsampling_h",
    "jpeg_subsampling_v",
    "jpeg_progressive",
    "jpeg_log2_restart_interval",
    "jpeg_huffman_tables",
    "jpeg_huffman_optimised",
    "jpeg_app_segments",
    "jpeg_exif",
    "jpeg_icc",
    "jpeg_xmp",
    "jpeg_adobe",
    "jpeg_jfif",
    "jpeg_comments",
    "png_bit_depth",
    "png_colour",
    "png_alpha",
    "png_palette_size",
    "png_transparency",
    "png_interlaced",
    "png_text_chunks",
    "flat_period",
    "log2_header_bytes",
)
STREAM_FEATURES: tuple[str, ...] = (
    "log2_bytes",
    "bits_per_pixel",
    "stream_bits_per_pixel",
    "flat_share",
    "flat_share_min",
    "flat_share_max",
    "flat_share_std",
    "repeat_share",
    "zero_share",
    "ff_share",
    "entropy",
)
#: Column names of :func:`byte_stream_features`: header, stream statistics, then what each format's
#: compressed data says (JPEG coefficients, PNG deflate codes, WEBP data headers).
FEATURE_NAMES: tuple[str, ...] = (
    HEADER_FEATURES + STREAM_FEATURES + COEFFICIENT_FEATURES + DEFLATE_FEATURES + WEBP_FEATURES
)

_HEADER_INDEX = {name: i for i, name in enumerate(HEADER_FEATURES)}


@dataclass(frozen=True)
class StreamLayout:
    """What the header says, as numbers, and where the compressed data lies in the file."""

    header: tuple[float, ...]
    start: int
    end: int
    period: int
    pixels: int
    #: The parsed header of a JPEG, PNG or WEBP (``None`` for other formats).
    jpeg: JpegInfo | None = None
    png: PngInfo | None = None
    webp: WebpInfo | None = None


def stream_layout(data: bytes) -> StreamLayout:
    """Parse the header; ``ValueError`` for unknown or malformed files."""
    fmt = sniff_format(data)
    if fmt == "jpeg":
        return _jpeg_stream_layout(data)
    if fmt == "png":
        return _png_layout(data)
    info = read_header(data)  # raises ValueError for unknown magic bytes
    if info.format not in FORMATS:
        raise ValueError(f"the byte-stream features read {', '.join(FORMATS)} files, not {info.format}")
    start = min(_payload_start(data, info.format), len(data))
    values = _header_vector(info.format, info.width, info.height, DEFAULT_PERIOD, start)
    webp = parse_webp(data) if fmt == "webp" else None
    return StreamLayout(values, start, len(data), DEFAULT_PERIOD, info.pixels, webp=webp)


def _jpeg_stream_layout(data: bytes) -> StreamLayout:
    prefix = header_prefix(data)
    parsed = None
    if prefix is not None:
        try:
            parsed = _cached_jpeg_layout(prefix)
        except ValueError:
            parsed = None  # a wrong guess at the header; parse the file itself below
    if parsed is None:
        parsed = _jpeg_layout(data)
    start, header, period, pixels, info = parsed
    # The scan ends at the last EOI; a cut-off file's scan runs to the end of the data.
    end = data.rfind(b"\xff\xd9", start)
    return StreamLayout(header, start, end if end >= 0 else len(data), period, pixels, jpeg=info)


def _jpeg_layout(data: bytes) -> tuple[int, tuple[float, ...], int, int, JpegInfo]:
    """Scan offset, header features, flat period, pixel count and parsed header of a JPEG."""
    info = parse_jpeg(data)
    period = _period(info.flat_mcu_bits())
    luma, chroma = info.quant_table(0), info.quant_table(1)
    quality_luma, gap = estimate_quality(luma.values) if luma else (0.0, 0.0)
    quality_chroma = estimate_quality(chroma.values, chroma=True)[0] if chroma else 0.0
    sub_h, sub_v = info.subsampling
    jpeg = {
        "jpeg_quality_luma": quality_luma,
        "jpeg_quality_chroma": quality_chroma,
        "jpeg_quant_gap": gap,
        "jpeg_components": len(info.components),
        "jpeg_subsampling_h": sub_h,
        "jpeg_subsampling_v": sub_v,
        "jpeg_progressive": info.progressive,
        "jpeg_log2_restart_interval": math.log2(1 + info.restart_interval),
        "jpeg_huffman_tables": len(info.huffman_tables),
        "jpeg_huffman_optimised": info.huffman_optimised,
        "jpeg_app_segments": len(info.app_segments),
        "jpeg_exif": info.has_exif,
        "jpeg_icc": info.has_icc,
        "jpeg_xmp": info.has_xmp,
        "jpeg_adobe": info.has_adobe,
        "jpeg_jfif": info.has_jfif,
        "jpeg_comments": info.comments,
    }
    values = _header_vector("jpeg", info.width, info.height, period, info.scan_offset, jpeg)
    return info.scan_offset, values, period, info.width * info.height, info


#: Keyed on :func:`header_prefix`, which makes a hit exactly as good as parsing the file.
_cached_jpeg_layout = functools.lru_cache(maxsize=256)(_jpeg_layout)


def _png_layout(data: bytes) -> StreamLayout:
    info = parse_png(data)
    png = {
        "png_bit_depth": info.bit_depth,
        "png_colour": info.has_colour,
        "png_alpha": info.has_alpha,
        "png_palette_size": info.palette_size,
        "png_transparency": info.has_transparency,
        "png_interlaced": info.interlaced,
        "png_text_chunks": info.text_chunks,
    }
    start, end = (info.idat_start, info.idat_end) if info.idat_chunks else (len(data), len(data))
    values = _header_vector("png", info.width, info.height, DEFAULT_PERIOD, start, png)
    return StreamLayout(values, start, end, DEFAULT_PERIOD, info.width * info.height, png=info)


def _header_vector(
    fmt: str, width: int, height: int, period: int, header_bytes: int, extra: Mapping[str, float] | None = None
) -> tuple[float, ...]:
    values = [0.0] * len(HEADER_FEATURES)
    values[_HEADER_INDEX[f"format_{fmt}"]] = 1.0
    for name, value in (extra or {}).items():
        values[_HEADER_INDEX[name]] = float(value)
    values[_HEADER_INDEX["log2_width"]] = math.log2(width)
    values[_HEADER_INDEX["log2_height"]] = math.log2(height)
    values[_HEADER_INDEX["flat_period"]] = period
    values[_HEADER_INDEX["log2_header_bytes"]] = math.log2(1 + header_bytes)
    return tuple(values)


def _period(bits: int | None) -> int:
    if not bits:
        return DEFAULT_PERIOD
    return min(bits * 8 // math.gcd(bits, 8) // 8, MAX_PERIOD)


def _payload_start(data: bytes, fmt: str) -> int:
    """Where the compressed data roughly begins in formats we do not parse in depth."""
    if fmt == "gif":
        (flags,) = unpack("<B", data, 10)
        return 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    if fmt == "bmp":
        (offset,) = unpack("<I", data, 10)
        return int(offset)
    return {"webp": 20, "tiff": 8}[fmt]


def stream_statistics(stream: npt.NDArray[np.uint8], period: int, chunks: int = CHUNKS) -> tuple[float, ...]:
    """``flat_share`` (mean, then min, max and std over ``chunks`` equal parts) and ``repeat_share``.

    ``flat_share`` is the share of bytes equal to the byte ``period`` before; ``repeat_share`` the same
    for the previous byte. A stream too short to measure gives zeros.
    """
    n = stream.size
    if n - period < chunks:  # every part needs a byte to compare
        return (0.0,) * 5
    same = stream[period:] == stream[:-period]
    size = same.size
    bounds = [(size * i) // chunks for i in range(chunks + 1)]
    # Four numbers: plain Python beats numpy's per-call overhead on arrays this small.
    counts = [int(np.count_nonzero(same[lo:hi])) for lo, hi in itertools.pairwise(bounds)]
    shares = [count / (hi - lo) for count, (lo, hi) in zip(counts, itertools.pairwise(bounds), strict=True)]
    mean = sum(shares) / chunks
    return (
        sum(counts) / size,
        min(shares),
        max(shares),
        math.sqrt(sum((x - mean) ** 2 for x in shares) / chunks),
        np.count_nonzero(stream[1:] == stream[:-1]) / (n - 1),
    )


def sample_statistics(sample: npt.NDArray[np.uint8]) -> tuple[float, float, float]:
    """Shares of 0x00 and 0xFF bytes and the entropy (bits per byte) of at most :data:`HISTOGRAM_SAMPLE` bytes."""
    n = sample.size
    if n == 0:
        return 0.0, 0.0, 0.0
    if n > HISTOGRAM_SAMPLE:
        raise ValueError(f"a sample holds at most {HISTOGRAM_SAMPLE} bytes, got {n}")
    counts = np.bincount(sample, minlength=256)
    # H = log2(N) - sum(c log2 c) / N, with c log2 c looked up: every count is at most N.
    return float(counts[0]) / n, float(counts[255]) / n, math.log2(n) - float(_C_LOG_C[counts].sum()) / n


def byte_entropy(histograms: npt.NDArray[np.int64]) -> FloatArray:
    """Shannon entropy in bits per byte of each row of byte counts (0 for an empty row).

    Uses ``H = log2(N) - sum(c log2 c) / N`` with ``c log2 c`` looked up for counts up to
    :data:`HISTOGRAM_SAMPLE`, which is all the features need; larger counts are computed directly.
    """
    counts = np.asarray(histograms, dtype=np.int64).reshape(-1, 256)
    totals = counts.sum(axis=1)
    if counts.size and counts.max() < _C_LOG_C.size:
        c_log_c = _C_LOG_C[counts].sum(axis=1)
    else:
        c_log_c = (counts * np.log2(np.maximum(counts, 1))).sum(axis=1)
    safe = np.maximum(totals, 1)
    return np.asarray(np.where(totals > 0, np.log2(safe) - c_log_c / safe, 0.0), dtype=np.float64)


_COUNTS = np.arange(1, HISTOGRAM_SAMPLE + 1, dtype=np.float64)
_C_LOG_C = np.concatenate([[0.0], _COUNTS * np.log2(_COUNTS)])


def byte_stream_features(images: Sequence[bytes]) -> FloatArray:
    """An ``(n, len(FEATURE_NAMES))`` array for ``n`` encoded images. ``ValueError`` names a bad image.

    Each row depends on its own image only.
    """
    rows: list[tuple[float, ...]] = []
    for i, data in enumerate(images):
        try:
            layout = stream_layout(data)
        except ValueError as error:
            raise ValueError(f"image {i}: {error}") from None
        stream = np.frombuffer(data, np.uint8, count=layout.end - layout.start, offset=layout.start)
        bits = 8 / max(layout.pixels, 1)
        sizes = (math.log2(1 + len(data)), bits * len(data), bits * stream.size)
        sample = stream[:: max(1, stream.size // HISTOGRAM_SAMPLE)][:HISTOGRAM_SAMPLE]
        try:
            compressed = compressed_data_features(data, layout)
        except ValueError as error:
            raise ValueError(f"image {i}: {error}") from None
        rows.append(
            layout.header
            + sizes
            + stream_statistics(stream, layout.period)
            + sample_statistics(sample)
            + compressed
        )
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))


def compressed_data_features(data: bytes, layout: StreamLayout) -> tuple[float, ...]:
    """What the compressed data itself says: JPEG coefficients, PNG deflate codes, WEBP data headers.

    Zeros in the columns of the other formats. A JPEG over the parsers' pixel limit is a ``ValueError``;
    arithmetic-coded and lossless JPEGs (no Huffman-coded DCT) give zero coefficient features.
    """
    sample = None
    if layout.jpeg is not None and not (layout.jpeg.arithmetic or layout.jpeg.lossless):
        sample = read_blocks(data, info=layout.jpeg)
    stats = deflate_stats(data, layout.png) if layout.png is not None and layout.png.idat_chunks else None
    return coefficient_features(sample) + deflate_features(stats) + webp_features(layout.webp)


def image_byte_stream_features(data: bytes) -> FloatArray:
    """The feature vector of one encoded image (a row of :func:`byte_stream_features`)."""
    row: FloatArray = byte_stream_features([data])[0]
    return row
