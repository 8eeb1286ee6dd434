"""The poster's colour-count preview, and the covered share for every number of colours at once.

The poster kept the pixels of the 512 most common colours, painted the rest white, and called an image
animated when the kept pixels covered more than 30%. :func:`top_colour_preview` draws that picture for
any number of colours. :func:`share_curves` counts each image's colours once and keeps the cumulative
share of its most common colours, so a slider over the number of colours needs no recount.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.data import Dataset
from imgclass.decode import BGRImage, decode_image
from imgclass.features.colour_count import POSTER_SIZE, colour_codes, colour_counts
from imgclass.progress import progress as progress_bar

#: Largest number of colours the curves keep (a slider's maximum).
MAX_COLOURS = 4096


def _resized(image: BGRImage, size: int | None) -> BGRImage:
    # The same resize as imgclass.features.colour_count.top_colour_share, so the numbers agree.
    if size is None:
        return image
    if size < 1:
        raise ValueError(f"size must be >= 1 or None, got {size}")
    out: BGRImage = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    return out


def top_colour_preview(image: BGRImage, n_colours: int, *, size: int | None = POSTER_SIZE) -> tuple[BGRImage, float]:
    """The image with only its ``n_colours`` most common colours kept (the rest white), and their share.

    Ties in count are broken by colour code, so the picture is deterministic; the share is not
    affected by ties.
    """
    if n_colours < 1:
        raise ValueError(f"n_colours must be >= 1, got {n_colours}")
    image = _resized(image, size)
    codes = colour_codes(image)
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    order = np.lexsort((unique, -counts))
    keep = np.zeros(unique.size, dtype=bool)
    keep[order[:n_colours]] = True
    mask = keep[inverse].reshape(image.shape[:2])
    out = image.copy()
    out[~mask] = 255
    return out, float(mask.mean())


@dataclass(frozen=True)
class ShareCurves:
    """``curves[i, k]``: share of image ``i``'s pixels covered by its ``k + 1`` most common colours."""

    curves: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int64]
    size: int | None

    @property
    def max_colours(self) -> int:
        return int(self.curves.shape[1])

    def shares(self, n_colours: int) -> npt.NDArray[np.float64]:
        """Every image's share for ``n_colours`` colours (the colour-count feature)."""
        if not 1 <= n_colours <= self.max_colours:
            raise ValueError(f"n_colours must be in [1, {self.max_colours}], got {n_colours}")
        return self.curves[:, n_colours - 1]


def share_curve(
    image: BGRImage, *, size: int | None = POSTER_SIZE, max_colours: int = MAX_COLOURS
) -> npt.NDArray[np.float64]:
    """One image's cumulative share of its most common colours, ``max_colours`` long (1.0 past its last)."""
    if max_colours < 1:
        raise ValueError(f"max_colours must be >= 1, got {max_colours}")
    counts = colour_counts(_resized(image, size))
    top = np.sort(counts)[::-1][:max_colours]
    curve = np.ones(max_colours, dtype=np.float64)
    curve[: top.size] = np.cumsum(top) / counts.sum()
    return curve


def share_curves(
    dataset: Dataset, *, size: int | None = POSTER_SIZE, max_colours: int = MAX_COLOURS, progress: bool = False
) -> ShareCurves:
    """:func:`share_curve` for every image of ``dataset``."""
    rows = [
        share_curve(decode_image(data), size=size, max_colours=max_colours)
        for data in progress_bar(dataset.images, enabled=progress, desc="counting colours", unit="img", leave=False)
    ]
    curves = np.vstack(rows) if rows else np.zeros((0, max_colours))
    curves.flags.writeable = False
    return ShareCurves(curves, dataset.labels, size)
