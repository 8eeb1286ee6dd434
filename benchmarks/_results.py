"""Write a benchmark's results file, with the machine it ran on (a figure means little without its load)."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """Python, architecture, CPUs and the load average at the end of the run."""
    return {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    """``document`` and :func:`machine` as JSON at ``path`` (its folder made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**document, "versions": machine()}, indent=1) + "\n")
    print(f"wrote {path}")
