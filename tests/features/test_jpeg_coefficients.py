"""JPEG coefficient features: the compiled pass equals a plain numpy statement of each feature, pinned values
on drawn and photographed files, and the quality a file was saved at moves the dequantised ones little."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.features.jpeg_coefficients import (
    CHROMA_BANDS,
    COEFFICIENT_FEATURES,
    DC_STEP,
    FLAT_LEVEL,
    HIGH_FREQUENCY,
    LUMA_BANDS,
    coefficient_features,
)
from imgclass.parsers.jpeg_scan import BlockSample, read_blocks
from tests.conftest import SAMPLE_DIR, draw_cartoon, encode

BENFORD = np.log10(1 + 1 / np.arange(1, 10))


def reference(sample: BlockSample) -> np.ndarray:
    """Each feature as its docstring states it, in numpy, piece by piece where DC is concerned."""
    luma_rows = sample.component == 0
    q = sample.coefficients[luma_rows]
    luma = q * sample.quant[0]
    chroma_rows = ~luma_rows
    chroma = sample.coefficients[chroma_rows] * sample.quant[sample.component[chroma_rows].astype(int)]
    ac = np.abs(luma[:, 1:])
    nonzero = q[:, 1:] != 0
    count = nonzero.sum(axis=1)
    busy = count > 0
    last = 63 - np.argmax(nonzero[busy, ::-1], axis=1)
    energy = np.log2(1 + (luma[:, 1:] ** 2).sum(axis=1))
    squares = luma[:, 1:] ** 2
    low = luma[:, 1:6]
    distinct = same = small = pairs = spread = 0.0
    parts = sample.part[luma_rows]
    for part in np.unique(parts):
        dc = luma[parts == part, 0]
        distinct += np.unique(np.round(dc / DC_STEP)).size
        step = np.abs(np.diff(dc))
        same += (step == 0).sum()
        small += ((step > 0) & (step < 32)).sum()
        pairs += step.size
        spread += dc.std() * dc.size
    chroma_parts = sample.part[chroma_rows]
    chroma_spread = sum(chroma[chroma_parts == p, 0].std() * (chroma_parts == p).sum() for p in np.unique(chroma_parts))
    magnitudes = np.abs(q[:, 1:])[nonzero]
    digits = np.array([int(str(v)[0]) for v in magnitudes], np.int64)
    shares = np.bincount(digits, minlength=10)[1:] / max(magnitudes.size, 1)
    has_chroma = chroma.shape[0] > 0
    values = [
        *(math.log2(1 + np.abs(luma[:, a:b]).mean()) for a, b in LUMA_BANDS),
        *(math.log2(1 + np.abs(chroma[:, a:b]).mean()) if has_chroma else 0.0 for a, b in CHROMA_BANDS),
        (~nonzero).all(axis=1).mean(),
        (ac[:, :14] <= FLAT_LEVEL).all(axis=1).mean(),
        (~nonzero).mean(),
        ((last - count[busy]) / count[busy]).mean() if busy.any() else 0.0,
        last.mean() / 63 if busy.any() else 0.0,
        squares[:, HIGH_FREQUENCY - 1 :].sum() / squares.sum() if squares.sum() else 0.0,
        (squares[:, HIGH_FREQUENCY - 1 :] > 0).any(axis=1).mean(),
        energy.mean(),
        energy.std(),
        *np.percentile(energy, (10, 50, 90)),
        math.log2((low**2).mean() / np.abs(low).mean() ** 2) if np.abs(low).any() else 0.0,
        distinct / luma.shape[0],
        same / pairs if pairs else 0.0,
        small / pairs if pairs else 0.0,
        spread / luma.shape[0] / 8,
        math.log2((1 + np.abs(chroma[:, 1:]).mean()) / (1 + ac.mean())) if has_chroma else 0.0,
        chroma_spread / chroma.shape[0] / 8 if has_chroma else 0.0,
        (chroma[:, 1:] == 0).all(axis=1).mean() if has_chroma else 0.0,
        shares[0],
        shares[1],
        shares[2],
        np.abs(shares - BENFORD).sum() if magnitudes.size else 0.0,
        math.log2(1 + len(sample)),
    ]
    return np.array(values, np.float64)


@st.composite
def samples(draw: st.DrawFn) -> BlockSample:
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sparsity = draw(st.floats(0.0, 1.0))
    coefficients = np.where(
        rng.random((n, 64)) < sparsity, np.round(rng.laplace(0, draw(st.floats(0.5, 60)), (n, 64))), 0
    ).astype(np.int32)
    component = rng.integers(0, 3, n).astype(np.int8)
    component[0] = 0  # at least one luma block
    part = np.sort(rng.integers(0, draw(st.integers(1, 4)), n)).astype(np.int16)
    quant = rng.integers(1, 100, (3, 64)).astype(np.float64)
    return BlockSample(component, coefficients, part, quant, n, 0, False)


@settings(max_examples=150, deadline=None)
@given(samples())
def test_the_compiled_pass_equals_the_numpy_statement(sample: BlockSample) -> None:
    assert np.allclose(coefficient_features(sample), reference(sample), rtol=1e-9, atol=1e-9)


def test_names_and_empty_input() -> None:
    assert len(COEFFICIENT_FEATURES) == len(set(COEFFICIENT_FEATURES)) == 36
    assert coefficient_features(None) == (0.0,) * 36
    chroma_only = BlockSample(
        np.ones(2, np.int8), np.ones((2, 64), np.int32), np.zeros(2, np.int16), np.ones((3, 64)), 2, 0, False
    )
    assert coefficient_features(chroma_only) == (0.0,) * 36


def features(data: bytes) -> dict[str, float]:
    return dict(zip(COEFFICIENT_FEATURES, coefficient_features(read_blocks(data)), strict=True))


def test_a_flat_picture() -> None:
    image = np.full((96, 128, 3), 180, np.uint8)
    f = features(encode(image, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90))
    assert f["dct_dc_only_share"] == f["dct_flat_share"] == f["dct_zero_ac_share"] == 1.0
    assert f["dct_energy_mean"] == f["dct_luma_band_1_2"] == f["dct_benford_gap"] == 0.0
    assert f["dct_dc_same"] == 1.0 and f["dct_dc_spread"] == 0.0
    # 12x16 luma and two 6x8 chroma blocks, all read from the scan's start.
    assert f["dct_log2_blocks"] == pytest.approx(math.log2(1 + 192 + 96)) and f["dct_dc_distinct"] == 1 / 192


def test_pinned_values_of_a_drawing_and_a_photograph() -> None:
    drawing = features(encode(draw_cartoon(3), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90))
    photo = features((SAMPLE_DIR / "china.jpg").read_bytes())
    assert drawing["dct_dc_only_share"] == pytest.approx(0.7955056179775281)
    assert photo["dct_dc_only_share"] == 0.0
    assert drawing["dct_low_peakedness"] == pytest.approx(3.3872078314160037)
    assert photo["dct_benford_gap"] == pytest.approx(0.18680656074106425)
    assert drawing["dct_low_peakedness"] > photo["dct_low_peakedness"] + 1
    assert drawing["dct_dc_same"] > 0.5 > photo["dct_dc_same"]
    assert photo["dct_benford_gap"] < drawing["dct_benford_gap"]


def test_saving_quality_moves_the_dequantised_energies_little() -> None:
    photo = cv2.imread(str(SAMPLE_DIR / "china.jpg"))
    low, high = (features(encode(photo, ".jpg", cv2.IMWRITE_JPEG_QUALITY, q)) for q in (60, 95))
    for name in ("dct_luma_band_1_2", "dct_luma_band_3_5", "dct_luma_band_6_9", "dct_energy_p50", "dct_flat_share"):
        assert abs(low[name] - high[name]) < 0.1 * max(1.0, abs(high[name])), name
    # What the quality decides: how many small coefficients survive.
    assert low["dct_zero_ac_share"] > high["dct_zero_ac_share"] + 0.15
