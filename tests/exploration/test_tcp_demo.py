from __future__ import annotations

from pathlib import Path

import pytest

from imgclass.data import Dataset
from imgclass.exploration.tcp_demo import DemoRun, pick_records, send_records, verify_stored
from imgclass.transfer import ImageServer


def test_pick_is_seeded_and_capped(tiny_dataset: Dataset) -> None:
    a = pick_records(tiny_dataset, 5, seed=1)
    assert a == pick_records(tiny_dataset, 5, seed=1) and len(set(a)) == 5
    assert len(pick_records(tiny_dataset, 100)) == len(tiny_dataset)
    with pytest.raises(ValueError, match="n must be"):
        pick_records(tiny_dataset, 0)


def test_round_trip_stores_intact_files_and_prints_nothing(
    tiny_dataset: Dataset, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    records = pick_records(tiny_dataset, 4, seed=0)
    with ImageServer("127.0.0.1", 0, out_dir=tmp_path / "in", classifiers=["colour-count"]) as server:
        run = send_records(server.address, records)
    assert capfd.readouterr() == ("", "")
    assert [r.name for r in run.rows] == [r.path.name for r in records]
    assert all(r.ok and r.stored and r.round_trip_ms > 0 for r in run.rows)
    assert run.classifiers == ("colour-count",)
    assert all(r.verdict("colour-count") in ("real", "animated") for r in run.rows)
    assert 0 <= run.accuracy("colour-count") <= 1
    check = verify_stored(run, tmp_path / "in")
    assert check.all_match and check.matches == (True,) * 4
    html = run.to_html(records)
    assert html.count("<tr>") == 5 and html.count("data:image/jpeg;base64,") == 4
    assert "colour-count" in run.to_table()


def test_tampered_or_missing_files_are_reported(tiny_dataset: Dataset, tmp_path: Path) -> None:
    records = pick_records(tiny_dataset, 2, seed=0)
    with ImageServer("127.0.0.1", 0, out_dir=tmp_path, classifiers=[]) as server:
        run = send_records(server.address, records)
    first, second = run.rows
    (tmp_path / str(first.stored)).write_bytes(b"changed")
    (tmp_path / str(second.stored)).unlink()
    check = verify_stored(run, tmp_path)
    assert check.matches == (False, False) and check.missing == (second.name,) and not check.all_match
    assert not verify_stored(DemoRun(()), tmp_path).all_match
