"""The poster's colour count: the share of pixels covered by the most common colours.

The poster resized to 1024x1024, counted every BGR colour in a Python dict, and called an image
animated when its 512 most common colours covered more than 30% of the pixels. Here the count is a
sort over packed 24-bit colour codes: same numbers, no per-pixel Python loop.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

POSTER_SIZE = 1024
POSTER_N_COLOURS = 512
POSTER_THRESHOLD = 0.3


def colour_codes(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """Pack each BGR pixel of an ``(H, W, 3)`` uint8 image into one 24-bit integer."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got shape {image.shape} dtype {image.dtype}")
    px = image.reshape(-1, 3).astype(np.uint32)
    return np.asarray((px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2], dtype=np.uint32)


def colour_counts(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """How many pixels each distinct colour covers (unordered)."""
    codes = np.sort(colour_codes(image))
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.diff(codes)) + 1
    bounds = np.concatenate(([0], starts, [codes.size]))
    return np.diff(bounds).astype(np.int64)


def count_size(image: npt.NDArray[np.uint8], size: int | None = POSTER_SIZE) -> npt.NDArray[np.uint8]:
    """The image the colours are counted on: resized to ``size``² (``None``: as it is).

    The poster's resize is ``cv2.resize`` with its default (bilinear) interpolation, reproduced here.
    """
    if size is None:
        return image
    if size < 1:
        raise ValueError(f"size must be >= 1 or None, got {size}")
    out: npt.NDArray[np.uint8] = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    return out


def top_colour_share(
    image: npt.NDArray[np.uint8],
    *,
    size: int | None = POSTER_SIZE,
    n_colours: int = POSTER_N_COLOURS,
) -> float:
    """Share of pixels covered by the ``n_colours`` most common colours, after resizing to ``size`` x ``size``.

    ``size=None`` skips the resize (see :func:`count_size`).
    """
    if n_colours < 1:
        raise ValueError(f"n_colours must be >= 1, got {n_colours}")
    counts = colour_counts(count_size(image, size))
    if counts.size == 0:
        raise ValueError("image has no pixels")
    top = np.partition(counts, counts.size - n_colours)[-n_colours:] if counts.size > n_colours else counts
    return float(top.sum() / counts.sum())


def top_colour_shares(
    image: npt.NDArray[np.uint8], *, size: int | None = POSTER_SIZE, max_colours: int = 4096
) -> npt.NDArray[np.float64]:
    """:func:`top_colour_share` for every ``n_colours`` from 1 to ``max_colours`` at once (1.0 past the last).

    Element ``k`` is the share of the ``k + 1`` most common colours: one count serves a whole slider.
    """
    if max_colours < 1:
        raise ValueError(f"max_colours must be >= 1, got {max_colours}")
    counts = colour_counts(count_size(image, size))
    if counts.size == 0:
        raise ValueError("image has no pixels")
    top = np.sort(counts)[::-1][:max_colours]
    curve = np.ones(max_colours, dtype=np.float64)
    curve[: top.size] = np.cumsum(top) / counts.sum()
    return curve
