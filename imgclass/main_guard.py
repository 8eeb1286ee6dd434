"""Why a process pool broke: a script that starts worker processes without a ``__main__`` guard.

Worker processes are spawned (bulk classification with workers, the server's classifier pool), and a
spawned process imports the parent's main script again (as ``__mp_main__``). Unguarded, that import runs
the script's work a second time inside the worker, which may not start processes of its own while it is
starting: it dies, and the parent only sees ``BrokenProcessPool``. This module names the cause, for every
pool the package starts (:func:`explain_broken_pool`).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

_GUARD = re.compile(r"""^\s*if\s+__name__\s*==\s*['"]__main__['"]\s*:""", re.MULTILINE)


def unguarded_main_hint() -> str | None:
    """A sentence for the user when the running main script has no ``if __name__ == "__main__":``, else None.

    None also where there is no script to blame: an interactive session or a notebook (no ``__file__``),
    or a file that cannot be read.
    """
    main = sys.modules.get("__main__")
    filename = getattr(main, "__file__", None)
    spec = getattr(main, "__spec__", None)
    if not filename or (spec is not None and spec.name.endswith(".__main__")):
        return None  # multiprocessing does not run a package's __main__ again in its workers
    try:
        source = Path(filename).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if _GUARD.search(source):
        return None
    return (
        f'{filename} has no `if __name__ == "__main__":` guard. Worker processes are spawned and import the '
        "main script again, so a script that starts them (classify_paths with workers > 1, an ImageServer "
        'that classifies in worker processes) must run that code under `if __name__ == "__main__":`.'
    )


@contextlib.contextmanager
def explain_broken_pool() -> Iterator[None]:
    """Re-raise a ``BrokenProcessPool`` from inside this block with :func:`unguarded_main_hint` added, if any."""
    try:
        yield
    except BrokenProcessPool as exc:
        hint = unguarded_main_hint()
        if hint is None:
            raise
        raise BrokenProcessPool(f"{exc} {hint}") from exc
