"""Progress bars that show only where someone can watch them: a terminal or a Jupyter notebook.

Every long loop in the package goes through :func:`progress` instead of calling tqdm itself. tqdm on its
own writes its bars, carriage returns and cursor codes into whatever stderr is, so a run redirected to a
log file (``imgclass reproduce 2> run.log``, a CI job, a cron job) fills the log with them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def in_notebook() -> bool:
    """True in a Jupyter kernel, where ``tqdm.auto`` draws a widget rather than writing to stderr."""
    import tqdm.autonotebook

    return bool(tqdm.autonotebook.tqdm.__module__ != "tqdm.std")


def visible(stream: Any = None) -> bool:
    """Whether a bar written to ``stream`` (default: stderr) would be seen: a terminal, or a notebook."""
    if in_notebook():
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress(iterable: Iterable[T] | None = None, *, enabled: bool | None = True, **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar over ``iterable`` (or a manual one with ``total=``), shown where it can be seen.

    ``enabled=False`` never shows a bar (``--no-progress``); ``True`` (or ``None``) shows one when
    stderr (or ``file=``) is a terminal or the code runs in a Jupyter notebook, and none otherwise.
    Other keyword arguments go to tqdm (``desc``, ``unit``, ``total``, ``leave``...); the result is
    the tqdm object, which iterates like ``iterable`` and has ``update``.
    """
    if "disable" in kwargs:
        raise TypeError("progress() takes enabled=, not disable=")
    show = enabled is not False and visible(kwargs.get("file"))
    return tqdm(iterable, disable=not show, **kwargs)
