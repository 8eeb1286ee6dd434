"""Palette statistics on a colour-quantised image: how few colours cover how much of it.

This is the poster's colour count made robust. The poster counted exact 24-bit colours, so JPEG noise,
which turns one flat colour into dozens of near-identical ones, moved its figure as much as the picture
did. Here each channel keeps only its top ``bits`` bits before counting, the image is small (the
caller passes the reduced working image, whose area averaging already smooths the noise), and the
share is read at several palette sizes. A drawing puts most pixels in a handful of colours; a
photograph spreads them over hundreds.

:func:`histogram_peakiness` asks the same question without any quantisation: flat fills make isolated
spikes in each channel's histogram, while photographs, even ones with large skies, have histograms that
vary smoothly from one grey level to the next.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.features._checks import check_bgr

#: Bits kept per channel: 4 gives 4096 colours, coarse enough that JPEG q75 noise stays in one bin.
QUANT_BITS: Final = 4
#: Palette sizes at which the covered share is read (the poster read it at 512 exact colours).
TOP_COUNTS: Final = (1, 8, 64)
#: Share of the pixels that :data:`COVERAGE` colours must reach.
COVERAGE: Final = 0.9

PALETTE_FEATURES: Final[tuple[str, ...]] = (
    "prevalent_colour_share",
    *(f"top{n}_colour_share" for n in TOP_COUNTS[1:]),
    "colours_for_90pct",
    "distinct_colours",
    "colour_entropy",
)
#: Width (in grey levels) of the moving average a channel histogram's peaks are measured against.
PEAK_WINDOW: Final = 7


def quantised_histogram(image: npt.NDArray[np.uint8], bits: int = QUANT_BITS) -> npt.NDArray[np.int64]:
    """Pixel count of each of the ``2**(3*bits)`` colours left after keeping ``bits`` bits per channel.

    Index ``(b << 2*bits) | (g << bits) | r`` of the quantised channels.
    """
    counts: npt.NDArray[np.int64] = np.rint(_colour_histogram(image, bits)).astype(np.int64)
    return counts


def _colour_histogram(image: npt.NDArray[np.uint8], bits: int) -> npt.NDArray[np.float32]:
    check_bgr(image)
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be in [1, 8], got {bits}")
    levels = 1 << bits
    # One calcHist call is several times faster than packing codes with numpy and bincounting them.
    hist: npt.NDArray[np.float32] = cv2.calcHist([image], [0, 1, 2], None, [levels] * 3, [0, 256] * 3).ravel()
    return hist


def palette_stats(
    image: npt.NDArray[np.uint8], *, bits: int = QUANT_BITS, coverage: float = COVERAGE
) -> tuple[float, ...]:
    """The :data:`PALETTE_FEATURES` of a BGR image.

    * ``prevalent_colour_share``, ``topN_colour_share``: share of pixels in the 1, 8, 64 commonest colours;
    * ``colours_for_90pct``: how many colours it takes to cover ``coverage`` of the pixels;
    * ``distinct_colours``: used colours over the most that could be used (``min(pixels, 2**(3*bits))``);
    * ``colour_entropy``: Shannon entropy of the colour histogram, over its maximum ``3 * bits``.
    """
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    hist = _colour_histogram(image, bits)
    n = image.shape[0] * image.shape[1]
    # Only the used colours are rounded to integers and sorted: a few hundred of the 4096 bins.
    counts = np.sort(np.rint(hist[hist > 0]).astype(np.int64))[::-1]
    cumulative = np.cumsum(counts) / n
    shares = [float(cumulative[min(k, counts.size) - 1]) for k in TOP_COUNTS]
    # The float sum may land a hair under 1.0, so the last colour always counts as covering everything.
    needed = min(int(np.searchsorted(cumulative, coverage - 1e-12)) + 1, counts.size)
    p = counts / n
    entropy = float(-(p * np.log2(p)).sum()) / (3 * bits)
    distinct = counts.size / min(n, hist.size)
    return (*shares, float(needed), float(distinct), max(entropy, 0.0))


def histogram_peakiness(image: npt.NDArray[np.uint8], *, window: int = PEAK_WINDOW) -> float:
    """Share of the pixels that stand above a ``window``-level moving average of their channel's histogram.

    Averaged over B, G and R: 0 for a histogram without spikes, near 1 when a few isolated levels hold
    every pixel (the moving average pads with zeros at both ends).
    """
    check_bgr(image)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    hists = np.empty((3, 256))
    for channel in range(3):
        hists[channel] = cv2.calcHist([image], [channel], None, [256], [0, 256]).ravel()
    # The three moving averages in one call (zero padding, as np.convolve's "same" mode).
    kernel = np.full((1, window), 1.0 / window)
    smooth = cv2.filter2D(hists, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return float(np.maximum(hists - smooth, 0.0).sum()) / float(3 * image.shape[0] * image.shape[1])
