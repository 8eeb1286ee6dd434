"""The formats table of ``docs/classifiers.md`` is what each shipped classifier reads (issue 21)."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import imgclass
from imgclass.classifiers import classifier_names

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
FORMATS = ("JPEG", "PNG", "GIF", "WebP", "BMP", "TIFF", "HEIC", "AVIF")


def _samples() -> dict[str, bytes]:
    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    encoded = {
        f: cv2.imencode(ext, pixels)[1].tobytes()
        for f, ext in (("JPEG", ".jpg"), ("PNG", ".png"), ("WebP", ".webp"), ("BMP", ".bmp"), ("TIFF", ".tiff"))
    }
    gif = io.BytesIO()
    Image.fromarray(pixels).save(gif, "GIF")
    encoded["GIF"] = gif.getvalue()
    encoded["HEIC"] = (FIXTURES / "drawing.heic").read_bytes()
    encoded["AVIF"] = (FIXTURES / "drawing.avif").read_bytes()
    return encoded


def _table() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "classifiers.md").read_text(encoding="utf-8")
    section = text.split("## The formats each reads", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        reads = {f for f in FORMATS if re.search(rf"\b{f}\b", cells[1])}
        for name in re.findall(r"`([^`]+)`", cells[0]):
            listed[name] = reads
    return listed


def test_the_table_names_every_classifier() -> None:
    assert set(_table()) == set(classifier_names())


@pytest.mark.parametrize("name", classifier_names())
def test_each_classifier_reads_what_the_table_says(name: str) -> None:
    classifier = imgclass.pretrained(name)
    read = set()
    for fmt, data in _samples().items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # byte-stream warns on BMP/TIFF, which the table says
                classifier.predict_proba([data])
        except ValueError:
            continue
        read.add(fmt)
    assert read == _table()[name]
