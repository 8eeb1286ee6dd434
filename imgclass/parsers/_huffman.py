"""The hot loops of :mod:`imgclass.parsers.jpeg_scan`: Huffman decoding of JPEG blocks, compiled by numba.

Every function here is plain Python on numpy arrays and ints that numba compiles to machine code on first
use (cached on disk beside this file). Nothing here trusts the stream: every read of ``stream`` is checked
against its length (the callers also pad it, so the check never fires on well-formed input), every table
index is masked to the table's size and every write is checked against the output's shape. With
``NUMBA_DISABLE_JIT=1`` the same code runs as Python, where numpy checks every index as well (the tests
fuzz it so). The import is lazy (numba takes about a second to import): only :func:`kernels` imports this.

Tables (one row per slot; slots 0-3 are the DC tables 0-3, slots 4-7 the AC tables 0-3), for the next
:data:`TABLE_BITS` bits ``w`` of the stream:

* ``fast[slot, w]``: when the code and its raw bits fit in ``w``, bits consumed | zero run << 5 | (value +
  :data:`OFFSET`) << 12, the run being 64 for an end of block; else 0.
* ``codes[slot, w]``: when the code fits in ``w``, its length | symbol << 5; 0 when it is longer (then
  ``long_first``/``long_count``/``long_index`` per code length and ``symbols`` decode it canonically);
  -1 when no code starts so.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TABLE_BITS = 11
OFFSET = 1 << 16
_MASK = (1 << TABLE_BITS) - 1
_JIT = {"cache": True, "nogil": True}


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def bits(stream, p, n):  # type: ignore[no-untyped-def]
    """``n`` <= 25 bits of ``stream`` from bit ``p`` (zeros past its end)."""
    b = p >> 3
    if b < 0 or b + 3 >= stream.shape[0]:
        return 0
    w = (
        (np.int64(stream[b]) << 24)
        | (np.int64(stream[b + 1]) << 16)
        | (np.int64(stream[b + 2]) << 8)
        | np.int64(stream[b + 3])
    )
    return (w >> (32 - (p & 7) - n)) & ((1 << n) - 1)


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def symbol(stream, p, slot, codes, long_first, long_count, long_index, symbols):  # type: ignore[no-untyped-def]
    """The symbol whose code starts at bit ``p`` and the bit after the code; symbol -1 for no code."""
    entry = codes[slot, bits(stream, p, TABLE_BITS) & _MASK]
    if entry > 0:
        return entry >> 5, p + (entry & 31)
    if entry == 0:
        window = bits(stream, p, 16)
        for length in range(TABLE_BITS + 1, 17):
            offset = (window >> (16 - length)) - long_first[slot, length]
            if 0 <= offset < long_count[slot, length]:
                return np.int64(symbols[slot, (long_index[slot, length] + offset) & 255]), p + length
    return -1, p


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def extend(stream, p, size):  # type: ignore[no-untyped-def]
    """The signed value of the ``size`` raw bits at ``p`` (ITU T.81, F.2.2.1)."""
    if size == 0:
        return 0
    raw = bits(stream, p, size)
    if raw < (1 << (size - 1)):
        raw -= (1 << size) - 1
    return raw


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def block(stream, p, dc_slot, ac_slot, tables, coef, row, store):  # type: ignore[no-untyped-def]
    """One sequential block from bit ``p``: (bit after it, DC difference, whether it broke no rule).

    With ``store``, the AC coefficients are written to ``coef[row]`` (zig-zag order) as they are read.
    """
    fast, codes, long_first, long_count, long_index, symbols = tables
    entry = fast[dc_slot, bits(stream, p, TABLE_BITS) & _MASK]
    if entry != 0:
        p += entry & 31
        dc = (entry >> 12) - OFFSET
    else:
        size, p = symbol(stream, p, dc_slot, codes, long_first, long_count, long_index, symbols)
        if size < 0 or size > 15:
            return p, 0, False
        dc = extend(stream, p, size)
        p += size
    k = 1
    while k < 64:
        entry = fast[ac_slot, bits(stream, p, TABLE_BITS) & _MASK]
        if entry != 0:
            p += entry & 31
            k += (entry >> 5) & 127
            value = (entry >> 12) - OFFSET
        else:
            sym, p = symbol(stream, p, ac_slot, codes, long_first, long_count, long_index, symbols)
            if sym < 0:
                return p, 0, False
            size = sym & 15
            value = extend(stream, p, size)
            p += size
            if size == 0:
                k += 15 if sym >> 4 == 15 else 64
            else:
                k += sym >> 4
        if value != 0:
            if k > 63:
                return p, 0, False
            if store:
                coef[row, k] = value
        k += 1
    return p, dc, True


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def resynchronise(stream, start, end, plan, tables, warm_up, max_tries, scratch):  # type: ignore[no-untyped-def]
    """The first bit at an MCU start after ``warm_up`` blocks that decode from ``start + t`` without a fault.

    ``t`` runs over ``0..max_tries-1`` and, for each, every place in the MCU the bits could start at; the
    first guess whose blocks all keep the rules wins. -1 when none does.
    """
    places = plan.shape[0]
    for t in range(max_tries):
        first = start + t
        if first >= end:
            break
        for phase0 in range(places):
            need = warm_up + (places - (phase0 + warm_up) % places) % places  # end at an MCU start
            p = first
            phase = phase0
            good = True
            for _ in range(need):
                p, _dc, ok = block(stream, p, plan[phase, 1], plan[phase, 2], tables, scratch, 0, False)
                if not ok or p > end:
                    good = False
                    break
                phase = phase + 1 if phase + 1 < places else 0
            if good:
                return p
    return -1


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def load(raw, start, stop, scratch):  # type: ignore[no-untyped-def]
    """Copy ``raw[start:stop]`` into ``scratch`` without stuffed zeros, up to the first marker; its bit count.

    A 0xFF followed by anything but 0x00 is a marker (the scan's end, a restart marker): the copy stops
    before it. The rest of ``scratch`` (at least 264 bytes) is zeroed, so a block that runs past the end
    reads zeros.
    """
    i = max(start, 0)
    stop = min(stop, raw.shape[0])
    room = scratch.shape[0] - 264
    j = 0
    while i < stop and j < room:
        byte = raw[i]
        if byte == 0xFF:
            if i + 1 < raw.shape[0] and raw[i + 1] != 0:
                break
            i += 1  # skip the stuffed zero
        scratch[j] = byte
        j += 1
        i += 1
    scratch[j:] = 0
    return 8 * j


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def decode_sequential(raw, windows, plan, tables, warm_up, max_tries, scratch, coef, component, region, n):  # type: ignore[no-untyped-def]
    """Blocks of a sequential scan from each window into the outputs, from row ``n``: (rows filled, faults).

    ``windows[r]`` is (first byte, stop byte, exact, part, blocks wanted for the part): an exact window
    starts at an MCU with the DC predictors at zero (the scan's start, a restart marker); any other is
    resynchronised first. Consecutive windows of one part share its count of blocks wanted. DC values are
    written relative to the window's first block of each component (predictors start at zero).
    """
    places = plan.shape[0]
    faults = 0
    got = 0
    current = -1
    predictor = np.zeros(4, np.int64)
    for r in range(windows.shape[0]):
        exact, part, wanted = windows[r, 2], windows[r, 3], windows[r, 4]
        if part != current:
            current = part
            got = 0
        if got >= wanted or n >= coef.shape[0]:
            continue
        end = load(raw, windows[r, 0], windows[r, 1], scratch)
        p = 0
        if exact == 0:
            p = resynchronise(scratch, 0, end, plan, tables, warm_up, max_tries, coef)
            if p < 0:
                faults += 1
                continue
        predictor[:] = 0
        phase = 0
        while got < wanted and n < coef.shape[0]:
            after, diff, ok = block(scratch, p, plan[phase, 1], plan[phase, 2], tables, coef, n, True)
            if not ok or after > end:
                coef[n, :] = 0
                if not ok:
                    faults += 1
                break
            c = plan[phase, 0] & 3
            predictor[c] += diff
            coef[n, 0] = predictor[c]
            component[n] = c
            region[n] = r
            n += 1
            got += 1
            p = after
            phase = phase + 1 if phase + 1 < places else 0
    return n, faults


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def decode_dc_first(raw, windows, plan, tables, al, scratch, dc):  # type: ignore[no-untyped-def]
    """DC values of the first ``len(dc)`` blocks of a progressive DC scan: (blocks read, whether faulted).

    ``windows[r]`` is (first byte, stop byte, blocks in it): restart intervals, each from an MCU start with
    the predictors at zero. Values are shifted left by ``al``.
    """
    _fast, codes, long_first, long_count, long_index, symbols = tables
    places = plan.shape[0]
    predictor = np.zeros(4, np.int64)
    n = 0
    for r in range(windows.shape[0]):
        end = load(raw, windows[r, 0], windows[r, 1], scratch)
        predictor[:] = 0
        p = 0
        for i in range(windows[r, 2]):
            if n >= dc.shape[0]:
                return n, False
            place = i % places
            size, after = symbol(scratch, p, plan[place, 1], codes, long_first, long_count, long_index, symbols)
            if size < 0 or size > 15:
                return n, True
            value = extend(scratch, after, size)
            after += size
            if after > end:
                return n, False
            c = plan[place, 0] & 3
            predictor[c] += value
            dc[n] = predictor[c] << al
            n += 1
            p = after
    return n, False


@njit(**_JIT)  # type: ignore[misc, call-overload, unused-ignore]
def decode_ac_first(raw, windows, slot, ss, se, al, tables, scratch, coef):  # type: ignore[no-untyped-def]
    """Band ``ss..se`` of the first ``len(coef)`` blocks of a progressive AC scan: (blocks read, faulted).

    ``windows[r]`` is (first byte, stop byte, blocks in it). Values are written shifted left by ``al``.
    """
    _fast, codes, long_first, long_count, long_index, symbols = tables
    i = 0
    for r in range(windows.shape[0]):
        end = load(raw, windows[r, 0], windows[r, 1], scratch)
        p = 0
        eob_run = 0
        for _ in range(windows[r, 2]):
            if i >= coef.shape[0]:
                return i, False
            if eob_run > 0:
                eob_run -= 1
                i += 1
                continue
            k = ss
            while k <= se:
                sym, p = symbol(scratch, p, slot, codes, long_first, long_count, long_index, symbols)
                if sym < 0:
                    coef[i, :] = 0
                    return i, True
                run, size = sym >> 4, sym & 15
                if size == 0:
                    if run < 15:
                        eob_run = (1 << run) + bits(scratch, p, run) - 1 if run else 0
                        p += run
                        break
                    k += 16
                    continue
                k += run
                if k > se:
                    coef[i, :] = 0
                    return i, True
                coef[i, k] = extend(scratch, p, size) << al
                p += size
                k += 1
            if p > end:
                coef[i, :] = 0
                return i, False
            i += 1
    return i, False
