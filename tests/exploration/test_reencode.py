from __future__ import annotations

import numpy as np
import pytest

from imgclass.data import Dataset
from imgclass.decode import decode_image
from imgclass.exploration.reencode import (
    ENCODINGS,
    Encoding,
    ReencodedLengths,
    confounded_accuracy,
    encoding_named,
    format_versus_class,
    reencode_lengths,
    summarise,
    summary_table,
)


def test_lossless_png_keeps_the_pixels(tiny_dataset: Dataset) -> None:
    image = decode_image(tiny_dataset.images[0])
    data = encoding_named("PNG").encode(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(decode_image(data), image)


def test_lower_quality_is_shorter(tiny_dataset: Dataset) -> None:
    image = decode_image(tiny_dataset.images[0])
    assert len(encoding_named("JPEG q50").encode(image)) < len(encoding_named("JPEG q90").encode(image))
    assert encoding_named("WEBP q80").encode(image)[8:12] == b"WEBP"


def test_lengths_per_encoding_and_image(tiny_dataset: Dataset) -> None:
    measured = reencode_lengths(tiny_dataset)
    assert measured.encodings == tuple(e.name for e in ENCODINGS)
    assert measured.lengths.shape == (len(ENCODINGS), len(tiny_dataset)) and (measured.lengths > 0).all()
    image = decode_image(tiny_dataset.images[3])
    assert measured.row("JPEG q90")[3] == len(encoding_named("JPEG q90").encode(image))
    rows = summarise(measured)
    assert [r.encoding for r in rows] == list(measured.encodings)
    for r in rows:
        assert 0 <= r.auc <= 1 and 0 <= r.accuracy.accuracy <= 1
        assert r.ratio == pytest.approx(r.median_animated / r.median_real)
    assert "JPEG q50" in summary_table(rows)


def test_format_against_class_on_made_up_lengths() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    lengths = np.array([[100, 110, 120, 130, 140, 150], [1000, 1100, 1200, 1300, 1400, 1500]])
    measured = ReencodedLengths(("small", "big"), lengths, labels)
    result = format_versus_class(measured)
    assert result.format_ratio == pytest.approx(1250 / 125)
    assert result.class_ratio == pytest.approx(140 / 110)


def test_encoding_that_follows_the_class_is_easy() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    same = rng.normal(5e4, 1e4, 60).astype(np.int64)
    measured = ReencodedLengths(("A", "B"), np.vstack([same, same * 10]), labels)
    assert confounded_accuracy(measured, real="A", animated="B").accuracy > 0.95
    assert summarise(measured)[0].accuracy.accuracy < 0.8


def test_unknown_names_and_failed_encoding() -> None:
    with pytest.raises(ValueError, match="unknown encoding"):
        encoding_named("GIF")
    with pytest.raises(ValueError, match="no encoding"):
        ReencodedLengths(("A",), np.zeros((1, 2), np.int64), np.array([0, 1])).row("B")
    with pytest.raises(ValueError, match="at least one"):
        reencode_lengths(None, ())  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - OpenCV's own error for an unknown extension
        Encoding("nope", ".nope").encode(np.zeros((4, 4, 3), np.uint8))
