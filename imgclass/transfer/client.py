"""The image client: send images, get verdicts; reconnects and retries, which the server makes safe.

Retrying is safe because the server stores each content once (by its BLAKE3 digest): resending an
image whose reply was lost stores nothing new and answers with the first copy's name
(``duplicate=True``). Retried, with exponential back-off and jitter until ``retry_for`` seconds have
passed without progress: refused, reset and aborted connections (a server restarting), a connection
closed before its reply, and the retryable error replies (``busy``, ``evicted``, ``timeout``,
``idle-timeout``, ``out-of-memory``). Not retried: client-side time-outs (the server may just be slow;
waiting again would double the wait) and protocol violations.

:meth:`ImageClient.send_many` pipelines: a sender thread reads, hashes and sends up to ``window``
frames ahead while the calling thread reads the replies, so the network, the client's hashing and the
server's work overlap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from imgclass.headers import EXTENSIONS
from imgclass.transfer import protocol as p
from imgclass.transfer.protocol import DEFAULT_PORT, Hello, ProtocolError, Reply
from imgclass.transfer.wire import Deadline, FrameTimeout, Reader, Truncated, send_parts

logger = logging.getLogger(__name__)

#: File extensions :func:`image_files` picks from a folder.
IMAGE_SUFFIXES: Final = frozenset(ext for exts in EXTENSIONS.values() for ext in exts)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview
RetryHook = Callable[[int, BaseException, float], None]

_RETRYABLE_ERRORS: Final = (ConnectionError, EOFError)


class ServerClosed(ConnectionError):
    """The server closed the connection before answering."""


@dataclass(frozen=True)
class _Frame:
    name: str
    payload: bytes | bytearray | memoryview
    digest: bytes


class ImageClient:
    """Send images to an :class:`~imgclass.transfer.server.ImageServer`. A context manager.

    ``timeout`` bounds connecting and each wait for the server (the reply included). A failed call is
    retried until ``retry_for`` seconds have passed without progress (and, if ``retries`` is given, at
    most that many times in a row), waiting ``backoff * 2**attempt`` seconds in between, at most
    ``max_backoff``, times a random factor in [0.5, 1] so that many clients do not come back at once;
    ``on_retry(attempt, error, delay)`` is told first.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        timeout: float = 30.0,
        token: str | bytes | None = None,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        retries: int | None = None,
        retry_for: float = 30.0,
        backoff: float = 0.1,
        max_backoff: float = 2.0,
        on_retry: RetryHook | None = None,
    ) -> None:
        if (retries is not None and retries < 0) or backoff < 0 or retry_for < 0:
            raise ValueError("retries, retry_for and backoff must not be negative")
        self.host = host
        self.port = port
        self.timeout = timeout
        self._key = None if token is None else p.derive_key(token)
        self.retry_for = retry_for
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or host
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.on_retry = on_retry
        self._sock: socket.socket | None = None
        self._reader: Reader | None = None
        self._hello: Hello | None = None
        self._send_seq = 0
        self._recv_seq = 0

    # ------------------------------------------------------------------ connection

    def __enter__(self) -> ImageClient:
        self._with_retries(self._ensure_connected)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def hello(self) -> Hello:
        """What the server announced on the current connection (connects if needed)."""
        self._with_retries(self._ensure_connected)
        if self._hello is None:  # pragma: no cover - _ensure_connected sets it
            raise ProtocolError("no HELLO from the server")
        return self._hello

    def close(self) -> None:
        sock, self._sock, self._hello, self._reader = self._sock, None, None, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _ensure_connected(self) -> socket.socket:
        if self._sock is not None and not self._dropped():
            return self._sock
        self.close()
        raw = _connect_ipv4(self.host, self.port, self.timeout)
        sock = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                try:
                    sock = self.ssl_context.wrap_socket(raw, server_hostname=self.server_hostname)
                except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
                    # What a TLS server at its connection limit does: closes before the handshake.
                    raise ServerClosed(f"server closed the connection during the TLS handshake: {exc}") from None
            sock.settimeout(self.timeout)
            self._reader = Reader(sock)
            kind, body = self._read_server_frame(key=None, nonce=b"", seq=0)
            if kind == p.KIND_REPLY:
                reply = Reply.from_json(body)
                if reply.retryable:
                    raise ServerClosed(f"server refused the connection: {reply.code}: {reply.message}")
                raise ProtocolError(f"server answered the connection with {reply.code}: {reply.message}", reply.code
                                    or "bad-frame")  # fmt: skip
            hello = Hello.from_json(body)
        except BaseException:
            self._reader = None
            sock.close()
            raw.close()
            raise
        if hello.auth and self._key is None:
            sock.close()
            raise ProtocolError("the server requires a token")
        if not hello.auth and self._key is not None:
            # A token we would not use means this is not the server we meant: refuse rather than
            # silently send images to it unauthenticated.
            sock.close()
            raise ProtocolError("we have a token but the server does not ask for authentication")
        self._sock, self._hello = sock, hello
        self._send_seq = self._recv_seq = 0
        return sock

    def _dropped(self) -> bool:
        """Whether the server has closed (or said something unasked on) our idle connection."""
        if self._sock is None or self._reader is None or self._reader.buffered:
            return True
        if isinstance(self._sock, ssl.SSLSocket) and self._sock.pending():
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _with_retries(self, action: Callable[[], object]) -> None:
        giving_up = time.monotonic() + self.retry_for
        attempt = 0
        while True:
            try:
                action()
                return
            except _RETRYABLE_ERRORS as exc:
                self.close()
                self._pause(attempt, exc, giving_up)
                attempt += 1
            except BaseException:
                # Whatever went wrong, we no longer know where the stream stands.
                self.close()
                raise

    def _pause(self, attempt: int, exc: BaseException, giving_up: float) -> None:
        """Wait before retry number ``attempt + 1``, or re-raise ``exc`` when the budget is spent."""
        left = giving_up - time.monotonic()
        if left <= 0 or (self.retries is not None and attempt >= self.retries):
            raise exc
        delay = min(self.max_backoff, self.backoff * 2**attempt, left) * random.uniform(0.5, 1.0)
        logger.info("retrying in %.2f s after %s", delay, exc)
        if self.on_retry is not None:
            self.on_retry(attempt + 1, exc, delay)
        time.sleep(delay)

    # ------------------------------------------------------------------ sending

    def send(self, source: Source, *, name: str | None = None) -> Reply:
        """Send one image (a path, or encoded bytes) and wait for the server's reply."""
        frame = _load(source, name)
        self._check_size(frame)
        result: list[Reply] = []
        refused: list[Reply] = []

        def attempt() -> None:
            refused.clear()
            sock = self._ensure_connected()
            self._send_frame(sock, frame)
            reply = self._read_reply()
            if reply.retryable:
                refused.append(reply)
                raise ServerClosed(f"{reply.code}: {reply.message}")
            result.append(reply)

        try:
            self._with_retries(attempt)
        except ServerClosed:
            if refused:  # out of retries on a retryable error reply: that reply is the answer
                return refused[0]
            raise
        return result[0]

    def send_many(
        self,
        sources: Iterable[Source] | str | os.PathLike[str],
        *,
        progress: bool = True,
        window: int = 8,
        on_reply: Callable[[int, Reply], object] | None = None,
    ) -> list[Reply]:
        """Send many images over one connection, pipelined, with a progress bar; replies in order.

        ``sources`` is an iterable of paths or bytes, or one folder, whose image files are sent (see
        :func:`image_files`). Error replies are returned, not raised; a file too large for the server
        gets a local ``too-large`` reply without being sent. ``on_reply(index, reply)`` is called once
        per item as its reply arrives (from the calling thread, or the sender's for local replies).
        """
        from imgclass.progress import progress as progress_bar

        if window < 1:
            raise ValueError("window must be at least 1")
        items: list[Source] = list(image_files(sources)) if isinstance(sources, (str, os.PathLike)) else list(sources)
        replies: list[Reply | None] = [None] * len(items)
        with progress_bar(total=len(items), enabled=progress, unit="img", desc="sending") as bar:

            def done(i: int, reply: Reply) -> None:
                replies[i] = reply
                bar.update(1)
                if on_reply is not None:
                    on_reply(i, reply)

            pending = list(range(len(items)))
            attempt = 0
            giving_up = time.monotonic() + self.retry_for
            while pending:
                try:
                    self._pipeline(items, pending, done, window)
                except _RETRYABLE_ERRORS as exc:
                    self.close()
                    before, pending = len(pending), [i for i in pending if replies[i] is None]
                    # The budget is per stall, not per batch: a long stream may survive many hiccups.
                    if len(pending) < before:
                        attempt, giving_up = 0, time.monotonic() + self.retry_for
                    self._pause(attempt, exc, giving_up)
                    attempt += 1
                except BaseException:
                    self.close()
                    raise
                pending = [i for i in pending if replies[i] is None]
        return [r for r in replies if r is not None]

    def _pipeline(
        self,
        items: list[Source],
        pending: list[int],
        done: Callable[[int, Reply], None],
        window: int,
    ) -> None:
        sock = self._ensure_connected()
        in_flight: queue.Queue[int | None] = queue.Queue()
        slots = threading.Semaphore(window)
        stop = threading.Event()
        failure: list[BaseException] = []

        def produce() -> None:
            try:
                for i, frame in _prefetched(items, pending):
                    if len(frame.payload) > self._max_payload():
                        done(i, _too_large(frame, self._max_payload()))
                        continue
                    slots.acquire()
                    if stop.is_set():
                        return
                    self._send_frame(sock, frame)
                    in_flight.put(i)
            except BaseException as exc:
                failure.append(exc)
            finally:
                in_flight.put(None)

        sender = threading.Thread(target=produce, name="imgclass-send", daemon=True)
        sender.start()
        try:
            while (i := in_flight.get()) is not None:
                reply = self._read_reply()
                slots.release()
                if reply.retryable:
                    raise ServerClosed(f"{reply.code}: {reply.message}")
                done(i, reply)
                if reply.close:
                    raise ServerClosed(f"server closed the connection after {reply.code}")
        except BaseException:
            stop.set()
            slots.release()
            _shutdown(sock)  # unblocks a sender stuck in sendall
            raise
        finally:
            sender.join()
        if failure:
            raise failure[0]

    def _send_frame(self, sock: socket.socket, frame: _Frame) -> None:
        hello = self._hello
        nonce = hello.nonce if hello is not None else b""
        head = p.encode_request_head(
            frame.name, len(frame.payload), frame.digest, key=self._key, nonce=nonce, seq=self._send_seq
        )
        self._send_seq += 1
        send_parts(sock, [head, frame.payload])

    def _read_reply(self) -> Reply:
        hello = self._hello
        nonce = hello.nonce if hello is not None else b""
        kind, body = self._read_server_frame(key=self._key, nonce=nonce, seq=self._recv_seq)
        self._recv_seq += 1
        if kind != p.KIND_REPLY:
            raise ProtocolError("expected a REPLY frame, got a HELLO")
        return Reply.from_json(body)

    def _read_server_frame(self, *, key: bytes | None, nonce: bytes, seq: int) -> tuple[int, dict[str, object]]:
        reader = self._reader
        if reader is None:
            raise ServerClosed("not connected")
        deadline = Deadline(self.timeout, "reply")
        try:
            header = p.parse_server_header(reader.read(p.SERVER_HEADER.size, deadline))
            rest = reader.read(header.rest_len, deadline)
        except Truncated as exc:
            raise ServerClosed(str(exc)) from None
        except FrameTimeout:
            raise TimeoutError(f"no reply from {self.host}:{self.port} within {self.timeout:g} s") from None
        body = p.parse_body(header, rest)
        authentic = key is None or p.server_tag_ok(header, rest, key=key, nonce=nonce, seq=seq)
        # An unauthenticated *error* can do no harm (and is what a wrong token gets back); an
        # unauthenticated success could be forged, so it is refused.
        if not authentic and body.get("status") != "error":
            raise ProtocolError("server reply is not authenticated with our token")
        return header.kind, body

    def _max_payload(self) -> int:
        return self._hello.max_payload if self._hello is not None else p.DEFAULT_MAX_PAYLOAD

    def _check_size(self, frame: _Frame) -> None:
        limit = self.hello.max_payload
        if len(frame.payload) > limit:
            raise ValueError(f"{frame.name!r} has {len(frame.payload)} bytes; the server accepts at most {limit}")


def _connect_ipv4(host: str, port: int, timeout: float) -> socket.socket:
    """Connect over IPv4 only, as the server listens: "localhost" must not mean ::1."""
    infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(infos[0][4])
    except BaseException:
        sock.close()
        raise
    return sock


def image_files(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """The image files under ``folder`` (recursively, by extension, skipping hidden ones), sorted."""
    root = Path(folder)
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise ValueError(f"{root} is neither a file nor a folder")
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            yield path


def _prefetched(items: list[Source], indices: list[int]) -> Iterator[tuple[int, _Frame]]:
    """Load and hash the next item in a helper thread while the caller sends the current one.

    Hashing releases the GIL, so on a machine with a spare core the client's BLAKE3 costs no wall
    time. One item ahead bounds the extra memory to one payload.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="imgclass-hash") as pool:
        ahead: Future[_Frame] | None = None
        for n, i in enumerate(indices):
            frame = ahead.result() if ahead is not None else _load(items[i], None)
            ahead = pool.submit(_load, items[indices[n + 1]], None) if n + 1 < len(indices) else None
            yield i, frame


def _load(source: Source, name: str | None) -> _Frame:
    if isinstance(source, (bytes, bytearray, memoryview)):
        payload: bytes | bytearray | memoryview = source
        default = "image"
    else:
        path = Path(source)
        payload = path.read_bytes()
        default = path.name
    name = default if name is None else name
    raw_name = name.encode("utf-8")
    if len(raw_name) > p.MAX_NAME_BYTES:
        # The server keeps only a safe stem anyway; keep the end, where the extension is.
        name = raw_name[-p.MAX_NAME_BYTES :].decode("utf-8", errors="ignore")
    return _Frame(name, payload, p.digest(payload))


def _too_large(frame: _Frame, limit: int) -> Reply:
    return Reply.error(
        "too-large",
        f"{len(frame.payload)} bytes exceeds the server's limit of {limit} bytes (not sent)",
        name=frame.name,
        digest=frame.digest.hex(),
    )


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
