"""Store received images in one folder: atomically, once per content, never overwriting.

An image is written to a ``.incoming-*`` temporary file in the destination folder as its bytes arrive
(:class:`Incoming`; same file system, so the final step is atomic). A commit then gives a batch of
them their final names, durably: the data is flushed, each file is *hard-linked* to its final name and
its temporary name removed, and the names are flushed, so that they survive a crash. Only then is any
image of the batch reported stored.

Durable commits go in **rounds**, as a database's group commit does. A round takes every batch
queued since the last one, flushes, reports the batches linked in the previous round as stored (that
flush covered their names), and links the new ones (its flush covered their data). On Linux a flush
is one ``syncfs`` of the folder's file system, so in a steady stream one flush serves the names of one
batch and the data of the next; elsewhere each file is fsynced as it is closed, and a round links and
then flushes the folder once. Rounds are run by whichever thread needs one when none is running (no
hand-over, so a lone image costs no thread switch), and by a helper thread while batches are queued
by threads that have other work to do, so flushing overlaps receiving.

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
    """A verified payload in its temporary file, waiting for a commit."""

    temp: str
    name: str
    hexdigest: str
    format: str

    def discard(self) -> None:
        """Remove the temporary file: the payload will not be stored."""
        _unlink_quietly(self.temp)


class Commit:
    """One batch on its way to durable names. ``outcomes`` (one per item, in order) once ``done``."""

    __slots__ = ("batch", "done", "linked", "outcomes")

    def __init__(self, batch: Sequence[Staged]) -> None:
        self.batch = tuple(batch)
        self.outcomes: list[Stored | OSError] = []
        #: (digest, final name) of each image this commit linked, to take back if the flush fails.
        self.linked: list[tuple[str, str]] = []
        self.done = False


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
        self._lock = threading.Lock()  # the index
        self._by_digest: dict[str, str] = {}
        #: Digests whose new name is linked but not yet flushed: not yet to be called stored.
        self._settling: set[str] = set()
        self._counter = itertools.count()
        self._pid = os.getpid()
        # Commit rounds: batches queued, batches linked and waiting for the next flush, who runs a round.
        self._rounds = threading.Condition()
        self._queued: list[Commit] = []
        self._linked: list[Commit] = []
        self._leading = False
        self._round = 0
        self._helper: threading.Thread | None = None
        self._closed = False
        self.flushes = 0
        self.remove_temporaries()
        self._rebuild_index()
        if self._dir_fd is not None:
            # What a killed predecessor wrote may still be only in the page cache: make it durable
            # before any reply calls it stored.
            self._flush()

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Finish the commits under way, stop the helper, release the folder."""
        with self._rounds:
            self._closed = True
            self._rounds.notify_all()
            helper = self._helper
        if helper is not None:
            helper.join()
        self._drain()
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

    # ------------------------------------------------------------------ committing

    def commit(self, batch: Sequence[Staged]) -> list[Stored | OSError]:
        """Give every staged payload of ``batch`` its final name, durably; one outcome per item, in order.

        An item that could not be stored gets its ``OSError``; every temporary file is removed.
        """
        commit = self.begin_commit(batch)
        while not commit.done:
            self.advance(commit)
        return commit.outcomes

    def begin_commit(self, batch: Sequence[Staged], *, background: bool = False) -> Commit:
        """Queue ``batch`` for the next round and return at once; :meth:`advance` until ``done``.

        ``background``: the caller has other work to do first, so a helper thread runs the rounds
        meanwhile (otherwise the caller runs them when it waits, sparing a thread switch).
        """
        commit = Commit(batch)
        with self._rounds:
            if self._closed:
                raise OSError(errno.ESHUTDOWN, "the store is closed")
            self._queued.append(commit)
            if background and self._dir_fd is not None:
                if self._helper is None:
                    self._helper = threading.Thread(target=self._help, name="imgclass-commit", daemon=True)
                    self._helper.start()
                self._rounds.notify_all()
        if self._dir_fd is None:  # nothing to wait for: link now
            self.advance(commit)
        return commit

    def advance(self, commit: Commit) -> None:
        """Bring ``commit`` one round closer to ``done``: run the next round, or wait for the one running."""
        with self._rounds:
            if commit.done:
                return
            if self._leading:
                started = self._round
                self._rounds.wait_for(lambda: self._round != started or commit.done)
                return
            self._leading = True
        self._run_round()

    def _help(self) -> None:
        """The helper thread: run rounds while batches wait and no one else runs them."""
        with self._rounds:
            while True:
                self._rounds.wait_for(lambda: self._closed or (not self._leading and bool(self._queued)))
                if self._closed:
                    self._helper = None
                    return
                self._leading = True
                self._rounds.release()
                try:
                    self._run_round()
                finally:
                    self._rounds.acquire()

    def _drain(self) -> None:
        while True:
            with self._rounds:
                if self._leading:
                    self._rounds.wait_for(lambda: not self._leading)
                if not self._queued and not self._linked:
                    return
                self._leading = True
            self._run_round()

    def _run_round(self) -> None:
        """(Leader only.) One round: flush, settle the batches linked last round, link the new ones."""
        try:
            with self._rounds:
                queued, self._queued = self._queued, []
                linked, self._linked = self._linked, []
            if self._whole_fs:
                # One flush: the data of the new batches (before any name points at it) and the names
                # the previous round linked.
                error = self._try_flush() if (queued or linked) else None
                self._settle(linked, error)
                if error is not None:
                    self._settle([self._link(c, failed=error) for c in queued], error)
                    return
                for commit in queued:
                    self._link(commit)
                with self._rounds:
                    self._linked.extend(queued)
            else:
                # Each file's data was flushed as it was closed: link, then flush the folder once.
                for commit in queued:
                    self._link(commit)
                error = self._try_flush() if queued and self._dir_fd is not None else None
                self._settle(queued, error)
        finally:
            with self._rounds:
                self._leading = False
                self._round += 1
                self._rounds.notify_all()

    def _link(self, commit: Commit, *, failed: OSError | None = None) -> Commit:
        """Give each image of ``commit`` its final name (or fail them all with ``failed``)."""
        outcomes: list[Stored | OSError] = []
        with self._lock:
            for item in commit.batch:
                if failed is not None:
                    outcomes.append(failed)
                    continue
                existing = self._lookup_locked(item.hexdigest)
                if existing is not None:  # if it is still settling, this commit waits for its flush too
                    outcomes.append(Stored(existing, duplicate=True))
                    continue
                try:
                    final = self._publish(item.temp, candidate_names(item.name, item.format, item.hexdigest))
                except OSError as exc:
                    outcomes.append(exc)
                    continue
                self._by_digest[item.hexdigest] = final
                self._settling.add(item.hexdigest)
                commit.linked.append((item.hexdigest, final))
                outcomes.append(Stored(final, duplicate=False))
        for item in commit.batch:
            _unlink_quietly(item.temp)
        commit.outcomes = outcomes
        return commit

    def _settle(self, commits: list[Commit], error: OSError | None) -> None:
        """Report ``commits`` done: stored, or, if their flush failed, failed with their names taken
        back, so that a retry stores the images again instead of trusting names that may not be on disk."""
        with self._lock:
            for commit in commits:
                for digest, final in commit.linked:
                    self._settling.discard(digest)
                    if error is not None:
                        self._by_digest.pop(digest, None)
                        _unlink_quietly(os.path.join(self._root, final))
                if error is not None:
                    commit.outcomes = [error] * len(commit.batch)
        with self._rounds:
            for commit in commits:
                commit.done = True

    def _try_flush(self) -> OSError | None:
        try:
            self._flush()
        except OSError as exc:
            logger.error("flushing %s failed: %s", self.root, exc)
            return exc
        return None

    def _flush(self) -> None:
        if self._dir_fd is None:
            return
        self.flushes += 1
        if self._whole_fs and _SYNCFS is not None:
            if _SYNCFS(self._dir_fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs failed: {os.strerror(err)}")
        else:
            os.fsync(self._dir_fd)

    # ------------------------------------------------------------------ the folder

    def remove_temporaries(self) -> int:
        """Delete ``.incoming-*`` files a crashed run left behind; return how many."""
        removed = 0
        for path in self.root.glob(TEMP_PREFIX + "*"):
            _unlink_quietly(path)
            removed += 1
        if removed:
            logger.warning("removed %d leftover temporary files from %s", removed, self.root)
        return removed

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
