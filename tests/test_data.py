from pathlib import Path

import pytest

from imgclass.data import load_dataset, reference_dir, source_of


def test_source_prefix() -> None:
    assert source_of("endless_sky__badlands0.jpg") == "endless_sky"
    assert source_of(Path("a/b/wesnoth__x__y.jpg")) == "wesnoth"
    assert source_of("plain.jpg") == "unknown"
    assert source_of("__odd.jpg") == "unknown"


def test_load_folder_per_class(tiny_dir: Path) -> None:
    ds = load_dataset(tiny_dir)
    assert len(ds) == 24 and not ds.skipped
    assert sorted(set(ds.labels.tolist())) == [0, 1]
    assert set(ds.sources.tolist()) == {"photo_a", "photo_b", "drawn_a", "drawn_b"}
    assert all(r.data == r.path.read_bytes() for r in ds.records)
    assert ds.records[0].label_name == "real"


def test_bad_file_raises_naming_it(tiny_dir: Path) -> None:
    bad = tiny_dir / "real" / "notes.txt"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        load_dataset(tiny_dir)


def test_bad_files_are_reported_and_skipped(tiny_dir: Path) -> None:
    (tiny_dir / "real" / "notes.txt").write_text("not an image")
    (tiny_dir / "animated" / "empty.png").write_bytes(b"")
    (tiny_dir / "animated" / ".DS_Store").write_bytes(b"\0")  # hidden: never an image, ignored
    ds = load_dataset(tiny_dir, on_error="skip")
    assert len(ds) == 24
    assert sorted(s.path.name for s in ds.skipped) == ["empty.png", "notes.txt"]
    assert any("empty file" in s.reason for s in ds.skipped)


def test_missing_class_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    with pytest.raises(ValueError, match="animated"):
        load_dataset(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(tmp_path / "nope")


def test_source_filter_and_empty(tiny_dir: Path) -> None:
    assert len(load_dataset(tiny_dir, sources=["photo_a"])) == 6
    with pytest.raises(ValueError, match="no images"):
        load_dataset(tiny_dir, sources=["nothing"])


def test_reference_dir_honours_env(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGCLASS_DATA", str(tiny_dir))
    assert reference_dir() == tiny_dir
    monkeypatch.setenv("IMGCLASS_DATA", str(tiny_dir / "real"))
    with pytest.raises(ValueError, match="IMGCLASS_DATA"):
        reference_dir()
