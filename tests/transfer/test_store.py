"""The store: atomic, once per content, never overwriting, self-healing after a crash."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from imgclass.transfer.store import TEMP_PREFIX, ImageStore
from tests.transfer.conftest import sha, stored_files


def put(store: ImageStore, name: str, data: bytes, fmt: str = "png") -> tuple[str, bool]:
    stored = store.store(name, data, sha(data), fmt)
    return stored.name, stored.duplicate


def test_stores_bytes_exactly_and_once(tmp_path: Path) -> None:
    with ImageStore(tmp_path) as store:  # durable: fsyncs file and folder
        assert put(store, "a.png", b"one") == ("a.png", False)
        assert put(store, "b.png", b"one") == ("a.png", True)
    assert (tmp_path / "a.png").read_bytes() == b"one"
    assert stored_files(tmp_path) == ["a.png"]


def test_same_name_different_content_never_overwrites(tmp_path: Path) -> None:
    store = ImageStore(tmp_path, durable=False)
    names = [put(store, "a.png", bytes([i]))[0] for i in range(3)]
    assert names[0] == "a.png" and len(set(names)) == 3
    assert all(n.startswith("a-") for n in names[1:])
    for i, name in enumerate(names):
        assert (tmp_path / name).read_bytes() == bytes([i])


def test_a_file_that_appeared_behind_our_back_is_not_overwritten(tmp_path: Path) -> None:
    store = ImageStore(tmp_path, durable=False)
    (tmp_path / "a.png").write_bytes(b"someone else's")
    name, _ = put(store, "a.png", b"ours")
    assert name != "a.png" and (tmp_path / "a.png").read_bytes() == b"someone else's"


def test_index_is_rebuilt_and_leftovers_removed_on_start(tmp_path: Path) -> None:
    with ImageStore(tmp_path) as first:
        put(first, "a.png", b"one")
    (tmp_path / f"{TEMP_PREFIX}crashed").write_bytes(b"half")
    store = ImageStore(tmp_path, durable=False)
    assert stored_files(tmp_path) == ["a.png"]
    assert put(store, "other.png", b"one") == ("a.png", True)


def test_a_deleted_file_is_stored_again(tmp_path: Path) -> None:
    store = ImageStore(tmp_path, durable=False)
    put(store, "a.png", b"one")
    (tmp_path / "a.png").unlink()
    assert put(store, "b.png", b"one") == ("b.png", False)


def test_without_hard_links_it_falls_back_to_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(os, "link", no_link)
    store = ImageStore(tmp_path, durable=False)
    assert put(store, "a.png", b"one") == ("a.png", False)
    assert put(store, "a.png", b"two")[0] != "a.png"
    assert (tmp_path / "a.png").read_bytes() == b"one"
    assert not [n for n in stored_files(tmp_path) if n.startswith(".")]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    store = ImageStore(tmp_path, durable=False)
    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError, match="No space"):
        put(store, "a.png", b"one")
    assert stored_files(tmp_path) == []
