"""Name the container from its magic bytes and read width and height from its header, without decoding.

Every reader here is bounded: it reads at most a fixed number of bytes or segments and raises
``ValueError`` on anything it does not understand. Nothing here trusts the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imgclass.parsers._bytes import exact, unpack
from imgclass.parsers.isobmff import heif_size, isobmff_brands, isobmff_format
from imgclass.parsers.jpeg import jpeg_size
from imgclass.parsers.png import png_size

#: Formats we recognise from their magic bytes and OpenCV decodes (the byte-stream features' one-hot columns).
FORMATS = ("jpeg", "png", "gif", "webp", "bmp", "tiff")
#: Formats read through an optional library (the ``heif`` extra, :mod:`imgclass.decode`): phone photos.
OPTIONAL_FORMATS = ("heif", "avif")
#: What an empty file is called, by every command and by the server.
EMPTY_FILE = "empty file"
#: The canonical extension of each format :func:`sniff_format` knows, and the others in use for it. A
#: folder's files are picked by these (``imgclass send``, ``imgclass classify``); a named file never is.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "png": (".png",),
    "gif": (".gif",),
    "webp": (".webp",),
    "bmp": (".bmp",),
    "tiff": (".tif", ".tiff"),
    "heif": (".heic", ".heif", ".hif"),
    "avif": (".avif",),
}
#: Extensions of image formats that are known but not read (:func:`unsupported_reason` says why).
UNSUPPORTED_EXTENSIONS = (".svg", ".svgz", ".psd", ".jxl")
#: Default ceiling on width*height, well above any photo and far below what would exhaust memory: a decode
#: (:mod:`imgclass.decode`) and the JPEG block reader (:mod:`imgclass.parsers.jpeg_scan`) refuse more.
MAX_PIXELS = 64 * 1024 * 1024
#: TIFF directory entries read at most.
_MAX_TIFF_ENTRIES = 512


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
    """The container named by the magic bytes (:data:`FORMATS` or :data:`OPTIONAL_FORMATS`), or ``None``."""
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
    return isobmff_format(data)


def unsupported_reason(data: bytes) -> str | None:
    """Why a file of a known format that is not read here is refused (what to do instead), or ``None``."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")  # a UTF-8 byte-order mark, then blanks
    low = head.lower()
    if low.startswith(b"<svg") or (low.startswith((b"<?xml", b"<!doctype svg", b"<!--")) and b"<svg" in low):
        return "SVG is a vector format: rasterise it first (e.g. rsvg-convert -o image.png image.svg)"
    if head.startswith(b"%PDF-"):
        return "PDF is a document format: export the page as PNG or JPEG first"
    if head.startswith(b"%!PS"):
        return "PostScript is a vector format: rasterise it first"
    if data[:4] == b"8BPS":
        return "Photoshop (PSD) files are not read: export a flattened PNG or JPEG first"
    if data[:2] == b"\xff\x0a" or data[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "JPEG XL is not read yet: convert it to PNG or JPEG first"
    brands = isobmff_brands(data) if len(data) >= 12 else None
    if brands is not None:
        return f"an ISO media file (brand {brands[0].decode('latin-1').strip()!r}: a video?), not a still image"
    return None


def read_header(data: bytes) -> ImageHeader:
    """Parse format, width and height. Raises ``ValueError`` for unknown or malformed headers, naming a
    known format that is not read (SVG, PDF, ...) as such."""
    if not data:
        raise ValueError(EMPTY_FILE)
    fmt = sniff_format(data)
    if fmt is None:
        raise ValueError(unsupported_reason(data) or "not a recognised image: unknown magic bytes")
    width, height = _DIMENSION_READERS[fmt](data)
    if width <= 0 or height <= 0:
        raise ValueError(f"{fmt} header gives impossible dimensions {width}x{height}")
    return ImageHeader(fmt, width, height)


def _gif_size(data: bytes) -> tuple[int, int]:
    width, height = unpack("<HH", data, 6)
    return width, height


def _bmp_size(data: bytes) -> tuple[int, int]:
    (dib_size,) = unpack("<I", data, 14)
    if dib_size == 12:
        width, height = unpack("<HH", data, 18)
        return width, height
    width, height = unpack("<ii", data, 18)
    return abs(width), abs(height)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("webp: bad VP8 start code")
        w, h = unpack("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        if data[20:21] != b"\x2f":
            raise ValueError("webp: bad VP8L signature")
        (bits,) = unpack("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        w = int.from_bytes(exact(data, 24, 3), "little") + 1
        h = int.from_bytes(exact(data, 27, 3), "little") + 1
        return w, h
    raise ValueError(f"webp: unknown chunk {chunk!r}")


def _tiff_size(data: bytes) -> tuple[int, int]:
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = unpack(endian + "I", data, 4)
    (count,) = unpack(endian + "H", data, ifd)
    width = height = 0
    for i in range(min(count, _MAX_TIFF_ENTRIES)):
        tag, kind, _n = unpack(endian + "HHI", data, ifd + 2 + 12 * i)
        (value,) = unpack(endian + ("H" if kind == 3 else "I"), data, ifd + 2 + 12 * i + 8)
        if tag == 256:
            width = value
        elif tag == 257:
            height = value
    return width, height


_DIMENSION_READERS: dict[str, Callable[[bytes], tuple[int, int]]] = {
    "jpeg": jpeg_size,
    "png": png_size,
    "gif": _gif_size,
    "webp": _webp_size,
    "bmp": _bmp_size,
    "tiff": _tiff_size,
    "heif": heif_size,
    "avif": heif_size,
}
