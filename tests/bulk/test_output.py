"""Tests for :mod:`imgclass.bulk.output`: JSON lines and CSV sinks, partial-line repair, resume state."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.bulk.output import (
    format_results,
    load_done,
    open_output,
    output_format,
    read_results,
    truncate_partial_line,
)
from imgclass.bulk.results import FIELDS, BulkResult

OK = BulkResult("photos/a.jpg", "real", 0.125, "colour-count", 12.5)
BAD = BulkResult('photos/b, "odd".jpg', None, None, "colour-count", 0.25, "empty file")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"results{suffix}"
    writer, done = open_output(out)
    with writer:
        writer.write([OK, BAD])
        writer.write([OK])
    assert done == Counter()
    assert (writer.written, writer.failed) == (3, 1)
    assert list(read_results(out)) == [OK, BAD, OK]


def test_json_lines_carry_every_field_in_order() -> None:
    (line,) = format_results([BAD], "jsonl").splitlines()
    assert list(json.loads(line)) == list(FIELDS)
    assert json.loads(line)["error"] == "empty file"


def test_csv_has_a_header(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    writer, _ = open_output(out)
    writer.close()
    assert out.read_bytes() == ",".join(FIELDS).encode() + b"\r\n"


paths = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
scores = st.floats(0, 1, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(path=paths, score=scores, fmt=st.sampled_from(["jsonl", "csv"]))
def test_any_path_and_score_survive_a_round_trip(
    tmp_path_factory: pytest.TempPathFactory, path: str, score: float, fmt: str
) -> None:
    out = tmp_path_factory.mktemp("rt") / f"r.{fmt}"
    result = BulkResult(path, "animated", score, "colour-count", 1.0)
    writer, _ = open_output(out)
    with writer:
        writer.write([result])
    assert list(read_results(out)) == [result]


def test_undecodable_file_names_survive(tmp_path: Path) -> None:
    name = b"caf\xe9.jpg".decode("utf-8", "surrogateescape")
    for suffix in (".jsonl", ".csv"):
        out = tmp_path / f"r{suffix}"
        writer, _ = open_output(out)
        with writer:
            writer.write([BulkResult(name, None, None, "x", 0.0, "cannot read: x")])
        assert next(read_results(out)).path == name


def test_existing_output_is_refused_without_resume_or_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(format_results([OK], "jsonl"))
    with pytest.raises(ValueError, match="--resume"):
        open_output(out)
    writer, done = open_output(out, overwrite=True)
    writer.close()
    assert out.read_text() == ""
    assert done == Counter()


def test_unknown_suffix_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\.jsonl"):
        output_format("results.txt")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_resume_drops_a_partial_last_line_and_counts_the_rest(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"r{suffix}"
    writer, _ = open_output(out)
    with writer:
        writer.write([OK, BAD, OK])
    whole = out.read_bytes()
    with out.open("ab") as file:
        file.write(format_results([BAD], writer.format).encode()[:17])  # a kill in the middle of a write
    writer, done = open_output(out, resume=True, classifier="colour-count")
    with writer:
        assert out.read_bytes() == whole
        assert done == Counter({OK.path: 2, BAD.path: 1})
        writer.write([BAD])
    assert list(read_results(out)) == [OK, BAD, OK, BAD]


def test_resume_of_a_csv_killed_inside_its_header(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    out.write_text("path,lab")
    writer, done = open_output(out, resume=True)
    with writer:
        writer.write([OK])
    assert done == Counter()
    assert list(read_results(out)) == [OK]


def test_resume_refuses_another_classifiers_results(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(format_results([OK], "jsonl"))
    with pytest.raises(ValueError, match="colour-count"):
        open_output(out, resume=True, classifier="bilateral")


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(format_results([OK], "jsonl") + "{not json\n" + format_results([OK], "jsonl"))
    with pytest.raises(ValueError, match="line 2"):
        load_done(out)


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (b"", b""),
        (b"abc", b""),
        (b"a\nb", b"a\n"),
        (b"a\nb\n", b"a\nb\n"),
        (b"x" * 70000 + b"\nyy", b"x" * 70000 + b"\n"),
    ],
)
def test_truncate_partial_line(tmp_path: Path, content: bytes, kept: bytes) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    assert truncate_partial_line(path, block=1000) == len(content) - len(kept)
    assert path.read_bytes() == kept


def test_from_dict_rejects_rows_that_are_not_results() -> None:
    for row in ({}, {"path": 1, "classifier": "x"}, {"path": "p", "classifier": "x", "label": "cat"}, []):
        with pytest.raises(ValueError):
            BulkResult.from_dict(row)  # type: ignore[arg-type]


# --- Parquet: a folder of part files, row groups written as results arrive --------------------------

pq = pytest.importorskip("pyarrow.parquet")


def _results(n: int) -> list[BulkResult]:
    return [
        BulkResult(f"p/{i}.jpg", None, None, "combined", 0.5, "empty file")
        if i % 7 == 3
        else BulkResult(f"p/{i}.jpg", "animated" if i % 2 else "real", (i % 100) / 100 + 0.001, "combined", 1.0)
        for i in range(n)
    ]


def test_parquet_round_trip_in_row_groups_and_parts(tmp_path: Path) -> None:
    from imgclass.bulk.parquet import ParquetResultWriter, part_files

    out = tmp_path / "r.parquet"
    expected = _results(95)
    writer, done = open_output(out)
    assert done == Counter()
    writer.close()
    writer = ParquetResultWriter(out, row_group_rows=10, part_row_groups=3)
    with writer:
        for start in range(0, 95, 7):
            writer.write(expected[start : start + 7])
    assert (writer.written, writer.failed) == (95, sum(not r.ok for r in expected))
    parts = part_files(out)
    assert [p.name for p in parts] == [f"part-{i:06d}.parquet" for i in range(4)]  # 30 + 30 + 30 + 5 rows
    assert [pq.ParquetFile(p).metadata.num_row_groups for p in parts] == [3, 3, 3, 1]
    assert list(read_results(out)) == expected
    table = pq.read_table(out)  # what users load: the folder is one table
    assert table.column_names == list(FIELDS) and table.num_rows == 95


def test_parquet_row_groups_reach_the_disk_before_the_end(tmp_path: Path) -> None:
    from imgclass.bulk.parquet import ParquetResultWriter

    out = tmp_path / "r.parquet"
    out.mkdir()
    writer = ParquetResultWriter(out, row_group_rows=10, part_row_groups=100)
    writer.write(_results(25))
    (tmp,) = out.iterdir()
    assert tmp.name == "part-000000.parquet.tmp" and tmp.stat().st_size > 0  # two row groups written
    writer.close()
    assert [p.name for p in out.iterdir()] == ["part-000000.parquet"]


def test_parquet_resume_after_a_kill_gives_the_clean_table(tmp_path: Path) -> None:
    from imgclass.bulk.parquet import ParquetResultWriter

    expected = _results(100)
    out = tmp_path / "r.parquet"
    out.mkdir()
    killed = ParquetResultWriter(out, row_group_rows=10, part_row_groups=2)
    killed.write(expected[:57])  # two closed parts (40 rows) and an open one: then "killed" (never closed)
    assert sorted(p.name for p in out.iterdir())[-1] == "part-000002.parquet.tmp"
    del killed
    writer, done = open_output(out, resume=True, classifier="combined")
    assert sum(done.values()) == 40 and not any(p.name.endswith(".tmp") for p in out.iterdir())
    with writer:
        writer.write(expected[40:])
    assert list(read_results(out)) == expected
    with pytest.raises(ValueError, match="combined"):
        open_output(out, resume=True, classifier="bilateral")


def test_parquet_folder_checks(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    writer, _ = open_output(out)
    with writer:
        writer.write([OK])
    with pytest.raises(ValueError, match="--resume"):
        open_output(out)
    writer, done = open_output(out, overwrite=True)
    writer.close()
    assert list(read_results(out)) == [] and done == Counter()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not imgclass results"):
        open_output(out, overwrite=True)
    (tmp_path / "file.parquet").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        open_output(tmp_path / "file.parquet")


def test_parquet_undecodable_names_are_escaped(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    name = b"caf\xe9.jpg".decode("utf-8", "surrogateescape")
    writer, _ = open_output(out)
    with writer:
        writer.write([BulkResult(name, None, None, "x", 0.0, "cannot read: x")])
    assert next(read_results(out)).path == "caf\\xe9.jpg"
