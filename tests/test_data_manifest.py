"""load_dataset reads a data set's manifest.csv (reference set v2) for each file's domain and group."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from imgclass.data import load_dataset, read_manifest


def _write_manifest(root: Path, rows: list[dict[str, str]], columns: tuple[str, ...] | None = None) -> None:
    columns = columns or ("path", "sha256", "label", "source", "domain", "group")
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _rows(root: Path) -> list[dict[str, str]]:
    rows = []
    for label in ("real", "animated"):
        for i, path in enumerate(sorted((root / label).iterdir())):
            rows.append(
                {"path": f"{label}/{path.name}", "sha256": "x", "label": label, "source": path.name.split("__")[0],
                 "domain": f"{label}_dom{i % 2}", "group": f"g{i // 2}-{label}"}
            )  # fmt: skip
    return rows


def test_manifest_fills_domain_and_group(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, _rows(tiny_dir))
    ds = load_dataset(tiny_dir)
    assert len(ds) == 24
    assert set(ds.domains.tolist()) == {"real_dom0", "real_dom1", "animated_dom0", "animated_dom1"}
    assert len(set(ds.groups.tolist())) == 12  # two files per group
    for record in ds.records:
        assert record.domain.startswith(record.label_name)
        assert record.group.endswith(record.label_name)


def test_without_manifest_defaults_stay(tiny_dir: Path) -> None:
    ds = load_dataset(tiny_dir)
    assert ds.domains.tolist() == ds.sources.tolist()
    assert ds.groups.tolist() == [str(r.path) for r in ds.records]


def test_v1_style_manifest_is_ignored(tiny_dir: Path) -> None:
    # The bundled v1 set has MANIFEST.csv with other columns; on a case-insensitive disk it reads as manifest.csv.
    _write_manifest(tiny_dir, [{"file": "real/x.jpg", "label": "0"}], columns=("file", "label"))
    assert read_manifest(tiny_dir) is None
    ds = load_dataset(tiny_dir)
    assert ds.domains.tolist() == ds.sources.tolist()


def test_label_disagreeing_with_folder_is_an_error(tiny_dir: Path) -> None:
    rows = _rows(tiny_dir)
    rows[0]["label"] = "animated"
    _write_manifest(tiny_dir, rows)
    with pytest.raises(ValueError, match="manifest labels it 'animated'"):
        load_dataset(tiny_dir)


def test_unlisted_files_keep_defaults_with_a_warning(tiny_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = _rows(tiny_dir)
    _write_manifest(tiny_dir, rows[1:])
    with caplog.at_level(logging.WARNING, logger="imgclass.data"):
        ds = load_dataset(tiny_dir)
    assert "1 files" in caplog.text
    first = next(r for r in ds.records if f"{r.label_name}/{r.path.name}" == rows[0]["path"])
    assert first.domain == first.source and first.group == str(first.path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": "cartoon"}, "label must be"),
        ({"domain": ""}, "must not be empty"),
        ({"group": ""}, "must not be empty"),
    ],
)
def test_malformed_rows_are_errors(tiny_dir: Path, change: dict[str, str], message: str) -> None:
    rows = _rows(tiny_dir)
    rows[3].update(change)
    _write_manifest(tiny_dir, rows)
    with pytest.raises(ValueError, match=message):
        load_dataset(tiny_dir)


def test_duplicate_rows_are_errors(tiny_dir: Path) -> None:
    rows = _rows(tiny_dir)
    _write_manifest(tiny_dir, [*rows, rows[0]])
    with pytest.raises(ValueError, match="listed twice"):
        load_dataset(tiny_dir)
