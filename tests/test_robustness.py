from pathlib import Path

import cv2
import numpy as np
import pytest

from imgclass.data import load_dataset
from imgclass.decode import decode_image
from imgclass.evaluation import evaluate, reproduce
from imgclass.headers import read_header
from imgclass.robustness import (
    SCREENSHOT_PARTS,
    TRANSFORMS,
    check_transforms,
    reencode,
    reencode_all,
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
