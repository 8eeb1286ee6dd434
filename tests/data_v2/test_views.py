"""Pixel operations of the v2 builder: pure functions on arrays, seeded."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import views
from PIL import Image


def _photo(seed: int = 0, shape: tuple[int, int] = (120, 160)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = np.stack([x * 255 // shape[1], y * 255 // shape[0], (x + y) * 127 // sum(shape)], axis=2)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def _png(rgba: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def test_decode_reports_alpha_only_when_used() -> None:
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 3] = 255
    rgb, alpha, fmt = views.decode(_png(rgba))
    assert rgb.shape == (10, 12, 3) and alpha is None and fmt == "png"
    rgba[:5, :, 3] = 0
    _rgb, alpha, _fmt = views.decode(_png(rgba))
    assert alpha is not None and alpha[:5].max() == 0 and alpha[5:].min() == 255


def test_flatten_composites_onto_the_colour() -> None:
    rgb = np.full((4, 4, 3), 10, np.uint8)
    alpha = np.array([[0, 255, 128, 0]] * 4, np.uint8)
    out = views.flatten(rgb, alpha, (200, 100, 50))
    assert out[0, 0].tolist() == [200, 100, 50]
    assert out[0, 1].tolist() == [10, 10, 10]
    assert out[0, 2].tolist() == [105, 55, 30]
    assert views.flatten(rgb, None, (0, 0, 0)) is rgb


def test_background_colours_are_white_a_third_of_the_time() -> None:
    rng = random.Random(0)
    colours = [views.background_colour(rng) for _ in range(3000)]
    white = sum(c == (255, 255, 255) for c in colours) / len(colours)
    assert 0.3 < white < 0.4
    light = sum(min(c) >= 190 for c in colours) / len(colours)
    assert 0.8 < light < 0.9  # the rest is any colour, dark ones included


def test_frame_puts_the_photo_on_a_light_page() -> None:
    photo = _photo()
    page = views.frame(photo, random.Random(4))
    height, width = page.shape[:2]
    assert height > photo.shape[0] * 1.1 and width > photo.shape[1] * 1.1
    assert page[0, 0].min() >= 232 and page[-1, -1].min() >= 232
    assert views.frame(views.to_grey(photo), random.Random(4)).ndim == 2


def test_is_greyscale() -> None:
    photo = _photo()
    assert not views.is_greyscale(photo)
    grey = views.to_grey(photo)
    assert views.is_greyscale(grey)
    assert views.is_greyscale(np.repeat(grey[:, :, None], 3, axis=2))


def test_grey_with_grain_is_grey_and_seeded() -> None:
    photo = _photo()
    a = views.grey_with_grain(photo, random.Random(3))
    b = views.grey_with_grain(photo, random.Random(3))
    assert a.ndim == 2 and a.shape == photo.shape[:2] and np.array_equal(a, b)


def test_low_light_darkens() -> None:
    photo = _photo()
    dark = views.low_light(photo, random.Random(1))
    assert dark.shape == photo.shape
    assert dark.mean() < 0.6 * photo.mean()


def test_manga_is_black_and_white_ink() -> None:
    photo = _photo(shape=(200, 240))
    out = views.manga(photo, random.Random(2))
    assert out.ndim == 2 and out.shape == (200, 240)
    assert set(np.unique(out).tolist()) <= {0, 255}
    assert 0.02 < (out == 0).mean() < 0.98


def test_crop_boxes_stay_inside() -> None:
    rng = random.Random(5)
    for width, height in ((640, 480), (100, 900), (33, 33)):
        for box in views.crop_boxes(width, height, 5, rng):
            assert box.x >= 0 and box.y >= 0 and box.width >= 1 and box.height >= 1
            assert box.x + box.width <= width and box.y + box.height <= height


def test_resize_long_side() -> None:
    photo = _photo(shape=(120, 160))
    assert views.resize_long_side(photo, 80).shape == (60, 80, 3)
    assert views.resize_long_side(photo, 320, nearest=True).shape == (240, 320, 3)
    sprite = np.array([[0, 255], [255, 0]], np.uint8)
    assert set(np.unique(views.resize_long_side(sprite, 8, nearest=True)).tolist()) == {0, 255}


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_encode_round_trips(fmt: str) -> None:
    photo = _photo()
    data = views.encode(photo, fmt, 90)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format.lower() == fmt and image.size == (160, 120)
    grey = views.encode(views.to_grey(photo), fmt, 90)
    with Image.open(io.BytesIO(grey)) as image:
        # WEBP has no grey mode: it stores three equal channels.
        assert image.mode == "L" if fmt != "webp" else views.is_greyscale(np.asarray(image.convert("RGB")))
    with pytest.raises(ValueError, match="unknown output format"):
        views.encode(photo, "bmp", 90)


def test_pick_encoding_ranges_and_shares() -> None:
    rng = random.Random(0)
    picks = [views.pick_encoding(rng, 1000) for _ in range(3000)]
    shares = {fmt: sum(p.fmt == fmt for p in picks) / len(picks) for fmt, _ in views.FORMATS}
    for fmt, share in views.FORMATS:
        assert abs(shares[fmt] - share) < 0.04
    for p in picks:
        assert 256 <= p.long_side <= 1280
        assert p.quality == 0 if p.fmt == "png" else 50 <= p.quality <= 95
    assert all(views.pick_encoding(rng, 40).long_side <= 160 for _ in range(100))


def test_decode_refuses_huge_images(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "MAX_PIXELS", 100)
    with pytest.raises(ValueError, match="too large"):
        views.decode(_png(np.zeros((20, 20, 4), np.uint8)))


def _warm_or_grey(out: np.ndarray) -> bool:
    """Grey, or a brown cast: red >= green >= blue on average (sepia prints, yellowed paper)."""
    if out.ndim == 2:
        return True
    r, g, b = (float(out[..., i].mean()) for i in range(3))
    return r + 1 >= g >= b - 1


def test_aged_photo_is_a_faded_grey_or_sepia_print_and_seeded() -> None:
    photo = _photo(3, (200, 260))
    tones = set()
    for seed in range(12):
        out = views.aged_photo(photo, random.Random(seed))
        assert out.shape[:2] == photo.shape[:2] and out.dtype == np.uint8
        assert _warm_or_grey(out)
        tones.add(out.ndim)
        np.testing.assert_array_equal(out, views.aged_photo(photo, random.Random(seed)))
    assert tones == {2, 3}  # both plain grey and toned prints occur


def test_engraving_is_ink_lines_on_paper() -> None:
    photo = _photo(4, (240, 240))
    for seed in range(8):
        out = views.engraving(photo, random.Random(seed))
        assert out.shape[:2] == photo.shape[:2] and _warm_or_grey(out)
        grey = out if out.ndim == 2 else views.to_grey(out)
        # Two populations, ink and paper, with little in between (the blur only softens line edges).
        dark, light = float(np.mean(grey < 90)), float(np.mean(grey > 150))
        assert dark > 0.1 and light > 0.2 and dark + light > 0.8, (seed, dark, light)


def test_engraving_hatches_darker_areas_more() -> None:
    ramp = np.repeat(np.linspace(255, 0, 300, dtype=np.float32)[None, :], 200, axis=0).astype(np.uint8)
    out = views.engraving(np.stack([ramp] * 3, axis=2), random.Random(1))
    grey = out if out.ndim == 2 else views.to_grey(out)
    ink = (grey < 100).mean(axis=0)
    assert ink[:60].mean() < ink[120:180].mean() < ink[-60:].mean()


def test_shrink_never_enlarges() -> None:
    photo = _photo(0, (120, 160))
    assert views.shrink(photo, 500) is photo
    assert views.shrink(photo, 80).shape[:2] == (60, 80)


def test_resave_jpeg_compresses_once_per_quality() -> None:
    photo = _photo(5, (90, 120))
    once = views.resave_jpeg(photo, [60])
    assert once == views.encode(photo, "jpeg", 60)
    twice = views.resave_jpeg(photo, [90, 40])
    with Image.open(io.BytesIO(twice)) as image:
        assert image.format == "JPEG" and image.size == (120, 90)
    assert twice != views.encode(photo, "jpeg", 40)  # the second save starts from the first one's pixels
