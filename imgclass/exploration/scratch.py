"""A notebook's temporary folder, removed when the kernel exits.

Notebooks 05 (the server's storage folder) and 07 (the bulk output file) write into a temporary folder
that must outlive the cell that made it, so ``tempfile.TemporaryDirectory`` in a ``with`` block does not
fit; a bare ``mkdtemp`` left one folder behind per run. :func:`scratch_folder` makes the folder and
:func:`remove_scratch` removes it: the notebooks call it in their last cells, because nbval kills its
kernels (no exit handler runs). For a kernel that exits normally before that, an exit handler removes it too.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_made: list[Path] = []


def scratch_folder(prefix: str) -> Path:
    """A new empty folder in the system's temporary directory, removed at exit (or by :func:`remove_scratch`)."""
    if not _made:
        atexit.register(remove_scratch)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    _made.append(path)
    return path


def remove_scratch() -> None:
    """Remove every folder :func:`scratch_folder` made in this process, and what is in it."""
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)
