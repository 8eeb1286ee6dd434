"""Tests for :mod:`imgclass.bulk.paths`: lazy expansion of files, folders and @lists."""

from __future__ import annotations

import io
import itertools
import os
from collections import Counter
from pathlib import Path

import pytest

from imgclass.bulk.paths import NOT_DESCENDED, Skipped, Unlisted, expand_paths, iter_list_file, skip_done


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("a.jpg", "b.png", ".hidden.jpg", "sub/c.jpg", "sub/deeper/d.jpg", ".git/e.jpg"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path


def test_folder_lists_its_visible_entries_and_flags_its_subfolders(tree: Path) -> None:
    skipped = Skipped()
    found = sorted(expand_paths(tree, skipped=skipped))
    assert found == [str(tree / "a.jpg"), str(tree / "b.png"), str(tree / "sub")]
    assert [type(p) for p in found] == [str, str, Unlisted]
    assert found[2].reason == NOT_DESCENDED  # type: ignore[attr-defined]
    assert (skipped.folders, skipped.loops, skipped.examples) == (1, 0, [str(tree / "sub")])


def test_a_folder_with_an_image_name_gets_a_line(tree: Path) -> None:
    (tree / "x.jpg").mkdir()
    assert str(tree / "x.jpg") in list(expand_paths(tree))


def test_recursive_descends_but_skips_hidden_folders(tree: Path) -> None:
    found = sorted(expand_paths([tree], recursive=True))
    expected = ["a.jpg", "b.png", "sub/c.jpg", "sub/deeper/d.jpg"]
    assert found == [str(tree / name) for name in expected]


def test_paths_are_kept_as_given(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    found = sorted(expand_paths(["sub", "a.jpg", "./b.png"]))
    assert found == ["./b.png", "a.jpg", os.path.join("sub", "c.jpg"), os.path.join("sub", "deeper")]


def test_a_symlink_loop_gets_a_line_and_the_listing_goes_on(tree: Path) -> None:
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)  # sub/loop -> the top again
    (tree / "sub" / "self.jpg").symlink_to(tree / "sub" / "self.jpg")  # a link to itself: ELOOP on every stat
    (tree / "sub" / "zz.jpg").write_bytes(b"x")  # listed after both
    skipped = Skipped()
    found = list(expand_paths(tree, recursive=True, skipped=skipped))
    expected = ["a.jpg", "b.png", "sub/c.jpg", "sub/deeper/d.jpg", "sub/loop", "sub/self.jpg", "sub/zz.jpg"]
    assert sorted(found) == [str(tree / name) for name in expected]
    (loop,) = [p for p in found if isinstance(p, Unlisted)]
    assert loop == str(tree / "sub" / "loop") and "loop" in loop.reason
    assert skipped.loops == 1


def test_a_symlinked_folder_elsewhere_is_followed(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "o.jpg").write_bytes(b"x")
    (tree / "linked").symlink_to(other, target_is_directory=True)
    assert str(tree / "linked" / "o.jpg") in list(expand_paths(tree, recursive=True))
    assert Unlisted(str(tree / "linked"), NOT_DESCENDED) in list(expand_paths(tree))


def test_an_unlisted_path_survives_pickling() -> None:
    import pickle

    path = pickle.loads(pickle.dumps(Unlisted("a/b", "why")))
    assert isinstance(path, Unlisted) and path == "a/b" and path.reason == "why"


def test_list_file_lines_blank_lines_and_crlf(tmp_path: Path, tree: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_bytes(f"{tree / 'a.jpg'}\r\n\n{tree / 'sub'}\nmissing file.jpg\n{tree / 'a.jpg'}".encode())
    found = list(expand_paths([f"@{listing}"]))
    assert sorted(found[1:3]) == [str(tree / "sub" / "c.jpg"), str(tree / "sub" / "deeper")]  # listing order
    assert [found[0], *found[3:]] == [str(tree / "a.jpg"), "missing file.jpg", str(tree / "a.jpg")]


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


def test_a_folders_files_are_taken_by_extension(tmp_path: Path) -> None:
    """Issue 21: a MANIFEST.csv beside the images is left out (and counted), not an error line."""
    taken = ["a.jpg", "b.HEIC", "c.avif", "d.svg", "e.TIFF", "broken.png"]
    for name in [*taken[:-1], "MANIFEST.csv", "notes.txt", "no_extension"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "broken.png").symlink_to(tmp_path / "nowhere.png")  # an image's name: its error line says why
    skipped = Skipped()
    found = sorted(os.path.basename(p) for p in expand_paths(tmp_path, skipped=skipped))
    assert found == sorted(taken)
    assert skipped.other_files == 3 and len(skipped.other_examples) == 3
    # Named itself, a file is classified whatever its extension.
    assert list(expand_paths(str(tmp_path / "MANIFEST.csv"))) == [str(tmp_path / "MANIFEST.csv")]
