"""HEIF and AVIF (ISO base media file format) headers: which of the two, and the primary image's size.

Phones save HEIC (HEVC in HEIF) and AVIF (AV1 in the same container). The size comes from the primary
item's ``ispe`` property (``meta`` > ``pitm``, ``iprp`` > ``ipco``/``ipma``), read without decoding, so the
pixel limit is checked before a decoder sees the file. Every loop is bounded and every read checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from imgclass.parsers._bytes import exact, unpack

#: ``ftyp`` brands of an AVIF file, and of a HEIF file with any other codec (HEVC, generic image).
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})
#: Boxes read at most at one level, and properties/associations read at most.
_MAX_BOXES = 256
_MAX_ENTRIES = 4096


def isobmff_brands(data: bytes) -> tuple[bytes, ...] | None:
    """The major and compatible brands of a leading ``ftyp`` box, or ``None`` when there is none."""
    if data[4:8] != b"ftyp":
        return None
    (size,) = unpack(">I", data, 0)
    size = min(max(size, 16), len(data), 16 + 4 * 64)
    return (data[8:12], *(data[i : i + 4] for i in range(16, size - 3, 4)))


def isobmff_format(data: bytes) -> str | None:
    """``"avif"``, ``"heif"`` or ``None`` (no ``ftyp``, or one naming neither, e.g. an MP4 video)."""
    brands = isobmff_brands(data)
    if brands is None:
        return None
    if AVIF_BRANDS.intersection(brands):
        return "avif"
    if HEIF_BRANDS.intersection(brands):
        return "heif"
    return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """``(type, payload start, payload end)`` of the boxes in ``data[start:end]``."""
    offset = start
    for _ in range(_MAX_BOXES):
        if offset >= end:
            return
        (size,) = unpack(">I", data, offset)
        kind = exact(data, offset + 4, 4)
        header = 8
        if size == 1:
            (size,) = unpack(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            raise ValueError(f"heif: box {kind!r} of impossible size {size}")
        stop = offset + size
        yield kind, offset + header, min(stop, end)
        offset = stop
    raise ValueError("heif: too many boxes")


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    for found, payload, stop in _boxes(data, start, end):
        if found == kind:
            return payload, stop
    raise ValueError(f"heif: no {kind.decode()} box")


def heif_size(data: bytes) -> tuple[int, int]:
    """Width and height of the primary image (its ``ispe`` property)."""
    meta, meta_end = _child(data, 0, len(data), b"meta")
    meta += 4  # a full box: version and flags
    pitm, _ = _child(data, meta, meta_end, b"pitm")
    (version,) = unpack(">B", data, pitm)
    (primary,) = unpack(">I" if version else ">H", data, pitm + 4)
    iprp, iprp_end = _child(data, meta, meta_end, b"iprp")
    ipco, ipco_end = _child(data, iprp, iprp_end, b"ipco")
    properties = [(kind, payload) for kind, payload, _ in _boxes(data, ipco, ipco_end)]
    ipma, _ = _child(data, iprp, iprp_end, b"ipma")
    (word,) = unpack(">I", data, ipma)
    version, wide_index = word >> 24, word & 1  # flags bit 0: 15-bit property indices
    (count,) = unpack(">I", data, ipma + 4)
    offset = ipma + 8
    for _ in range(min(count, _MAX_ENTRIES)):
        (item,) = unpack(">I" if version else ">H", data, offset)
        offset += 4 if version else 2
        (associations,) = unpack(">B", data, offset)
        offset += 1
        for _ in range(associations):
            raw = int.from_bytes(exact(data, offset, 2 if wide_index else 1), "big")
            offset += 2 if wide_index else 1
            index = raw & (0x7FFF if wide_index else 0x7F)
            if item == primary and 0 < index <= len(properties) and properties[index - 1][0] == b"ispe":
                width, height = unpack(">II", data, properties[index - 1][1] + 4)
                return width, height
    raise ValueError("heif: the primary image has no size (ispe) property")
