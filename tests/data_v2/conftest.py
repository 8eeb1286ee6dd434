"""Make the v2 builder's modules (data/v2/*.py, data/build_reference.py) importable in these tests."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
V2 = REPO / "data" / "v2"
for folder in (V2, REPO / "data"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
