"""Socket reads and writes with deadlines: the only place that touches ``recv``/``send``.

A per-``recv`` time-out alone does not stop a slowloris client, which sends one byte just before each
time-out. So reads here take a :class:`Deadline` for the whole frame. Re-arming the socket time-out is a
system call (and lets another thread take the GIL), so it is done only when the socket's time-out
would overshoot the deadline by more than a tenth of the frame's allowance; a read that times out
early is simply re-armed and retried. A frame is therefore dropped within ``read_timeout`` + 10 %.

:class:`Reader` reads ahead into a small buffer, so that a frame's header and name, or a whole reply,
usually take one ``recv``; payloads are then read straight into their own buffer, never copied twice.
"""

from __future__ import annotations

import select
import selectors
import socket
import ssl
import time
from collections.abc import Sequence
from typing import Final, Protocol

from imgclass.transfer.protocol import ProtocolError


class Hasher(Protocol):
    """What the receive loop feeds each chunk to as it lands (BLAKE3 in the protocol)."""

    def update(self, data: memoryview, /) -> object: ...


#: The most we ask of one ``recv_into``; big enough that a 5 MB payload takes a handful of calls.
RECV_CHUNK: Final = 4 * 1024 * 1024
#: Read-ahead buffer: a header, the longest name and a tag fit many times over.
READ_AHEAD: Final = 64 * 1024
#: How far past its deadline a read may block before we pay a system call to re-arm the time-out.
_SLACK: Final = 0.1


class FrameTimeout(ProtocolError):
    """The peer did not deliver a frame within its deadline."""

    def __init__(self, message: str, code: str = "timeout") -> None:
        super().__init__(message, code)


class Truncated(ProtocolError):
    """The peer closed the connection in the middle of a frame."""


class PeerClosed(ConnectionError):
    """The peer closed the connection where a frame could begin: a clean end of conversation."""


class Deadline:
    """A point in time, ``seconds`` from now (``None``: never)."""

    __slots__ = ("code", "end", "seconds", "what")

    def __init__(self, seconds: float | None, what: str = "frame", code: str = "timeout") -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds
        self.what = what
        self.code = code

    def remaining(self) -> float | None:
        if self.end is None:
            return None
        return self.end - time.monotonic()

    def expired(self) -> FrameTimeout:
        return FrameTimeout(f"{self.what}: nothing complete within {self.seconds:g} s", self.code)

    def arm(self, sock: socket.socket, *, force: bool = False) -> None:
        """Make ``sock``'s time-out end near the deadline; raise :class:`FrameTimeout` once it passed."""
        left = self.remaining()
        current = sock.gettimeout()
        if left is None:
            if current is not None:
                sock.settimeout(None)
            return
        if left <= 0:
            raise self.expired()
        slack = _SLACK * (self.seconds or 0.0)
        if force or current is None or current <= 0 or current > left + slack:
            sock.settimeout(left)

    def recv_into(self, sock: socket.socket, view: memoryview, nbytes: int) -> int:
        """One ``recv_into`` that respects the deadline; re-arms and retries after an early time-out."""
        self.arm(sock)
        while True:
            try:
                return sock.recv_into(view, nbytes)
            except TimeoutError:
                self.arm(sock, force=True)  # raises once the deadline has really passed


class Reader:
    """Frame reads from one socket, through a read-ahead buffer. Not thread-safe."""

    def __init__(self, sock: socket.socket, size: int = READ_AHEAD) -> None:
        self.sock = sock
        self._buf = bytearray(size)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0

    @property
    def buffered(self) -> int:
        return self._end - self._start

    def _fill(self, deadline: Deadline) -> int:
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buf):
            kept = self.buffered
            self._buf[:kept] = self._buf[self._start : self._end]
            self._start, self._end = 0, kept
        n = deadline.recv_into(self.sock, self._view[self._end :], len(self._buf) - self._end)
        self._end += n
        return n

    def wait_frame(self, idle: Deadline) -> None:
        """Wait for the first byte of a frame; :class:`PeerClosed` on a clean close."""
        if not self.buffered and self._fill(idle) == 0:
            raise PeerClosed("peer closed the connection")

    def read(self, size: int, deadline: Deadline) -> bytes:
        """Exactly ``size`` bytes."""
        if size > len(self._buf):
            out = bytearray(size)
            self.read_into(memoryview(out), deadline)
            return bytes(out)
        while self.buffered < size:
            if self._fill(deadline) == 0:
                raise _truncated(self.buffered, size, deadline.what)
        out_bytes = bytes(self._view[self._start : self._start + size])
        self._start += size
        return out_bytes

    def read_some_into(self, view: memoryview, deadline: Deadline) -> int:
        """Up to ``len(view)`` bytes: what the read-ahead holds, else one ``recv_into``. Never 0."""
        if self.buffered:
            take = min(self.buffered, len(view))
            view[:take] = self._view[self._start : self._start + take]
            self._start += take
            return take
        n = deadline.recv_into(self.sock, view, len(view))
        if n == 0:
            raise _truncated(0, len(view), deadline.what)
        return n

    def input_waiting(self) -> bool:
        """Whether a read would find bytes at once (buffered here, in TLS, or in the kernel)."""
        if self.buffered:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        return readable(self.sock)

    def read_into(self, view: memoryview, deadline: Deadline, hasher: Hasher | None = None) -> None:
        """Fill ``view``: first from the read-ahead, then straight from the socket."""
        take = min(self.buffered, len(view))
        if take:
            view[:take] = self._view[self._start : self._start + take]
            self._start += take
            if hasher is not None:
                hasher.update(view[:take])
        recv_into_exact(self.sock, view, deadline, hasher=hasher, start=take)


def recv_into_exact(
    sock: socket.socket,
    view: memoryview,
    deadline: Deadline,
    *,
    hasher: Hasher | None = None,
    start: int = 0,
) -> None:
    """Fill ``view[start:]`` from ``sock`` by ``deadline``, feeding each chunk to ``hasher`` as it lands."""
    got, size = start, len(view)
    while got < size:
        n = deadline.recv_into(sock, view[got:], min(size - got, RECV_CHUNK))
        if n == 0:
            raise _truncated(got, size, deadline.what)
        if hasher is not None:
            hasher.update(view[got : got + n])
        got += n


def readable(sock: socket.socket) -> bool:
    """Whether ``sock`` has bytes (or an end of stream) to read right now, without waiting."""
    try:
        fd = sock.fileno()
        if fd < 0:
            return True  # closed: let the read say so
        if _POLL is not None:
            poller = _POLL()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


_POLL = getattr(select, "poll", None)  # select() cannot watch descriptors above 1023


def _truncated(got: int, size: int, what: str) -> Truncated:
    return Truncated(f"truncated frame: connection closed after {got} of {size} bytes of the {what}")


def send_parts(sock: socket.socket, parts: Sequence[bytes | bytearray | memoryview]) -> None:
    """Send ``parts`` back to back, gathering them into one ``sendmsg`` where the socket allows it."""
    if isinstance(sock, ssl.SSLSocket):  # no sendmsg over TLS
        if sum(len(p) for p in parts) <= 65536:
            sock.sendall(b"".join(parts))
        else:
            for part in parts:
                sock.sendall(part)
        return
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    while views:
        sent = sock.sendmsg(views)
        while sent:
            if sent >= len(views[0]):
                sent -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][sent:]
                sent = 0


def tls_handshake(sock: ssl.SSLSocket, deadline: Deadline) -> None:
    """Complete a TLS handshake by ``deadline``, however slowly the peer drips its bytes."""
    sock.setblocking(False)
    while True:
        try:
            sock.do_handshake()
            return
        except ssl.SSLWantReadError:
            wait = selectors.EVENT_READ
        except ssl.SSLWantWriteError:
            wait = selectors.EVENT_WRITE
        left = deadline.remaining()
        if left is not None and left <= 0:
            raise deadline.expired()
        with selectors.DefaultSelector() as sel:
            sel.register(sock, wait)
            sel.select(left)


def drain(sock: socket.socket, limit: int, seconds: float) -> None:
    """Read and drop up to ``limit`` bytes for at most ``seconds``, ignoring errors.

    Used before closing on a refused frame: closing with unread data makes the kernel send a reset,
    which can destroy the error reply before the client reads it.
    """
    deadline = Deadline(seconds)
    try:
        sock.shutdown(socket.SHUT_WR)
        buf = bytearray(65536)
        while limit > 0:
            left = deadline.remaining()
            if left is None or left <= 0:
                return
            sock.settimeout(left)
            n = sock.recv_into(buf)
            if n == 0:
                return
            limit -= n
    except (OSError, ValueError):
        return
