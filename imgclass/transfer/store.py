"""Store received images in one folder: atomically, once per content, never overwriting.

An image is written to a ``.incoming-*`` temporary file in the destination folder as its bytes arrive
(:class:`Incoming`; same file system, so the final step is atomic). :meth:`ImageStore.commit` then
makes a whole batch durable: the data is flushed, each file is *hard-linked* to its final name and its
temporary name removed, and the folder is flushed so the new names survive a crash. Only then is any
image of the batch reported stored.

Durable writes commit in groups, as databases do: a thread that needs its bytes on disk while a flush
is already running waits for the next one, which then covers every file written in the meantime. On
Linux one flush is a single ``syncfs`` of the folder's file system, serving both phases (the names of
one group and the data of the next share it), so a burst of images costs a couple of flushes instead of
two per image; elsewhere each file is fsynced and only the folder's flush is shared.

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
from collections.abc import Callable, Sequence
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


@dataclass(frozen=True)
class Staged:
    """A verified payload in its temporary file, waiting for :meth:`ImageStore.commit`."""

    temp: str
    name: str
    hexdigest: str
    format: str

    def discard(self) -> None:
        """Remove the temporary file: the payload will not be stored."""
        _unlink_quietly(self.temp)


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
        #: Digests whose new name is linked but not yet flushed: a duplicate of one must wait for it.
        self._settling: set[str] = set()
        self._counter = itertools.count()
        self._pid = os.getpid()
        self.remove_temporaries()
        self._rebuild_index()
        if self._dir_fd is not None:
            # What a killed predecessor wrote may still be only in the page cache: make it durable
            # before any reply calls it stored.
            self._name_sync.sync() if not self._whole_fs else self._data_sync.sync()

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

    def incoming(self) -> Incoming:
        """A temporary file in the folder to write a payload into as it arrives (created on the first write)."""
        return Incoming(self)

    def store(self, name: str, payload: bytes | bytearray | memoryview, hexdigest: str, fmt: str) -> Stored:
        """Store ``payload`` (whose digest the caller has verified) under a name derived from ``name``.

        Returns only once the file and its directory entry are on disk (when ``durable``).
        """
        with self._lock:
            existing = self._lookup_locked(hexdigest)
            if existing is not None and hexdigest not in self._settling:
                return Stored(existing, duplicate=True)
        incoming = self.incoming()
        try:
            incoming.write(payload)
            staged = incoming.finish(name, hexdigest, fmt)
        except BaseException:
            incoming.discard()
            raise
        [outcome] = self.commit([staged])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def commit(self, batch: Sequence[Staged]) -> list[Stored | OSError]:
        """Give every staged payload of ``batch`` its final name, durably; one outcome per item, in order.

        When ``durable``, the data of the whole batch is flushed before any name points at it, and the
        names are flushed before this returns, each phase shared with every other thread committing at
        the time. A duplicate of content another thread has just named waits for that name's flush too.
        An item that could not be stored gets its ``OSError``; every temporary file is removed.
        """
        outcomes: list[Stored | OSError] = []
        named: list[tuple[str, str]] = []  # (digest, final name) published by this call
        need_flush = False
        try:
            if self._whole_fs and batch:
                self._data_sync.sync()  # the bytes reach the disk before any name points at them
            with self._lock:
                for item in batch:
                    existing = self._lookup_locked(item.hexdigest)
                    if existing is not None:
                        outcomes.append(Stored(existing, duplicate=True))
                        need_flush = need_flush or item.hexdigest in self._settling
                        continue
                    try:
                        final = self._publish(item.temp, candidate_names(item.name, item.format, item.hexdigest))
                    except OSError as exc:
                        outcomes.append(exc)
                        continue
                    self._by_digest[item.hexdigest] = final
                    self._settling.add(item.hexdigest)
                    named.append((item.hexdigest, final))
                    outcomes.append(Stored(final, duplicate=False))
        except OSError as exc:
            return [exc] * len(batch)
        finally:
            for item in batch:
                _unlink_quietly(item.temp)
        if (named or need_flush) and self._dir_fd is not None:
            try:
                self._name_sync.sync()  # the new names themselves must survive a crash, not only the bytes
            except OSError as exc:
                # Nothing of this batch may be reported stored; take its names back so that a retry
                # stores the images again instead of trusting names that may not be on disk.
                with self._lock:
                    for digest, final in named:
                        self._by_digest.pop(digest, None)
                        self._settling.discard(digest)
                        _unlink_quietly(os.path.join(self._root, final))
                return [exc] * len(batch)
        if named:
            with self._lock:
                self._settling.difference_update(digest for digest, _ in named)
        return outcomes

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

    def _create_temporary(self) -> tuple[str, int]:
        # A counter plus the pid is unique within the folder for us; O_EXCL catches anyone else.
        while True:
            temp = os.path.join(self._root, f"{TEMP_PREFIX}{self._pid}-{next(self._counter)}")
            try:
                fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
            except FileExistsError:
                continue
            return temp, fd

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


class Incoming:
    """One payload on its way into an :class:`ImageStore`: written to a temporary file as it arrives.

    The file is created on the first :meth:`write`, so a payload that never sends a byte leaves no
    trace. :meth:`finish` closes it and hands back what :meth:`ImageStore.commit` needs; :meth:`discard`
    removes it. Not thread-safe: one writer.
    """

    __slots__ = ("_fd", "_store", "path", "size")

    def __init__(self, store: ImageStore) -> None:
        self._store = store
        self._fd: int | None = None
        self.path: str | None = None
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd is None:
            self.path, self._fd = self._store._create_temporary()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self.size += written

    def finish(self, name: str, hexdigest: str, fmt: str) -> Staged:
        """Close the file (creating it empty if nothing was written) and stage it for commit."""
        if self._fd is None:
            self.path, self._fd = self._store._create_temporary()
        fd, self._fd = self._fd, None
        try:
            if self._store.durable and not self._store._whole_fs:
                os.fsync(fd)  # no syncfs here: each file flushes its own data
        finally:
            os.close(fd)
        if self.path is None:  # pragma: no cover - set with the descriptor
            raise RuntimeError("temporary file without a path")
        return Staged(self.path, name, hexdigest, fmt)

    def discard(self) -> None:
        """Close and remove the file, if there is one. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.path is not None:
            _unlink_quietly(self.path)


def read_staged(staged: Staged, size: int) -> bytearray:
    """The bytes of a staged payload, read back from its temporary file."""
    out = bytearray(size)
    with open(staged.temp, "rb", buffering=0) as f:
        if f.readinto(out) != size:
            raise OSError(errno.EIO, f"{staged.temp} is shorter than the {size} bytes written to it")
    return out


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
