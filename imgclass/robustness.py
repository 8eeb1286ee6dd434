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

The stress transforms (:data:`STRESS`, also outside the default list) are what outside collections do to
images that the default five do not: thumbnails, re-saved files and black-and-white copies.

* ``shrink-96``, ``shrink-128``, ``shrink-160``, ``shrink-227``, ``shrink-320``: shrunk (area averaging) so
  that the longest side is that many pixels, saved as JPEG q90; an image already that small keeps its size;
* ``shrink-128-enlarge-512``: shrunk to 128 pixels and enlarged back (bicubic) to 512, as a small web
  image is when a page or a tool scales it up, saved as JPEG q90;
* ``double-jpeg``: saved as JPEG twice, each time at a quality from 50 to 95 drawn from the image's own
  pixels (so the same image always gets the same two qualities, whatever the order of a set);
* ``greyscale``: the luma of the image, saved as JPEG q90.

* ``ground-white``, ``ground-grey``: the subject on a plain white (255) or grey (:data:`GROUND_GREY`) ground,
  saved as PNG (lossless, so that only the ground changes). A transform that only has the encoded image
  has no mask, so the ground is defined by a rule (:func:`plain_ground_mask`): the pixels within
  :data:`GROUND_TOLERANCE` levels of the border's median colour that are connected to the border, and only
  where at least :data:`GROUND_BORDER_SHARE` of the border is that colour (an image on a plain ground: a
  cut-out flattened onto any colour, clip art, a product shot, a studio portrait). Elsewhere (a photograph
  that fills its frame) there is no ground to swap and the image is only re-saved as PNG; the report
  gives the share of each domain that had a ground. v2's cut-outs come from transparent images in their
  packages, flattened by the builder onto white, off-white, a pale tint or any colour: this rule puts
  exactly those subjects back on white or grey, up to the anti-aliased rim where the old ground shows
  through (what a real composite on a new ground looks like too).

Names can be given by group: ``default`` (:data:`TRANSFORMS`), ``stress``, ``screenshot-parts``
(:func:`expand_transforms`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

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


#: Longest sides of the resolution sweep, in pixels.
SHRINK_SIDES: Final = (96, 128, 160, 227, 320)
#: Quality range of each of the two saves of ``double-jpeg``.
DOUBLE_JPEG_QUALITIES: Final = (50, 95)


def shrink_to(image: BGRImage, longest: int) -> BGRImage:
    """``image`` area-averaged so that its longest side is ``longest`` pixels (never enlarged)."""
    if longest < 1:
        raise ValueError(f"longest side must be positive, got {longest}")
    height, width = image.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def enlarge_to(image: BGRImage, longest: int) -> BGRImage:
    """``image`` enlarged (bicubic) so that its longest side is ``longest`` pixels (never shrunk)."""
    height, width = image.shape[:2]
    scale = longest / max(height, width)
    if scale <= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC))


def _jpeg_q90(image: BGRImage) -> bytes:
    return _encode(image, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 90))


def _shrink(longest: int) -> Callable[[BGRImage], bytes]:
    def transform(image: BGRImage) -> bytes:
        return _jpeg_q90(shrink_to(image, longest))

    transform.__name__ = f"shrink_{longest}"
    transform.__doc__ = f"``image`` with its longest side shrunk to {longest} pixels, as JPEG q90."
    return transform


def shrink_enlarge(image: BGRImage) -> bytes:
    """``image`` shrunk to 128 pixels and enlarged back to 512 (its longest side), as JPEG q90."""
    return _jpeg_q90(enlarge_to(shrink_to(image, 128), 512))


def double_jpeg_qualities(image: BGRImage) -> tuple[int, int]:
    """The two JPEG qualities of ``double-jpeg`` for ``image``: drawn from its pixels, so fixed per image."""
    rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(image).data))
    low, high = DOUBLE_JPEG_QUALITIES
    first, second = rng.integers(low, high + 1, size=2)
    return int(first), int(second)


def double_jpeg(image: BGRImage) -> bytes:
    """``image`` saved as JPEG, decoded and saved as JPEG again (qualities: :func:`double_jpeg_qualities`)."""
    first, second = double_jpeg_qualities(image)
    once = decode_image(_encode(image, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, first)))
    return _encode(once, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, second))


def greyscale(image: BGRImage) -> bytes:
    """The luma of ``image`` (one channel), as JPEG q90."""
    return _jpeg_q90(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))


#: Largest difference (levels, in every channel) from the border's median colour that still counts as ground.
GROUND_TOLERANCE: Final = 12
#: Share of the border pixels that must be ground-coloured for the image to have a plain ground at all.
GROUND_BORDER_SHARE: Final = 0.6
#: The grey of ``ground-grey`` (a studio backdrop's light grey).
GROUND_GREY: Final = (190, 190, 190)


def plain_ground_mask(image: BGRImage) -> npt.NDArray[np.bool_]:
    """Where ``image`` (BGR ``uint8``) shows a plain ground: see the module's ``ground-white``; all False if none."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR image, got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.int16)
    ground = np.median(border, axis=0)
    if np.mean(np.all(np.abs(border - ground) <= GROUND_TOLERANCE, axis=1)) < GROUND_BORDER_SHARE:
        return np.zeros((height, width), dtype=bool)
    near = np.all(np.abs(image.astype(np.int16) - ground.astype(np.int16)) <= GROUND_TOLERANCE, axis=2)
    _, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
    touching = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    touching = touching[touching > 0]  # 0 is "not near the ground colour"
    return np.isin(labels, touching)


def on_plain_ground(image: BGRImage, colour: tuple[int, int, int]) -> BGRImage:
    """``image`` with its plain ground (:func:`plain_ground_mask`) painted ``colour``; unchanged where it has none."""
    out = image.copy()
    out[plain_ground_mask(image)] = colour
    return out


def ground_white(image: BGRImage) -> bytes:
    """The subject on white (where the image has a plain ground), as PNG."""
    return _encode(on_plain_ground(image, (255, 255, 255)), ".png")


def ground_grey(image: BGRImage) -> bytes:
    """The subject on light grey (where the image has a plain ground), as PNG."""
    return _encode(on_plain_ground(image, GROUND_GREY), ".png")


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

#: Thumbnails, re-saved files, black-and-white copies and subjects on a plain ground (not in the default report).
STRESS: Final[dict[str, Callable[[BGRImage], bytes]]] = {
    **{f"shrink-{side}": _shrink(side) for side in SHRINK_SIDES},
    "shrink-128-enlarge-512": shrink_enlarge,
    "double-jpeg": double_jpeg,
    "greyscale": greyscale,
    "ground-white": ground_white,
    "ground-grey": ground_grey,
}
_KNOWN: Final = {**TRANSFORMS, **SCREENSHOT_PARTS, **STRESS}
#: Names that stand for several transforms, in report order.
GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "default": tuple(TRANSFORMS),
    "stress": tuple(STRESS),
    "screenshot-parts": tuple(SCREENSHOT_PARTS),
}


def expand_transforms(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` with each group name (:data:`GROUPS`) replaced by its transforms, each transform once, checked."""
    expanded = [member for name in names for member in GROUPS.get(name, (name,))]
    return check_transforms(list(dict.fromkeys(expanded)))


def check_transforms(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, after checking each is a known transform."""
    unknown = [n for n in names if n not in _KNOWN]
    if unknown:
        raise ValueError(
            f"unknown transform(s) {', '.join(unknown)}; choose from {', '.join(_KNOWN)} "
            f"(or a group: {', '.join(GROUPS)})"
        )
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
