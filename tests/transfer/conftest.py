"""Fixtures for the transfer tests: tiny distinct images, fake classifiers, servers on port 0, raw peers.

Every wait here is bounded by an explicit time-out and ends on an event (a reply, a closed socket, a
server condition), never on a sleep.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from imgclass.transfer import protocol as p
from imgclass.transfer.server import ImageServer

#: Upper bound for any single wait in these tests; generous, since the machine is shared.
TIMEOUT = 10.0


def make_image(seed: int, ext: str = ".png", shape: tuple[int, int] = (16, 16)) -> bytes:
    """A small encoded image, different for every seed."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(ext, pixels)
    assert ok
    return buf.tobytes()


def sha(data: bytes) -> str:
    return p.digest(data).hex()


class FakeClassifier:
    """Answers a fixed P(animated) without looking at the image."""

    def __init__(self, p_animated: float = 0.75) -> None:
        self.p_animated = p_animated

    def predict_proba(self, X: Sequence[bytes]) -> np.ndarray:
        return np.array([[1.0 - self.p_animated, self.p_animated] for _ in X])


class BlockingClassifier:
    """Holds every image until ``release`` is set (bounded by TIMEOUT): keeps connections busy."""

    def __init__(self) -> None:
        import threading

        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def predict_proba(self, X: Sequence[bytes]) -> np.ndarray:
        self.entered.release()
        self.release.wait(TIMEOUT)
        return np.array([[0.5, 0.5] for _ in X])


class BrokenClassifier:
    def predict_proba(self, X: Sequence[bytes]) -> np.ndarray:
        raise RuntimeError("model file went missing")


class RetryLog:
    """An ``on_retry`` hook that records the errors and runs an action before the first retry."""

    def __init__(self, before_first_retry: Callable[[], object] | None = None) -> None:
        self.errors: list[BaseException] = []
        self.delays: list[float] = []
        self.action = before_first_retry

    def __call__(self, attempt: int, error: BaseException, delay: float) -> None:
        self.errors.append(error)
        self.delays.append(delay)
        if attempt == 1 and self.action is not None:
            self.action()


@pytest.fixture(scope="session")
def images() -> list[bytes]:
    return [make_image(i) for i in range(200)]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def serve(out_dir: Path) -> Iterator[Callable[..., ImageServer]]:
    """Start servers (stopped at teardown); defaults: port 0, the fake classifier, 10 s time-outs."""
    servers: list[ImageServer] = []

    def start(**kwargs: Any) -> ImageServer:
        kwargs.setdefault("out_dir", out_dir)
        kwargs.setdefault("classifiers", {"fake": FakeClassifier()})
        kwargs.setdefault("read_timeout", TIMEOUT)
        kwargs.setdefault("idle_timeout", TIMEOUT)
        kwargs.setdefault("workers", 0)
        server = ImageServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def stored_files(folder: Path) -> list[str]:
    """Every entry in ``folder``, hidden ones (temporary files) included."""
    return sorted(entry.name for entry in folder.iterdir()) if folder.exists() else []


class RawPeer:
    """A client that speaks raw bytes, for frames our own client would never send."""

    def __init__(self, address: tuple[str, int], *, read_hello: bool = True, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.hello: p.Hello | None = None
        if read_hello:
            frame = self.read_frame()
            assert frame is not None and frame[0] == p.KIND_HELLO
            self.hello = p.Hello.from_json(frame[1])

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def finish(self) -> None:
        """Half-close: the server sees the end of our stream, we can still read its answers."""
        self.sock.shutdown(socket.SHUT_WR)

    def reset(self) -> None:
        """Die abruptly: close with a TCP reset, as a killed process's socket may."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def read_frame(self) -> tuple[int, dict[str, Any]] | None:
        """The next server frame, or ``None`` when the server has closed the connection."""
        head = self._recv_exact(p.SERVER_HEADER.size)
        if head is None:
            return None
        header = p.parse_server_header(head)
        rest = self._recv_exact(header.rest_len)
        assert rest is not None, "server closed mid-frame"
        return header.kind, p.parse_body(header, rest)

    def read_reply(self) -> p.Reply:
        frame = self.read_frame()
        assert frame is not None, "server closed without replying"
        assert frame[0] == p.KIND_REPLY
        return p.Reply.from_json(frame[1])

    def read_until_closed(self) -> list[p.Reply]:
        replies = []
        while (frame := self.read_frame()) is not None:
            replies.append(p.Reply.from_json(frame[1]))
        return replies


def header(
    *,
    magic: bytes = p.MAGIC,
    version: int = p.VERSION,
    flags: int = 0,
    name_len: int = 0,
    payload_len: int = 0,
    digest: bytes = b"\0" * 32,
) -> bytes:
    return p.REQUEST_HEADER.pack(magic, version, flags, name_len, payload_len, digest)


def unread_bytes(port: int) -> int:
    """Bytes waiting in the receive queues of the server side of connections to ``port`` (Linux)."""
    unread = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED, on the listening side
            unread += int(fields[4].split(":")[1], 16)
    return unread


def wait_read(port: int, timeout: float = TIMEOUT) -> bool:
    """Wait until the server on ``port`` has read everything its peers sent."""
    import time

    deadline = time.monotonic() + timeout
    while unread_bytes(port) and time.monotonic() < deadline:
        time.sleep(0.005)
    return unread_bytes(port) == 0
