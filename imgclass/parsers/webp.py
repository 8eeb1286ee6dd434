"""A small, bounded WEBP parser: the RIFF chunks, and the headers of the VP8 (lossy) and VP8L (lossless) data.

It reads what the encoder decided before the pixels: for lossy data, the size of the first partition
(per-macroblock prediction modes, which flat areas make a larger share of the file) against the DCT
token partitions, the quantiser index and the loop filter (read with VP8's boolean decoder, RFC 6386
9.2-9.6); for lossless data, the first transform (a palette, the "colour indexing" transform, with its
size; or the predictor, cross-colour or subtract-green transforms) and whether alpha is used. No
macroblock, token or pixel is decoded.

Bounds: at most :data:`MAX_CHUNKS` chunks are walked and a fixed number of header bits read. Malformed
input is a ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgclass.parsers._bytes import unpack

MAX_CHUNKS = 64


@dataclass(frozen=True)
class WebpInfo:
    """What a WEBP's chunks and data headers say."""

    width: int
    height: int
    lossless: bool
    has_alpha: bool
    animated: bool
    #: Extended-format chunks besides the image data (ICCP, EXIF, XMP, ALPH, ...).
    extra_chunks: int
    #: Bytes of the image data (VP8 or VP8L chunk payload).
    data_bytes: int
    #: Lossy: bytes of the first partition (modes), the quantiser index (0-127) and loop filter settings.
    first_partition: int = 0
    quantiser: int = 0
    filter_level: int = 0
    sharpness: int = 0
    simple_filter: bool = False
    segmentation: bool = False
    token_partitions: int = 0
    #: Lossless: the first transform (-1 none, 0 predictor, 1 cross-colour, 2 subtract green, 3 palette)
    #: and the palette size when it is a palette.
    first_transform: int = -1
    palette_size: int = 0


def parse_webp(data: bytes) -> WebpInfo:
    """Parse the RIFF chunks and the image data's header. Raises ``ValueError`` when malformed."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("webp: bad RIFF/WEBP signature")
    pos = 12
    flags = 0
    width = height = 0
    extra = 0
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        kind = data[pos : pos + 4]
        (size,) = unpack("<I", data, pos + 4)
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"VP8X":
            if len(body) < 10:
                raise ValueError("webp: VP8X chunk too short")
            flags = body[0]
            width = int.from_bytes(body[4:7], "little") + 1
            height = int.from_bytes(body[7:10], "little") + 1
        elif kind == b"VP8 ":
            return _lossy(body, flags, extra, size)
        elif kind == b"VP8L":
            return _lossless(body, flags, extra, size)
        elif kind == b"ANMF" or kind == b"ANIM":
            return WebpInfo(width, height, False, bool(flags & 0x10), True, extra, 0)
        else:
            extra += 1
        pos += 8 + size + (size & 1)
    raise ValueError("webp: no VP8 or VP8L image data")


def _lossy(body: bytes, flags: int, extra: int, size: int) -> WebpInfo:
    if len(body) < 10:
        raise ValueError("webp: VP8 chunk too short")
    tag = body[0] | (body[1] << 8) | (body[2] << 16)
    if tag & 1:
        raise ValueError("webp: VP8 data does not start with a key frame")
    first_partition = tag >> 5
    if body[3:6] != b"\x9d\x01\x2a":
        raise ValueError("webp: bad VP8 start code")
    width, height = unpack("<HH", body, 6)
    header = _BoolReader(body[10 : 10 + min(first_partition, 64)])
    header.literal(2)  # colour space, clamping type
    segmentation = header.flag()
    if segmentation:
        update_map, update_data = header.flag(), header.flag()
        if update_data:
            header.flag()  # absolute or delta values
            for _ in range(4):
                header.signed(7)  # quantiser per segment
            for _ in range(4):
                header.signed(6)  # loop filter level per segment
        if update_map:
            for _ in range(3):
                if header.flag():
                    header.literal(8)
    simple = header.flag()
    level = header.literal(6)
    sharpness = header.literal(3)
    if header.flag() and header.flag():  # loop filter deltas (per reference frame and mode) are updated
        for _ in range(8):
            header.signed(6)
    partitions = 1 << header.literal(2)
    quantiser = header.literal(7)
    return WebpInfo(
        width=width & 0x3FFF,
        height=height & 0x3FFF,
        lossless=False,
        has_alpha=bool(flags & 0x10),
        animated=False,
        extra_chunks=extra,
        data_bytes=size,
        first_partition=first_partition,
        quantiser=quantiser,
        filter_level=level,
        sharpness=sharpness,
        simple_filter=bool(simple),
        segmentation=bool(segmentation),
        token_partitions=partitions,
    )


def _lossless(body: bytes, flags: int, extra: int, size: int) -> WebpInfo:
    if len(body) < 5 or body[0] != 0x2F:
        raise ValueError("webp: bad VP8L signature")
    reader = _BitReader(body[1:16])
    width, height = reader.read(14) + 1, reader.read(14) + 1
    alpha = reader.read(1)
    if reader.read(3) != 0:
        raise ValueError("webp: unknown VP8L version")
    transform, palette = -1, 0
    if reader.read(1):
        transform = reader.read(2)
        if transform == 3:
            palette = reader.read(8) + 1
    return WebpInfo(
        width=width,
        height=height,
        lossless=True,
        has_alpha=bool(alpha) or bool(flags & 0x10),
        animated=False,
        extra_chunks=extra,
        data_bytes=size,
        first_transform=transform,
        palette_size=palette,
    )


class _BitReader:
    """VP8L's bit order: least significant bit first; zeros past the end."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "little")
        self.position = 0

    def read(self, n: int) -> int:
        out = (self.value >> self.position) & ((1 << n) - 1)
        self.position += n
        return out


class _BoolReader:
    """VP8's boolean entropy decoder (RFC 6386, 7.3), reading header fields at probability 1/2."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 2
        self.value = int.from_bytes(data[:2].ljust(2, b"\0"), "big")
        self.range = 255
        self.bit_count = 0

    def flag(self) -> int:
        split = 1 + (((self.range - 1) * 128) >> 8)
        big_split = split << 8
        if self.value >= big_split:
            bit = 1
            self.range -= split
            self.value -= big_split
        else:
            bit = 0
            self.range = split
        while self.range < 128:
            self.value <<= 1
            self.range <<= 1
            self.bit_count += 1
            if self.bit_count == 8:
                self.bit_count = 0
                self.value |= self.data[self.pos] if self.pos < len(self.data) else 0
                self.pos += 1
        return bit

    def literal(self, n: int) -> int:
        out = 0
        for _ in range(n):
            out = (out << 1) | self.flag()
        return out

    def signed(self, n: int) -> int:
        if not self.flag():
            return 0
        magnitude = self.literal(n)
        return -magnitude if self.flag() else magnitude
