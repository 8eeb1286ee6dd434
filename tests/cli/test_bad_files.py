"""One bad file never stops a run (issue 21): ``reproduce``, ``evaluate`` and ``train`` name each bad file once
on stderr, with why, score or fit the rest, and exit 1. Every kind is tried at once (``BAD_KINDS``): empty,
text, a JPEG cut inside its header and after it, a PNG declaring 100000x100000 pixels, a broken symbolic
link, a FIFO and a folder named like an image. (``send`` and ``classify`` are tested beside their own tests.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgclass.cli import main
from imgclass.models import read_model_info
from tests.conftest import write_bad_files

GOOD = 24  # tiny_dir's images
PIXELS = ["--classifier", "colour-count", "bilateral"]  # a fixed rule and a fitted model, both decode pixels


@pytest.fixture
def bad_set(tiny_dir: Path, china_jpeg: bytes) -> tuple[Path, dict[str, str]]:
    return tiny_dir, write_bad_files(tiny_dir / "real", china_jpeg)


def assert_named_once(err: str, kinds: dict[str, str]) -> None:
    for name, words in kinds.items():
        lines = [line for line in err.splitlines() if f"{name}:" in line]
        assert len(lines) == 1, (name, err)
        assert words in lines[0], (name, lines[0])
    assert f"skipped {len(kinds)} file(s)" in err


def test_reproduce_goes_on(bad_set: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    folder, kinds = bad_set
    status = main(["reproduce", "--data", str(folder), *PIXELS, "--folds", "3", "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    report = json.loads(out)
    assert [row["n"] for row in report["classifiers"]] == [GOOD, GOOD]
    assert sorted(Path(item["path"]).name for item in report["skipped"]) == sorted(kinds)
    assert_named_once(err, kinds)


def test_evaluate_goes_on(bad_set: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    folder, kinds = bad_set
    argv = ["evaluate", str(folder), "--train", str(folder), *PIXELS, "--folds", "3", "--no-robustness"]
    status = main([*argv, "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert [row["n"] for row in json.loads(out)["classifiers"]] == [GOOD, GOOD]
    assert_named_once(err, kinds)  # the training and the test set are one folder: each file named once


def test_train_goes_on(
    bad_set: tuple[Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, kinds = bad_set
    model = tmp_path / "model.json"
    status = main(["train", str(folder), "--classifier", "bilateral", "--out", str(model), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"fitted on {GOOD} images (12 real, 12 animated)" in out
    assert read_model_info(model)["training"]["n_images"] == GOOD
    assert_named_once(err, kinds)


def test_a_byte_classifier_skips_only_what_it_cannot_read(
    bad_set: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """byte-length reads no pixels: the JPEG cut after its header is a file it can score."""
    folder, kinds = bad_set
    status = main(["reproduce", "--data", str(folder), "--classifier", "byte-length", "--folds", "3", "--json"])
    out, err = capsys.readouterr()
    assert status == 1
    assert json.loads(out)["classifiers"][0]["n"] == GOOD + 1
    del kinds["cut_after_header.jpg"]
    assert_named_once(err, kinds)


def test_an_unreadable_file_is_named_and_left_out(
    tiny_dir: Path, china_jpeg: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file without read permission. Root reads it whatever its mode, so opening it is also made to fail the
    way it fails for anyone else (``EACCES``), and the test runs as any user."""
    import errno
    import os

    unreadable = tiny_dir / "real" / "unreadable.jpg"
    unreadable.write_bytes(china_jpeg)
    unreadable.chmod(0)
    real_open = os.open

    def no_access(path: object, *args: object, **kwargs: object) -> int:
        if Path(os.fsdecode(path)).name == unreadable.name:  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))  # type: ignore[arg-type]
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_access)
    status = main(["reproduce", "--data", str(tiny_dir), *PIXELS, "--folds", "3", "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert [row["n"] for row in json.loads(out)["classifiers"]] == [GOOD, GOOD]
    assert_named_once(err, {"unreadable.jpg": "cannot read: Permission denied"})
