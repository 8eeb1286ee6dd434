"""Pixel operations of the v2 builder: flatten, crop, resize, derived views and encodings.

Every function takes and returns ``uint8`` arrays (``H x W x 3`` RGB, or ``H x W`` grey) and draws any
randomness from the ``random.Random`` it is given, so one seed gives one set of bytes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

Pixels = npt.NDArray[np.uint8]

#: Encodings and their shares for re-encoded views; both classes draw from the same table.
FORMATS = (("jpeg", 0.55), ("png", 0.2), ("webp", 0.25))


#: Larger originals are skipped: a few openclipart PNGs are 10000 x 16000 and more, far beyond any use here.
MAX_PIXELS = 40_000_000


def decode(data: bytes) -> tuple[Pixels, Pixels | None, str]:
    """RGB pixels, the alpha channel (None when opaque) and the PIL format name of an encoded image."""
    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ValueError(f"image too large: {exc}") from None
    with opened as image:
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"image too large: {image.width} x {image.height} pixels (limit {MAX_PIXELS})")
        fmt = (image.format or "").lower()
        image.seek(0)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        rgba = np.asarray(image.convert("RGBA"))
    alpha = rgba[:, :, 3].copy() if has_alpha and int(rgba[:, :, 3].min()) < 255 else None
    return np.ascontiguousarray(rgba[:, :, :3]), alpha, fmt


def background_colour(rng: random.Random) -> tuple[int, int, int]:
    """White about a third of the time, else off-white, a pale tint or any colour at all.

    Transparent clip art flattened onto white would make "white margin" a class cue (v1: 77% of the
    animated images and no real one); real cut-outs get the same draw.
    """
    roll = rng.random()
    if roll < 0.35:
        return (255, 255, 255)
    if roll < 0.6:
        level = rng.randint(225, 250)
        return (level, level, rng.randint(level - 12, level))
    if roll < 0.85:
        return (rng.randint(190, 255), rng.randint(190, 255), rng.randint(190, 255))
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def frame(pixels: Pixels, rng: random.Random) -> Pixels:
    """A photograph on a light page: a margin of 6-25% on each side, like a scan, print or slide."""
    height, width = pixels.shape[:2]
    top, bottom = (max(2, int(rng.uniform(0.06, 0.25) * height)) for _ in range(2))
    left, right = (max(2, int(rng.uniform(0.06, 0.25) * width)) for _ in range(2))
    level = 255 if rng.random() < 0.6 else rng.randint(232, 252)
    shape = (height + top + bottom, width + left + right, *pixels.shape[2:])
    page = np.full(shape, level, dtype=np.uint8)
    page[top : top + height, left : left + width] = pixels
    if rng.random() < 0.5:  # a thin grey border around the print
        grey = rng.randint(120, 200)
        page[top - 1, left - 1 : left + width + 1] = grey
        page[top + height, left - 1 : left + width + 1] = grey
        page[top - 1 : top + height + 1, left - 1] = grey
        page[top - 1 : top + height + 1, left + width] = grey
    return page


def flatten(rgb: Pixels, alpha: Pixels | None, colour: tuple[int, int, int]) -> Pixels:
    """Composite onto a solid colour (a no-op for opaque images)."""
    if alpha is None:
        return rgb
    a = alpha.astype(np.float32)[:, :, None] / 255.0
    back = np.array(colour, dtype=np.float32)[None, None, :]
    return np.clip(rgb.astype(np.float32) * a + back * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def invert(rgb: Pixels) -> Pixels:
    return (255 - rgb).astype(np.uint8)


def is_greyscale(pixels: Pixels, tolerance: int = 12) -> bool:
    """True when (almost) every pixel has equal channels: a grey image, whatever its container."""
    if pixels.ndim == 2:
        return True
    spread = pixels.max(axis=2).astype(np.int16) - pixels.min(axis=2).astype(np.int16)
    return float(np.mean(spread > tolerance)) < 0.01 and float(spread.mean()) < 3.0


def to_grey(rgb: Pixels) -> Pixels:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def grey_with_grain(rgb: Pixels, rng: random.Random) -> Pixels:
    """A black-and-white photograph: luminance, a random contrast curve and film grain."""
    grey = to_grey(rgb).astype(np.float32)
    gamma = rng.uniform(0.8, 1.25)
    grey = 255.0 * (grey / 255.0) ** gamma
    sigma = rng.choice((0.0, 3.0, 6.0, 10.0))
    if sigma:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0.0, sigma, grey.shape)
        grey = grey + noise
    return np.clip(grey + 0.5, 0, 255).astype(np.uint8)


def low_light(rgb: Pixels, rng: random.Random) -> Pixels:
    """Night or dim-room exposure: darkened with a steep gamma, cooler, with shot noise."""
    x = rgb.astype(np.float32) / 255.0
    x = x ** rng.uniform(1.8, 3.0) * rng.uniform(0.35, 0.7)
    x = x * np.array([rng.uniform(0.75, 0.95), rng.uniform(0.85, 1.0), 1.0], dtype=np.float32)
    generator = np.random.default_rng(rng.getrandbits(32))
    photons = rng.uniform(60, 250)
    x = generator.poisson(np.clip(x, 0, 1) * photons) / photons
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def manga(rgb: Pixels, rng: random.Random) -> Pixels:
    """Black-and-white manga rendering: ink lines from edges, flat whites and dot screentones for mid-tones."""
    grey = to_grey(rgb).astype(np.float32)
    height, width = grey.shape
    # Difference-of-Gaussians ink (XDoG-like): dark where the picture has edges.
    scale = max(1.0, min(height, width) / 400.0)
    fine = cv2.GaussianBlur(grey, (0, 0), 0.8 * scale)
    coarse = cv2.GaussianBlur(grey, (0, 0), 1.6 * scale)
    ink = (fine - 0.98 * coarse) < -rng.uniform(1.5, 4.0)
    # Three tone bands: white, a dot screen, and solid black.
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.2 * scale)
    dark_cut, light_cut = rng.uniform(45, 75), rng.uniform(150, 190)
    period = max(3, round(rng.choice((4, 5, 6)) * scale))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = np.deg2rad(rng.choice((15.0, 30.0, 45.0)))
    u = (xx * np.cos(angle) + yy * np.sin(angle)) / period
    v = (-xx * np.sin(angle) + yy * np.cos(angle)) / period
    dist = np.hypot(u - np.round(u), v - np.round(v))
    coverage = np.clip((light_cut - smooth) / (light_cut - dark_cut), 0, 1)
    dots = dist < np.sqrt(coverage / np.pi) * 0.9
    out = np.full((height, width), 255, dtype=np.uint8)
    out[(smooth < light_cut) & dots] = 0
    out[smooth < dark_cut] = 0
    out[ink] = 0
    if rng.random() < 0.5:  # a panel border
        border = max(2, int(3 * scale))
        margin = max(4, int(rng.uniform(0.01, 0.04) * min(height, width)))
        out[:margin, :] = 255
        out[-margin:, :] = 255
        out[:, :margin] = 255
        out[:, -margin:] = 255
        out[margin : margin + border, margin:-margin] = 0
        out[-margin - border : -margin, margin:-margin] = 0
        out[margin:-margin, margin : margin + border] = 0
        out[margin:-margin, -margin - border : -margin] = 0
    return out


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int


def crop_boxes(width: int, height: int, count: int, rng: random.Random) -> list[Box]:
    """``count`` crop windows of 35-70% of the short side with a random aspect ratio, anywhere in the picture."""
    boxes = []
    short = min(width, height)
    for _ in range(count):
        side = rng.uniform(0.35, 0.7) * short
        aspect = rng.choice((1.0, 4 / 3, 3 / 2, 3 / 4, 16 / 9))
        w = int(min(width, round(side * np.sqrt(aspect))))
        h = int(min(height, round(side / np.sqrt(aspect))))
        boxes.append(Box(rng.randint(0, width - w), rng.randint(0, height - h), w, h))
    return boxes


def crop(pixels: Pixels, box: Box) -> Pixels:
    return np.ascontiguousarray(pixels[box.y : box.y + box.height, box.x : box.x + box.width])


def resize_long_side(pixels: Pixels, long_side: int, nearest: bool = False) -> Pixels:
    height, width = pixels.shape[:2]
    scale = long_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return pixels
    method = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return np.asarray(cv2.resize(pixels, size, interpolation=method), dtype=np.uint8)


def encode(pixels: Pixels, fmt: str, quality: int) -> bytes:
    """Encode with Pillow; grey arrays stay single-channel. ``quality`` is ignored for PNG."""
    image = Image.fromarray(pixels, "L" if pixels.ndim == 2 else "RGB")
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.save(buffer, "JPEG", quality=quality)
    elif fmt == "png":
        image.save(buffer, "PNG", compress_level=6)
    elif fmt == "webp":
        image.save(buffer, "WEBP", quality=quality, method=4)
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return buffer.getvalue()


@dataclass(frozen=True)
class Encoding:
    fmt: str  # jpeg, png or webp
    quality: int  # 0 for png
    long_side: int  # 0 keeps the size


def pick_encoding(rng: random.Random, long_side: int) -> Encoding:
    """A format and quality from :data:`FORMATS`, and a long side of 256-1280 px (never above 4x the input)."""
    roll, total = rng.random(), 0.0
    fmt = FORMATS[-1][0]
    for name, share in FORMATS:
        total += share
        if roll < total:
            fmt = name
            break
    quality = 0 if fmt == "png" else rng.randint(50, 95)
    target = min(rng.randint(256, 1280), 4 * long_side)
    return Encoding(fmt, quality, target)


EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif"}
