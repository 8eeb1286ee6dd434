"""The JPEG coefficient reader: checked against an inverse DCT of its own output, pinned values, resynchronised
pieces that are the file's own blocks, progressive and restart-marker files, and clean errors on garbage."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imgclass.parsers import jpeg_scan
from imgclass.parsers.jpeg import ZIGZAG, parse_jpeg
from imgclass.parsers.jpeg_scan import BlockSample, read_blocks, scan_headers
from tests.conftest import SAMPLE_DIR, encode

PHOTO = cv2.imread(str(SAMPLE_DIR / "china.jpg"))
NATURAL = np.argsort(ZIGZAG)  # zig-zag index of each natural-order position


def whole(data: bytes) -> BlockSample:
    """Every block of a JPEG, from the scan's start (no resynchronisation)."""
    return read_blocks(data, max_blocks=1 << 20, parts=1)


def grey_blocks(image: np.ndarray) -> np.ndarray:
    """The 8x8 blocks of a greyscale image in raster order, ``(n, 8, 8)``."""
    h, w = image.shape
    return image.reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2).reshape(-1, 8, 8)


@pytest.mark.parametrize("quality", [50, 90, 100])
def test_inverse_dct_of_the_coefficients_gives_the_decoded_pixels(quality: int) -> None:
    # An independent check of every coefficient: dequantise, inverse DCT, level shift, and compare with what
    # libjpeg decodes (a greyscale JPEG: no chroma, no upsampling, no colour conversion in the way).
    grey = cv2.cvtColor(PHOTO[:128, :192], cv2.COLOR_BGR2GRAY)
    data = encode(grey, ".jpg", cv2.IMWRITE_JPEG_QUALITY, quality)
    sample = whole(data)
    assert len(sample) == sample.total_blocks == 16 * 24 and sample.faults == 0
    assert (sample.component == 0).all() and (sample.part == 0).all()
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    dequantised = (sample.coefficients * sample.quant[0])[:, NATURAL].reshape(-1, 8, 8)
    rebuilt = np.array([cv2.idct(block.astype(np.float64)) for block in dequantised]) + 128
    error = np.abs(np.clip(np.round(rebuilt), 0, 255) - grey_blocks(decoded))
    assert error.max() <= 1  # libjpeg's integer IDCT rounds differently from a float one by at most 1


def test_golden_values_of_a_small_colour_file() -> None:
    image = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    sample = whole(encode(image, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90))
    # 4:2:0: 3x2 MCUs of four luma and two chroma blocks (the last MCU column pads the luma grid).
    assert len(sample) == 36 and sample.total_blocks == 15 + 2 * 6
    assert sample.component[:6].tolist() == [0, 0, 0, 0, 1, 2]
    assert sample.quant[0, :4].tolist() == [3.0, 2.0, 2.0, 3.0]
    assert sample.coefficients[0, :8].tolist() == [1, 9, -5, 6, 1, 13, -8, -18]
    assert sample.coefficients[4, :8].tolist() == [-6, -3, 11, 3, 1, 5, 1, 7]
    assert int(np.abs(sample.coefficients).sum()) == 6953


def test_flat_blocks_code_only_their_dc() -> None:
    image = np.full((64, 64, 3), 200, np.uint8)
    image[32:] = (30, 90, 160)
    sample = whole(encode(image, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 75))
    assert (sample.coefficients[:, 1:] == 0).all()
    luma = sample.coefficients[sample.component == 0, 0]
    assert len(set(luma.tolist())) == 2


def contiguous_share(sample: BlockSample, truth: BlockSample) -> float:
    """Share of a sample's blocks that sit, piece by piece, in one run of the file's own blocks (AC equal)."""
    matched = 0
    for part in np.unique(sample.part):
        rows = sample.coefficients[sample.part == part, 1:]
        best = 0
        for start in range(len(truth) - len(rows) + 1):
            same = (truth.coefficients[start : start + len(rows), 1:] == rows).all(axis=1)
            best = max(best, int(same.sum()))
        matched += best
    return matched / len(sample)


@pytest.mark.parametrize("quality", [60, 92])
def test_resynchronised_pieces_are_the_files_own_blocks(quality: int) -> None:
    data = encode(PHOTO, ".jpg", cv2.IMWRITE_JPEG_QUALITY, quality)
    truth, sample = whole(data), read_blocks(data, max_blocks=256, parts=8)
    assert len(sample) == 256 and len(np.unique(sample.part)) == 8 and sample.faults == 0
    assert contiguous_share(sample, truth) >= 0.97
    # The pieces are spread over the picture: the last starts in the last eighth of the scan.
    last = sample.coefficients[sample.part == 7, 1:]
    positions = [i for i in range(len(truth)) if (truth.coefficients[i, 1:] == last[-1]).all()]
    assert max(positions) > 7 * len(truth) // 8


def test_restart_markers_give_the_same_coefficients() -> None:
    plain = encode(PHOTO[:200, :248], ".jpg", cv2.IMWRITE_JPEG_QUALITY, 80)
    marked = encode(PHOTO[:200, :248], ".jpg", cv2.IMWRITE_JPEG_QUALITY, 80, cv2.IMWRITE_JPEG_RST_INTERVAL, 3)
    assert parse_jpeg(marked).restart_interval == 3
    a, b = whole(plain), whole(marked)
    assert np.array_equal(a.coefficients[:, 1:], b.coefficients[:, 1:])
    # DC predictors restart in every interval (3 MCUs of 6 blocks): differences within one agree.
    assert np.array_equal(np.diff(a.coefficients[:18, 0]), np.diff(b.coefficients[:18, 0]))
    assert len(np.unique(b.part)) == len(b) // 18 + (len(b) % 18 > 0)
    # Sampled pieces start at restart markers, so they are exact.
    sample = read_blocks(marked, max_blocks=120, parts=4)
    assert sample.faults == 0 and contiguous_share(sample, b) == 1.0


def pillow_jpeg(image: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image[:, :, ::-1]).save(buffer, "JPEG", quality=85, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("subsampling", [0, 2])
def test_progressive_first_passes_match_the_baseline_coefficients(subsampling: int) -> None:
    # The same pixels, quality and sampling give the same quantised coefficients in a baseline and a
    # progressive file; the progressive reader sees each band without its refinement bits.
    image = PHOTO[:120, :200]
    baseline = whole(pillow_jpeg(image, subsampling=subsampling))
    data = pillow_jpeg(image, subsampling=subsampling, progressive=True)
    scans = scan_headers(data)
    assert len(scans) > 5 and scans[0].ss == 0 and any(s.ah for s in scans)
    sample = read_blocks(data, max_blocks=200)
    assert sample.progressive and len(sample) > 150 and sample.faults == 0
    # Baseline rows for the sampled blocks: both orders start at the top-left MCU and cover whole MCUs, and
    # the sample drops the padding blocks the baseline scan codes, which this width (200 = 12.5 MCUs) has.
    expected = np.zeros((len(sample), 64), np.int64)
    base = baseline.coefficients.astype(np.int64)
    keep = [i for i in range(len(baseline)) if not _padding(i, subsampling)][: len(sample)]
    for row, i in enumerate(keep):
        values = base[i]
        for scan in scans:
            if scan.ah == 0 and sample.component[row] in scan.components:
                band, shift = slice(scan.ss, scan.se + 1), scan.al
                if scan.ss == 0:  # DC: an arithmetic shift; AC: the magnitude is shifted, the sign kept
                    expected[row, band] = (values[band] >> shift) << shift
                else:
                    expected[row, band] = np.sign(values[band]) * ((np.abs(values[band]) >> shift) << shift)
    assert np.array_equal(sample.coefficients, expected)


def _padding(index: int, subsampling: int) -> bool:
    """Whether block ``index`` of a 200 px wide baseline scan lies right of the luma grid's 25 columns."""
    if subsampling == 0:
        return False
    mcu, place = divmod(index, 6)
    return mcu % 13 == 12 and place in (1, 3)


def test_a_declared_size_over_the_limit_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(PHOTO[:64, :64], ".jpg")
    info = parse_jpeg(data)
    monkeypatch.setattr(jpeg_scan, "_kernels", lambda: pytest.fail("read a scan"))
    with pytest.raises(ValueError, match="exceeds the limit"):
        read_blocks(data, max_pixels=info.width * info.height - 1)
    with pytest.raises(ValueError, match="positive"):
        read_blocks(data, max_blocks=0)


def test_arithmetic_coding_is_refused() -> None:
    data = bytearray(encode(PHOTO[:16, :16], ".jpg"))
    sof = data.find(b"\xff\xc0")
    data[sof + 1] = 0xC9  # SOF9: extended sequential, arithmetic coding
    with pytest.raises(ValueError, match="arithmetic"):
        read_blocks(bytes(data))


SMALL = encode(PHOTO[100:164, 200:296], ".jpg", cv2.IMWRITE_JPEG_QUALITY, 85)
SCAN_START = parse_jpeg(SMALL).scan_offset


def reads_or_value_error(data: bytes) -> BlockSample | None:
    try:
        return read_blocks(data, max_blocks=64, parts=4)
    except ValueError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_corrupted_files_read_or_raise_value_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL)
    for at, value in edits:
        data[at] = value
    sample = reads_or_value_error(bytes(data))
    if sample is not None:
        assert len(sample) <= 64 and sample.coefficients.shape == (len(sample), 64)
        assert sample.part.shape == sample.component.shape == (len(sample),)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, len(SMALL)))
def test_any_scan_bytes_read_or_raise_value_error(tail: bytes, cut: int) -> None:
    # The header of a real file, then anything: cut-off, random or marker-laden entropy-coded data.
    reads_or_value_error(SMALL[: max(cut, SCAN_START)] + tail)
    reads_or_value_error(SMALL[:SCAN_START] + tail)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_is_a_value_error(data: bytes) -> None:
    reads_or_value_error(b"\xff\xd8\xff" + data)  # anything but a ValueError fails the test
    with pytest.raises(ValueError):
        read_blocks(b"\x00" + data)


@pytest.mark.slow
def test_the_uncompiled_loops_stay_in_bounds() -> None:
    # With NUMBA_DISABLE_JIT the loops run as Python on numpy arrays, which check every index: corrupted
    # files there raise nothing but ValueError, so the compiled loops read and write only inside their arrays.
    script = textwrap.dedent(
        f"""
        import numpy as np
        from imgclass.parsers import _huffman, jpeg_scan
        from imgclass.parsers.jpeg_scan import read_blocks
        assert not hasattr(_huffman.block, "py_func"), "numba compiled the loops"
        jpeg_scan.WARM_UP_BLOCKS, jpeg_scan.MAX_RESYNC_TRIES = 3, 4  # Python is slow: fewer blocks, same loops
        data = bytes.fromhex("{SMALL.hex()}")
        rng = np.random.default_rng(0)
        for trial in range(25):
            corrupt = bytearray(data)
            for at in rng.integers({SCAN_START}, len(data), size=rng.integers(1, 20)):
                corrupt[at] = rng.integers(0, 256)
            try:
                read_blocks(bytes(corrupt[: rng.integers({SCAN_START}, len(data) + 1)]), max_blocks=24, parts=3)
            except ValueError:
                pass
        print("ok")
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
