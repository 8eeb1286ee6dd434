"""Socket reads and writes with deadlines: the only place that touches ``recv``/``send``.

A per-``recv`` time-out alone does not stop a slowloris client, which sends one byte just before each
time-out. So reads here take a :class:`Deadline` for the whole frame and re-arm the socket time-out
with what is left of it before every ``recv``.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from imgclass.transfer.protocol import ProtocolError

if TYPE_CHECKING:
    from hashlib import _Hash

#: The most we ask of one ``recv_into``; big enough that a 5 MB payload takes a handful of calls.
RECV_CHUNK: Final = 4 * 1024 * 1024


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

    __slots__ = ("end", "seconds")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        if self.end is None:
            return None
        return self.end - time.monotonic()

    def arm(self, sock: socket.socket, what: str, code: str = "timeout") -> None:
        """Set ``sock``'s time-out to what is left; raise :class:`FrameTimeout` when nothing is."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise FrameTimeout(f"{what}: no complete frame within {self.seconds:g} s", code)
        sock.settimeout(left)


def recv_into_exact(
    sock: socket.socket,
    view: memoryview,
    deadline: Deadline,
    *,
    what: str = "frame",
    hasher: _Hash | None = None,
    start: int = 0,
) -> None:
    """Fill ``view[start:]`` from ``sock`` by ``deadline``, feeding each chunk to ``hasher`` as it lands."""
    got, size = start, len(view)
    while got < size:
        deadline.arm(sock, what)
        try:
            n = sock.recv_into(view[got:], min(size - got, RECV_CHUNK))
        except TimeoutError:
            raise FrameTimeout(f"{what}: no complete frame within {deadline.seconds:g} s") from None
        if n == 0:
            raise Truncated(f"truncated frame: connection closed after {got} of {size} bytes of the {what}")
        if hasher is not None:
            hasher.update(view[got : got + n])
        got += n


def recv_exact(sock: socket.socket, size: int, deadline: Deadline, *, what: str = "frame") -> bytes:
    buf = bytearray(size)
    recv_into_exact(sock, memoryview(buf), deadline, what=what)
    return bytes(buf)


def recv_frame_start(
    sock: socket.socket, size: int, idle: Deadline, frame_seconds: float | None
) -> tuple[bytes, Deadline]:
    """Wait up to ``idle`` for a frame to begin, then give the rest of its header ``frame_seconds``.

    Raises :class:`PeerClosed` on a clean close between frames, and :class:`FrameTimeout` with code
    ``idle-timeout`` when nothing arrives in time.
    """
    buf = bytearray(size)
    view = memoryview(buf)
    idle.arm(sock, "idle connection", code="idle-timeout")
    try:
        n = sock.recv_into(view, size)
    except TimeoutError:
        raise FrameTimeout(f"idle connection: no frame within {idle.seconds:g} s", "idle-timeout") from None
    if n == 0:
        raise PeerClosed("peer closed the connection")
    deadline = Deadline(frame_seconds)
    recv_into_exact(sock, view, deadline, what="header", start=n)
    return bytes(buf), deadline


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
            raise FrameTimeout(f"TLS handshake not complete within {deadline.seconds:g} s")
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
            if left is not None and left <= 0:
                return
            sock.settimeout(left)
            n = sock.recv_into(buf)
            if n == 0:
                return
            limit -= n
    except (OSError, ValueError):
        return
