"""A small, bounded JPEG header parser: everything before the entropy-coded data, and where that data is.

It walks the marker segments from SOI to the first SOS and reads the frame header (SOF), the
quantisation tables (DQT), the Huffman tables (DHT), the restart interval (DRI), the application
segments (APPn: JFIF, EXIF, ICC, XMP, Adobe) and comments. It never touches the entropy-coded data
itself, so it costs the same for a 1 KB thumbnail and a 50 MB photograph.

Bounds: at most :data:`MAX_SEGMENTS` segments, every length checked against the data before it is
used, every table checked against its segment. Anything malformed is a ``ValueError``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from imgclass.parsers._bytes import exact, unpack

#: Segments walked before the first scan at most; real files have about ten.
MAX_SEGMENTS = 1024

SOI = 0xD8
EOI = 0xD9
SOS = 0xDA
DQT = 0xDB
DRI = 0xDD
DHT = 0xC4
DAC = 0xCC
COM = 0xFE
#: Frame headers, SOF0-SOF15 (0xC4 DHT, 0xC8 JPG and 0xCC DAC share the range but are not frames).
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {DHT, 0xC8, DAC}
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_ARITHMETIC = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_LOSSLESS = frozenset({0xC3, 0xC7, 0xCB, 0xCF})
# Markers that stand alone, without a length field (RSTn, TEM).
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}

#: Position in natural (row-major) order of each zig-zag coefficient, as tables are stored in the file.
ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip

#: The example tables of ITU T.81 Annex K (natural order), which IJG libjpeg scales by quality.
STANDARD_LUMA_QUANT = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
STANDARD_CHROMA_QUANT = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32  # fmt: skip


def _runs(first: int, last: int, low: int, high: int = 0xA) -> bytes:
    """Symbols ``hi << 4 | lo`` for hi in first..last, lo in low..high: the regular tail of Annex K."""
    return bytes((hi << 4) | lo for hi in range(first, last + 1) for lo in range(low, high + 1))


_AC_LUMA_SYMBOLS = (
    bytes.fromhex("01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a")
    + bytes.fromhex("161718191a25262728292a3435363738393a")
    + _runs(4, 8, 3)
    + _runs(9, 0xD, 2)
    + _runs(0xE, 0xF, 1)
)
_AC_CHROMA_SYMBOLS = (
    bytes.fromhex("000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f1")
    + bytes.fromhex("1718191a262728292a35363738393a")
    + _runs(4, 7, 3)
    + _runs(8, 0xF, 2)
)
#: The Annex K.3 Huffman tables as ``(counts of codes of length 1..16, symbols)``, keyed (class, slot):
#: class 0 is DC, 1 is AC; slot 0 is luminance, 1 chrominance. Encoders that do not optimise use these.
STANDARD_HUFFMAN: dict[tuple[int, int], tuple[tuple[int, ...], bytes]] = {
    (0, 0): ((0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0), bytes(range(12))),
    (0, 1): ((0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0), bytes(range(12))),
    (1, 0): ((0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D), _AC_LUMA_SYMBOLS),
    (1, 1): ((0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77), _AC_CHROMA_SYMBOLS),
}


class Segment(NamedTuple):
    """One marker segment: the marker byte, where its payload starts, and the payload length."""

    marker: int
    offset: int
    length: int


@dataclass(frozen=True)
class Component:
    """A frame component: its id, horizontal and vertical sampling factors and quantisation table id."""

    id: int
    h: int
    v: int
    quant_table: int


@dataclass(frozen=True)
class QuantTable:
    """A quantisation table: its id (0-3) and 64 values in zig-zag order (16-bit when ``precision`` is 1)."""

    id: int
    precision: int
    values: tuple[int, ...]

    def natural(self) -> tuple[int, ...]:
        """The values in natural (row-major 8x8) order."""
        out = [0] * 64
        for k, pos in enumerate(ZIGZAG):
            out[pos] = self.values[k]
        return tuple(out)


@dataclass(frozen=True)
class HuffmanTable:
    """A Huffman table: class (0 DC, 1 AC), id (0-3), code counts per length 1..16 and the symbols."""

    table_class: int
    id: int
    counts: tuple[int, ...]
    symbols: bytes

    def code_length(self, symbol: int) -> int | None:
        """Bits in the code for ``symbol`` (canonical Huffman: codes are assigned in symbol order), or None."""
        index = self.symbols.find(bytes([symbol]))
        if index < 0:
            return None
        seen = 0
        for length, count in enumerate(self.counts, start=1):
            seen += count
            if index < seen:
                return length
        return None  # pragma: no cover - symbols has exactly sum(counts) entries

    @functools.cached_property
    def is_standard(self) -> bool:
        """Whether it is one of the Annex K example tables (what a non-optimising encoder writes)."""
        return any(
            self.counts == counts and self.symbols == symbols
            for (cls, _), (counts, symbols) in STANDARD_HUFFMAN.items()
            if cls == self.table_class
        )


@dataclass(frozen=True)
class AppSegment:
    """An APPn segment: n (0-15), its identifier (the bytes before the first NUL, at most 32) and length."""

    n: int
    identifier: bytes
    length: int


@dataclass(frozen=True)
class JpegInfo:
    """What a JPEG says about itself before its first scan."""

    width: int
    height: int
    precision: int
    sof_marker: int
    components: tuple[Component, ...]
    quant_tables: tuple[QuantTable, ...]
    huffman_tables: tuple[HuffmanTable, ...]
    restart_interval: int
    app_segments: tuple[AppSegment, ...]
    comments: int
    #: The first scan's components as ``(component id, DC table id, AC table id)``.
    scan_tables: tuple[tuple[int, int, int], ...]
    #: Offset of the first byte of entropy-coded data (just after the first SOS segment).
    scan_offset: int

    @property
    def progressive(self) -> bool:
        return self.sof_marker in _PROGRESSIVE

    @property
    def arithmetic(self) -> bool:
        return self.sof_marker in _ARITHMETIC

    @property
    def lossless(self) -> bool:
        return self.sof_marker in _LOSSLESS

    def has_app(self, n: int, identifier: bytes) -> bool:
        return any(seg.n == n and seg.identifier == identifier for seg in self.app_segments)

    @property
    def has_jfif(self) -> bool:
        return self.has_app(0, b"JFIF")

    @property
    def has_exif(self) -> bool:
        return self.has_app(1, b"Exif")

    @property
    def has_xmp(self) -> bool:
        return self.has_app(1, b"http://ns.adobe.com/xap/1.0/")

    @property
    def has_icc(self) -> bool:
        return self.has_app(2, b"ICC_PROFILE")

    @property
    def has_adobe(self) -> bool:
        return any(seg.n == 14 and seg.identifier.startswith(b"Adobe") for seg in self.app_segments)

    @property
    def subsampling(self) -> tuple[float, float]:
        """Luma sampling over the coarsest chroma sampling, horizontally and vertically: (2, 2) is 4:2:0."""
        if len(self.components) < 2:
            return 1.0, 1.0
        first, rest = self.components[0], self.components[1:]
        return first.h / min(c.h for c in rest), first.v / min(c.v for c in rest)

    @property
    def huffman_optimised(self) -> bool:
        """Whether any Huffman table differs from the Annex K examples (optimised or custom coding)."""
        return any(not table.is_standard for table in self.huffman_tables)

    @property
    def scan_components(self) -> int:
        return len(self.scan_tables)

    def flat_mcu_bits(self) -> int | None:
        """Bits one flat MCU takes in the first scan: every block a zero DC difference and an immediate EOB.

        Runs of flat MCUs (plain backgrounds, flat fills) repeat this bit string, so the entropy-coded
        bytes repeat with a period of ``lcm(bits, 8) / 8`` bytes there (4 bytes for libjpeg's 4:2:0 with
        the standard tables). ``None`` when the first scan is not a sequential Huffman scan of whole
        blocks or a table it uses is missing.
        """
        if self.progressive or self.arithmetic or self.lossless:
            return None
        tables = {(t.table_class, t.id): t for t in self.huffman_tables}
        frame = {c.id: c for c in self.components}
        bits = 0
        for component_id, dc_id, ac_id in self.scan_tables:
            component = frame.get(component_id)
            dc, ac = tables.get((0, dc_id)), tables.get((1, ac_id))
            if component is None or dc is None or ac is None:
                return None
            dc_bits, eob_bits = dc.code_length(0), ac.code_length(0)
            if dc_bits is None or eob_bits is None:
                return None
            # A scan of one component codes single blocks; an interleaved scan codes h x v per component.
            blocks = 1 if len(self.scan_tables) == 1 else component.h * component.v
            bits += blocks * (dc_bits + eob_bits)
        return bits

    def quant_table(self, component: int) -> QuantTable | None:
        """The quantisation table used by the ``component``-th frame component, if it was defined."""
        if component >= len(self.components):
            return None
        wanted = self.components[component].quant_table
        return next((t for t in self.quant_tables if t.id == wanted), None)

    def quality(self) -> tuple[float, float]:
        """Estimated IJG quality (1-100) of the luma and chroma tables; 0 where a table is missing."""
        luma = self.quant_table(0)
        chroma = self.quant_table(1)
        return (
            estimate_quality(luma.values, chroma=False)[0] if luma else 0.0,
            estimate_quality(chroma.values, chroma=True)[0] if chroma else 0.0,
        )


# The segment parsers below are cached on the segment bytes (their results are immutable): photographs
# from one camera share tables, frame and scan headers even when their EXIF differs.


def iter_segments(data: bytes) -> Iterator[Segment]:
    """The marker segments from SOI up to and including the first SOS; ``ValueError`` if malformed.

    Each yielded segment is complete in ``data``. Fill bytes (0xFF runs) before a marker are skipped, as
    the standard allows; any other byte where a marker should be is an error.
    """
    n = len(data)
    if data[:2] != b"\xff\xd8":
        raise ValueError("jpeg: missing start-of-image marker")
    pos = 2
    for _ in range(MAX_SEGMENTS):
        if pos >= n:
            raise ValueError("jpeg: data ends before the start of scan")
        if data[pos] != 0xFF:
            raise ValueError(f"jpeg: expected a marker at offset {pos}, found 0x{data[pos]:02x}")
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise ValueError("jpeg: data ends before the start of scan")
        marker = data[pos]
        pos += 1
        if marker == 0x00 or marker == SOI:
            raise ValueError(f"jpeg: unexpected marker 0xff{marker:02x} at offset {pos - 2}")
        if marker == EOI:
            raise ValueError("jpeg: end of image before the start of scan")
        if marker in _STANDALONE:
            yield Segment(marker, pos, 0)
            continue
        if pos + 2 > n:
            raise ValueError("jpeg: data ends inside a segment length")
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            raise ValueError(f"jpeg: segment 0xff{marker:02x} has length {length} < 2")
        if pos + length > n:
            raise ValueError(f"jpeg: segment 0xff{marker:02x} runs past the end of the data")
        yield Segment(marker, pos + 2, length - 2)
        pos += length
        if marker == SOS:
            return
    raise ValueError(f"jpeg: more than {MAX_SEGMENTS} segments before the start of scan")


def header_prefix(data: bytes) -> bytes | None:
    """A cheap guess at the header bytes, for caching: everything up to the end of the first ``FF DA`` segment.

    When :func:`parse_jpeg` succeeds on the prefix, its result equals ``parse_jpeg(data)``: the parser
    reads only the segments before the scan header it stops at, and all of them lie inside the prefix.
    (An ``FF DA`` inside an APPn payload makes a wrong guess; parsing such a prefix either fails, the APPn
    running past its end, or still reaches the real scan header inside it.) ``None`` when there is no
    ``FF DA`` with a length after it.
    """
    at = data.find(b"\xff\xda", 2)
    if at < 0 or at + 4 > len(data):
        return None
    return data[: at + 2 + ((data[at + 2] << 8) | data[at + 3])]


def jpeg_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from the first frame header; ``ValueError`` when there is none before the scan."""
    for segment in iter_segments(data):
        if segment.marker in SOF_MARKERS:
            height, width = unpack(">HH", data, segment.offset + 1)
            return width, height
        if segment.marker == SOS:
            break
    raise ValueError("jpeg: no frame header (SOF) before the start of scan")


def parse_jpeg(data: bytes) -> JpegInfo:
    """Parse everything before the entropy-coded data. Raises ``ValueError`` on malformed input."""
    frame: tuple[int, int, int, int, tuple[Component, ...]] | None = None
    quant: dict[int, QuantTable] = {}
    huffman: dict[tuple[int, int], HuffmanTable] = {}
    restart = 0
    apps: list[AppSegment] = []
    comments = 0
    for seg in iter_segments(data):
        body = data[seg.offset : seg.offset + seg.length]
        marker = seg.marker
        if marker in SOF_MARKERS:
            if frame is not None:
                raise ValueError("jpeg: more than one frame header")
            frame = (marker, *_parse_sof(body))
        elif marker == DQT:
            for table in _parse_dqt(body):
                quant[table.id] = table
        elif marker == DHT:
            for htable in parse_dht(body):
                huffman[(htable.table_class, htable.id)] = htable
        elif marker == DRI:
            if seg.length != 2:
                raise ValueError("jpeg: restart interval segment must hold 2 bytes")
            (restart,) = unpack(">H", body, 0)
        elif 0xE0 <= marker <= 0xEF:
            identifier = body[:32].split(b"\x00", 1)[0]
            apps.append(AppSegment(marker - 0xE0, identifier, seg.length))
        elif marker == COM:
            comments += 1
        elif marker == SOS:
            if frame is None:
                raise ValueError("jpeg: start of scan before any frame header")
            scan_tables = parse_sos(body)
            sof_marker, precision, height, width, components = frame
            return JpegInfo(
                width=width,
                height=height,
                precision=precision,
                sof_marker=sof_marker,
                components=components,
                quant_tables=tuple(quant[k] for k in sorted(quant)),
                huffman_tables=tuple(huffman[k] for k in sorted(huffman)),
                restart_interval=restart,
                app_segments=tuple(apps),
                comments=comments,
                scan_tables=scan_tables,
                scan_offset=seg.offset + seg.length,
            )
    raise ValueError("jpeg: no start of scan")  # pragma: no cover - iter_segments ends at SOS or raises


@functools.lru_cache(maxsize=64)
def _parse_sof(body: bytes) -> tuple[int, int, int, tuple[Component, ...]]:
    precision, height, width, count = unpack(">BHHB", body, 0)
    if width == 0 or height == 0:
        raise ValueError(f"jpeg: frame header gives impossible dimensions {width}x{height}")
    if not 1 <= count <= 4 or len(body) != 6 + 3 * count:
        raise ValueError(f"jpeg: frame header with {count} components has the wrong length")
    components = []
    for i in range(6, 6 + 3 * count, 3):  # the length check above makes every index valid
        cid, sampling, tq = body[i], body[i + 1], body[i + 2]
        h, v = sampling >> 4, sampling & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4) or tq > 3:
            raise ValueError(f"jpeg: component {cid} has invalid sampling {h}x{v} or table {tq}")
        components.append(Component(cid, h, v, tq))
    return precision, height, width, tuple(components)


@functools.lru_cache(maxsize=64)
def _parse_dqt(body: bytes) -> tuple[QuantTable, ...]:
    tables = []
    pos = 0
    # Each table takes at least 65 bytes, so a 16-bit segment length bounds this loop.
    while pos < len(body):
        pq_tq = body[pos]
        precision, table_id = pq_tq >> 4, pq_tq & 0x0F
        if precision > 1 or table_id > 3:
            raise ValueError(f"jpeg: invalid quantisation table header 0x{pq_tq:02x}")
        values = unpack(">64H", body, pos + 1) if precision else tuple(exact(body, pos + 1, 64))
        if 0 in values:
            raise ValueError("jpeg: quantisation table holds a zero")
        tables.append(QuantTable(table_id, precision, values))
        pos += 1 + 64 * (precision + 1)
    return tuple(tables)


@functools.lru_cache(maxsize=64)
def parse_dht(body: bytes) -> tuple[HuffmanTable, ...]:
    """The Huffman tables of a DHT segment's payload; ``ValueError`` if malformed."""
    tables = []
    pos = 0
    # Each table takes at least 17 bytes, so a 16-bit segment length bounds this loop.
    while pos < len(body):
        tc_th = body[pos]
        table_class, table_id = tc_th >> 4, tc_th & 0x0F
        if table_class > 1 or table_id > 3:
            raise ValueError(f"jpeg: invalid Huffman table header 0x{tc_th:02x}")
        counts = tuple(exact(body, pos + 1, 16))
        total = sum(counts)
        if total > 256 or pos + 17 + total > len(body):
            raise ValueError("jpeg: Huffman table symbol count does not fit its segment")
        symbols = body[pos + 17 : pos + 17 + total]
        tables.append(HuffmanTable(table_class, table_id, counts, symbols))
        pos += 17 + total
    return tuple(tables)


@functools.lru_cache(maxsize=64)
def parse_sos(body: bytes) -> tuple[tuple[int, int, int], ...]:
    """A SOS segment's components as ``(component id, DC table id, AC table id)``; ``ValueError`` if malformed."""
    (count,) = unpack(">B", body, 0)
    if not 1 <= count <= 4 or len(body) != 4 + 2 * count:
        raise ValueError(f"jpeg: scan header with {count} components has the wrong length")
    return tuple((body[1 + 2 * i], body[2 + 2 * i] >> 4, body[2 + 2 * i] & 0x0F) for i in range(count))


def _ijg_tables(base: tuple[int, ...]) -> np.ndarray:
    """The ``(100, 64)`` tables IJG libjpeg writes at quality 1..100, in zig-zag order."""
    natural = np.asarray(base, dtype=np.int64)
    zigzag = natural[list(ZIGZAG)]
    quality = np.arange(1, 101)
    scale = np.where(quality < 50, 5000 // quality, 200 - 2 * quality)
    return np.clip((zigzag[None, :] * scale[:, None] + 50) // 100, 1, 255)


_IJG = {False: _ijg_tables(STANDARD_LUMA_QUANT), True: _ijg_tables(STANDARD_CHROMA_QUANT)}


@functools.lru_cache(maxsize=256)
def estimate_quality(values: tuple[int, ...], *, chroma: bool = False) -> tuple[float, float]:
    """The IJG quality whose scaled Annex K table is closest to ``values`` (zig-zag), and the mean gap.

    A gap of 0 means the table is exactly what libjpeg (and so cv2, Pillow, ...) writes at that quality;
    cameras and other encoders use their own tables and leave a gap. Cached: real collections share a
    handful of tables.
    """
    if len(values) != 64:
        raise ValueError(f"a quantisation table has 64 values, got {len(values)}")
    gaps = np.abs(_IJG[chroma] - np.asarray(values, dtype=np.int64)[None, :]).mean(axis=1)
    best = int(np.argmin(gaps))
    return float(best + 1), float(gaps[best])
