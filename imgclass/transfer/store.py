"""Store received images in one folder: atomically, once per content, never overwriting.

Each image is written to a ``.incoming-*`` temporary file in the destination folder (same file system,
so the final step is atomic), flushed to disk, then *hard-linked* to its final name and the temporary
name removed, and finally the folder itself is flushed so the new directory entry survives a crash.

Durable writes commit in groups, as databases do: a thread that needs its bytes on disk while a flush
is already running waits for the next one, which then covers every file written in the meantime. On
Linux one flush is a single ``syncfs`` of the folder's file system, serving both phases (the names of
one group and the data of the next share it), so a burst of images costs a couple of flushes instead of
two per image; elsewhere the data is fsynced per file and only the folder's flush is shared.

``os.link`` fails when the target exists, which gives "never overwrite" for free, even against files
that appeared behind our back; on file systems without hard links we fall back to ``os.replace``
under the store's lock after checking the name is free.

Content addressing: an index maps BLAKE3 digest -> stored name. It is rebuilt at start by hashing the
folder's files, so a restarted server still deduplicates, which is what makes client retries safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import blake3

from imgclass.transfer.names import candidate_names

logger = logging.getLogger(__name__)

TEMP_PREFIX: Final = ".incoming-"
_NO_LINK_ERRNOS: Final = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK})


@dataclass(frozen=True)
class Stored:
    """Where an image ended up; ``duplicate`` when the same bytes were already stored."""

    name: str
    duplicate: bool


class GroupSync:
    """Run ``flush`` on behalf of many threads: whoever asks while a flush runs waits for the next one.

    Each caller returns only after a flush that *started after it asked* has finished, so it covers
    everything the caller wrote before asking. A failed flush raises in every caller it was for.
    """

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush
        self._cond = threading.Condition()
        self._asked = 0  # tickets handed out
        self._done = 0  # every ticket up to this one is covered by a finished flush
        self._running = False
        self._failed: tuple[int, int, BaseException] | None = None  # (first, last) tickets, error
        self.flushes = 0

    def sync(self) -> None:
        with self._cond:
            self._asked += 1
            ticket = self._asked
            while self._done < ticket:
                if self._running:
                    self._cond.wait()
                    continue
                self._running, first, last = True, self._done + 1, self._asked
                self._cond.release()
                error: BaseException | None = None
                try:
                    self._flush()
                except BaseException as exc:
                    error = exc
                finally:
                    self._cond.acquire()
                    self._running = False
                    self._done = last
                    self.flushes += 1
                    self._failed = None if error is None else (first, last, error)
                    self._cond.notify_all()
            failed = self._failed
        if failed is not None and failed[0] <= ticket <= failed[1]:
            raise failed[2]


def _syncfs_function() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return function


_SYNCFS = _syncfs_function()


class ImageStore:
    """A folder of received images, deduplicated by BLAKE3 digest. Thread-safe."""

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(self.root)  # plain strings on the hot path: pathlib costs microseconds
        self._dir_fd = _open_dir(self._root) if durable else None
        # One syncfs flushes every file (and name) we wrote; without it each file is fsynced alone.
        self._whole_fs = _SYNCFS is not None and self._dir_fd is not None
        self._data_sync = GroupSync(self._flush_fs)
        # With syncfs, one flush serves both phases: the names of one group and the data of the next
        # share it, so a steady stream costs about one flush per group rather than two.
        self._name_sync = self._data_sync if self._whole_fs else GroupSync(self._flush_dir)
        self._lock = threading.Lock()
        self._by_digest: dict[str, str] = {}
        self._counter = itertools.count()
        self.remove_temporaries()
        self._rebuild_index()

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        fd, self._dir_fd = self._dir_fd, None
        if fd is not None:
            os.close(fd)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_digest)

    def lookup(self, hexdigest: str) -> str | None:
        """The stored name of content ``hexdigest``, if it is (still) on disk."""
        with self._lock:
            return self._lookup_locked(hexdigest)

    def store(self, name: str, payload: bytes | bytearray | memoryview, hexdigest: str, fmt: str) -> Stored:
        """Store ``payload`` (whose digest the caller has verified) under a name derived from ``name``.

        Returns only once the file and its directory entry are on disk (when ``durable``).
        """
        existing = self.lookup(hexdigest)
        if existing is not None:
            return Stored(existing, duplicate=True)
        temp = self._write_temporary(payload)
        try:
            with self._lock:
                existing = self._lookup_locked(hexdigest)
                if existing is not None:
                    return Stored(existing, duplicate=True)
                final = self._publish(temp, candidate_names(name, fmt, hexdigest))
                self._by_digest[hexdigest] = final
        finally:
            _unlink_quietly(temp)
        if self._dir_fd is not None:
            self._name_sync.sync()  # the new name itself must survive a crash, not only the bytes
        return Stored(final, duplicate=False)

    @property
    def flushes(self) -> int:
        """How many group flushes ran (data and names); fewer than two per image means grouping works."""
        if self._name_sync is self._data_sync:
            return self._data_sync.flushes
        return self._data_sync.flushes + self._name_sync.flushes

    def _flush_fs(self) -> None:
        if _SYNCFS is None or self._dir_fd is None:  # pragma: no cover - guarded by _whole_fs
            return
        if _SYNCFS(self._dir_fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs failed: {os.strerror(err)}")

    def _flush_dir(self) -> None:
        if self._dir_fd is not None:
            os.fsync(self._dir_fd)

    def remove_temporaries(self) -> int:
        """Delete ``.incoming-*`` files a crashed run left behind; return how many."""
        removed = 0
        for path in self.root.glob(TEMP_PREFIX + "*"):
            _unlink_quietly(path)
            removed += 1
        if removed:
            logger.warning("removed %d leftover temporary files from %s", removed, self.root)
        return removed

    # ------------------------------------------------------------------ internals

    def _lookup_locked(self, hexdigest: str) -> str | None:
        name = self._by_digest.get(hexdigest)
        if name is not None and not os.path.isfile(os.path.join(self._root, name)):
            # Someone removed it behind our back: forget it so the image is stored again.
            del self._by_digest[hexdigest]
            return None
        return name

    def _write_temporary(self, payload: bytes | bytearray | memoryview) -> str:
        # A counter plus the pid is unique within the folder for us; O_EXCL catches anyone else.
        while True:
            temp = os.path.join(self._root, f"{TEMP_PREFIX}{os.getpid()}-{next(self._counter)}")
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
            except FileExistsError:
                continue
            break
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self.durable and not self._whole_fs:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(temp)
            raise
        os.close(fd)
        if self.durable and self._whole_fs:
            try:
                self._data_sync.sync()  # the bytes reach the disk before any name points at them
            except BaseException:
                _unlink_quietly(temp)
                raise
        return temp

    def _publish(self, temp: str, candidates: list[str]) -> str:
        for name in _with_counters(candidates):
            target = os.path.join(self._root, name)
            try:
                os.link(temp, target)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_LINK_ERRNOS:
                    raise
                if os.path.lexists(target):
                    continue
                os.replace(temp, target)
            return name
        raise RuntimeError("unreachable: the name candidates are endless")  # pragma: no cover

    def _rebuild_index(self) -> None:
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            digest = _hash_file(path)
            self._by_digest.setdefault(digest, path.name)
        if self._by_digest:
            logger.info("indexed %d stored images in %s", len(self._by_digest), self.root)


def _with_counters(candidates: list[str]) -> itertools.chain[str]:
    last = candidates[-1]
    stem, dot, ext = last.rpartition(".")
    numbered = (f"{stem}-{i}{dot}{ext}" for i in itertools.count(2))
    return itertools.chain(candidates, numbered)


def _hash_file(path: Path) -> str:
    h = blake3.blake3()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _open_dir(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return None


def _unlink_quietly(path: str | Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
