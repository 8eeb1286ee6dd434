import json
from pathlib import Path

import pytest

from imgclass.cli import main
from imgclass.cli.train import parse_params
from imgclass.models import load_model, read_model_info

FAST = ["--param", "max_iter=15", "--param", "min_samples_leaf=2", "--param", "calibration_folds=3"]


def test_parse_params() -> None:
    assert parse_params(["a=1", "b=isotonic", "c=null", "d=[1, 2]", "e=x=y"]) == {
        "a": 1,
        "b": "isotonic",
        "c": None,
        "d": [1, 2],
        "e": "x=y",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_params(["nope"])


def test_train_then_use_the_model_everywhere(
    tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "mine.json"
    status = main(["train", str(tiny_dir), "--classifier", "fast", "--out", str(model), "--no-progress", *FAST])
    assert status == 0 and "24 images" in capsys.readouterr().out
    info = read_model_info(model)
    assert info["classifier"] == "fast" and info["params"]["max_iter"] == 15
    assert info["training"]["sources"] == ["drawn_a", "drawn_b", "photo_a", "photo_b"]
    assert load_model(model).predict_names([(tiny_dir / "real").iterdir().__next__().read_bytes()]) == ["real"]

    # evaluate scores the saved model as it is; its cv rows refit its parameters per fold.
    status = main(
        ["evaluate", str(tiny_dir), "--train", str(tiny_dir), "--model", str(model), "--json", "--no-progress"]
    )
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    (row,) = report["classifiers"]
    assert row["name"] == "fast:mine.json" and row["protocol"] == "held-out"
    assert {r["protocol"] for r in report["cv"]} == {"5-fold", "by-source"}
    assert {r["transform"] for r in report["robustness"]} == {
        "jpeg-q75",
        "png",
        "webp",
        "downscale-0.5x",
        "screenshot-png",
    }

    status = main(
        ["reproduce", "--data", str(tiny_dir), "--model", str(model), "--classifier", "byte-length", "--folds", "3"]
    )
    out = capsys.readouterr().out
    assert status == 0 and "fast:mine.json" in out and "byte-length" in out and "by-source" in out


def test_bad_input_is_a_clean_error(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "m.json")
    assert main(["train", str(tiny_dir), "--classifier", "fast", "--out", out, "--param", "colour=1"]) == 2
    assert "bad --param" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{}")
    assert main(["evaluate", str(tiny_dir), "--model", str(tmp_path / "junk.json")]) == 2
    assert "not an imgclass model" in capsys.readouterr().err


def test_train_refits_the_default_with_augmentation(
    tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "default.json"
    params = ["--param", "augment=1", "--param", "calibration_folds=3"]
    command = ["train", str(tiny_dir), "--classifier", "combined", "--out", str(model), "--no-progress"]
    assert main([*command, *params]) == 0
    info = read_model_info(model)
    # The training block describes the user's files, not the augmented copies.
    assert info["classifier"] == "combined" and info["params"]["augment"] == 1 and info["training"]["n_images"] == 24
    photo = next((tiny_dir / "real").iterdir()).read_bytes()
    assert load_model(model).predict_names([photo]) == ["real"]
