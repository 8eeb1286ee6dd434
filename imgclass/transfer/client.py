"""The image client: send images, get verdicts; keeps a window of them in flight, reconnects and retries.

Every image goes through :meth:`ImageClient.submit`, which returns a future and keeps up to ``window``
images (32 by default) sent and unanswered, so the network, the client's hashing and the server's
work overlap and the server can make a whole group of images durable with one flush.
:meth:`~ImageClient.send` is ``submit(...).result()``; :meth:`~ImageClient.send_many` submits a whole
list or folder through the same window. Two background threads serve a client while it has images in
flight: one sends frames, one reads replies, which answer requests in order.

Retrying is safe because the server stores each content once (by its BLAKE3 digest): resending an
image whose reply was lost stores nothing new and answers with the first copy's name
(``duplicate=True``). When the connection fails, every image not yet answered is sent again on a new
one, with exponential back-off and jitter, until ``retry_for`` seconds have passed without progress.
Retried: refused, reset and aborted connections (a server restarting), a connection closed before its
reply, and the retryable error replies (``busy``, ``evicted``, ``timeout``, ``idle-timeout``,
``out-of-memory``). Not retried: client-side time-outs (the server may just be slow; waiting again
would double the wait) and protocol violations, which fail every image then in flight.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from imgclass.headers import EXTENSIONS
from imgclass.transfer import protocol as p
from imgclass.transfer.protocol import DEFAULT_PORT, DEFAULT_WINDOW, Hello, ProtocolError, Reply
from imgclass.transfer.wire import Deadline, FrameTimeout, Reader, Truncated, send_parts

logger = logging.getLogger(__name__)

#: File extensions :func:`image_files` picks from a folder.
IMAGE_SUFFIXES: Final = frozenset(ext for exts in EXTENSIONS.values() for ext in exts)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview
RetryHook = Callable[[int, BaseException, float], None]

_RETRYABLE_ERRORS: Final = (ConnectionError, EOFError)


class ServerClosed(ConnectionError):
    """The server closed the connection before answering."""


class _Refused(ServerClosed):
    """A retryable error reply: worth another try, and the answer if no try is left."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.code}: {reply.message}")
        self.reply = reply


@dataclass(frozen=True)
class _Frame:
    name: str
    payload: bytes | bytearray | memoryview
    digest: bytes


@dataclass(eq=False)
class _Job:
    frame: _Frame
    future: Future[Reply]


class ImageClient:
    """Send images to an :class:`~imgclass.transfer.server.ImageServer`. A context manager.

    ``timeout`` bounds connecting and each wait for the server (the reply included). ``window``: how
    many images may be sent and unanswered at once (1 sends one image at a time). A failed
    connection is retried until ``retry_for`` seconds have passed without progress (and, if
    ``retries`` is given, at most that many times in a row), waiting ``backoff * 2**attempt`` seconds
    in between, at most ``max_backoff``, times a random factor in [0.5, 1] so that many clients do not
    come back at once; ``on_retry(attempt, error, delay)`` is told first (from the client's sending
    thread).
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
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if (retries is not None and retries < 0) or backoff < 0 or retry_for < 0:
            raise ValueError("retries, retry_for and backoff must not be negative")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
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
        self.window = window
        self._sock: socket.socket | None = None
        self._reader: Reader | None = None
        self._hello: Hello | None = None
        self._send_seq = 0
        self._recv_seq = 0
        # The images in flight, oldest first; the first ``_sent`` of them are on the current connection.
        self._cond = threading.Condition()
        self._jobs: collections.deque[_Job] = collections.deque()
        self._sent = 0
        self._answered = 0
        self._driver: threading.Thread | None = None
        #: Set while a connection is being torn down: why, and whether the reader has stopped.
        self._failure: BaseException | None = None
        self._closing = False

    # ------------------------------------------------------------------ connection

    def __enter__(self) -> ImageClient:
        self._with_retries(self._connect_idle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def hello(self) -> Hello:
        """What the server announced on the current connection (connects if needed)."""
        hello = self._hello
        if hello is not None:
            return hello
        self._with_retries(self._connect_idle)
        if self._hello is None:  # pragma: no cover - _ensure_connected sets it
            raise ProtocolError("no HELLO from the server")
        return self._hello

    def close(self) -> None:
        """Close the connection; images still in flight fail with :class:`ServerClosed`."""
        with self._cond:
            driver = self._driver
            if driver is not None:
                self._closing = True
                self._cond.notify_all()
        if driver is not None:
            sock = self._sock
            if sock is not None:
                _shutdown(sock)
            driver.join()
            with self._cond:
                self._closing = False
        self._disconnect()

    def _disconnect(self) -> None:
        sock, self._sock, self._hello, self._reader = self._sock, None, None, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _connect_idle(self) -> None:
        """Connect, unless images are in flight (then the sending thread owns the connection)."""
        with self._cond:
            if self._driver is not None:
                return
            self._ensure_connected()

    def _ensure_connected(self) -> socket.socket:
        if self._sock is not None and not self._dropped():
            return self._sock
        self._disconnect()
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
        return self._reader.input_waiting()  # poll, not select: any descriptor number

    def _with_retries(self, action: Callable[[], object]) -> None:
        giving_up = time.monotonic() + self.retry_for
        attempt = 0
        while True:
            try:
                action()
                return
            except _RETRYABLE_ERRORS as exc:
                self._disconnect()
                self._pause(attempt, exc, giving_up)
                attempt += 1
            except BaseException:
                # Whatever went wrong, we no longer know where the stream stands.
                self._disconnect()
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
        with self._cond:  # close() cuts the wait short
            self._cond.wait_for(lambda: self._closing, delay)
        if self._closing:
            raise ServerClosed("the client was closed")

    # ------------------------------------------------------------------ sending

    def send(self, source: Source, *, name: str | None = None) -> Reply:
        """Send one image (a path, or encoded bytes) and wait for the server's reply.

        A payload larger than the server accepts raises :class:`ValueError` without being sent. With
        nothing else in flight the calling thread sends and reads itself (no hand-over to the
        client's threads, which would cost a round trip's latency); otherwise the image joins the queue.
        """
        frame = _load(source, name)
        limit = self.hello.max_payload
        if len(frame.payload) > limit:
            raise ValueError(f"{frame.name!r} has {len(frame.payload)} bytes; the server accepts at most {limit}")
        me = threading.current_thread()
        with self._cond:
            inline = self._driver is None and not self._jobs
            if inline:
                self._driver = me  # the connection is ours until the reply is in
        if not inline:
            return self._submit(frame, self.window).result()
        try:
            return self._send_inline(frame)
        finally:
            with self._cond:
                self._driver = None
                if self._jobs:  # submitted by another thread meanwhile
                    self._start_driver()
                self._cond.notify_all()

    def _send_inline(self, frame: _Frame) -> Reply:
        result: list[Reply] = []

        def attempt() -> None:
            sock = self._ensure_connected()
            self._send_frame(sock, frame)
            reply = self._read_reply()
            if reply.retryable:
                raise _Refused(reply)
            result.append(reply)

        try:
            self._with_retries(attempt)
        except _Refused as exc:  # out of retries on a retryable error reply: that reply is the answer
            return exc.reply
        return result[0]

    def submit(self, source: Source, *, name: str | None = None) -> Future[Reply]:
        """Send one image without waiting for its reply: the future's result is the reply.

        Blocks while ``window`` images are in flight. Replies arrive in the order images were
        submitted. A payload larger than the server accepts gets a local ``too-large`` reply without
        being sent; a failure the client does not retry becomes the future's exception.
        """
        return self._submit(_load(source, name), self.window)

    def send_many(
        self,
        sources: Iterable[Source] | str | os.PathLike[str],
        *,
        progress: bool = True,
        window: int | None = None,
        on_reply: Callable[[int, Reply], object] | None = None,
    ) -> list[Reply]:
        """Send many images, ``window`` (default: the client's) in flight at once; replies in order.

        ``sources`` is an iterable of paths or bytes, or one folder, whose image files are sent (see
        :func:`image_files`). Error replies are returned, not raised; a file too large for the server
        gets a local ``too-large`` reply without being sent. ``on_reply(index, reply)`` is called once
        per item as its reply arrives, in order (from the client's reading thread).
        """
        from imgclass.progress import progress as progress_bar

        limit = self.window if window is None else window
        if limit < 1:
            raise ValueError("window must be at least 1")
        items: list[Source] = list(image_files(sources)) if isinstance(sources, (str, os.PathLike)) else list(sources)
        futures: list[Future[Reply]] = []
        with progress_bar(total=len(items), enabled=progress, unit="img", desc="sending") as bar:
            failed = threading.Event()

            def done(i: int, future: Future[Reply]) -> None:
                if future.exception() is not None:
                    failed.set()
                    return
                bar.update(1)
                if on_reply is not None:
                    on_reply(i, future.result())

            for i, item in enumerate(items):
                if failed.is_set():
                    break  # the error is raised below, from the first image it failed
                future = self._submit(_load(item, None), limit)
                future.add_done_callback(functools.partial(done, i))
                futures.append(future)
            return [future.result() for future in futures]

    def _submit(self, frame: _Frame, limit: int) -> Future[Reply]:
        future: Future[Reply] = Future()
        limit_bytes = self._hello.max_payload if self._hello is not None else p.DEFAULT_MAX_PAYLOAD
        if len(frame.payload) > limit_bytes:
            future.set_result(_too_large(frame, limit_bytes))
            return future
        future.set_running_or_notify_cancel()
        with self._cond:
            self._cond.wait_for(lambda: len(self._jobs) < limit)
            self._jobs.append(_Job(frame, future))
            self._cond.notify_all()
            if self._driver is None:
                self._start_driver()
        return future

    def _start_driver(self) -> None:
        """(Lock held.)"""
        self._driver = threading.Thread(target=self._drive, name="imgclass-send", daemon=True)
        self._driver.start()

    # ------------------------------------------------------------------ the two threads

    def _drive(self) -> None:
        """The sending thread: runs connections until no image is in flight, retrying failed ones."""
        attempt, giving_up = 0, time.monotonic() + self.retry_for
        while True:
            with self._cond:
                if not self._jobs or self._closing:
                    self._fail_all(ServerClosed("the client was closed"))
                    self._driver = None
                    self._cond.notify_all()
                    return
                answered = self._answered
            try:
                self._run_connection()
            except _RETRYABLE_ERRORS as exc:
                self._disconnect()
                if self._closing:
                    self._give_up(ServerClosed("the client was closed"))
                    continue
                if self._answered > answered:  # the budget is per stall, not per batch
                    attempt, giving_up = 0, time.monotonic() + self.retry_for
                try:
                    self._pause(attempt, exc, giving_up)
                except BaseException as final:
                    self._give_up(final)
                attempt += 1
            except BaseException as exc:
                # Not retried: we no longer know where the stream stands; fail what is in flight.
                self._disconnect()
                self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        with self._cond:
            if isinstance(exc, _Refused) and self._jobs:  # out of retries: that reply is the answer
                job = self._jobs.popleft()
                job.future.set_result(exc.reply)
            self._fail_all(exc)

    def _fail_all(self, exc: BaseException) -> None:
        """(Lock held.) Every image in flight fails with ``exc``."""
        jobs, self._jobs, self._sent = list(self._jobs), collections.deque(), 0
        for job in jobs:
            job.future.set_exception(exc)
        self._cond.notify_all()

    def _run_connection(self) -> None:
        """Send every image in flight on one connection and read the replies, until none is left.

        Raises what broke the connection; the images not yet answered are then sent again.
        """
        sock = self._ensure_connected()
        with self._cond:
            self._sent, self._failure = 0, None
        reader = threading.Thread(target=self._read_replies, name="imgclass-replies", daemon=True)
        reader.start()
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._failure is not None or self._closing or not self._jobs
                                        or self._sent < len(self._jobs))  # fmt: skip
                    if self._failure is not None or self._closing or not self._jobs:
                        break
                    job = self._jobs[self._sent]
                self._send_frame(sock, job.frame)
                with self._cond:
                    self._sent += 1
                    self._cond.notify_all()
        except BaseException as exc:
            self._fail_connection(exc)
        finally:
            with self._cond:
                if self._failure is None:
                    self._failure = _Done()
                self._cond.notify_all()
            reader.join()
        failure = self._failure
        if not isinstance(failure, _Done):
            raise failure

    def _fail_connection(self, exc: BaseException) -> None:
        with self._cond:
            if self._failure is None or isinstance(self._failure, _Done):
                self._failure = exc
            self._cond.notify_all()
        sock = self._sock
        if sock is not None:
            _shutdown(sock)  # unblocks the other thread, in send or recv

    def _read_replies(self) -> None:
        """The reading thread: match each reply to the oldest image sent, until told to stop."""
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._failure is not None or self._sent > 0)
                    if self._sent == 0:
                        return  # told to stop with nothing owed
                reply = self._read_reply()
                if reply.retryable:
                    raise _Refused(reply)
                with self._cond:
                    job = self._jobs.popleft()
                    self._sent -= 1
                    self._answered += 1
                    self._cond.notify_all()
                job.future.set_result(reply)
                if reply.close:
                    raise ServerClosed(f"server closed the connection after {reply.code}")
        except BaseException as exc:
            self._fail_connection(exc)

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


class _Done(Exception):
    """Marks a connection's run as ended without a failure (the reading thread then stops)."""


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
