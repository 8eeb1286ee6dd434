import json
from pathlib import Path

import pytest

from imgclass.cli import main


def test_table_json_and_plot(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "bars.png"
    status = main(["reproduce", "--data", str(tiny_dir), "--folds", "3", "--no-progress", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert status == 0 and "colour-count" in out and "fixed rule" in out and "poster" in out
    assert plot.stat().st_size > 5000 and plot.read_bytes()[:4] == b"\x89PNG"

    main(["reproduce", "--data", str(tiny_dir), "--json", "--no-progress", "--classifier", "byte-length"])
    report = json.loads(capsys.readouterr().out)
    (row,) = report["classifiers"]
    assert row["name"] == "byte-length" and row["n"] == 24 and len(row["ci95"]) == 2


def test_bad_file_is_reported_and_sets_the_status(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny_dir / "real" / "broken.jpg").write_bytes(b"not a jpeg")
    status = main(["reproduce", "--data", str(tiny_dir), "--classifier", "byte-length", "--no-progress"])
    assert status == 1 and "broken.jpg" in capsys.readouterr().err


def test_folds_must_be_sensible(tiny_dir: Path) -> None:
    assert main(["reproduce", "--data", str(tiny_dir), "--folds", "1"]) == 2


def test_evaluate_per_source(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["evaluate", str(tiny_dir), "--train", str(tiny_dir), "--classifier", "byte-length", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["command"] == "evaluate"
    assert {s["source"] for s in report["classifiers"][0]["per_source"]} == {"photo_a", "photo_b", "drawn_a", "drawn_b"}
