"""Read an encoded image's container and dimensions from its header, without decoding pixels.

Every parser here is bounded: it reads at most a fixed number of bytes or markers and raises
``ValueError`` on anything it does not understand. Nothing here trusts the input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Formats we recognise from their magic bytes.
FORMATS = ("jpeg", "png", "gif", "webp", "bmp", "tiff")

# JPEG start-of-frame markers carry the dimensions (SOF0-SOF15 except DHT, JPG and DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_MAX_JPEG_SEGMENTS = 1024


@dataclass(frozen=True)
class ImageHeader:
    """What the header says: container format, width and height in pixels."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def sniff_format(data: bytes) -> str | None:
    """The container named by the magic bytes, or ``None`` when it is not one we know."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def read_header(data: bytes) -> ImageHeader:
    """Parse format, width and height. Raises ``ValueError`` for unknown or malformed headers."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ValueError("not a recognised image: unknown magic bytes")
    width, height = _DIMENSION_READERS[fmt](data)
    if width <= 0 or height <= 0:
        raise ValueError(f"{fmt} header gives impossible dimensions {width}x{height}")
    return ImageHeader(fmt, width, height)


def _unpack(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise ValueError("truncated image header")
    return struct.unpack_from(fmt, data, offset)


def _png_size(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ValueError("png: first chunk is not IHDR")
    width, height = _unpack(">II", data, 16)
    return width, height


def _gif_size(data: bytes) -> tuple[int, int]:
    return _unpack("<HH", data, 6)  # type: ignore[return-value]


def _bmp_size(data: bytes) -> tuple[int, int]:
    (dib_size,) = _unpack("<I", data, 14)
    if dib_size == 12:
        return _unpack("<HH", data, 18)  # type: ignore[return-value]
    width, height = _unpack("<ii", data, 18)
    return abs(width), abs(height)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("webp: bad VP8 start code")
        w, h = _unpack("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        if data[20:21] != b"\x2f":
            raise ValueError("webp: bad VP8L signature")
        (bits,) = _unpack("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        w = int.from_bytes(_exact(data, 24, 3), "little") + 1
        h = int.from_bytes(_exact(data, 27, 3), "little") + 1
        return w, h
    raise ValueError(f"webp: unknown chunk {chunk!r}")


def _exact(data: bytes, offset: int, size: int) -> bytes:
    if offset + size > len(data):
        raise ValueError("truncated image header")
    return data[offset : offset + size]


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= len(data):
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # markers without a length field
        if marker == 0xD9 or marker == 0xDA:
            break  # end of image or start of scan before any frame header
        (length,) = _unpack(">H", data, pos)
        if length < 2:
            raise ValueError("jpeg: segment length below 2")
        if marker in _SOF_MARKERS:
            height, width = _unpack(">HH", data, pos + 3)
            return width, height
        pos += length
    raise ValueError("jpeg: no frame header (SOF) found")


def _tiff_size(data: bytes) -> tuple[int, int]:
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = _unpack(endian + "I", data, 4)
    (count,) = _unpack(endian + "H", data, ifd)
    width = height = 0
    for i in range(min(count, 512)):
        tag, kind, _n = _unpack(endian + "HHI", data, ifd + 2 + 12 * i)
        value_fmt = endian + ("H" if kind == 3 else "I")
        (value,) = _unpack(value_fmt, data, ifd + 2 + 12 * i + 8)
        if tag == 256:
            width = value
        elif tag == 257:
            height = value
    return width, height


_DIMENSION_READERS = {
    "jpeg": _jpeg_size,
    "png": _png_size,
    "gif": _gif_size,
    "webp": _webp_size,
    "bmp": _bmp_size,
    "tiff": _tiff_size,
}
