"""Turn ``imgclass classify`` arguments into a lazy stream of file paths.

An argument is a file, a folder (its files; ``recursive`` descends into subfolders) or ``@LIST``: a
text file of paths, one per line (``@-`` reads them from standard input). Paths come out as given
(a folder's files as ``os.path.join(folder, name)``), never resolved, so the output names files the
way the input did. Nothing here holds more than one folder level's subfolder names plus the chain of
folders above the current one: files stream out in the order the file system lists them, which is
stable for an unchanged folder.

A folder's files are taken by their extension (:data:`IMAGE_SUFFIXES`: every format read, and the known
image formats that are not, such as SVG, so that each gets an error line saying why); any other file (a
``MANIFEST.csv``, notes, a ``.DS_Store``) is left out and counted in the summary. A file named on the command
line or in a list is always classified, whatever its name. Every other entry of a folder comes out, so
every one gets a line in the output: a subfolder that is not descended into (no ``recursive``, or a
symbolic link back to a folder above it) comes out as an :class:`Unlisted` path that carries the reason,
and the worker turns it into an error line.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from imgclass.headers import EXTENSIONS, UNSUPPORTED_EXTENSIONS

logger = logging.getLogger(__name__)

PathInput = str | os.PathLike[str]

#: The file-name endings a folder walk takes (lower case); other files are left out and counted.
IMAGE_SUFFIXES = frozenset({ext for exts in EXTENSIONS.values() for ext in exts} | set(UNSUPPORTED_EXTENSIONS))
#: The error line of a subfolder met without ``recursive``.
NOT_DESCENDED = "a folder: not descended into without -r/--recursive"


class Unlisted(str):
    """A path that is not classified, with the reason its error line gives (a ``str`` everywhere else)."""

    reason: str

    def __new__(cls, path: str, reason: str) -> Unlisted:
        self = super().__new__(cls, path)
        self.reason = reason
        return self

    def __reduce__(self) -> tuple[type[Unlisted], tuple[str, str]]:  # pickled to pool and Dask workers
        return (Unlisted, (str(self), self.reason))


@dataclass
class Skipped:
    """What a walk did not descend into or left out, for the command line's closing summary."""

    folders: int = 0
    loops: int = 0
    examples: list[str] = field(default_factory=list)
    #: Files in the folders walked whose extension is not an image's, and a few of their names.
    other_files: int = 0
    other_examples: list[str] = field(default_factory=list)

    def add(self, path: str, *, loop: bool = False) -> None:
        if loop:
            self.loops += 1
            return
        self.folders += 1
        if len(self.examples) < 3:  # a few names to show; a count for the rest keeps memory flat
            self.examples.append(path)

    def add_other(self, path: str) -> None:
        self.other_files += 1
        if len(self.other_examples) < 3:
            self.other_examples.append(path)


def expand_paths(
    inputs: PathInput | Iterable[PathInput], *, recursive: bool = False, skipped: Skipped | None = None
) -> Iterator[str]:
    """Every path named by ``inputs``, lazily, duplicates kept (one result per occurrence).

    Hidden entries (names starting with ``.``) inside folders are skipped; a path named explicitly
    is always kept. Anything that is not a folder is passed through, so a missing file, a FIFO or a
    broken link reaches the worker and comes back as a result with an ``error``. Subfolders left
    out (and symbolic-link loops) come out as :class:`Unlisted` and are counted in ``skipped``.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    for item in inputs:
        path = os.fspath(item)
        if path.startswith("@"):
            for entry in iter_list_file(path[1:]):
                yield from _expand_one(entry, recursive, skipped)
        else:
            yield from _expand_one(path, recursive, skipped)


def iter_list_file(name: str) -> Iterator[str]:
    """The non-blank lines of a list of paths (``-`` for standard input), line endings stripped."""
    if name == "-":
        yield from _lines(sys.stdin)
        return
    # surrogateescape: a list written by ``find`` may hold file names that are not valid UTF-8.
    with open(name, encoding="utf-8", errors="surrogateescape") as file:
        yield from _lines(file)


def _lines(file: Iterable[str]) -> Iterator[str]:
    for line in file:
        path = line.rstrip("\r\n")
        if path:
            yield path


def _expand_one(path: str, recursive: bool, skipped: Skipped | None) -> Iterator[str]:
    if "://" not in path and os.path.isdir(path):
        yield from _walk(path, recursive, skipped, _identity(path))
    else:
        yield path


def _identity(path: str) -> tuple[tuple[int, int], ...]:
    try:
        info = os.stat(path)
    except OSError:
        return ()
    return ((info.st_dev, info.st_ino),)


def _walk(top: str, recursive: bool, skipped: Skipped | None, above: tuple[tuple[int, int], ...]) -> Iterator[str]:
    """The entries of ``top``; ``above`` holds the (device, inode) of ``top`` and every folder over it."""
    subfolders: list[str] = []
    try:
        with os.scandir(top) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    is_folder = entry.is_dir()  # follows symbolic links: a linked folder is a folder
                except OSError:  # a link loop (ELOOP), a vanished entry: the worker reports it
                    is_folder = False
                if not is_folder:
                    if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                        yield entry.path
                    elif skipped is not None:
                        skipped.add_other(entry.path)
                elif recursive:
                    subfolders.append(entry.path)
                else:
                    if skipped is not None:
                        skipped.add(entry.path)
                    yield Unlisted(entry.path, NOT_DESCENDED)
    except OSError as exc:
        logger.warning("cannot list folder %s: %s", top, exc.strerror or exc)
        yield Unlisted(top, f"cannot list folder: {exc.strerror or exc}")
        return
    for folder in sorted(subfolders):
        try:
            info = os.stat(folder)
        except OSError as exc:
            yield Unlisted(folder, f"cannot list folder: {exc.strerror or exc}")
            continue
        identity = (info.st_dev, info.st_ino)
        if identity in above:  # a symbolic link back to a folder being walked: following it never ends
            if skipped is not None:
                skipped.add(folder, loop=True)
            yield Unlisted(folder, "a symbolic-link loop: this folder contains itself; not descended into")
            continue
        yield from _walk(folder, recursive, skipped, (*above, identity))


def skip_done(paths: Iterable[str], done: Counter[str]) -> Iterator[str]:
    """``paths`` minus one occurrence per count in ``done`` (consumed as it goes, so it shrinks).

    ``done`` counts the paths already in the output of an interrupted run. Because that output is a
    prefix of the input order, skipping the first occurrences leaves exactly what is still to do.
    """
    for path in paths:
        left = done.get(path, 0)
        if left:
            if left == 1:
                del done[path]
            else:
                done[path] = left - 1
            continue
        yield path
