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


def test_domain_protocol_and_group_alias(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["reproduce", "--data", str(tiny_dir), "--json", "--no-progress", "--classifier", "byte-length"]
    assert main([*base, "--cv", "domain"]) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["classifiers"]
    # Without a manifest the domains are the sources.
    assert row["protocol"] == "by-domain" and report["settings"]["cv"] == "domain"
    assert [d["domain"] for d in row["per_domain"]] == [s["source"] for s in row["per_source"]]
    assert main([*base, "--cv", "group"]) == 0
    assert json.loads(capsys.readouterr().out)["classifiers"][0]["protocol"] == "by-source"


def test_evaluate_chooses_its_protocols(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["evaluate", str(tiny_dir), "--train", str(tiny_dir), "--json", "--no-robustness", "--no-progress"]
    assert main([*base, "--classifier", "byte-length", "bilateral", "--cv", "source", "domain"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in report["classifiers"]] == ["byte-length", "bilateral"]
    # Domains are the sources here: the by-domain row would repeat the by-source one.
    assert {(r["name"], r["protocol"]) for r in report["cv"]} == {
        ("byte-length", "by-source"),
        ("bilateral", "by-source"),
    }
    assert main([*base, "--classifier", "byte-length", "--cv", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["cv"] == []


def test_evaluate_names_a_skipped_file_once(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny_dir / "real" / "broken.jpg").write_bytes(b"not a jpeg")
    argv = ["evaluate", str(tiny_dir), "--train", str(tiny_dir), "--classifier", "byte-length", "--no-robustness"]
    status = main([*argv, "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and err.count("broken.jpg") == 1, err
    assert "broken.jpg: not a recognised image: unknown magic bytes" in err


def test_the_table_fits_100_columns(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["reproduce", "--data", str(tiny_dir), "--folds", "3", "--per-source", "--robustness", "--no-progress"]
    assert main([*argv, "--classifier", "byte-length", "colour-count"]) == 0
    out = capsys.readouterr().out
    assert "a drop is negative" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_per_domain_tables_appear_where_domains_differ(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    from dataclasses import replace

    from imgclass.cli.reproduce import print_report
    from imgclass.data import Dataset, load_dataset
    from imgclass.evaluation import reproduce

    base = load_dataset(tiny_dir)
    kinds = Dataset(base.root, tuple(replace(r, domain=r.source.split("_")[1]) for r in base.records))
    args = argparse.Namespace(json=False, per_source=True)
    print_report(reproduce(kinds, ["byte-length"], folds=3), args)
    out = capsys.readouterr().out
    assert "\nPer domain\n" in out and "\nPer domain, cross-validated\n" in out and "by-domain" in out
    print_report(reproduce(base, ["byte-length"], folds=3), args)
    out = capsys.readouterr().out
    assert "Per source" in out and "Per domain" not in out


def test_robustness_takes_transform_and_group_names(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = [
        "reproduce",
        "--data",
        str(tiny_dir),
        "--folds",
        "3",
        "--json",
        "--no-progress",
        "--classifier",
        "byte-length",
    ]
    main([*base, "--robustness", "shrink-96", "greyscale"])
    rows = json.loads(capsys.readouterr().out)["robustness"]
    assert [r["transform"] for r in rows] == ["shrink-96", "greyscale"] and rows[0]["per_domain"]
    main([*base, "--robustness"])  # the bare flag: the default five
    assert len(json.loads(capsys.readouterr().out)["robustness"]) == 5
    main([*base, "--robustness", "--no-robustness"])
    assert json.loads(capsys.readouterr().out)["robustness"] == []
    evaluate = ["evaluate", str(tiny_dir), "--train", str(tiny_dir), "--json", "--no-progress", "--cv", "none"]
    main([*evaluate, "--classifier", "byte-length", "--robustness", "stress"])
    assert len(json.loads(capsys.readouterr().out)["robustness"]) == 10  # 6 sizes, double JPEG, greyscale, 2 grounds
    assert main([*base, "--robustness", "shrink-97"]) == 2
    assert "unknown transform(s) shrink-97" in capsys.readouterr().err
