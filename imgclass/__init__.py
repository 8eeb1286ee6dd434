"""imgclass: tell camera photographs ("real") from animated images ("animated")."""

from __future__ import annotations

__version__ = "0.1.0"
