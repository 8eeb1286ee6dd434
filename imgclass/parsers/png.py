"""A small, bounded PNG chunk parser: the image header, palette, transparency and where the pixel data is.

It walks the chunk list (length, type, data, CRC) without inflating anything. The header chunk must
be present and valid; after it, a chunk that runs past the end of the data stops the walk and marks the
file incomplete rather than failing, because a truncated PNG still says what it is. At most
:data:`MAX_CHUNKS` chunks are walked. CRCs are not checked: nothing here trusts the chunk contents
beyond their lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgclass.parsers._bytes import unpack

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks walked at most; libpng writes 8 KiB IDAT chunks, so this covers PNGs of about 500 MB.
MAX_CHUNKS = 1 << 16
#: Bit depths allowed for each colour type (PNG spec, table 11.1).
BIT_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_MAX_DIMENSION = 2**31 - 1
_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})


@dataclass(frozen=True)
class PngInfo:
    """What a PNG's chunks say, without inflating the image data."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool
    #: Entries in the PLTE chunk (0 without one).
    palette_size: int
    has_transparency: bool
    idat_chunks: int
    #: Sum of the IDAT payload lengths: the compressed pixel data.
    idat_bytes: int
    #: Offset of the first IDAT payload byte and end of the last one (both 0 without IDAT).
    idat_start: int
    idat_end: int
    text_chunks: int
    #: Ancillary chunks of any kind (lower-case first letter), text included.
    ancillary_chunks: int
    animated: bool
    #: Whether the walk reached IEND with every chunk complete.
    complete: bool

    @property
    def has_alpha(self) -> bool:
        return bool(self.colour_type & 4)

    @property
    def has_colour(self) -> bool:
        return bool(self.colour_type & 2)

    @property
    def has_palette(self) -> bool:
        return self.colour_type == 3

    @property
    def channels(self) -> int:
        return {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[self.colour_type]


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from the IHDR chunk, which must come first."""
    if data[:8] != SIGNATURE:
        raise ValueError("png: bad signature")
    if data[12:16] != b"IHDR":
        raise ValueError("png: first chunk is not IHDR")
    width, height = unpack(">II", data, 16)
    return width, height


def parse_png(data: bytes) -> PngInfo:
    """Parse the chunk list. Raises ``ValueError`` when the signature or IHDR is missing or malformed."""
    if data[:8] != SIGNATURE:
        raise ValueError("png: bad signature")
    (length,) = unpack(">I", data, 8)
    if data[12:16] != b"IHDR" or length != 13:
        raise ValueError("png: first chunk is not a 13-byte IHDR")
    width, height, depth, colour, compression, filter_method, interlace = unpack(">IIBBBBB", data, 16)
    if not (1 <= width <= _MAX_DIMENSION and 1 <= height <= _MAX_DIMENSION):
        raise ValueError(f"png: impossible dimensions {width}x{height}")
    if depth not in BIT_DEPTHS.get(colour, ()):
        raise ValueError(f"png: bit depth {depth} is not allowed for colour type {colour}")
    if compression != 0 or filter_method != 0 or interlace > 1:
        raise ValueError("png: unknown compression, filter or interlace method")

    palette = idat_chunks = idat_bytes = idat_start = idat_end = text = ancillary = 0
    transparency = animated = complete = False
    pos = 8 + 12 + 13
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        (length,) = unpack(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        if length > _MAX_DIMENSION or not kind.isalpha():
            raise ValueError(f"png: malformed chunk header at offset {pos}")
        start, end = pos + 8, pos + 8 + length
        if end + 4 > len(data):
            if kind == b"IDAT" and start < len(data):  # a cut-off file still shows its first pixel data
                idat_start = idat_start or start
                idat_end = len(data)
                idat_chunks += 1
                idat_bytes += len(data) - start
            break
        if kind == b"IDAT":
            idat_start = idat_start or start
            idat_end = end
            idat_chunks += 1
            idat_bytes += length
        elif kind == b"PLTE":
            if length % 3 or not 3 <= length <= 768:
                raise ValueError(f"png: palette of {length} bytes")
            palette = length // 3
        elif kind == b"IEND":
            complete = True
            break
        elif kind == b"IHDR":
            raise ValueError("png: more than one IHDR chunk")
        if kind[0] & 0x20:  # lower-case first letter: ancillary
            ancillary += 1
            transparency |= kind == b"tRNS"
            animated |= kind == b"acTL"
            text += kind in _TEXT_CHUNKS
        pos = end + 4
    else:
        raise ValueError(f"png: more than {MAX_CHUNKS} chunks")
    if colour == 3 and not palette and complete:
        raise ValueError("png: palette image without a PLTE chunk")
    return PngInfo(
        width=width,
        height=height,
        bit_depth=depth,
        colour_type=colour,
        interlaced=bool(interlace),
        palette_size=palette,
        has_transparency=transparency,
        idat_chunks=idat_chunks,
        idat_bytes=idat_bytes,
        idat_start=idat_start,
        idat_end=idat_end,
        text_chunks=text,
        ancillary_chunks=ancillary,
        animated=animated,
        complete=complete,
    )
