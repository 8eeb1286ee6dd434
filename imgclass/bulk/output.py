"""Where results go: JSON lines or CSV, appended and flushed chunk by chunk, or Parquet; all resumable.

A run killed at any moment leaves whole lines plus at most one partial last line. :func:`load_done`
drops that partial line (truncating the file to its last newline) and counts the paths already
written, which is what ``--resume`` skips. That count is the only state that grows with the output:
about 100 bytes per distinct path already done. Parquet output (a folder of part files, see
:mod:`imgclass.bulk.parquet`) resumes from its last closed part.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Literal, Protocol

from imgclass.bulk.results import FIELDS, BulkResult

Format = Literal["jsonl", "csv", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
# File names may not be valid UTF-8 (Linux); surrogateescape writes their bytes back unchanged.
_ERRORS = "surrogateescape"


class Writer(Protocol):
    """What the command line writes results through."""

    written: int
    failed: int

    def write(self, results: Sequence[BulkResult]) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Writer: ...

    def __exit__(self, *exc: object) -> None: ...


def output_format(path: str | os.PathLike[str]) -> Format:
    """``jsonl``, ``csv`` or ``parquet`` from the file name's suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise ValueError(f"output {os.fspath(path)!r} must end in .jsonl, .ndjson, .json, .csv or .parquet") from None


def format_results(results: Sequence[BulkResult], fmt: Literal["jsonl", "csv"]) -> str:
    """The text for a batch of results, whole lines only."""
    if fmt == "jsonl":
        # ensure_ascii: undecodable file names survive as \udcxx escapes instead of failing to encode.
        return "".join(json.dumps(r.to_dict()) + "\n" for r in results)
    return _csv_rows(
        ["" if value is None else value for value in (getattr(r, name) for name in FIELDS)] for r in results
    )


def _csv_rows(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    # CRLF (RFC 4180) makes the writer quote any field holding \r or \n, so every row reads back whole.
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


class ResultWriter:
    """Appends batches of results to a stream and flushes after each, so a kill loses nothing written."""

    def __init__(self, stream: IO[str], fmt: Literal["jsonl", "csv"], *, close: bool = False) -> None:
        self.stream, self.format, self._close = stream, fmt, close
        self.written = 0
        self.failed = 0

    def write(self, results: Sequence[BulkResult]) -> None:
        self.stream.write(format_results(results, self.format))
        self.stream.flush()
        self.written += len(results)
        self.failed += sum(not r.ok for r in results)

    def close(self) -> None:
        if self._close:
            self.stream.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_output(
    path: str | os.PathLike[str], *, resume: bool = False, overwrite: bool = False, classifier: str | None = None
) -> tuple[Writer, Counter[str]]:
    """A writer appending to ``path`` and the paths it already holds (empty unless ``resume``).

    Without ``resume`` or ``overwrite`` an existing non-empty file is refused rather than mixed into.
    With ``resume``, every line must come from ``classifier`` (when given).
    """
    fmt = output_format(path)
    target = Path(path)
    if fmt == "parquet":
        from imgclass.bulk.parquet import ParquetResultWriter, count_parquet_paths, prepare_folder, pyarrow_modules

        pyarrow_modules()  # the missing extra is a usage error before anything is touched
        first = prepare_folder(target, resume=resume, overwrite=overwrite)
        counted = count_parquet_paths(target, classifier=classifier) if resume else Counter[str]()
        return ParquetResultWriter(target, first), counted
    if target.is_dir():
        raise ValueError(f"{target} is a folder; give a file name ending in .jsonl or .csv (or .parquet)")
    done: Counter[str] = Counter()
    exists = target.exists() and target.stat().st_size > 0
    if exists and not (resume or overwrite):
        raise ValueError(f"{target} already exists: pass --resume to continue it or --overwrite to replace it")
    if exists and resume:
        done = load_done(target, classifier=classifier)
    mode = "a" if resume else "w"
    stream = open(target, mode, newline="", encoding="utf-8", errors=_ERRORS)  # noqa: SIM115 - the writer owns and closes it
    if fmt == "csv" and stream.tell() == 0:
        stream.write(_csv_rows([FIELDS]))
        stream.flush()
    return ResultWriter(stream, fmt, close=True), done


def load_done(path: str | os.PathLike[str], *, classifier: str | None = None) -> Counter[str]:
    """How many times each path appears in an earlier output, after dropping a partial last line."""
    if output_format(path) == "parquet":
        from imgclass.bulk.parquet import count_parquet_paths

        return count_parquet_paths(path, classifier=classifier)
    done: Counter[str] = Counter()
    for result in read_results(path, repair=True):
        if classifier is not None and result.classifier != classifier:
            raise ValueError(
                f"{os.fspath(path)} holds results of classifier {result.classifier!r}, not {classifier!r}: "
                "resume with the same classifier or write to a new file"
            )
        done[result.path] += 1
    return done


def read_results(path: str | os.PathLike[str], *, repair: bool = False) -> Iterator[BulkResult]:
    """Stream the results in an output file back. ``repair`` first truncates a partial last line."""
    fmt = output_format(path)
    if fmt == "parquet":
        from imgclass.bulk.parquet import read_parquet_results

        yield from read_parquet_results(path)
        return
    if repair:
        truncate_partial_line(path)
    with open(path, newline="", encoding="utf-8", errors=_ERRORS) as file:
        if fmt == "jsonl":
            for number, line in enumerate(file, 1):
                if line.strip():
                    yield _parse_json_line(line, path, number)
            return
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            return
        if tuple(header) != FIELDS:
            raise ValueError(f"{os.fspath(path)} is not an imgclass CSV: header {header} != {list(FIELDS)}")
        for row in reader:
            if len(row) != len(FIELDS):
                raise ValueError(f"{os.fspath(path)} line {reader.line_num}: expected {len(FIELDS)} fields")
            yield BulkResult.from_dict({k: (v if v != "" else None) for k, v in zip(FIELDS, row, strict=True)})


def _parse_json_line(line: str, path: str | os.PathLike[str], number: int) -> BulkResult:
    try:
        return BulkResult.from_dict(json.loads(line))
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{os.fspath(path)} line {number} is not a result: {exc}") from None


def truncate_partial_line(path: str | os.PathLike[str], block: int = 1 << 16) -> int:
    """Cut the file after its last newline (a killed writer's half line); return the bytes removed."""
    with open(path, "rb+") as file:
        size = file.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - block)
            file.seek(start)
            chunk = file.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        if keep < size:
            file.truncate(keep)
        return size - keep
