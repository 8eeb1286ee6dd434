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


def _tone(grey: npt.NDArray[np.float32], rng: random.Random, paper: bool) -> Pixels:
    """Grey (0-1) to a print's colours: plain grey, or a warm sepia/cream cast of random strength.

    Old photographs and old engravings both get it, so a brown cast says "old", not which class.
    """
    if rng.random() < 0.45:
        return np.clip(grey * 255.0 + 0.5, 0, 255).astype(np.uint8)
    strength = rng.uniform(0.35, 1.0)
    warm = np.array([1.0, rng.uniform(0.84, 0.93), rng.uniform(0.62, 0.8)], dtype=np.float32)
    tint = 1.0 - strength * (1.0 - warm)
    if paper:  # ink stays dark, the paper takes the cast
        rgb = grey[:, :, None] * tint[None, None, :]
    else:  # sepia toning: mid-tones warm most, black stays black
        rgb = grey[:, :, None] * (tint[None, None, :] + (1.0 - tint[None, None, :]) * grey[:, :, None])
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _specks(canvas: npt.NDArray[np.float32], rng: random.Random, count: int, light: bool) -> None:
    """Dust and fibres in place (values 0-1): small dots and short hairs, dark or light."""
    height, width = canvas.shape
    for _ in range(count):
        x, y = rng.randrange(width), rng.randrange(height)
        value = rng.uniform(0.85, 1.0) if light and rng.random() < 0.6 else rng.uniform(0.0, 0.25)
        if rng.random() < 0.75:
            cv2.circle(canvas, (x, y), rng.choice((0, 1, 1, 2)), value, -1)
        else:
            length = rng.randint(3, 12)
            angle = rng.uniform(0, np.pi)
            end = (int(x + length * np.cos(angle)), int(y + length * np.sin(angle)))
            cv2.line(canvas, (x, y), end, value, 1)


def aged_photo(rgb: Pixels, rng: random.Random) -> Pixels:
    """An old photographic print: grey or sepia, faded, soft, vignetted, grainy, with dust and scratches."""
    grey = (to_grey(rgb) if rgb.ndim == 3 else rgb).astype(np.float32) / 255.0
    height, width = grey.shape
    scale = max(1.0, min(height, width) / 500.0)
    blur = rng.choice((0.0, 0.6, 1.0, 1.6))
    if blur:
        grey = cv2.GaussianBlur(grey, (0, 0), blur * scale)
    low, high = rng.uniform(0.02, 0.2), rng.uniform(0.75, 0.97)
    grey = low + (high - low) * np.power(grey, rng.uniform(0.8, 1.3))
    yy, xx = np.ogrid[0:height, 0:width]
    radius = np.hypot((xx - width / 2) / (width / 2), (yy - height / 2) / (height / 2)) / np.sqrt(2)
    grey = grey * (1.0 - rng.uniform(0.0, 0.5) * radius**2).astype(np.float32)
    generator = np.random.default_rng(rng.getrandbits(32))
    grey = grey + generator.normal(0.0, rng.uniform(0.01, 0.05), grey.shape).astype(np.float32)
    grey = np.ascontiguousarray(np.clip(grey, 0, 1), dtype=np.float32)
    for _ in range(rng.choice((0, 1, 2, 3, 5, 8))):  # scratches: long, thin, mostly vertical
        x = rng.randrange(width)
        drift = rng.randint(-width // 20 - 1, width // 20 + 1)
        top, bottom = sorted(rng.randrange(height) for _ in range(2))
        value = rng.uniform(0.8, 1.0) if rng.random() < 0.7 else rng.uniform(0.0, 0.2)
        cv2.line(grey, (x, top), (x + drift, bottom), value, 1)
    _specks(grey, rng, int(rng.uniform(0, 1.5) * (height * width) ** 0.5 / 10), light=True)
    return _tone(grey, rng, paper=False)


def engraving(rgb: Pixels, rng: random.Random) -> Pixels:
    """An engraving or etching: tones drawn as parallel hatching, cross-hatched in the shadows, with ink
    outlines, on white, cream or yellowed paper (sometimes foxed)."""
    grey = (to_grey(rgb) if rgb.ndim == 3 else rgb).astype(np.float32)
    height, width = grey.shape
    scale = max(1.0, min(height, width) / 400.0)
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.2 * scale)
    fine = cv2.GaussianBlur(grey, (0, 0), 0.8 * scale)
    coarse = cv2.GaussianBlur(grey, (0, 0), 1.6 * scale)
    ink = (fine - 0.98 * coarse) < -rng.uniform(1.5, 4.0)
    period = max(3.0, rng.choice((3.0, 4.0, 5.0, 6.0)) * scale)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light_cut, mid_cut, dark_cut = rng.uniform(185, 225), rng.uniform(95, 140), rng.uniform(25, 55)
    first = np.deg2rad(rng.uniform(0, 180))
    for angle, top in ((first, light_cut), (first + np.deg2rad(rng.choice((60.0, 90.0, 120.0))), mid_cut)):
        # Wavy lines, as a burin or needle cuts them; thicker where the picture is darker.
        wave = rng.uniform(0.0, 0.6) * np.sin(yy * np.cos(angle) / (7.0 * period) + xx * np.sin(angle) / (9.0 * period))
        u = (xx * np.cos(angle) + yy * np.sin(angle)) / period + wave
        distance = np.abs(u - np.round(u))
        darkness = np.clip((top - smooth) / (top - dark_cut), 0, 1)
        ink |= distance < darkness * 0.5
    ink |= smooth < dark_cut * 0.6
    paper = np.ones((height, width), np.float32)
    if rng.random() < 0.4:  # foxing: a few faint brown blotches and specks
        _specks(paper, rng, int(rng.uniform(2, 12) * scale), light=False)
        paper = 1.0 - (1.0 - paper) * 0.3
        paper = cv2.GaussianBlur(paper, (0, 0), 1.5 * scale)
    level = rng.uniform(0.0, 0.18)
    out = np.where(ink, level, paper * rng.uniform(0.9, 1.0)).astype(np.float32)
    if rng.random() < 0.5:  # a little ink spread
        out = cv2.GaussianBlur(out, (0, 0), 0.5 * scale)
    return _tone(out, rng, paper=True)


def shrink(pixels: Pixels, long_side: int, nearest: bool = False) -> Pixels:
    """The picture with its long side at most ``long_side`` (never enlarged)."""
    if max(pixels.shape[:2]) <= long_side:
        return pixels
    return resize_long_side(pixels, long_side, nearest=nearest)


def resave_jpeg(pixels: Pixels, qualities: list[int]) -> bytes:
    """JPEG bytes after saving (and decoding) once per quality: repeated compression, as images travel."""
    data = b""
    for i, quality in enumerate(qualities):
        data = encode(pixels, "jpeg", quality)
        if i < len(qualities) - 1:
            with Image.open(io.BytesIO(data)) as image:
                pixels = np.asarray(image)
    return data


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
