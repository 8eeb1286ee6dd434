"""Turn ``imgclass classify`` arguments into a lazy stream of file paths.

An argument is a file, a folder (its files; ``recursive`` descends into subfolders) or ``@LIST``: a
text file of paths, one per line (``@-`` reads them from standard input). Paths come out as given
(a folder's files as ``os.path.join(folder, name)``), never resolved, so the output names files the
way the input did. Nothing here holds more than one folder level's subfolder names: files stream
out in the order the file system lists them, which is stable for an unchanged folder.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator

logger = logging.getLogger(__name__)

PathInput = str | os.PathLike[str]


def expand_paths(inputs: PathInput | Iterable[PathInput], *, recursive: bool = False) -> Iterator[str]:
    """Every path named by ``inputs``, lazily, duplicates kept (one result per occurrence).

    Hidden entries (names starting with ``.``) inside folders are skipped; a path named explicitly
    is always kept. Anything that is not a folder is passed through, so a missing file, a FIFO or a
    broken link reaches the worker and comes back as a result with an ``error``.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    for item in inputs:
        path = os.fspath(item)
        if path.startswith("@"):
            for entry in iter_list_file(path[1:]):
                yield from _expand_one(entry, recursive)
        else:
            yield from _expand_one(path, recursive)


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


def _expand_one(path: str, recursive: bool) -> Iterator[str]:
    if "://" not in path and os.path.isdir(path):
        yield from _walk(path, recursive)
    else:
        yield path


def _walk(top: str, recursive: bool) -> Iterator[str]:
    subfolders: list[str] = []
    try:
        with os.scandir(top) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                # Symlinked folders are not followed (as find and os.walk): they could loop.
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        subfolders.append(entry.path)
                    else:
                        logger.debug("not descending into %s (no --recursive)", entry.path)
                elif not entry.is_dir():
                    yield entry.path
    except OSError as exc:
        logger.warning("cannot list folder %s: %s", top, exc.strerror or exc)
        yield top  # reported as a result with an error instead of vanishing from the output
        return
    for folder in sorted(subfolders):
        yield from _walk(folder, recursive)


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
