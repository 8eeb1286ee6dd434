"""Receive one payload into its temporary file as it arrives: one pass, hashed while in cache.

Bytes land in a connection's chunk buffer, are hashed there while still in the CPU's cache, and are
written on to the temporary file whenever it fills. Memory is one chunk per connection, whatever size
a frame declares.

(Writing each full chunk from a second thread while the next one is received was tried: on this
project's loaded two-core machine it cost 30 % more server CPU, the data crossing between cores' caches
and the threads handing over twenty times per 5 MB, and was slower, so the write stays in line.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from imgclass.transfer import protocol as p
from imgclass.transfer.store import Incoming
from imgclass.transfer.wire import Deadline, Reader

#: Bytes per chunk: big enough that a 5 MB payload takes twenty writes, small enough to stay in cache.
CHUNK: Final = 256 * 1024
#: The payload's first bytes kept for its image header.
HEADER_PROBE: Final = 64 * 1024


class ChunkBuffer:
    """A connection's chunk buffer, allocated on first use."""

    __slots__ = ("_view",)

    def __init__(self) -> None:
        self._view: memoryview | None = None

    def get(self) -> memoryview:
        if self._view is None:
            self._view = memoryview(bytearray(CHUNK))
        return self._view


@dataclass(frozen=True)
class Arrived:
    """A payload received: its digest, its first bytes, and its last chunk, not yet written.

    ``tail`` is the whole payload when it fitted in one chunk (``whole``); it is valid until the
    connection's next frame. ``failed``: a write that failed (the rest was still read, to keep the
    stream in step).
    """

    digest: bytes
    prefix: bytes
    tail: memoryview
    whole: bool
    failed: OSError | None


def receive_payload(reader: Reader, size: int, deadline: Deadline, incoming: Incoming, buffer: ChunkBuffer) -> Arrived:
    """Read ``size`` payload bytes from ``reader``, hash them, and write all but the last chunk to
    ``incoming``. The caller checks the digest, then writes the tail."""
    chunk = buffer.get()
    hasher = p.hasher()
    prefix: bytes | None = None
    failed: OSError | None = None
    got = fill = 0
    while got < size:
        n = reader.read_some_into(chunk[fill : fill + min(CHUNK - fill, size - got)], deadline)
        hasher.update(chunk[fill : fill + n])
        fill += n
        got += n
        if fill == CHUNK and got < size:
            if prefix is None:
                prefix = bytes(chunk[:HEADER_PROBE])
            if failed is None:
                try:
                    incoming.write(chunk)
                except OSError as exc:
                    failed = exc
            fill = 0
    whole = prefix is None
    if prefix is None:
        prefix = bytes(chunk[: min(fill, HEADER_PROBE)])
    return Arrived(hasher.digest(), prefix, chunk[:fill], whole, failed)
