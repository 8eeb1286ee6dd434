"""Bounds-checked reads shared by the parsers: every read past the end is a ``ValueError``."""

from __future__ import annotations

import struct


def unpack(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    """``struct.unpack_from`` that raises ``ValueError("truncated ...")`` instead of ``struct.error``."""
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise ValueError("truncated image header")
    return struct.unpack_from(fmt, data, offset)


def exact(data: bytes, offset: int, size: int) -> bytes:
    """Exactly ``size`` bytes from ``offset``, or ``ValueError`` when the data ends first."""
    if offset < 0 or size < 0 or offset + size > len(data):
        raise ValueError("truncated image header")
    return data[offset : offset + size]
