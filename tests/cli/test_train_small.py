"""``imgclass train`` on too few images warns, or refuses and writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imgclass.cli import main

FAST = ["--param", "max_iter=15", "--param", "min_samples_leaf=2", "--param", "calibration_folds=3"]


def test_small_set_is_warned(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.json"
    status = main(["train", str(tiny_dir), "--classifier", "combined", "--out", str(model), "--no-progress", *FAST])
    err = capsys.readouterr().err
    assert status == 0 and model.exists()
    assert "warning: only 12 real, 12 animated images" in err
    assert "4 sources have fewer than 10 images" in err


def test_a_model_that_learnt_nothing_is_refused(
    tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The defaults need 20 images a leaf: 24 images in 5 calibration folds leave the trees unable to split.
    model = tmp_path / "m.json"
    status = main(["train", str(tiny_dir), "--classifier", "combined", "--out", str(model), "--no-progress"])
    assert status == 2 and not model.exists()
    assert "same score" in capsys.readouterr().err


def test_too_few_for_the_folds_is_refused(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in sorted((tiny_dir / "real").iterdir())[2:]:
        extra.unlink()
    model = tmp_path / "m.json"
    status = main(["train", str(tiny_dir), "--classifier", "combined", "--out", str(model), "--no-progress", *FAST])
    err = capsys.readouterr().err
    assert status == 2 and not model.exists()
    assert "too few images to fit: 2 real" in err and "3 folds" in err


def test_one_class_is_refused(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(tiny_dir / "animated")
    (tiny_dir / "animated").mkdir()
    status = main(["train", str(tiny_dir), "--classifier", "byte-length", "--out", str(tmp_path / "m.json")])
    assert status == 2 and "0 animated" in capsys.readouterr().err
