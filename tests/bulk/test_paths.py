"""Tests for :mod:`imgclass.bulk.paths`: lazy expansion of files, folders and @lists."""

from __future__ import annotations

import io
import itertools
import os
from collections import Counter
from pathlib import Path

import pytest

from imgclass.bulk.paths import expand_paths, iter_list_file, skip_done


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("a.jpg", "b.png", ".hidden.jpg", "sub/c.jpg", "sub/deeper/d.jpg", ".git/e.jpg"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path


def test_folder_lists_its_visible_files_only(tree: Path) -> None:
    assert sorted(expand_paths(tree)) == [str(tree / "a.jpg"), str(tree / "b.png")]


def test_recursive_descends_but_skips_hidden_folders(tree: Path) -> None:
    found = sorted(expand_paths([tree], recursive=True))
    expected = ["a.jpg", "b.png", "sub/c.jpg", "sub/deeper/d.jpg"]
    assert found == [str(tree / name) for name in expected]


def test_paths_are_kept_as_given(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    assert sorted(expand_paths(["sub", "a.jpg", "./b.png"])) == ["./b.png", "a.jpg", os.path.join("sub", "c.jpg")]


def test_symlinked_folders_are_not_followed(tree: Path) -> None:
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)
    found = list(expand_paths(tree, recursive=True))
    assert len(found) == len(set(found)) == 4


def test_list_file_lines_blank_lines_and_crlf(tmp_path: Path, tree: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_bytes(f"{tree / 'a.jpg'}\r\n\n{tree / 'sub'}\nmissing file.jpg\n{tree / 'a.jpg'}".encode())
    found = list(expand_paths([f"@{listing}"]))
    assert found == [str(tree / "a.jpg"), str(tree / "sub" / "c.jpg"), "missing file.jpg", str(tree / "a.jpg")]


def test_list_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x.jpg\ny.jpg\n"))
    assert list(expand_paths("@-")) == ["x.jpg", "y.jpg"]


def test_list_keeps_undecodable_names(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"caf\xe9.jpg\n")
    (name,) = iter_list_file(str(listing))
    assert os.fsencode(name) == b"caf\xe9.jpg"


def test_missing_list_file_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        list(expand_paths(f"@{tmp_path / 'nope.txt'}"))


def test_expansion_is_lazy() -> None:
    endless = (f"img{i}.jpg" for i in itertools.count())
    assert list(itertools.islice(expand_paths(endless), 3)) == ["img0.jpg", "img1.jpg", "img2.jpg"]


def test_urls_pass_through_untouched() -> None:
    assert list(expand_paths(["s3://bucket/a.jpg"])) == ["s3://bucket/a.jpg"]


def test_skip_done_removes_first_occurrences_and_consumes_counts() -> None:
    done = Counter({"a": 2, "b": 1, "gone": 1})
    assert list(skip_done(["a", "b", "a", "a", "c", "b"], done)) == ["a", "c", "b"]
    assert done == Counter({"gone": 1})
