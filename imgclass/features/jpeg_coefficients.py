"""Features of a JPEG's quantised DCT coefficients (a sample of its 8x8 blocks), with no pixel decoded.

The blocks come from :func:`imgclass.parsers.jpeg_scan.read_blocks`. Every coefficient is first multiplied
by its quantisation step (*dequantised*), so that magnitudes are in the same units (about 8x the pixel
levels of the block's cosine pattern) whatever quality the file was saved at; where a feature counts
coefficients, it counts those above a fixed dequantised threshold rather than the non-zero ones, because
which small coefficients survive is mostly what the quality decides. What they describe:

* **Per-frequency energy**: the mean dequantised magnitude in eight zig-zag bands of the luma and three of
  the chroma (texture and noise fill every band in a photograph; flat fills and clean lines leave the
  high bands empty or spiky).
* **Flat blocks**: blocks with no AC coefficient at all, and blocks whose low frequencies stay below
  :data:`FLAT_LEVEL` (quality-robust: a step of at most twice this at quality 50 in the lowest bands).
* **Runs and reach**: zero-run length between non-zero coefficients and where the last one sits.
* **High frequencies**: the share of AC energy at zig-zag index 15 and beyond (sharp edges, noise).
* **Block energy**: the distribution over blocks of the log AC energy (mean, spread, quantiles): flat
  areas and strong edges side by side in drawings, a continuum in photographs; and the peakedness of the
  lowest AC coefficients (a photograph's are close to Laplacian).
* **DC**: distinct DC values (on a fixed grid of :data:`DC_STEP`, about two grey levels) per block,
  the share of neighbouring blocks with the same DC, with a small step (gradients) and the spread.
* **Colour**: chroma against luma AC energy, and the spread of chroma DC (how colourful the blocks are).
* **First digits**: the shares of first digits 1-3 of the non-zero quantised luma AC coefficients and their
  distance from Benford's law, which single-compressed natural images follow closely.

Each feature is a pure function of the sample's arrays. A sample without luma blocks (or no sample: not a
JPEG) gives zeros: the format columns beside these say which.
"""

from __future__ import annotations

import functools
import math
from types import ModuleType

import numpy as np
import numpy.typing as npt

from imgclass.parsers.jpeg_scan import BlockSample

FloatArray = npt.NDArray[np.float64]

#: Zig-zag bands (start, stop) of the luma energy features, and of the chroma ones.
LUMA_BANDS: tuple[tuple[int, int], ...] = ((1, 3), (3, 6), (6, 10), (10, 15), (15, 21), (21, 28), (28, 36), (36, 64))
CHROMA_BANDS: tuple[tuple[int, int], ...] = ((1, 6), (6, 15), (15, 64))
#: Dequantised magnitude under which the first 15 AC coefficients of a block count as flat.
FLAT_LEVEL = 24.0
#: Grid of dequantised DC values on which distinct values are counted (8 units are one grey level).
DC_STEP = 16.0
#: Zig-zag index from which AC energy counts as high-frequency.
HIGH_FREQUENCY = 15
_BENFORD = np.log10(1 + 1 / np.arange(1, 10))

COEFFICIENT_FEATURES: tuple[str, ...] = (
    *(f"dct_luma_band_{a}_{b - 1}" for a, b in LUMA_BANDS),
    *(f"dct_chroma_band_{a}_{b - 1}" for a, b in CHROMA_BANDS),
    "dct_dc_only_share",
    "dct_flat_share",
    "dct_zero_ac_share",
    "dct_run_mean",
    "dct_last_mean",
    "dct_high_frequency_share",
    "dct_high_frequency_blocks",
    "dct_energy_mean",
    "dct_energy_std",
    "dct_energy_p10",
    "dct_energy_p50",
    "dct_energy_p90",
    "dct_low_peakedness",
    "dct_dc_distinct",
    "dct_dc_same",
    "dct_dc_small_step",
    "dct_dc_spread",
    "dct_chroma_luma_ratio",
    "dct_chroma_dc_spread",
    "dct_chroma_dc_only_share",
    "dct_digit_1",
    "dct_digit_2",
    "dct_digit_3",
    "dct_benford_gap",
    "dct_log2_blocks",
)


def coefficient_features(sample: BlockSample | None) -> tuple[float, ...]:
    """The :data:`COEFFICIENT_FEATURES` of a block sample (zeros for ``None`` or no luma block)."""
    if sample is None or not len(sample):
        return (0.0,) * len(COEFFICIENT_FEATURES)
    kernel = _kernel()
    energy = np.empty(len(sample), np.float64)
    sums, luma = kernel.block_sums(
        sample.coefficients, sample.component, sample.part, sample.quant, FLAT_LEVEL, DC_STEP, HIGH_FREQUENCY, energy
    )
    if luma == 0:
        return (0.0,) * len(COEFFICIENT_FEATURES)
    s = dict(zip(kernel.SUMS, sums.tolist(), strict=True))
    chroma = s["chroma_blocks"]
    busy = s["busy"]
    digits = np.array([s[f"digit_{d}"] for d in range(1, 10)])
    nonzero = float(digits.sum())
    shares = digits / nonzero if nonzero else np.zeros(9)
    low = s["low_abs"] / (5 * luma)
    values = (
        *(math.log2(1 + s[f"luma_band_{i}"] / (luma * (b - a))) for i, (a, b) in enumerate(LUMA_BANDS)),
        *(
            math.log2(1 + s[f"chroma_band_{i}"] / (chroma * (b - a))) if chroma else 0.0
            for i, (a, b) in enumerate(CHROMA_BANDS)
        ),
        s["dc_only"] / luma,
        s["flat"] / luma,
        s["zero_ac"] / (63 * luma),
        s["run"] / busy if busy else 0.0,
        s["last"] / busy / 63 if busy else 0.0,
        s["energy_high"] / s["energy_all"] if s["energy_all"] else 0.0,
        s["high_blocks"] / luma,
        float(energy[:luma].mean()),
        float(energy[:luma].std()),
        s["energy_p10"],
        s["energy_p50"],
        s["energy_p90"],
        math.log2(s["low_square"] / (5 * luma) / low**2) if low else 0.0,
        s["dc_distinct"] / luma,
        s["dc_same"] / s["dc_pairs"] if s["dc_pairs"] else 0.0,
        s["dc_small"] / s["dc_pairs"] if s["dc_pairs"] else 0.0,
        s["dc_spread"] / luma / 8,
        math.log2((1 + s["chroma_ac_abs"] / (63 * chroma)) / (1 + s["luma_ac_abs"] / (63 * luma))) if chroma else 0.0,
        s["chroma_dc_spread"] / chroma / 8 if chroma else 0.0,
        s["chroma_dc_only"] / chroma if chroma else 0.0,
        float(shares[0]),
        float(shares[1]),
        float(shares[2]),
        float(np.abs(shares - _BENFORD).sum()) if nonzero else 0.0,
        math.log2(1 + len(sample)),
    )
    return tuple(float(v) for v in values)


@functools.cache
def _kernel() -> ModuleType:
    """The compiled pass over the blocks (numba is imported on first use only)."""
    from imgclass.features import _coefficient_sums

    return _coefficient_sums
