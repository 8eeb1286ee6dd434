"""The poster's colour-count preview, and the covered share for every number of colours at once.

The poster kept the pixels of the 512 most common colours, painted the rest white, and called an image
animated when the kept pixels covered more than 30%. :func:`top_colour_preview` draws that picture for
any number of colours. :func:`share_curves` counts each image's colours once and keeps the cumulative
share of its most common colours (:func:`imgclass.features.colour_count.top_colour_shares`, the
classifier's own feature), so a slider over the number of colours needs no recount; :meth:`ShareCurves.predict`
applies the ``colour-count`` classifier's own rule to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgclass.classifiers import ColourCountClassifier
from imgclass.data import Dataset
from imgclass.decode import BGRImage, decode_image
from imgclass.features.colour_count import POSTER_SIZE, colour_codes, count_size, top_colour_shares
from imgclass.progress import progress as progress_bar

#: Largest number of colours the curves keep (a slider's maximum).
MAX_COLOURS = 4096


def top_colour_preview(image: BGRImage, n_colours: int, *, size: int | None = POSTER_SIZE) -> tuple[BGRImage, float]:
    """The image with only its ``n_colours`` most common colours kept (the rest white), and their share.

    Ties in count are broken by colour code, so the picture is deterministic; the share is not
    affected by ties.
    """
    if n_colours < 1:
        raise ValueError(f"n_colours must be >= 1, got {n_colours}")
    image = count_size(image, size)
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

    def predict(self, n_colours: int, threshold: float) -> npt.NDArray[np.int64]:
        """What the ``colour-count`` classifier with these settings predicts: 1 (animated) or 0 per image."""
        rule = ColourCountClassifier(size=self.size, n_colours=n_colours, threshold=threshold)
        return rule.predict_features(self.shares(n_colours).reshape(-1, 1))


def share_curve(
    image: BGRImage, *, size: int | None = POSTER_SIZE, max_colours: int = MAX_COLOURS
) -> npt.NDArray[np.float64]:
    """One image's cumulative share of its most common colours, ``max_colours`` long (1.0 past its last)."""
    return top_colour_shares(image, size=size, max_colours=max_colours)


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
