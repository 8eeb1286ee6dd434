"""Tests for :mod:`imgclass.prepare` and the ``imgclass prepare`` subcommand."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.cli import prepare as cli_prepare
from imgclass.decode import ImageDecodeError
from imgclass.prepare import PrepareReport, normalise_image, prepare_folder

CHINA = Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"
RED, GREEN, WHITE = (0, 0, 255), (0, 255, 0), (255, 255, 255)


def encode(image: npt.NDArray[np.uint8], ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def decode(data: bytes) -> npt.NDArray[np.uint8]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def solid(height: int, width: int, colour: tuple[int, int, int]) -> npt.NDArray[np.uint8]:
    return np.full((height, width, 3), colour, dtype=np.uint8)


def close_to(pixels: npt.NDArray[np.uint8], colour: tuple[int, int, int], tol: int = 12) -> bool:
    diff = np.abs(pixels.astype(int) - np.array(colour)).max()
    return bool(diff <= tol)


# --- normalise_image -----------------------------------------------------------------------------


def test_output_is_square_jpeg_of_requested_size() -> None:
    out = normalise_image(CHINA.read_bytes(), size=64, quality=80)
    assert out[:3] == b"\xff\xd8\xff"
    image = decode(out)
    assert image.shape == (64, 64, 3)
    assert image.dtype == np.uint8


def test_defaults_are_512_square() -> None:
    assert decode(normalise_image(CHINA.read_bytes())).shape == (512, 512, 3)


def test_same_input_gives_same_bytes() -> None:
    data = CHINA.read_bytes()
    assert normalise_image(data, size=96) == normalise_image(data, size=96)


def test_quality_changes_the_encoding() -> None:
    data = CHINA.read_bytes()
    assert len(normalise_image(data, size=128, quality=30)) < len(normalise_image(data, size=128, quality=95))


def test_alpha_is_flattened_onto_white() -> None:
    rgba = np.zeros((80, 80, 4), dtype=np.uint8)  # fully transparent black...
    rgba[30:50, 30:50] = (*RED, 255)  # ...with an opaque red square in the middle
    out = decode(normalise_image(encode(rgba), size=80))
    assert out.shape == (80, 80, 3)
    assert close_to(out[:20, :20], WHITE)
    assert close_to(out[-20:, -20:], WHITE)
    assert close_to(out[35:45, 35:45], RED, tol=20)


def test_wide_image_short_side_scaled_then_centre_cropped() -> None:
    # 200 wide x 100 high: red sides, a green 100x100 centre. Halving gives 100x50 and the centre
    # 50x50 crop is exactly the green part; a squash (no crop) or an off-centre crop would show red.
    image = solid(100, 200, RED)
    image[:, 50:150] = GREEN
    out = decode(normalise_image(encode(image), size=50))
    assert out.shape == (50, 50, 3)
    assert close_to(out[:, 2:-2], GREEN)


def test_tall_image_is_enlarged_then_centre_cropped() -> None:
    # 20 wide x 40 high: red top and bottom, green rows 10-30. Tripled: 60x120, centre crop = green rows.
    image = solid(40, 20, RED)
    image[10:30] = GREEN
    out = decode(normalise_image(encode(image), size=60))
    assert out.shape == (60, 60, 3)
    assert close_to(out[4:-4], GREEN, tol=20)


def test_exact_size_square_is_not_resampled() -> None:
    image = solid(32, 32, GREEN)
    image[:16] = RED
    out = decode(normalise_image(encode(image), size=32, quality=100))
    assert close_to(out[:14], RED, tol=6)
    assert close_to(out[18:], GREEN, tol=6)


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 120),
    width=st.integers(1, 120),
    size=st.integers(1, 64),
)
def test_any_shape_comes_out_size_by_size(height: int, width: int, size: int) -> None:
    image = np.random.default_rng(height * 1000 + width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert decode(normalise_image(encode(image), size=size)).shape == (size, size, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, "size"),
        ({"size": -5}, "size"),
        ({"size": True}, "size"),
        ({"size": 12.5}, "size"),
        ({"size": 100_000}, "size"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"quality": "90"}, "quality"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_image(CHINA.read_bytes(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [b"", b"not an image at all", CHINA.read_bytes()[:400]])
def test_undecodable_bytes_raise_decode_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        normalise_image(data)


# --- prepare_folder ------------------------------------------------------------------------------


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "animated").mkdir()
    (src / "real" / "photos__china.jpg").write_bytes(CHINA.read_bytes())
    rgba = np.zeros((40, 60, 4), dtype=np.uint8)
    rgba[10:30, 20:40] = (*GREEN, 255)
    (src / "animated" / "clipart__dot.png").write_bytes(encode(rgba))
    (src / "animated" / ".DS_Store").write_bytes(b"junk the walker must ignore")
    return src


def test_prepare_folder_writes_class_folders(dataset: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    report = prepare_folder(dataset, dst, size=48, progress=False)
    assert isinstance(report, PrepareReport)
    assert report.skipped == ()
    assert sorted(report.written) == sorted([dst / "real" / "photos__china.jpg", dst / "animated" / "clipart__dot.jpg"])
    for path in report.written:
        assert decode(path.read_bytes()).shape == (48, 48, 3)
    # No temp files left behind.
    assert sorted(p.name for p in dst.rglob("*")) == [
        "animated",
        "clipart__dot.jpg",
        "photos__china.jpg",
        "real",
    ]


def test_prepare_folder_matches_normalise_image_and_is_rerunnable(dataset: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    first = prepare_folder(dataset, dst, size=40, progress=False)
    expected = normalise_image((dataset / "real" / "photos__china.jpg").read_bytes(), size=40)
    assert (dst / "real" / "photos__china.jpg").read_bytes() == expected
    again = prepare_folder(dataset, dst, size=40, progress=False)
    assert again == first


def test_bad_files_are_reported_and_skipped(dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = dataset / "real" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    notes = dataset / "animated" / "notes.txt"
    notes.write_text("not an image")
    report = prepare_folder(dataset, tmp_path / "dst", size=32, progress=False)
    assert len(report.written) == 2
    assert {path for path, _ in report.skipped} == {bad, notes}
    assert all(reason for _, reason in report.skipped)
    assert not (tmp_path / "dst" / "real" / "broken.jpg").exists()
    assert "broken.png" in caplog.text and "notes.txt" in caplog.text


def test_unknown_class_folder_is_an_error_naming_it(dataset: Path, tmp_path: Path) -> None:
    (dataset / "cartoons").mkdir()
    with pytest.raises(ValueError, match="cartoons"):
        prepare_folder(dataset, tmp_path / "dst", progress=False)


def test_missing_source_or_no_class_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        prepare_folder(tmp_path / "nope", tmp_path / "dst", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="class folders"):
        prepare_folder(tmp_path / "empty", tmp_path / "dst", progress=False)


def test_destination_inside_source_is_refused(dataset: Path) -> None:
    with pytest.raises(ValueError, match="destination"):
        prepare_folder(dataset, dataset, progress=False)
    with pytest.raises(ValueError, match="destination"):
        prepare_folder(dataset, dataset / "out", progress=False)


def test_stem_collision_in_one_run_is_skipped_not_overwritten(dataset: Path, tmp_path: Path) -> None:
    (dataset / "real" / "photos__china.png").write_bytes(encode(solid(30, 30, RED)))
    dst = tmp_path / "dst"
    report = prepare_folder(dataset, dst, size=32, progress=False)
    assert [path.name for path, _ in report.skipped] == ["photos__china.png"]
    assert "already taken" in report.skipped[0][1]
    # The file sorted first (.jpg) won, and kept its content.
    assert (dst / "real" / "photos__china.jpg").read_bytes() == normalise_image(CHINA.read_bytes(), size=32)


def test_existing_different_output_is_not_overwritten(dataset: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    (dst / "real").mkdir(parents=True)
    precious = dst / "real" / "photos__china.jpg"
    precious.write_bytes(b"someone else's file")
    report = prepare_folder(dataset, dst, size=32, progress=False)
    assert [path.name for path, _ in report.skipped] == ["photos__china.jpg"]
    assert "different existing file" in report.skipped[0][1]
    assert precious.read_bytes() == b"someone else's file"


def test_progress_false_is_silent(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal, where a bar can be seen
    prepare_folder(dataset, tmp_path / "quiet", size=16, progress=False)
    assert capsys.readouterr().err == ""
    prepare_folder(dataset, tmp_path / "loud", size=16, progress=True)
    assert "prepare" in capsys.readouterr().err


# --- CLI -----------------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="imgclass")
    cli_prepare.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


def test_cli_exit_zero_when_everything_was_written(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = tmp_path / "dst"
    assert run_cli(["prepare", str(dataset), str(dst), "--size", "24", "--quality", "70", "--no-progress"]) == 0
    assert decode((dst / "real" / "photos__china.jpg").read_bytes()).shape == (24, 24, 3)
    captured = capsys.readouterr()
    assert "wrote 2 images" in captured.out
    assert captured.err == ""


def test_cli_exit_one_and_names_skipped_files(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (dataset / "animated" / "empty.gif").write_bytes(b"")
    assert run_cli(["prepare", str(dataset), str(tmp_path / "dst"), "--size", "16", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "skipped 1" in err
    assert "empty.gif" in err


def test_cli_defaults() -> None:
    parser = argparse.ArgumentParser()
    cli_prepare.register(parser.add_subparsers())
    args = parser.parse_args(["prepare", "a", "b"])
    assert (args.src, args.dst, args.size, args.quality, args.no_progress) == (
        Path("a"),
        Path("b"),
        512,
        90,
        False,
    )


def _whole_cli_available() -> bool:
    return all(importlib.util.find_spec(f"imgclass.cli.{name}") for name in ("reproduce", "evaluate"))


@pytest.mark.skipif(not _whole_cli_available(), reason="other subcommands of imgclass.cli not written yet")
def test_main_turns_layout_errors_into_exit_two(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imgclass.cli import main

    (dataset / "misc").mkdir()
    assert main(["prepare", str(dataset), str(tmp_path / "dst"), "--no-progress"]) == 2
    assert "misc" in capsys.readouterr().err
    (dataset / "misc").rmdir()
    assert main(["prepare", str(dataset), str(tmp_path / "dst"), "--size", "16", "--no-progress"]) == 0
