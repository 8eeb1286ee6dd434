"""Decode encoded image bytes into a BGR ``uint8`` array, safely.

The header is read first (:mod:`imgclass.headers`), so an image-bomb header is refused before any pixel
is allocated. Alpha is flattened onto white and every input comes out as 3-channel 8-bit BGR, so the
feature functions never have to care about the container.

OpenCV decodes the :data:`~imgclass.parsers.container.FORMATS`. Phone photos (HEIC/HEIF and AVIF) are read through
Pillow where the optional ``heif`` extra is installed: pi-heif (libheif, decoder only) registers HEIF with
Pillow, and Pillow reads AVIF itself from 11.3 on. Without them the error names the extra.
"""

from __future__ import annotations

import importlib
import io

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.headers import OPTIONAL_FORMATS, ImageHeader, read_header
from imgclass.parsers.container import MAX_PIXELS

#: Default ceiling on width*height, well above any photo and far below what would exhaust memory.
DEFAULT_MAX_PIXELS = MAX_PIXELS
#: How to install what reads the :data:`~imgclass.parsers.container.OPTIONAL_FORMATS`.
HEIF_EXTRA = "pip install 'imgclass-rva[heif]'"
_OPTIONAL_NAMES = {"heif": "HEIC/HEIF", "avif": "AVIF"}

BGRImage = npt.NDArray[np.uint8]


class ImageDecodeError(ValueError):
    """The bytes are not an image we can decode (or are one we refuse to decode)."""


def undecodable(fmt: str, detail: str = "") -> ImageDecodeError:
    """The error for a file whose header passed but whose pixels do not decode, in the words used everywhere."""
    return ImageDecodeError(f"{fmt} image could not be decoded (corrupt or truncated{': ' + detail if detail else ''})")


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> BGRImage:
    """Decode ``data`` to an ``(H, W, 3)`` BGR ``uint8`` array, alpha flattened onto white.

    Raises :class:`ImageDecodeError` for unknown formats, malformed or truncated files, and
    images whose header declares more than ``max_pixels`` pixels.
    """
    header = checked_header(data, max_pixels=max_pixels)
    if header.format in OPTIONAL_FORMATS:
        return to_bgr8(decode_with_pillow(data, header.format))
    buf = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise undecodable(header.format)
    return to_bgr8(image)


def decode_with_pillow(data: bytes, fmt: str) -> npt.NDArray[np.uint8]:
    """Decode a HEIF or AVIF file (header already checked) to BGR or BGRA with Pillow and the ``heif`` extra."""
    name = _OPTIONAL_NAMES[fmt]
    missing = ImageDecodeError(f"{name} images need the optional 'heif' extra: {HEIF_EXTRA}")
    try:
        from PIL import Image, features
    except ImportError:
        raise missing from None
    if fmt == "heif":
        try:
            importlib.import_module("pi_heif").register_heif_opener()
        except ImportError:
            raise missing from None
    elif not features.check("avif"):
        raise missing
    try:
        with Image.open(io.BytesIO(data), formats=[fmt.upper()]) as opened:
            opened.load()
            converted = opened.convert("RGBA" if opened.has_transparency_data else "RGB")
    except MemoryError:
        raise
    except Exception as exc:  # Pillow and libheif raise OSError, ValueError, SyntaxError, RuntimeError...
        raise undecodable(fmt, str(exc)) from None
    pixels = np.asarray(converted)
    code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return np.ascontiguousarray(cv2.cvtColor(pixels, code))


def checked_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHeader:
    """The header of ``data``, refused with :class:`ImageDecodeError` if unknown or over ``max_pixels``."""
    try:
        header = read_header(data)
    except ValueError as exc:
        raise ImageDecodeError(str(exc)) from None
    if header.pixels > max_pixels:
        raise ImageDecodeError(
            f"{header.format} image of {header.width}x{header.height} pixels exceeds the limit of {max_pixels} pixels"
        )
    return header


def to_bgr8(image: npt.NDArray[np.generic]) -> BGRImage:
    """Bring any OpenCV image (gray, BGR, BGRA; 8 or 16 bit) to 3-channel 8-bit BGR on white."""
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    channels = image.shape[2]
    if channels == 3:
        return np.ascontiguousarray(image)
    if channels == 4:
        return flatten_alpha(image.astype(np.uint8, copy=False))
    if channels == 1:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    raise ImageDecodeError(f"unsupported channel count {channels}")


def flatten_alpha(bgra: BGRImage) -> BGRImage:
    """Composite a BGRA image onto a white background."""
    alpha = bgra[:, :, 3:4].astype(np.uint16)
    colour = bgra[:, :, :3].astype(np.uint16)
    out = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)
