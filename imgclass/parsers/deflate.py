"""What a PNG's compressed stream says without inflating it: deflate block types and the codes of its symbols.

A PNG's pixels are filtered row by row, then compressed with deflate (zlib) into the IDAT chunks. This
module reads the *codes* of the first :data:`MAX_SYMBOLS` symbols of that stream: which kind of block
each is (stored, fixed or dynamic Huffman codes), how many symbols are literals and how many are matches
(copies of earlier bytes), how long the matches are and how far back they reach (one pixel back copies the
left neighbour, one row back the pixel above), and how many bits the encoder's own literal code spends per
literal. No byte of the filtered rows is reconstructed, and no row is unfiltered: there is no pixel.

Bounds: at most :data:`MAX_IDAT_BYTES` of compressed data are gathered (from at most the PNG parser's
chunk limit), at most :data:`MAX_SYMBOLS` symbols decoded; malformed data ends the walk and is reported
(``fault``), never raised past a ``ValueError``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from imgclass.parsers.png import MAX_CHUNKS, PngInfo

#: Compressed bytes gathered from the IDAT chunks at most.
MAX_IDAT_BYTES = 1 << 16
#: Symbols (literals, matches, end-of-block codes) decoded at most.
MAX_SYMBOLS = 4096


@dataclass(frozen=True)
class DeflateStats:
    """Counts over the first symbols of a zlib stream."""

    stored_blocks: int
    fixed_blocks: int
    dynamic_blocks: int
    literals: int
    zero_literals: int
    matches: int
    #: Sums over the matches: of their lengths and of their distance codes (0-29: about 2 log2 distance).
    match_length: int
    distance_code: int
    #: Matches reaching exactly one pixel back (the left neighbour) and one row back (the pixel above).
    left_matches: int
    up_matches: int
    #: Bytes the decoded symbols stand for (literals, match lengths, stored bytes).
    output_bytes: int
    #: Literal/length and distance codes of the first dynamic block (0 without one).
    first_hlit: int
    first_hdist: int
    #: Bits per literal the first dynamic block's literal code implies (its code lengths, weighted 2^-length).
    literal_code_bits: float
    #: Whether a malformed code ended the walk, and whether it reached the final block's end.
    fault: bool
    complete: bool

    @property
    def symbols(self) -> int:
        return self.literals + self.matches


def idat_stream(data: bytes, info: PngInfo, max_bytes: int = MAX_IDAT_BYTES) -> bytes:
    """The first ``max_bytes`` of the IDAT payloads, joined (chunk headers and CRCs dropped)."""
    pieces: list[bytes] = []
    size = 0
    pos = info.idat_start - 8
    for _ in range(MAX_CHUNKS):
        if size >= max_bytes or pos < 0 or pos + 8 > len(data) or data[pos + 4 : pos + 8] != b"IDAT":
            break
        length = int.from_bytes(data[pos : pos + 4], "big")
        piece = data[pos + 8 : min(pos + 8 + length, len(data), pos + 8 + max_bytes - size)]
        pieces.append(piece)
        size += len(piece)
        pos += 12 + length
    return b"".join(pieces)


def deflate_stats(data: bytes, info: PngInfo, max_symbols: int = MAX_SYMBOLS) -> DeflateStats:
    """:class:`DeflateStats` of a PNG's IDAT stream (``info`` is ``parse_png(data)``)."""
    if max_symbols < 1:
        raise ValueError(f"max_symbols must be positive, got {max_symbols}")
    kernel = _kernel()
    stream = np.frombuffer(idat_stream(data, info), np.uint8)
    bits_per_pixel = info.channels * info.bit_depth
    stride = 1 + (info.width * bits_per_pixel + 7) // 8
    pixel_bytes = max(1, bits_per_pixel // 8)
    v = dict(zip(kernel.STATS, kernel.walk(stream, max_symbols, stride, pixel_bytes).tolist(), strict=True))
    counts = {name: int(v[name]) for name in kernel.STATS if name not in ("literal_code_bits", "fault", "complete")}
    return DeflateStats(
        **counts, literal_code_bits=float(v["literal_code_bits"]), fault=bool(v["fault"]), complete=bool(v["complete"])
    )


@functools.cache
def _kernel() -> ModuleType:
    """The compiled walk (numba is imported on first use only: it takes about a second)."""
    from imgclass.parsers import _inflate

    return _inflate
