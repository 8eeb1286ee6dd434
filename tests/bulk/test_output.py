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
