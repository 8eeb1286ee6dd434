"""Open one input file safely, and say in one wording what is wrong with a bad one.

Every command that reads image files (``reproduce``, ``evaluate``, ``train``, ``classify``, ``send``) and the
server name a bad input with :func:`describe_error`, so a missing file, a broken symbolic link, a folder
or FIFO where a file should be, an unreadable, empty, truncated or oversized file reads the same
everywhere. Files are opened without blocking (a FIFO would otherwise wait for a writer forever) and
checked to be regular files before a byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Open flags: never block on a FIFO or device, never leak the descriptor into a child process.
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
#: What a folder or a FIFO/device/socket named as an input file is called.
A_FOLDER = "a folder, not a file"
NOT_REGULAR = "not a regular file"
#: Faults of the machine or the install, not of one file: they stop a run instead of skipping the file (a
#: missing compiled dependency such as numba would otherwise call every image unreadable).
NOT_THE_FILES_FAULT: tuple[type[BaseException], ...] = (MemoryError, ImportError)


def describe_error(exc: BaseException) -> str:
    """The one-line reason a file could not be used: what every command prints after its path."""
    if isinstance(exc, FileNotFoundError) and isinstance(exc.filename, (str, bytes)):
        name = os.fsdecode(exc.filename)
        if os.path.islink(name):
            return f"cannot read: broken symbolic link (its target {os.readlink(name)} does not exist)"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    if isinstance(exc, ValueError):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def check_regular(mode: int) -> None:
    """``ValueError`` unless ``mode`` (``st_mode``) is a regular file's."""
    if stat.S_ISDIR(mode):
        raise ValueError(A_FOLDER)
    if not stat.S_ISREG(mode):
        raise ValueError(NOT_REGULAR)


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """A read-only descriptor of ``path`` and its ``fstat``, once it is known to be a regular file.

    Raises ``OSError`` (missing, broken link, no permission) or ``ValueError`` (a folder, a FIFO...);
    :func:`describe_error` words either. The caller closes the descriptor.
    """
    fd = os.open(path, OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        check_regular(info.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def check_readable(path: str | os.PathLike[str]) -> None:
    """Raise as :func:`read_input_file` would for a file that cannot be opened, without reading it."""
    fd, _ = open_regular(path)
    os.close(fd)


def read_input_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file (raises like :func:`open_regular`)."""
    fd, _ = open_regular(path)
    with open(fd, "rb", closefd=True) as file:
        return file.read()


def bad_file_line(path: str | os.PathLike[str], exc: BaseException) -> str:
    """``PATH: reason``, the line a command prints for a file it skips."""
    return f"{Path(path)}: {describe_error(exc)}"
