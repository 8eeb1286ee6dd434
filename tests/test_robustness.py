from pathlib import Path

import cv2
import numpy as np
import pytest

from imgclass.data import load_dataset
from imgclass.decode import decode_image
from imgclass.evaluation import evaluate, reproduce
from imgclass.headers import read_header
from imgclass.robustness import (
    GROUND_GREY,
    GROUPS,
    SCREENSHOT_PARTS,
    STRESS,
    TRANSFORMS,
    check_transforms,
    double_jpeg_qualities,
    expand_transforms,
    plain_ground_mask,
    reencode,
    reencode_all,
    shrink_to,
    viewer_frame,
    viewer_resize,
)
from tests.conftest import encode, noisy_photo


@pytest.fixture(scope="module")
def photo() -> bytes:
    return encode(noisy_photo(0), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)


@pytest.mark.parametrize(
    ("transform", "fmt", "size"),
    [
        ("jpeg-q75", "jpeg", (256, 256)),
        ("png", "png", (256, 256)),
        ("webp", "webp", (256, 256)),
        ("downscale-0.5x", "jpeg", (128, 128)),
        ("screenshot-png", "png", (237, 261)),  # 80% of 256 (205) plus margins and the title bar
    ],
)
def test_transforms_write_the_promised_container(photo: bytes, transform: str, fmt: str, size: tuple) -> None:  # type: ignore[type-arg]
    out = reencode(photo, transform)
    header = read_header(out)
    assert (header.format, header.width, header.height) == (fmt, *size)
    assert out != photo


def test_content_is_kept(photo: bytes) -> None:
    original = decode_image(photo).astype(int)
    assert np.array_equal(decode_image(reencode(photo, "png")), original.astype(np.uint8))
    assert np.abs(decode_image(reencode(photo, "jpeg-q75")).astype(int) - original).mean() < 6
    shot = decode_image(reencode(photo, "screenshot-png"))
    assert (shot[:24] != 240).any() and (shot[-16:] == 240).all()  # title bar with text; plain margin
    inner = cv2.resize(shot[40:-16, 16:-16], (256, 256), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(inner - original).mean() < 12


def test_screenshot_is_its_two_parts_in_turn(photo: bytes) -> None:
    pixels = decode_image(photo)
    assert np.array_equal(decode_image(reencode(photo, "screenshot-png")), viewer_frame(viewer_resize(pixels)))
    framed = decode_image(reencode(photo, "screenshot-frame-only"))
    assert framed.shape == (256 + 40 + 16, 256 + 32, 3)
    assert np.array_equal(framed[40:-16, 16:-16], pixels)  # the picture itself is untouched
    resized = decode_image(reencode(photo, "screenshot-resize-only"))
    assert resized.shape == (205, 205, 3)  # no window: 80% of 256 and nothing around it
    back = cv2.resize(resized, (256, 256), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(back - pixels.astype(int)).mean() < 12
    # The parts are asked for by name; the default report keeps its five transforms.
    assert check_transforms(list(SCREENSHOT_PARTS)) == tuple(SCREENSHOT_PARTS)
    assert not set(SCREENSHOT_PARTS) & set(TRANSFORMS)


def test_unknown_transforms_are_refused(photo: bytes) -> None:
    assert check_transforms(list(TRANSFORMS)) == tuple(TRANSFORMS)
    with pytest.raises(ValueError, match="unknown transform"):
        reencode(photo, "gif")
    with pytest.raises(ValueError, match="unknown transform"):
        reencode_all([photo], "jpeg-q10")
    assert reencode_all([photo, photo], "png") == [reencode(photo, "png")] * 2


def test_reproduce_reports_both_protocols_and_robustness_rows(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), ["byte-length", "colour-count"], folds=3, robustness=["png", "webp"])
    cv = {(r.name, r.protocol) for r in report.cv}
    assert cv == {("byte-length", "3-fold"), ("byte-length", "by-source"), ("colour-count", "fixed rule")}
    by_source = next(r for r in report.cv if r.protocol == "by-source")
    assert {s.source for s in by_source.per_source} == {"photo_a", "photo_b", "drawn_a", "drawn_b"}
    assert [(r.name, r.transform) for r in report.robustness] == [
        ("byte-length", "png"),
        ("colour-count", "png"),
        ("byte-length", "webp"),
        ("colour-count", "webp"),
    ]
    for row in report.robustness:
        main = next(c for c in report.classifiers if c.name == row.name)
        assert row.clean_balanced_accuracy == main.balanced_accuracy
        assert row.change == pytest.approx(row.balanced_accuracy - row.clean_balanced_accuracy)
    # PNG files of noisy photos are huge, of flat drawings small: the byte rule survives that one.
    data = report.to_dict()
    assert {"cv", "robustness"} <= set(data) and data["robustness"][0]["transform"] == "png"
    assert "by-source" in report.cv_table() and "webp" in report.robustness_table()
    assert "drawn_a" in report.cv_per_source_table()


def test_a_screenshot_half_is_scored_by_name(tiny_dir: Path) -> None:
    data = load_dataset(tiny_dir)
    report = reproduce(data, ["colour-count"], folds=3, robustness=["screenshot-frame-only"])
    assert [(r.name, r.transform) for r in report.robustness] == [("colour-count", "screenshot-frame-only")]
    assert "screenshot-frame-only" in report.robustness_table()


def test_evaluate_notes_a_protocol_the_data_cannot_support(tiny_dir: Path) -> None:
    train = load_dataset(tiny_dir, sources=["photo_a", "drawn_a", "drawn_b"])
    report = evaluate(train, load_dataset(tiny_dir), ["byte-length"], robustness=["jpeg-q75"], folds=3)
    assert [r.protocol for r in report.cv] == ["3-fold"]  # holding out photo_a leaves one class
    assert "photo_a" in report.settings["notes"][0]
    (row,) = report.robustness
    assert row.protocol == "held-out" and row.n == 24
    with pytest.raises(ValueError, match="unknown transform"):
        evaluate(train, train, ["byte-length"], robustness=["nope"])


@pytest.fixture(scope="module")
def wide_photo() -> bytes:
    """A 400x300 photo crop, so that shrinking and enlarging keep an aspect ratio that is not square."""
    return encode(cv2.resize(noisy_photo(1), (400, 300)), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)


@pytest.mark.parametrize(
    ("transform", "size"),
    [
        ("shrink-96", (96, 72)),
        ("shrink-128", (128, 96)),
        ("shrink-160", (160, 120)),
        ("shrink-227", (227, 170)),
        ("shrink-320", (320, 240)),
        ("shrink-128-enlarge-512", (512, 384)),
        ("double-jpeg", (400, 300)),
        ("greyscale", (400, 300)),
    ],
)
def test_stress_transforms_write_jpegs_of_the_promised_size(wide_photo: bytes, transform: str, size: tuple) -> None:  # type: ignore[type-arg]
    out = reencode(wide_photo, transform)
    header = read_header(out)
    assert (header.format, header.width, header.height) == ("jpeg", *size)
    assert out != wide_photo


def test_shrinking_never_enlarges_and_keeps_the_content(wide_photo: bytes) -> None:
    pixels = decode_image(wide_photo)
    assert shrink_to(pixels, 400) is pixels and shrink_to(pixels, 1000) is pixels
    small = shrink_to(pixels, 200)
    back = cv2.resize(small, (400, 300), interpolation=cv2.INTER_LINEAR).astype(int)
    assert small.shape == (150, 200, 3) and np.abs(back - pixels.astype(int)).mean() < 12
    with pytest.raises(ValueError, match="positive"):
        shrink_to(pixels, 0)
    # A thumbnail already under the target keeps its size (and is only re-saved).
    tiny = encode(noisy_photo(0)[:64, :80], ".png")
    header = read_header(reencode(tiny, "shrink-96"))
    assert (header.width, header.height) == (80, 64)


def test_double_jpeg_qualities_are_fixed_per_image_and_in_range(photo: bytes, wide_photo: bytes) -> None:
    pixels, other = decode_image(photo), decode_image(wide_photo)
    first = double_jpeg_qualities(pixels)
    assert first == double_jpeg_qualities(pixels.copy())  # from the pixels, not the object or the order
    assert all(50 <= q <= 95 for q in first)
    drawn = {double_jpeg_qualities(np.roll(other, k, axis=1)) for k in range(12)}
    assert len(drawn) > 3  # other pixels draw other qualities
    assert reencode(photo, "double-jpeg") == reencode(photo, "double-jpeg")


def test_greyscale_is_grey_and_keeps_the_luma(photo: bytes) -> None:
    grey = decode_image(reencode(photo, "greyscale")).astype(int)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    luma = cv2.cvtColor(decode_image(photo), cv2.COLOR_BGR2GRAY).astype(int)
    assert np.abs(grey[..., 0] - luma).mean() < 4


def test_groups_expand_in_order_each_name_once() -> None:
    assert expand_transforms(["default"]) == tuple(TRANSFORMS)
    assert expand_transforms(["stress"]) == tuple(STRESS)
    rest = tuple(t for t in TRANSFORMS if t != "png")
    assert expand_transforms(["png", "default", "screenshot-parts"]) == ("png", *rest, *SCREENSHOT_PARTS)
    assert set(GROUPS) == {"default", "stress", "screenshot-parts"}
    assert not set(STRESS) & set(TRANSFORMS)  # the default report keeps its five
    with pytest.raises(ValueError, match="or a group: default, stress"):
        expand_transforms(["stres"])


def test_robustness_rows_carry_per_domain_changes(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), ["colour-count"], folds=3, robustness=["shrink-96", "greyscale"])
    assert [r.transform for r in report.robustness] == ["shrink-96", "greyscale"]
    main = report.classifiers[0]
    for row in report.robustness:
        assert [d.domain for d in row.per_domain] == [d.domain for d in main.per_domain]
        assert sum(d.n for d in row.per_domain) == row.n
    table = report.robustness_per_domain_table()
    assert table.startswith("colour-count: accuracy per domain")
    assert "shrink-96" in table and "greyscale" in table and "drawn_a" in table
    # A drawing turned grey keeps its few colours: colour-count's answer on drawings cannot change.
    drawn = {d.domain: d for d in report.robustness[1].per_domain}
    clean = {d.domain: d for d in main.per_domain}
    assert drawn["drawn_a"].accuracy >= clean["drawn_a"].accuracy


def subject_on(ground: tuple[int, int, int], size: int = 120) -> np.ndarray:
    """A noisy photographic subject (an ellipse of noisy_photo's pixels) on a plain, slightly noisy ground."""
    rng = np.random.default_rng(7)
    image = np.clip(np.array(ground) + rng.integers(-3, 4, size=(size, size, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    cv2.ellipse(mask, (size // 2, size // 2), (size // 3, size // 4), 0, 0, 360, 255, -1)
    photo = cv2.resize(noisy_photo(2), (size, size))
    image[mask > 0] = photo[mask > 0]
    return image


def test_plain_ground_is_the_uniform_border_region_and_only_that() -> None:
    image = subject_on((200, 170, 230))  # a pale tint, as v2 flattens some cut-outs
    mask = plain_ground_mask(image)
    subject = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(subject, (60, 60), (40, 30), 0, 0, 360, 255, -1)
    assert mask[subject == 0].mean() > 0.99 and mask[subject > 0].mean() < 0.02
    for name, colour in (("ground-white", (255, 255, 255)), ("ground-grey", GROUND_GREY)):
        out = reencode(encode(image, ".png"), name)
        assert read_header(out).format == "png"
        pixels = decode_image(out)
        assert (pixels[mask] == colour).all()
        assert np.array_equal(pixels[~mask], image[~mask])  # the subject is untouched
    # A photograph that fills its frame has no plain ground: only re-saved (losslessly).
    photo = noisy_photo(3)
    assert not plain_ground_mask(photo).any()
    assert np.array_equal(decode_image(reencode(encode(photo, ".png"), "ground-white")), photo)
    # A uniform patch inside the picture that does not reach the border is not ground.
    framed = subject_on((40, 40, 40))
    framed[50:70, 50:70] = (40, 40, 40)
    assert not plain_ground_mask(framed)[55:65, 55:65].any()
    with pytest.raises(ValueError, match="uint8"):
        plain_ground_mask(np.zeros((4, 4), np.uint8))
