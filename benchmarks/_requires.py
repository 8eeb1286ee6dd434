"""Check a benchmark's imports before it starts, and name the install that brings what is missing.

    from _requires import require
    require(["zmq", "imagezmq"], extra="bench")   # before the imports it checks

A benchmark that dies half-way with ``No module named 'imagezmq'`` has wasted its first half; this
checks every module up front and exits with status 2 and the command to run (from the repository root).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path


def missing(modules: Iterable[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here (without importing them)."""
    gone = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a dotted name whose parent is missing
            found = False
        if not found:
            gone.append(name)
    return gone


def install_hint(extra: str | None) -> str:
    """The command that installs this checkout with ``extra`` (None: the core package only)."""
    return f'pip install -e ".[{extra}]"' if extra else "pip install -e ."


def require(modules: Iterable[str], extra: str | None = None) -> None:
    """Return if every module imports; else print what is missing and how to install it, and exit 2."""
    gone = missing(modules)
    if gone:
        script = Path(sys.argv[0]).name or "benchmark"
        where = f"the {extra!r} extra" if extra else "the imgclass package"
        print(
            f"{script}: cannot start: no module {', '.join(repr(m) for m in gone)}; it comes with {where}: "
            f"{install_hint(extra)} (from the repository root)",
            file=sys.stderr,
        )
        raise SystemExit(2)
