"""Parquet output for bulk runs (the ``parquet`` extra: ``pip install -e ".[parquet]"`` in a checkout).

``--out results.parquet`` makes a folder that pandas, Polars, DuckDB, Spark and ``pyarrow.dataset`` read
as one table (``pandas.read_parquet("results.parquet")``). Results are buffered into row groups of
:data:`ROW_GROUP_ROWS` and each row group is written to the open part file as soon as it is full, so
memory stays flat. A part is written as ``part-NNNNNN.parquet.tmp`` and renamed when it is closed,
after :data:`PART_ROW_GROUPS` row groups or at the end of the run.

A Parquet file is only readable once its footer is written, so a run killed mid-part leaves a
``.tmp`` file that cannot be read. ``--resume`` deletes it, counts the paths in the closed parts and
carries on: up to one part's rows (:data:`ROW_GROUP_ROWS` x :data:`PART_ROW_GROUPS`) are classified
again, and the resumed table is identical to a clean run's (except ``ms``). Parts are numbered in input
order; read them in name order (``pyarrow.dataset`` and pandas do) to get the input order back.

File names that are not valid UTF-8 cannot be Parquet strings: their undecodable bytes are written as
``\\xNN`` escapes, and ``--resume`` classifies such a file again.
"""

from __future__ import annotations

import importlib
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from imgclass.bulk.results import FIELDS, BulkResult

#: Rows per row group: about a megabyte of results, a few seconds of a fast run.
ROW_GROUP_ROWS = 10_000
#: Row groups per part file: what a kill can cost, in rows classified again on resume.
PART_ROW_GROUPS = 10

_PART = re.compile(r"^part-(\d{6,})\.parquet$")
_TMP_SUFFIX = ".tmp"


def pyarrow_modules() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or a ``ValueError`` naming the extra to install."""
    try:
        pa = importlib.import_module("pyarrow")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ValueError(
            "Parquet output needs pyarrow: install the parquet extra, pip install -e '.[parquet]' in the imgclass-rva "
            "checkout"
        ) from None
    return pa, pq


def _schema(pa: Any) -> Any:
    return pa.schema(
        [
            ("path", pa.string()),
            ("label", pa.string()),
            ("score", pa.float64()),
            ("classifier", pa.string()),
            ("ms", pa.float64()),
            ("error", pa.string()),
        ]
    )


def _utf8(path: str) -> str:
    """``path`` as a valid UTF-8 string (undecodable file-name bytes become ``\\xNN``)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


def part_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The closed part files of an output folder, in input order."""
    parts = [p for p in Path(folder).iterdir() if _PART.match(p.name)]
    return sorted(parts, key=lambda p: int(_PART.match(p.name).group(1)))  # type: ignore[union-attr]


def prepare_folder(folder: Path, *, resume: bool, overwrite: bool) -> int:
    """Make ``folder`` ready to write into; return the number of the first part to write.

    Refuses a file in the way, a folder holding anything but our parts, and (without ``resume`` or
    ``overwrite``) a folder that already holds results. A killed run's unreadable ``.tmp`` part is removed.
    """
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file: Parquet output is a folder of part files")
    folder.mkdir(parents=True, exist_ok=True)
    ours: list[Path] = []
    others: list[Path] = []
    for entry in folder.iterdir():
        stem = entry.name.removesuffix(_TMP_SUFFIX)
        (ours if _PART.match(stem) and entry.is_file() else others).append(entry)
    if others:
        raise ValueError(f"{folder} holds files that are not imgclass results ({others[0].name}); choose another --out")
    closed = [p for p in ours if _PART.match(p.name)]
    if closed and not (resume or overwrite):
        raise ValueError(f"{folder} already exists: pass --resume to continue it or --overwrite to replace it")
    for entry in ours:
        if overwrite or entry.name.endswith(_TMP_SUFFIX):
            entry.unlink()
    if overwrite or not closed:
        return 0
    return max(int(_PART.match(p.name).group(1)) for p in closed) + 1  # type: ignore[union-attr]


class ParquetResultWriter:
    """Appends results to a folder of Parquet parts, a row group at a time (see the module's docstring)."""

    format = "parquet"

    def __init__(
        self,
        folder: str | os.PathLike[str],
        first_part: int = 0,
        *,
        row_group_rows: int | None = None,
        part_row_groups: int | None = None,
    ) -> None:
        row_group_rows = ROW_GROUP_ROWS if row_group_rows is None else row_group_rows
        part_row_groups = PART_ROW_GROUPS if part_row_groups is None else part_row_groups
        if row_group_rows < 1 or part_row_groups < 1:
            raise ValueError("row_group_rows and part_row_groups must be at least 1")
        self._pa, self._pq = pyarrow_modules()
        self._schema = _schema(self._pa)
        self.folder = Path(folder)
        self.row_group_rows, self.part_row_groups = row_group_rows, part_row_groups
        self._next_part = first_part
        self._columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
        self._writer: Any = None
        self._tmp: Path | None = None
        self._groups = 0
        self.written = 0
        self.failed = 0

    def write(self, results: Sequence[BulkResult]) -> None:
        columns = self._columns
        for result in results:
            columns["path"].append(_utf8(result.path))
            columns["label"].append(result.label)
            columns["score"].append(result.score)
            columns["classifier"].append(result.classifier)
            columns["ms"].append(result.ms)
            columns["error"].append(result.error)
            if not result.ok:
                self.failed += 1
            if len(columns["path"]) >= self.row_group_rows:
                self._write_group()
        self.written += len(results)

    def _write_group(self) -> None:
        if not self._columns["path"]:
            return
        table = self._pa.table(self._columns, schema=self._schema)
        for column in self._columns.values():  # emptied in place: write() holds a reference
            column.clear()
        if self._writer is None:
            self._tmp = self.folder / f"part-{self._next_part:06d}.parquet{_TMP_SUFFIX}"
            self._writer = self._pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
            self._next_part += 1
        self._writer.write_table(table, row_group_size=len(table))
        self._groups += 1
        if self._groups >= self.part_row_groups:
            self._close_part()

    def _close_part(self) -> None:
        if self._writer is None or self._tmp is None:
            return
        self._writer.close()
        os.replace(self._tmp, self._tmp.with_name(self._tmp.name.removesuffix(_TMP_SUFFIX)))
        self._writer, self._tmp, self._groups = None, None, 0

    def close(self) -> None:
        """Write what is buffered and close the part (only a clean end gets here, not a kill)."""
        self._write_group()
        self._close_part()

    def __enter__(self) -> ParquetResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_parquet_results(folder: str | os.PathLike[str], *, batch_rows: int = 65_536) -> Iterator[BulkResult]:
    """Stream the results of an output folder back, in input order, a batch of rows at a time."""
    _, pq = pyarrow_modules()
    for part in part_files(folder):
        file = pq.ParquetFile(part)
        if tuple(file.schema_arrow.names) != FIELDS:
            raise ValueError(f"{part} is not an imgclass result file: columns {file.schema_arrow.names}")
        for batch in file.iter_batches(batch_size=batch_rows):
            columns = batch.to_pydict()
            for row in zip(*(columns[name] for name in FIELDS), strict=True):
                yield BulkResult(*row)


def count_parquet_paths(folder: str | os.PathLike[str], *, classifier: str | None = None) -> Counter[str]:
    """How many times each path appears in the closed parts (reads only the two columns it needs)."""
    _, pq = pyarrow_modules()
    done: Counter[str] = Counter()
    for part in part_files(folder):
        file = pq.ParquetFile(part)
        for batch in file.iter_batches(batch_size=65_536, columns=["path", "classifier"]):
            columns = batch.to_pydict()
            if classifier is not None:
                other = next((c for c in columns["classifier"] if c != classifier), None)
                if other is not None:
                    raise ValueError(
                        f"{os.fspath(folder)} holds results of classifier {other!r}, not {classifier!r}: "
                        "resume with the same classifier or write to a new folder"
                    )
            done.update(columns["path"])
    return done
