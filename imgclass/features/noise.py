"""What smoothing removes: the noise residual and the bilateral residual.

A camera adds sensor noise and fine texture to every pixel; a drawing's fills are smooth, even after
JPEG (whose error concentrates at edges). Two residuals measure it on a grey image:

* the noise residual of Immerkaer (1996): the image convolved with a 3x3 kernel that cancels any
  locally linear signal (``[[1,-2,1],[-2,4,-2],[1,-2,1]]``), so what is left is mostly noise; its mean
  gives Immerkaer's noise estimate and its median how noisy a *typical* pixel is;
* the bilateral residual: what an edge-preserving blur (``cv2.bilateralFilter``) takes away, the
  poster's bilateral idea read directly from the pixels rather than through histograms.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.features._checks import check_gray

#: Immerkaer's kernel is the outer product of this second difference with itself.
_SECOND_DIFF: Final = np.array([1, -2, 1], dtype=np.float32)
#: Bilateral filter: 5-pixel neighbourhood, blur across differences up to ~20 grey levels only.
BILATERAL_DIAMETER: Final = 5
BILATERAL_SIGMA_COLOR: Final = 20.0
BILATERAL_SIGMA_SPACE: Final = 3.0

NOISE_FEATURES: Final[tuple[str, ...]] = ("noise_sigma", "noise_median", "noise_free_share")
BILATERAL_FEATURES: Final[tuple[str, ...]] = ("bilateral_residual", "bilateral_changed_share")


def noise_residual(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """Immerkaer's residual on the interior pixels (empty for images under 3x3)."""
    check_gray(gray)
    residual = cv2.sepFilter2D(gray, cv2.CV_16S, _SECOND_DIFF, _SECOND_DIFF, borderType=cv2.BORDER_REFLECT)
    return np.asarray(residual[1:-1, 1:-1])


def noise_stats(gray: npt.NDArray[np.uint8]) -> tuple[float, ...]:
    """The :data:`NOISE_FEATURES` of a grey image.

    * ``noise_sigma``: Immerkaer's estimate of the noise standard deviation, in grey levels;
    * ``noise_median``: the median absolute residual, on the same scale;
    * ``noise_free_share``: share of pixels whose residual is exactly 0.
    """
    residual = noise_residual(gray)
    if residual.size == 0:
        return 0.0, 0.0, 1.0
    scale = math.sqrt(math.pi / 2.0) / 6.0
    # The saturated uint8 magnitude is exact below 255, which is all the median and the zero share need.
    cumulative = np.cumsum(cv2.calcHist([cv2.convertScaleAbs(residual)], [0], None, [256], [0, 256]).ravel())
    median = int(np.searchsorted(cumulative, 0.5 * residual.size))
    sigma = scale * float(cv2.norm(residual, cv2.NORM_L1)) / residual.size
    return sigma, scale * median, float(cumulative[0]) / residual.size


def bilateral_stats(gray: npt.NDArray[np.uint8]) -> tuple[float, ...]:
    """The :data:`BILATERAL_FEATURES` of a grey image.

    * ``bilateral_residual``: mean absolute change under the bilateral filter, in grey levels;
    * ``bilateral_changed_share``: share of pixels it changes by 2 grey levels or more.
    """
    check_gray(gray)
    # With OpenCV's default border (reflect-101) the 8-bit filter lowers flat areas by one grey level
    # (OpenCV 5.0); plain reflect keeps a flat image exactly flat.
    blurred = cv2.bilateralFilter(
        gray, BILATERAL_DIAMETER, BILATERAL_SIGMA_COLOR, BILATERAL_SIGMA_SPACE, borderType=cv2.BORDER_REFLECT
    )
    change = cv2.absdiff(gray, blurred)
    return float(cv2.mean(change)[0]), float(np.count_nonzero(change >= 2)) / change.size
