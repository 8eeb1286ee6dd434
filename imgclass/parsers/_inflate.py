"""The hot loop of :mod:`imgclass.parsers.deflate`: walking a deflate stream's codes, compiled by numba.

Plain Python on numpy arrays and ints (numba compiles it on first use and caches it beside this file; with
``NUMBA_DISABLE_JIT=1`` it runs as Python, where numpy checks every index). Every read of the stream is
checked against its length and every table index is masked or checked, so no input reads or writes outside
the arrays. It decodes *codes*: literal values are counted, never written anywhere, and no output byte
(a filtered PNG row byte) is reconstructed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Positions in the statistics vector :func:`walk` returns.
STATS = (
    "stored_blocks",
    "fixed_blocks",
    "dynamic_blocks",
    "literals",
    "zero_literals",
    "matches",
    "match_length",
    "distance_code",
    "left_matches",
    "up_matches",
    "output_bytes",
    "first_hlit",
    "first_hdist",
    "literal_code_bits",
    "fault",
    "complete",
)
N_STATS = len(STATS)
_STORED, _FIXED, _DYNAMIC, _LITERALS, _ZERO, _MATCHES, _LENGTH, _DISTANCE = 0, 1, 2, 3, 4, 5, 6, 7
_LEFT, _UP, _OUTPUT, _HLIT, _HDIST, _CODE_BITS, _FAULT, _COMPLETE = 8, 9, 10, 11, 12, 13, 14, 15

LENGTH_BASE = np.array(
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258],
    np.int64,
)
LENGTH_EXTRA = np.array([0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0], np.int64)
DISTANCE_BASE = np.array(
    [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
     6145, 8193, 12289, 16385, 24577],
    np.int64,
)  # fmt: skip
DISTANCE_EXTRA = np.array([0, 0, 0, 0] + [i // 2 for i in range(2, 28)], np.int64)
CODE_LENGTH_ORDER = np.array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15], np.int64)
_LOOKUP_BITS = 9


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def bits(stream, p, n):  # type: ignore[no-untyped-def]
    """``n`` <= 16 bits from bit ``p``, least significant first (zeros past the end)."""
    b = p >> 3
    if b >= 0 and b + 2 < stream.shape[0]:
        value = np.int64(stream[b]) | (np.int64(stream[b + 1]) << 8) | (np.int64(stream[b + 2]) << 16)
    else:
        value = np.int64(0)
        for i in range(3):
            if 0 <= b + i < stream.shape[0]:
                value |= np.int64(stream[b + i]) << (8 * i)
    return (value >> (p & 7)) & ((1 << n) - 1)


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def build(lengths, count, table, first, counts, offsets, symbols):  # type: ignore[no-untyped-def]
    """Canonical Huffman tables for ``lengths[:count]``; False if the lengths over-subscribe the code.

    ``table[w]`` for the next :data:`_LOOKUP_BITS` bits (least significant first) is length | symbol << 4
    when the code fits, else 0; ``first``/``counts``/``offsets`` per length and ``symbols`` (sorted by
    code) decode longer codes.
    """
    counts[:] = 0
    for s in range(count):
        counts[lengths[s] & 15] += 1
    counts[0] = 0
    code = 0
    offset = 0
    for length in range(1, 16):
        code = (code + counts[length - 1]) << 1 if length > 1 else 0
        first[length] = code
        offsets[length] = offset
        offset += counts[length]
        if code + counts[length] > (1 << length):
            return False
    filled = np.zeros(16, np.int64)
    table[:] = 0
    for s in range(count):
        length = lengths[s] & 15
        if length == 0:
            continue
        symbols[offsets[length] + filled[length]] = s
        value = first[length] + filled[length]
        filled[length] += 1
        if length <= _LOOKUP_BITS:
            reverse = 0
            for i in range(length):
                reverse |= ((value >> i) & 1) << (length - 1 - i)
            step = 1 << length
            for w in range(reverse, 1 << _LOOKUP_BITS, step):
                table[w] = length | (s << 4)
    return True


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def decode(stream, p, table, first, counts, offsets, symbols):  # type: ignore[no-untyped-def]
    """(symbol, next bit) of the code at bit ``p``; symbol -1 when no code starts there."""
    entry = table[bits(stream, p, _LOOKUP_BITS)]
    if entry != 0:
        return entry >> 4, p + (entry & 15)
    code = 0
    for length in range(1, 16):
        code = (code << 1) | bits(stream, p + length - 1, 1)
        index = code - first[length]
        if 0 <= index < counts[length]:
            return symbols[(offsets[length] + index) & 511], p + length
    return -1, p


@njit(cache=True, nogil=True)  # type: ignore[misc, call-overload, unused-ignore]
def walk(stream, max_symbols, stride, pixel_bytes):  # type: ignore[no-untyped-def]
    """Statistics (:data:`STATS`) of the codes of a zlib stream's first ``max_symbols`` symbols.

    ``stride`` is the bytes of a filtered row (its filter byte included) and ``pixel_bytes`` the bytes of
    a pixel: a match that far back copies the byte above or to the left.
    """
    stats = np.zeros(N_STATS, np.float64)
    end = 8 * stream.shape[0]
    lengths = np.zeros(320, np.int64)
    literal = (np.zeros(1 << _LOOKUP_BITS, np.int64), np.zeros(16, np.int64), np.zeros(16, np.int64))
    literal_offsets = np.zeros(16, np.int64)
    literal_symbols = np.zeros(512, np.int64)
    distance = (np.zeros(1 << _LOOKUP_BITS, np.int64), np.zeros(16, np.int64), np.zeros(16, np.int64))
    distance_offsets = np.zeros(16, np.int64)
    distance_symbols = np.zeros(512, np.int64)
    if stream.shape[0] < 2 or (stream[0] & 15) != 8 or ((np.int64(stream[0]) << 8) | stream[1]) % 31 != 0:
        stats[_FAULT] = 1
        return stats
    p = 16
    symbols_read = 0
    for _block in range(1 << 16):
        if p + 3 > end or symbols_read >= max_symbols:
            return stats
        final = bits(stream, p, 1)
        kind = bits(stream, p + 1, 2)
        p += 3
        if kind == 0:
            stats[_STORED] += 1
            p = (p + 7) & ~7
            size = bits(stream, p, 16)
            if size != (~bits(stream, p + 16, 16) & 0xFFFF):
                stats[_FAULT] = 1
                return stats
            p += 32 + 8 * size
            stats[_OUTPUT] += size
            symbols_read += 1
        elif kind == 3:
            stats[_FAULT] = 1
            return stats
        else:
            if kind == 1:
                stats[_FIXED] += 1
                for s in range(288):
                    lengths[s] = 8 if s < 144 else 9 if s < 256 else 7 if s < 280 else 8
                for s in range(30):
                    lengths[288 + s] = 5
                hlit, hdist = 288, 30
            else:
                stats[_DYNAMIC] += 1
                hlit = bits(stream, p, 5) + 257
                hdist = bits(stream, p + 5, 5) + 1
                hclen = bits(stream, p + 10, 4) + 4
                p += 14
                if hlit > 286 or hdist > 30:
                    stats[_FAULT] = 1
                    return stats
                code_lengths = np.zeros(19, np.int64)
                for i in range(hclen):
                    code_lengths[CODE_LENGTH_ORDER[i]] = bits(stream, p, 3)
                    p += 3
                if not build(code_lengths, 19, literal[0], literal[1], literal[2], literal_offsets, literal_symbols):
                    stats[_FAULT] = 1
                    return stats
                i = 0
                while i < hlit + hdist:
                    sym, p = decode(stream, p, literal[0], literal[1], literal[2], literal_offsets, literal_symbols)
                    if sym < 0 or p > end:
                        stats[_FAULT] = 1
                        return stats
                    if sym < 16:
                        lengths[i if i < hlit else 288 + i - hlit] = sym
                        i += 1
                        continue
                    if sym == 16:
                        if i == 0:
                            stats[_FAULT] = 1
                            return stats
                        previous = lengths[i - 1 if i - 1 < hlit else 288 + i - 1 - hlit]
                        repeat = 3 + bits(stream, p, 2)
                        p += 2
                    elif sym == 17:
                        previous = 0
                        repeat = 3 + bits(stream, p, 3)
                        p += 3
                    else:
                        previous = 0
                        repeat = 11 + bits(stream, p, 7)
                        p += 7
                    if i + repeat > hlit + hdist:
                        stats[_FAULT] = 1
                        return stats
                    for _ in range(repeat):
                        lengths[i if i < hlit else 288 + i - hlit] = previous
                        i += 1
                for s in range(hlit, 288):
                    lengths[s] = 0
                for s in range(hdist, 30):
                    lengths[288 + s] = 0
                if stats[_DYNAMIC] == 1:
                    stats[_HLIT] = hlit
                    stats[_HDIST] = hdist
                    # The literal code's own estimate of its bits per literal: sum of len * 2^-len.
                    weight = 0.0
                    mean = 0.0
                    for s in range(256):
                        if lengths[s] > 0:
                            weight += 2.0 ** -lengths[s]
                            mean += lengths[s] * 2.0 ** -lengths[s]
                    stats[_CODE_BITS] = mean / weight if weight > 0 else 0.0
            ok = build(lengths[:288], 288, literal[0], literal[1], literal[2], literal_offsets, literal_symbols)
            ok = ok and build(
                lengths[288:318], 30, distance[0], distance[1], distance[2], distance_offsets, distance_symbols
            )
            if not ok:
                stats[_FAULT] = 1
                return stats
            while True:
                if p > end:
                    return stats
                if symbols_read >= max_symbols:
                    return stats
                sym, p = decode(stream, p, literal[0], literal[1], literal[2], literal_offsets, literal_symbols)
                symbols_read += 1
                if sym < 0 or sym > 285:
                    stats[_FAULT] = 1
                    return stats
                if sym < 256:
                    stats[_LITERALS] += 1
                    stats[_ZERO] += sym == 0
                    stats[_OUTPUT] += 1
                    continue
                if sym == 256:
                    break
                index = sym - 257
                length = LENGTH_BASE[index] + bits(stream, p, LENGTH_EXTRA[index])
                p += LENGTH_EXTRA[index]
                code, p = decode(stream, p, distance[0], distance[1], distance[2], distance_offsets, distance_symbols)
                if code < 0 or code > 29:
                    stats[_FAULT] = 1
                    return stats
                back = DISTANCE_BASE[code] + bits(stream, p, DISTANCE_EXTRA[code])
                p += DISTANCE_EXTRA[code]
                stats[_MATCHES] += 1
                stats[_LENGTH] += length
                stats[_DISTANCE] += code
                stats[_LEFT] += back == pixel_bytes
                stats[_UP] += back == stride
                stats[_OUTPUT] += length
        if final:
            stats[_COMPLETE] = 1
            return stats
    return stats
