"""Training augmentations: what users' files go through before they reach a classifier.

A file that was shared, re-uploaded, shrunk, cropped or screenshotted shows the same content in other
pixels and other bytes. Training on such copies teaches a classifier that none of that is the class.
Each copy is one :class:`Augmentation`, drawn from a seeded generator (:func:`draw_augmentation`) and
applied to decoded pixels (:func:`apply_augmentation`), in this order:

* crop: keep 55-95% of each side at a random place;
* downscale: 35-90% of the size, area-averaged (never below 48 pixels a side);
* thumbnail: shrunk so that the longest side is 64-256 pixels, as web thumbnails and clip art come;
* plain ground: where the image stands on a plain ground (a cut-out, clip art, a studio shot:
  :func:`imgclass.robustness.plain_ground_mask`), that ground repainted white or light grey, so that a white
  or grey ground says nothing about the class;
* colour jitter: brightness and contrast up to +-20%, saturation 60-140%;
* greyscale: the image as a black-and-white print or a greyscale photo would show it;
* screenshot: shown at 60-100% with bilinear interpolation in a window with a grey margin and title bar;
* first save: a JPEG at quality 50-95, decoded again, so the final encoding is a second compression;
* re-encode: JPEG at quality 40-95, lossless PNG, or WEBP at quality 40-95.

Steps added later are drawn after the earlier ones (thumbnail and first save, then plain ground and
colour jitter), so the earlier steps of a copy are the same as before each was added.

Copy ``k`` of image ``i`` draws from ``numpy.random.default_rng([seed, i, k])``, so a copy does not
depend on the order or number of the other images, and the same seed gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.decode import BGRImage, decode_image
from imgclass.robustness import on_plain_ground, shrink_to

Encoding = Literal["jpeg", "png", "webp"]
ENCODINGS: Final[tuple[Encoding, ...]] = ("jpeg", "png", "webp")
#: Chance of each step, and of each encoding.
P_CROP: Final = 0.4
P_DOWNSCALE: Final = 0.4
P_GREY: Final = 0.2
P_SCREENSHOT: Final = 0.15
P_ENCODING: Final = (0.6, 0.2, 0.2)
QUALITY_RANGE: Final = (40, 95)
MIN_SIDE: Final = 48
P_THUMBNAIL: Final = 0.25
THUMBNAIL_RANGE: Final = (64, 256)
P_FIRST_SAVE: Final = 0.2
FIRST_SAVE_RANGE: Final = (50, 95)
P_GROUND: Final = 0.15
#: Share of the repainted grounds that are white; the rest are a grey level drawn from GROUND_GREYS.
P_GROUND_WHITE: Final = 0.6
GROUND_GREYS: Final = (150, 235)
P_JITTER: Final = 0.3
JITTER_BRIGHTNESS: Final = 0.2
JITTER_CONTRAST: Final = 0.2
JITTER_SATURATION: Final = (0.6, 1.4)


@dataclass(frozen=True)
class Augmentation:
    """One augmented copy: each step's parameter, or ``None`` where the step is skipped."""

    crop: tuple[float, float, float, float] | None = None  # kept width, kept height, left, top (shares)
    scale: float | None = None
    grey: bool = False
    screenshot: tuple[float, int, int] | None = None  # scale shown, margin, background grey level
    encoding: Encoding = "jpeg"
    quality: int = 90
    thumbnail: int | None = None  # longest side, in pixels
    first_save: int | None = None  # JPEG quality of a save before the final encoding
    ground: int | None = None  # grey level the plain ground is repainted (255: white)
    jitter: tuple[float, float, float] | None = None  # brightness, contrast, saturation factors


def draw_augmentation(rng: np.random.Generator) -> Augmentation:
    """A random :class:`Augmentation` (the same generator state gives the same one)."""
    crop = None
    if rng.random() < P_CROP:
        keep_w, keep_h = rng.uniform(0.55, 0.95, size=2)
        crop = (float(keep_w), float(keep_h), float(rng.random()), float(rng.random()))
    scale = float(rng.uniform(0.35, 0.9)) if rng.random() < P_DOWNSCALE else None
    grey = bool(rng.random() < P_GREY)
    screenshot = None
    if rng.random() < P_SCREENSHOT:
        screenshot = (float(rng.uniform(0.6, 1.0)), int(rng.integers(4, 33)), int(rng.integers(200, 256)))
    encoding = ENCODINGS[int(rng.choice(len(ENCODINGS), p=P_ENCODING))]
    quality = int(rng.integers(QUALITY_RANGE[0], QUALITY_RANGE[1] + 1))
    thumbnail = first_save = None
    if rng.random() < P_THUMBNAIL:
        thumbnail = int(rng.integers(THUMBNAIL_RANGE[0], THUMBNAIL_RANGE[1] + 1))
    if rng.random() < P_FIRST_SAVE:
        first_save = int(rng.integers(FIRST_SAVE_RANGE[0], FIRST_SAVE_RANGE[1] + 1))
    ground = jitter = None
    if rng.random() < P_GROUND:
        white = rng.random() < P_GROUND_WHITE
        ground = 255 if white else int(rng.integers(GROUND_GREYS[0], GROUND_GREYS[1] + 1))
    if rng.random() < P_JITTER:
        brightness, contrast = 1 + rng.uniform(-1, 1, size=2) * (JITTER_BRIGHTNESS, JITTER_CONTRAST)
        jitter = (float(brightness), float(contrast), float(rng.uniform(*JITTER_SATURATION)))
    return Augmentation(crop, scale, grey, screenshot, encoding, quality, thumbnail, first_save, ground, jitter)


def colour_jitter(image: BGRImage, brightness: float, contrast: float, saturation: float) -> BGRImage:
    """``image`` with its brightness, contrast (around its mean luma) and saturation scaled by these factors."""
    pixels = image.astype(np.float32)
    luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None]
    pixels = luma + saturation * (pixels - luma)
    pixels = float(luma.mean()) + contrast * (pixels - float(luma.mean()))
    return np.ascontiguousarray(np.clip(pixels * brightness, 0, 255).round().astype(np.uint8))


def _resized(image: BGRImage, scale: float, interpolation: int) -> BGRImage:
    height, width = image.shape[:2]
    # Never shrink below MIN_SIDE (nor enlarge what is already smaller).
    scale = max(scale, min(1.0, MIN_SIDE / max(1, min(height, width))))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=interpolation))


def _framed(image: BGRImage, scale: float, margin: int, grey: int) -> BGRImage:
    shown = _resized(image, scale, cv2.INTER_LINEAR)
    height, width = shown.shape[:2]
    title = 24
    canvas = np.full((title + 2 * margin + height, 2 * margin + width, 3), grey, dtype=np.uint8)
    canvas[:title] = max(0, grey - 20)
    cv2.putText(canvas, "image - Viewer", (8, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40), 1, cv2.LINE_AA)
    canvas[title + margin : title + margin + height, margin : margin + width] = shown
    return canvas


def encode(image: BGRImage, encoding: Encoding, quality: int = 90) -> bytes:
    """``image`` written as ``encoding`` (``quality`` is used by JPEG and WEBP)."""
    if encoding == "jpeg":
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif encoding == "webp":
        ok, buf = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
    elif encoding == "png":
        ok, buf = cv2.imencode(".png", image)
    else:
        raise ValueError(f"unknown encoding {encoding!r}; choose from {', '.join(ENCODINGS)}")
    if not ok:
        raise ValueError(f"OpenCV could not encode an image as {encoding}")
    return bytes(buf)


def apply_augmentation(image: BGRImage, augmentation: Augmentation) -> bytes:
    """The encoded bytes of ``image`` (BGR ``uint8``) after each step of ``augmentation``."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR image, got {image.shape} {image.dtype}")
    out = image
    if augmentation.crop is not None:
        keep_w, keep_h, left, top = augmentation.crop
        height, width = out.shape[:2]
        w, h = max(1, round(width * keep_w)), max(1, round(height * keep_h))
        x, y = round((width - w) * left), round((height - h) * top)
        out = np.ascontiguousarray(out[y : y + h, x : x + w])
    if augmentation.scale is not None:
        out = _resized(out, augmentation.scale, cv2.INTER_AREA)
    if augmentation.thumbnail is not None:
        out = shrink_to(out, augmentation.thumbnail)
    if augmentation.ground is not None:
        out = on_plain_ground(out, (augmentation.ground,) * 3)
    if augmentation.jitter is not None:
        out = colour_jitter(out, *augmentation.jitter)
    if augmentation.grey:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if augmentation.screenshot is not None:
        out = _framed(out, *augmentation.screenshot)
    if augmentation.first_save is not None:
        out = decode_image(encode(out, "jpeg", augmentation.first_save))
    return encode(out, augmentation.encoding, augmentation.quality)


def augment_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    """One augmented copy of encoded image ``data``."""
    return apply_augmentation(decode_image(data), draw_augmentation(rng))


def augment_dataset(
    images: Sequence[bytes], labels: Any, *, copies: int = 1, seed: int = 0
) -> tuple[list[bytes], npt.NDArray[np.int64]]:
    """The images followed by ``copies`` augmented copies of each (in order), with their labels."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (len(images),):
        raise ValueError(f"got {len(images)} images but {y.size} labels")
    out = list(images)
    for k in range(copies):
        out += [augment_bytes(data, np.random.default_rng([seed, i, k])) for i, data in enumerate(images)]
    return out, np.tile(y, copies + 1)


__all__ = [
    "Augmentation",
    "apply_augmentation",
    "augment_bytes",
    "augment_dataset",
    "colour_jitter",
    "draw_augmentation",
    "encode",
]
