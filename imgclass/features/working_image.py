"""The reduced working image the ``fast`` features (and ``combined``'s embedding) are read from, decoded cheaply.

Cheap features are only cheap if the decode is: a JPEG is decoded straight at 1/2, 1/4 or 1/8 size
(libjpeg's DCT scaling, ``cv2.IMREAD_REDUCED_COLOR_*``), which skips most of the inverse DCT and all
the pixels a full decode would then throw away. Other formats are decoded in full
(:func:`imgclass.decode.decode_image`, alpha on white) and area-averaged down. Either way the result
fits in a ``side`` x ``side`` square, so an image and its half-size copy give nearly the same working
image and the features do not depend on the resolution it was saved at.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np

from imgclass.decode import DEFAULT_MAX_PIXELS, BGRImage, checked_header, decode_image, undecodable

#: Longest side of the working image: a 512-pixel JPEG is decoded at a quarter size.
WORKING_SIDE: Final = 128

#: JPEG DCT-scaling factors OpenCV offers, largest first, with their colour decode flags.
_REDUCED_FLAGS: Final[dict[int, int]] = {
    8: cv2.IMREAD_REDUCED_COLOR_8,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    1: cv2.IMREAD_COLOR,
}


def reduction_factor(width: int, height: int, side: int) -> int:
    """The largest JPEG scaling factor (1, 2, 4 or 8) that still leaves the longest side >= ``side``."""
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}")
    longest = max(width, height)
    for factor in _REDUCED_FLAGS:
        if -(-longest // factor) >= side:
            return factor
    return 1


def fit_within(image: BGRImage, side: int) -> BGRImage:
    """Area-average ``image`` down so its longest side is ``side``; smaller images are left as they are."""
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= side:
        return image
    scale = side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def decode_working(data: bytes, *, side: int = WORKING_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS) -> BGRImage:
    """Decode ``data`` to a BGR ``uint8`` image whose longest side is at most ``side``.

    Raises :class:`~imgclass.decode.ImageDecodeError` like :func:`~imgclass.decode.decode_image`,
    including for headers that declare more than ``max_pixels`` pixels.
    """
    header = checked_header(data, max_pixels=max_pixels)
    if header.format != "jpeg":
        return fit_within(decode_image(data, max_pixels=max_pixels), side)
    factor = reduction_factor(header.width, header.height, side)
    # Orientation is ignored, as in decode_image, so both paths see the same pixels.
    flags = _REDUCED_FLAGS[factor] | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if image is None:
        raise undecodable("jpeg")
    return fit_within(np.ascontiguousarray(image), side)
