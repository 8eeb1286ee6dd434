"""Saturation and value statistics: how vivid, how bright, and how many hues.

Drawings favour saturated fills, pure white backgrounds and black outlines, and use few distinct hues;
camera photographs sit in the muted middle with a spread of hues. The statistics are read from the
HSV form of the image (OpenCV's 8-bit HSV: hue 0..179, saturation and value 0..255).
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.features._checks import check_bgr

#: Below this saturation a pixel is grey and its hue is noise.
GREY_SATURATION: Final = 24
#: Value from which a grey pixel counts as white (a multiple of 8).
WHITE_VALUE: Final = 232
#: Hue histogram bins (of OpenCV's 180 hue steps).
HUE_BINS: Final = 18

TONE_FEATURES: Final[tuple[str, ...]] = (
    "saturation_mean",
    "saturation_std",
    "vivid_share",
    "grey_share",
    "value_mean",
    "value_std",
    "white_share",
    "black_share",
    "hue_entropy",
)


def tone_stats(image: npt.NDArray[np.uint8]) -> tuple[float, ...]:
    """The :data:`TONE_FEATURES` of a BGR image (shares and means in [0, 1]).

    * ``vivid_share``: saturation and value both >= 128; ``grey_share``: saturation < 24;
    * ``white_share``: value >= 232 and saturation < 24; ``black_share``: value < 24;
    * ``hue_entropy``: entropy of the hue histogram of the coloured pixels (saturation and value
      >= 24), over its maximum (0 when no pixel is coloured).
    """
    check_bgr(image)
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    mean, std = cv2.meanStdDev(hsv)
    # A joint saturation x value histogram in steps of 8 answers every share below in one pass, and its
    # integral each share in a few look-ups: corner[i, j] counts the pixels of saturation bin < i, value bin < j.
    sv = cv2.calcHist([hsv], [1, 2], None, [32, 32], [0, 256, 0, 256])
    corner = cv2.integral(sv)
    n = float(image.shape[0] * image.shape[1])
    grey, vivid, white, top = GREY_SATURATION // 8, 128 // 8, WHITE_VALUE // 8, 32
    coloured = cv2.inRange(hsv, (0, GREY_SATURATION, GREY_SATURATION), (255, 255, 255))
    hue_hist = cv2.calcHist([hsv], [0], coloured, [HUE_BINS], [0, 180]).ravel()
    total = float(hue_hist.sum())
    if total:
        p = hue_hist[hue_hist > 0] / total
        hue_entropy = max(float(-(p * np.log2(p)).sum() / np.log2(HUE_BINS)), 0.0)
    else:
        hue_entropy = 0.0
    return (
        float(mean[1, 0]) / 255.0,
        float(std[1, 0]) / 255.0,
        float(n - corner[vivid, top] - corner[top, vivid] + corner[vivid, vivid]) / n,
        float(corner[grey, top]) / n,
        float(mean[2, 0]) / 255.0,
        float(std[2, 0]) / 255.0,
        float(corner[grey, top] - corner[grey, white]) / n,
        float(corner[top, grey]) / n,
        hue_entropy,
    )
