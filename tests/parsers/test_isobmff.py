"""HEIF/AVIF headers (phone photos): the format and the primary image's size, read without decoding."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgclass.headers import ImageHeader, read_header, sniff_format, unsupported_reason
from imgclass.parsers.isobmff import heif_size, isobmff_format

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PHONE = {"heif": (FIXTURES / "drawing.heic").read_bytes(), "avif": (FIXTURES / "drawing.avif").read_bytes()}


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_phone_formats_read_their_size(fmt: str) -> None:
    data = PHONE[fmt]
    assert sniff_format(data) == isobmff_format(data) == fmt
    assert read_header(data) == ImageHeader(fmt, 96, 64)


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_every_truncation_is_clean(fmt: str) -> None:
    data = PHONE[fmt]
    for cut in range(len(data)):
        try:
            header = read_header(data[:cut])
        except ValueError:
            continue
        assert (header.width, header.height) == (96, 64)


def _with_size(data: bytes, width: int, height: int) -> bytes:
    at = data.index(b"ispe") + 8  # box type, then version and flags
    return data[:at] + width.to_bytes(4, "big") + height.to_bytes(4, "big") + data[at + 8 :]


def test_the_primary_items_ispe_is_the_size() -> None:
    assert heif_size(_with_size(PHONE["heif"], 100_000, 100_000)) == (100_000, 100_000)


@given(st.sampled_from(sorted(PHONE)), st.binary(max_size=300))
def test_garbage_after_the_brand_is_clean(fmt: str, garbage: bytes) -> None:
    with contextlib.suppress(ValueError):
        read_header(PHONE[fmt][:32] + garbage)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG is a vector format: rasterise it first"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<svg/>", "SVG is a vector format"),
        (b"%PDF-1.7\n", "PDF is a document format"),
        (b"8BPS\x00\x01", "Photoshop (PSD)"),
        (b"\xff\x0a\x00", "JPEG XL"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "not a still image"),
    ],
)
def test_known_unsupported_formats_are_named(data: bytes, words: str) -> None:
    assert sniff_format(data) is None
    assert words in (unsupported_reason(data) or "")
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_header(data)


def test_unknown_and_empty_keep_their_words() -> None:
    with pytest.raises(ValueError, match=r"^not a recognised image: unknown magic bytes$"):
        read_header(b"hello, world")
    with pytest.raises(ValueError, match=r"^empty file$"):
        read_header(b"")
