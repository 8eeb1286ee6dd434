"""The one pass over a block sample that :mod:`imgclass.features.jpeg_coefficients` summarises, compiled by numba.

Plain Python on numpy arrays (numba compiles it on first use and caches it beside this file; with
``NUMBA_DISABLE_JIT=1`` it runs as Python). Imported lazily: numba takes about a second to import.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Layout of the sums: names -> index into the vector :func:`block_sums` returns.
LUMA_BAND_OF = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2] + [3] * 5 + [4] * 6 + [5] * 7 + [6] * 8 + [7] * 28, np.int64)
CHROMA_BAND_OF = np.array([0] * 6 + [1] * 9 + [2] * 49, np.int64)
SUMS = (
    "luma_blocks",
    *(f"luma_band_{i}" for i in range(8)),
    "chroma_blocks",
    *(f"chroma_band_{i}" for i in range(3)),
    "dc_only",
    "flat",
    "zero_ac",
    "busy",
    "run",
    "last",
    "energy_high",
    "energy_all",
    "high_blocks",
    "low_abs",
    "low_square",
    "dc_distinct",
    "dc_pairs",
    "dc_same",
    "dc_small",
    "dc_spread",
    "chroma_ac_abs",
    "chroma_dc_spread",
    "chroma_dc_only",
    "luma_ac_abs",
    *(f"digit_{d}" for d in range(1, 10)),
    "energy_p10",
    "energy_p50",
    "energy_p90",
)
INDEX = {name: i for i, name in enumerate(SUMS)}
N_SUMS = len(SUMS)
# numba freezes integer globals, not dicts: the positions the loop writes, as constants.
_BUSY = INDEX["busy"]
_CHROMA_AC_ABS = INDEX["chroma_ac_abs"]
_CHROMA_BAND_0 = INDEX["chroma_band_0"]
_CHROMA_BLOCKS = INDEX["chroma_blocks"]
_CHROMA_DC_ONLY = INDEX["chroma_dc_only"]
_CHROMA_DC_SPREAD = INDEX["chroma_dc_spread"]
_DC_DISTINCT = INDEX["dc_distinct"]
_DC_ONLY = INDEX["dc_only"]
_DC_PAIRS = INDEX["dc_pairs"]
_DC_SAME = INDEX["dc_same"]
_DC_SMALL = INDEX["dc_small"]
_DC_SPREAD = INDEX["dc_spread"]
_DIGIT_1 = INDEX["digit_1"]
_ENERGY_ALL = INDEX["energy_all"]
_ENERGY_HIGH = INDEX["energy_high"]
_FLAT = INDEX["flat"]
_HIGH_BLOCKS = INDEX["high_blocks"]
_LAST = INDEX["last"]
_LOW_ABS = INDEX["low_abs"]
_LOW_SQUARE = INDEX["low_square"]
_LUMA_AC_ABS = INDEX["luma_ac_abs"]
_LUMA_BLOCKS = INDEX["luma_blocks"]
_RUN = INDEX["run"]
_ZERO_AC = INDEX["zero_ac"]
_ENERGY_P10, _ENERGY_P50, _ENERGY_P90 = INDEX["energy_p10"], INDEX["energy_p50"], INDEX["energy_p90"]


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def _first_digit(value):  # type: ignore[no-untyped-def]
    while value >= 10:
        value //= 10
    return value


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def _spread(values, count):  # type: ignore[no-untyped-def]
    """``count * std`` of ``values[:count]``."""
    if count == 0:
        return 0.0
    mean = 0.0
    for i in range(count):
        mean += values[i]
    mean /= count
    square = 0.0
    for i in range(count):
        square += (values[i] - mean) ** 2
    return np.sqrt(square / count) * count


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def _distinct(values, count, step):  # type: ignore[no-untyped-def]
    """Distinct values of ``round(values[:count] / step)``."""
    if count == 0:
        return 0
    grid = np.empty(count, np.int64)
    for i in range(count):
        grid[i] = np.int64(np.round(values[i] / step))
    grid.sort()
    distinct = 1
    for i in range(1, count):
        distinct += grid[i] != grid[i - 1]
    return distinct


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def percentile(ordered, q):  # type: ignore[no-untyped-def]
    """``numpy.percentile(values, q)`` of sorted ``ordered`` (its default, linear method, to the last bit)."""
    n = ordered.shape[0]
    virtual = (n - 1) * (q / 100)
    below = np.floor(virtual)
    gamma = virtual - below
    lo = int(below)
    hi = min(lo + 1, n - 1)
    a, b = ordered[lo], ordered[hi]
    if gamma >= 0.5:
        return b - (b - a) * (1 - gamma)
    return a + (b - a) * gamma


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def block_sums(coef, component, part, quant, flat_level, dc_step, high_from, energy):  # type: ignore[no-untyped-def]
    """Sums over the blocks (named by :data:`SUMS`); ``energy[i]`` gets luma block i's log2(1 + AC energy).

    ``coef`` is ``(n, 64)`` zig-zag quantised coefficients in pieces (``part``, non-decreasing), ``quant``
    the ``(components, 64)`` steps. Returns the sums and the number of luma blocks.
    """
    sums = np.zeros(N_SUMS, np.float64)
    n = coef.shape[0]
    luma_dc = np.empty(n, np.float64)
    chroma_dc = np.empty(n, np.float64)
    luma_in_part = 0
    chroma_in_part = 0
    luma = 0
    current = -1
    for b in range(n + 1):
        if b == n or part[b] != current:
            # Close the piece: DC values compare only within one.
            sums[_DC_DISTINCT] += _distinct(luma_dc, luma_in_part, dc_step)
            sums[_DC_SPREAD] += _spread(luma_dc, luma_in_part)
            sums[_CHROMA_DC_SPREAD] += _spread(chroma_dc, chroma_in_part)
            for i in range(1, luma_in_part):
                step = abs(luma_dc[i] - luma_dc[i - 1])
                sums[_DC_PAIRS] += 1
                sums[_DC_SAME] += step == 0
                sums[_DC_SMALL] += 0 < step < 32
            luma_in_part = 0
            chroma_in_part = 0
            if b == n:
                break
            current = part[b]
        c = component[b]
        if c < 0 or c >= quant.shape[0]:
            continue
        q = quant[c]
        dc = coef[b, 0] * q[0]
        if c == 0:
            sums[_LUMA_BLOCKS] += 1
            luma_dc[luma_in_part] = dc
            luma_in_part += 1
            count = 0
            last = 0
            square = 0.0
            high = 0.0
            flat = True
            for k in range(1, 64):
                v = coef[b, k]
                if v == 0:
                    continue
                count += 1
                last = k
                magnitude = abs(v)
                d = magnitude * q[k]
                sums[1 + LUMA_BAND_OF[k]] += d
                sums[_LUMA_AC_ABS] += d
                square += d * d
                if k >= high_from:
                    high += d * d
                if k < 15 and d > flat_level:
                    flat = False
                if k < 6:
                    sums[_LOW_ABS] += d
                    sums[_LOW_SQUARE] += d * d
                sums[_DIGIT_1 + _first_digit(magnitude) - 1] += 1
            sums[_ZERO_AC] += 63 - count
            sums[_DC_ONLY] += count == 0
            sums[_FLAT] += flat
            if count > 0:
                sums[_BUSY] += 1
                sums[_RUN] += (last - count) / count
                sums[_LAST] += last
            sums[_ENERGY_HIGH] += high
            sums[_ENERGY_ALL] += square
            sums[_HIGH_BLOCKS] += high > 0
            if luma < energy.shape[0]:
                energy[luma] = np.log2(1.0 + square)
            luma += 1
        else:
            sums[_CHROMA_BLOCKS] += 1
            chroma_dc[chroma_in_part] = dc
            chroma_in_part += 1
            any_ac = False
            for k in range(1, 64):
                v = coef[b, k]
                if v != 0:
                    d = abs(v) * q[k]
                    sums[_CHROMA_BAND_0 + CHROMA_BAND_OF[k]] += d
                    sums[_CHROMA_AC_ABS] += d
                    any_ac = True
            sums[_CHROMA_DC_ONLY] += not any_ac
    if luma > 0:
        ordered = np.sort(energy[:luma])
        sums[_ENERGY_P10] = percentile(ordered, 10.0)
        sums[_ENERGY_P50] = percentile(ordered, 50.0)
        sums[_ENERGY_P90] = percentile(ordered, 90.0)
    return sums, luma
