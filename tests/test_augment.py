import cv2
import numpy as np
import pytest

from imgclass.augment import Augmentation, apply_augmentation, augment_bytes, augment_dataset, draw_augmentation
from imgclass.decode import decode_image
from imgclass.headers import read_header
from tests.conftest import draw_cartoon, encode, noisy_photo


def test_same_seed_same_bytes_and_copies_do_not_depend_on_the_others() -> None:
    images = [encode(noisy_photo(i), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90) for i in range(3)]
    a, labels = augment_dataset(images, [0, 1, 0], copies=2, seed=5)
    b, _ = augment_dataset(images, [0, 1, 0], copies=2, seed=5)
    assert a == b and len(a) == 9 and labels.tolist() == [0, 1, 0] * 3 and a[:3] == images
    assert augment_bytes(images[1], np.random.default_rng([5, 1, 0])) == a[4]
    assert augment_dataset(images, [0, 1, 0], copies=1, seed=6)[0][3:] != a[3:6]


def test_every_step_does_what_it_says() -> None:
    image = draw_cartoon(3, size=200)
    cropped = decode_image(apply_augmentation(image, Augmentation(crop=(0.5, 0.75, 0.0, 1.0), encoding="png")))
    assert cropped.shape == (150, 100, 3) and np.array_equal(cropped, image[50:, :100])
    small = decode_image(apply_augmentation(image, Augmentation(scale=0.5, encoding="png")))
    assert small.shape == (100, 100, 3)
    tiny = decode_image(apply_augmentation(image, Augmentation(scale=0.01, encoding="png")))
    assert min(tiny.shape[:2]) == 48  # never below MIN_SIDE
    grey = decode_image(apply_augmentation(image, Augmentation(grey=True, encoding="png")))
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    shot = decode_image(apply_augmentation(image, Augmentation(screenshot=(1.0, 10, 230), encoding="png")))
    assert shot.shape == (24 + 20 + 200, 220, 3) and (shot[30, 2] == 230).all()
    for encoding, name in (("jpeg", "jpeg"), ("png", "png"), ("webp", "webp")):
        data = apply_augmentation(image, Augmentation(encoding=encoding, quality=50))  # type: ignore[arg-type]
        assert read_header(data).format == name


def test_drawn_augmentations_cover_every_step() -> None:
    drawn = [draw_augmentation(np.random.default_rng([0, i])) for i in range(300)]
    assert {a.encoding for a in drawn} == {"jpeg", "png", "webp"}
    assert all(40 <= a.quality <= 95 for a in drawn)
    for field in ("crop", "scale", "screenshot", "thumbnail", "first_save"):
        share = np.mean([getattr(a, field) is not None for a in drawn])
        assert 0.05 < share < 0.6
    assert all(64 <= a.thumbnail <= 256 for a in drawn if a.thumbnail is not None)
    assert all(50 <= a.first_save <= 95 for a in drawn if a.first_save is not None)
    assert 0.05 < np.mean([a.grey for a in drawn]) < 0.4


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="copies"):
        augment_dataset([b"x"], [0], copies=-1)
    with pytest.raises(ValueError, match="labels"):
        augment_dataset([b"x", b"y"], [0], copies=1)
    with pytest.raises(ValueError, match="uint8"):
        apply_augmentation(np.zeros((4, 4), np.uint8), Augmentation())


def test_thumbnail_and_first_save() -> None:
    image = draw_cartoon(4, size=300)
    thumb = decode_image(apply_augmentation(image, Augmentation(thumbnail=100, encoding="png")))
    assert thumb.shape == (100, 100, 3)
    small = draw_cartoon(4, size=80)  # already under the thumbnail's size: kept as it is
    assert np.array_equal(decode_image(apply_augmentation(small, Augmentation(thumbnail=100, encoding="png"))), small)
    once = decode_image(apply_augmentation(image, Augmentation(encoding="jpeg", quality=60)))
    twice = decode_image(apply_augmentation(image, Augmentation(first_save=60, encoding="png")))
    assert np.array_equal(once, twice)  # a first JPEG save, then a lossless final encoding, is one JPEG save


def test_new_steps_leave_the_earlier_draws_alone() -> None:
    # Pinned from the augmentation before the thumbnail and first-save steps were added (same generator).
    drawn = draw_augmentation(np.random.default_rng([1, 3]))
    assert drawn.crop == pytest.approx((0.6046432802286927, 0.7323818435629503, 0.9120132208082147, 0.8368213933733603))
    assert (drawn.scale, drawn.grey, drawn.screenshot, drawn.encoding, drawn.quality) == (
        pytest.approx(0.6264597574628606),
        False,
        None,
        "jpeg",
        63,
    )


def test_plain_ground_and_colour_jitter() -> None:
    image = draw_cartoon(5, size=120)
    image[:10] = image[-10:] = image[:, :10] = image[:, -10:] = (200, 220, 240)  # a pale plain ground
    white = decode_image(apply_augmentation(image, Augmentation(ground=255, encoding="png")))
    assert (white[:10] == 255).all() and (white[-10:] == 255).all()
    grey = decode_image(apply_augmentation(image, Augmentation(ground=180, encoding="png")))
    assert (grey[:5, :5] == 180).all()
    same = decode_image(apply_augmentation(image, Augmentation(jitter=(1.0, 1.0, 1.0), encoding="png")))
    assert np.abs(same.astype(int) - image.astype(int)).max() <= 1
    dull = decode_image(apply_augmentation(image, Augmentation(jitter=(1.0, 1.0, 0.0), encoding="png")))
    assert np.abs(dull.astype(int) - dull[..., :1].astype(int)).max() <= 2  # no saturation left: grey
    bright = decode_image(apply_augmentation(image, Augmentation(jitter=(1.2, 1.0, 1.0), encoding="png")))
    assert bright.mean() > image.mean()
    drawn = [draw_augmentation(np.random.default_rng([0, i])) for i in range(300)]
    grounds = [a.ground for a in drawn if a.ground is not None]
    assert 0.05 < len(grounds) / 300 < 0.3 and 255 in grounds and all(150 <= g <= 255 for g in grounds)
    jitters = [a.jitter for a in drawn if a.jitter is not None]
    assert 0.15 < len(jitters) / 300 < 0.45
    assert all(0.8 <= b <= 1.2 and 0.8 <= c <= 1.2 and 0.6 <= s <= 1.4 for b, c, s in jitters)
