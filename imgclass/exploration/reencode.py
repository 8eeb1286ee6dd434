"""Re-encode the same pixels in memory and see what the byte classifier really measures.

The poster found that "animated images have more bytes". A file's length depends on its pixels, but
also on its container and quality setting, which in the wild go with the class (drawings ship as PNG,
photographs as JPEG). Re-encoding every image of a set in several ways, with the pixels fixed, separates
the two: :func:`reencode_lengths` measures, :func:`summarise` compares classes within each encoding,
and :func:`confounded_accuracy` shows what happens when the encoding follows the class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

from imgclass.classifiers import make_classifier
from imgclass.data import Dataset
from imgclass.decode import BGRImage, decode_image
from imgclass.exploration.cv import CVAccuracy, cv_accuracy, single_threaded
from imgclass.features.byte_lengths import byte_lengths_fast
from imgclass.progress import progress as progress_bar


@dataclass(frozen=True)
class Encoding:
    """One way to write pixels: a name, OpenCV's extension and its ``imencode`` parameters."""

    name: str
    extension: str
    params: tuple[int, ...] = ()

    def encode(self, image: BGRImage) -> bytes:
        ok, buf = cv2.imencode(self.extension, image, list(self.params))
        if not ok:
            raise ValueError(f"OpenCV could not encode an image as {self.name}")
        return bytes(buf)


#: The encodings the notebook compares. PNG uses OpenCV's default compression level (1, fast);
#: WEBP is lossy at quality 80 (OpenCV's default of 100 is near-lossless and very slow).
ENCODINGS: tuple[Encoding, ...] = (
    Encoding("PNG", ".png"),
    Encoding("JPEG q50", ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 50)),
    Encoding("JPEG q90", ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 90)),
    Encoding("WEBP q80", ".webp", (cv2.IMWRITE_WEBP_QUALITY, 80)),
)


def encoding_named(name: str, encodings: Sequence[Encoding] = ENCODINGS) -> Encoding:
    """The encoding called ``name``; unknown names raise ``ValueError`` listing the known ones."""
    for encoding in encodings:
        if encoding.name == name:
            return encoding
    raise ValueError(f"unknown encoding {name!r}; choose one of {', '.join(e.name for e in encodings)}")


@dataclass(frozen=True)
class ReencodedLengths:
    """Byte lengths of every image (columns) under every encoding (rows), with the labels."""

    encodings: tuple[str, ...]
    lengths: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]

    def row(self, encoding: str) -> npt.NDArray[np.int64]:
        """The lengths of every image under one encoding."""
        try:
            row: npt.NDArray[np.int64] = self.lengths[self.encodings.index(encoding)]
            return row
        except ValueError:
            raise ValueError(f"no encoding {encoding!r}; have {', '.join(self.encodings)}") from None


def reencode_lengths(
    dataset: Dataset, encodings: Sequence[Encoding] = ENCODINGS, *, progress: bool = False
) -> ReencodedLengths:
    """Decode each image once and record its length under each encoding (nothing touches the disk)."""
    if not encodings:
        raise ValueError("need at least one encoding")
    lengths = np.zeros((len(encodings), len(dataset)), dtype=np.int64)
    for j, data in enumerate(
        progress_bar(dataset.images, enabled=progress, desc="re-encoding", unit="img", leave=False)
    ):
        image = decode_image(data)
        for i, encoding in enumerate(encodings):
            lengths[i, j] = len(encoding.encode(image))
    return ReencodedLengths(tuple(e.name for e in encodings), lengths, dataset.labels)


@dataclass(frozen=True)
class EncodingSummary:
    """How the classes differ in length under one encoding, and how well length alone separates them.

    ``auc`` is P(an animated image is longer than a real one): 0.5 means length says nothing about the
    class, above 0.5 backs the poster's "animated images have more bytes", below 0.5 says the opposite.
    """

    encoding: str
    median_real: float
    median_animated: float
    auc: float
    accuracy: CVAccuracy

    @property
    def ratio(self) -> float:
        """Median animated length over median real length."""
        return self.median_animated / self.median_real


def byte_length_accuracy(
    lengths: npt.NDArray[np.int64], labels: npt.NDArray[np.int64], *, folds: int = 5, seed: int = 0
) -> CVAccuracy:
    """Cross-validated accuracy of the ``byte-length`` classifier's model on these lengths."""
    features = np.array([byte_lengths_fast(int(n)) for n in lengths], dtype=np.float64)
    return cv_accuracy(make_classifier("byte-length").make_model(), features, labels, folds=folds, seed=seed)


def summarise(measured: ReencodedLengths, *, folds: int = 5, seed: int = 0) -> tuple[EncodingSummary, ...]:
    """One :class:`EncodingSummary` per encoding."""
    labels = measured.labels
    rows = []
    with single_threaded():
        for name, lengths in zip(measured.encodings, measured.lengths, strict=True):
            rows.append(
                EncodingSummary(
                    encoding=name,
                    median_real=float(np.median(lengths[labels == 0])),
                    median_animated=float(np.median(lengths[labels == 1])),
                    auc=float(roc_auc_score(labels, lengths)),
                    accuracy=byte_length_accuracy(lengths, labels, folds=folds, seed=seed),
                )
            )
    return tuple(rows)


def summary_table(rows: Sequence[EncodingSummary]) -> str:
    """The summaries as fixed-width text."""
    head = f"{'encoding':<10}{'median real':>13}{'median anim.':>14}{'ratio':>7}{'AUC':>7}{'CV acc':>8}{'95% CI':>15}"
    lines = [head, "-" * len(head)]
    for r in rows:
        ci = f"[{r.accuracy.ci95[0]:.2f}, {r.accuracy.ci95[1]:.2f}]"
        lines.append(
            f"{r.encoding:<10}{r.median_real:>13,.0f}{r.median_animated:>14,.0f}{r.ratio:>7.2f}{r.auc:>7.2f}"
            f"{r.accuracy.accuracy:>8.3f}{ci:>15}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class FormatVersusClass:
    """How far the encoding moves the median length, against how far the class moves it.

    Both are ratios >= 1: ``format_ratio`` is the largest over the smallest median length across
    encodings (same images); ``class_ratio`` is the largest animated/real median ratio (or its inverse)
    within any one encoding.
    """

    format_ratio: float
    class_ratio: float


def format_versus_class(measured: ReencodedLengths) -> FormatVersusClass:
    """Compare the pull of the encoding with the pull of the class on the median length."""
    medians = np.median(measured.lengths, axis=1)
    format_ratio = float(medians.max() / medians.min())
    labels = measured.labels
    ratios = [float(np.median(row[labels == 1]) / np.median(row[labels == 0])) for row in measured.lengths]
    class_ratio = max(max(r, 1.0 / r) for r in ratios)
    return FormatVersusClass(format_ratio, class_ratio)


def confounded_accuracy(
    measured: ReencodedLengths, *, real: str, animated: str, folds: int = 5, seed: int = 0
) -> CVAccuracy:
    """Byte-length accuracy when real images come in one encoding and animated ones in another.

    This is how image collections often look in the wild, and what a classifier on raw files learns.
    """
    labels = measured.labels
    lengths = np.where(labels == 0, measured.row(real), measured.row(animated))
    return byte_length_accuracy(lengths, labels, folds=folds, seed=seed)
