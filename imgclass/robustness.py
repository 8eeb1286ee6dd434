"""Re-encode test images the ways they get re-encoded in the wild, to see whether a classifier cares.

An image that is shared, re-uploaded or screenshotted comes back with the same content in different
bytes. A classifier that tells drawings from photographs by content should give the same answer; one
that has learnt the encoding will not. Each transform takes encoded bytes and returns new encoded
bytes (decoded with :func:`imgclass.decode.decode_image`, so alpha is already on white):

* ``jpeg-q75``: JPEG at quality 75, a typical upload or messenger re-compression;
* ``png``: lossless PNG of the decoded pixels: the same pixels in another container;
* ``webp``: lossy WEBP at quality 80;
* ``downscale-0.5x``: half the width and height (area averaging), saved as JPEG q90;
* ``screenshot-png``: the image as a screenshot of a viewer shows it: scaled to 80% with bilinear
  interpolation (a viewer fitting it to its window), on a light-grey window background with a 16-pixel
  margin and a 24-pixel title bar above, saved as PNG.

Its two halves are there too, outside the default list (:data:`SCREENSHOT_PARTS`):
``screenshot-frame-only`` (the window around the image at its own size) and ``screenshot-resize-only``
(the 80% bilinear resize, no window), to tell which of the two a classifier minds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import cv2
import numpy as np

from imgclass.decode import BGRImage, decode_image
from imgclass.progress import progress as progress_bar


def _encode(image: BGRImage, extension: str, params: Sequence[int] = ()) -> bytes:
    ok, buf = cv2.imencode(extension, image, list(params))
    if not ok:
        raise ValueError(f"OpenCV could not encode an image as {extension}")
    return bytes(buf)


def jpeg_q75(image: BGRImage) -> bytes:
    """Re-encode as JPEG at quality 75."""
    return _encode(image, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 75))


def png(image: BGRImage) -> bytes:
    """Re-encode as PNG (lossless)."""
    return _encode(image, ".png")


def webp(image: BGRImage) -> bytes:
    """Re-encode as WEBP at quality 80."""
    return _encode(image, ".webp", (cv2.IMWRITE_WEBP_QUALITY, 80))


def downscale_half(image: BGRImage) -> bytes:
    """Halve the size (area interpolation), then JPEG at quality 90."""
    height, width = image.shape[:2]
    half = cv2.resize(image, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
    return _encode(half, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 90))


#: Window colours of the screenshot: background, title bar, title text.
SCREENSHOT_BACKGROUND: Final = (240, 240, 240)
SCREENSHOT_TITLE_BAR: Final = (222, 222, 222)
SCREENSHOT_TEXT: Final = (40, 40, 40)
SCREENSHOT_SCALE: Final = 0.8
SCREENSHOT_MARGIN: Final = 16
SCREENSHOT_TITLE_HEIGHT: Final = 24


def viewer_resize(image: BGRImage) -> BGRImage:
    """``image`` scaled as a viewer fits it to its window: to 80% with bilinear interpolation."""
    height, width = image.shape[:2]
    size = (max(1, round(width * SCREENSHOT_SCALE)), max(1, round(height * SCREENSHOT_SCALE)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR))


def viewer_frame(image: BGRImage) -> BGRImage:
    """``image`` at its own size inside the viewer's window: a 24-pixel title bar and 16-pixel margins."""
    height, width = image.shape[:2]
    top = SCREENSHOT_TITLE_HEIGHT + SCREENSHOT_MARGIN
    canvas = np.empty((top + height + SCREENSHOT_MARGIN, width + 2 * SCREENSHOT_MARGIN, 3), np.uint8)
    canvas[:] = SCREENSHOT_BACKGROUND
    canvas[:SCREENSHOT_TITLE_HEIGHT] = SCREENSHOT_TITLE_BAR
    cv2.putText(canvas, "image - Viewer", (8, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, SCREENSHOT_TEXT, 1, cv2.LINE_AA)
    canvas[top : top + height, SCREENSHOT_MARGIN : SCREENSHOT_MARGIN + width] = image
    return canvas


def screenshot(image: BGRImage) -> bytes:
    """A screenshot of the image in a viewer: scaled to 80% (bilinear) inside a window frame, as PNG."""
    return _encode(viewer_frame(viewer_resize(image)), ".png")


def screenshot_frame_only(image: BGRImage) -> bytes:
    """The screenshot's window frame around the image at its own size, as PNG (no resize)."""
    return _encode(viewer_frame(image), ".png")


def screenshot_resize_only(image: BGRImage) -> bytes:
    """The screenshot's 80% bilinear resize alone, as PNG (no frame)."""
    return _encode(viewer_resize(image), ".png")


#: Transform name -> function from decoded BGR pixels to new encoded bytes, in report order.
TRANSFORMS: Final[dict[str, Callable[[BGRImage], bytes]]] = {
    "jpeg-q75": jpeg_q75,
    "png": png,
    "webp": webp,
    "downscale-0.5x": downscale_half,
    "screenshot-png": screenshot,
}


#: The two halves of ``screenshot-png``, to tell which one a classifier minds (not in the default report).
SCREENSHOT_PARTS: Final[dict[str, Callable[[BGRImage], bytes]]] = {
    "screenshot-frame-only": screenshot_frame_only,
    "screenshot-resize-only": screenshot_resize_only,
}
_KNOWN: Final = {**TRANSFORMS, **SCREENSHOT_PARTS}


def check_transforms(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, after checking each is a known transform."""
    unknown = [n for n in names if n not in _KNOWN]
    if unknown:
        raise ValueError(f"unknown transform(s) {', '.join(unknown)}; choose from {', '.join(_KNOWN)}")
    return tuple(names)


def reencode(data: bytes, transform: str) -> bytes:
    """``data`` decoded and written again the way ``transform`` says."""
    (name,) = check_transforms([transform])
    return _KNOWN[name](decode_image(data))


def reencode_all(images: Sequence[bytes], transform: str, *, progress: bool = False) -> list[bytes]:
    """Every image of ``images`` through ``transform``, in order."""
    (name,) = check_transforms([transform])
    function = _KNOWN[name]
    return [
        function(decode_image(data))
        for data in progress_bar(images, enabled=progress, desc=name, unit="img", leave=False)
    ]
