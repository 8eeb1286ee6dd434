"""The image server: receive, verify, store atomically, classify, reply. Runs in background threads.

Design decisions (the issue leaves these to us):

* One thread per connection, bounded by ``max_connections``. A connection over the limit gets a
  ``busy`` reply instead of the HELLO and is closed at once, so it never takes a thread.
* Time-outs: ``idle_timeout`` bounds the wait for a frame to begin; ``read_timeout`` bounds the *whole*
  frame from its first byte (and the TLS handshake), so a slowloris client that drips one byte at a
  time is dropped as surely as a stalled one. Replies are sent under the same ``read_timeout``, so a
  client that never reads cannot pin a thread either.
* A payload is received into memory (it has to be decoded to be verified and classified anyway), hashed
  chunk by chunk as it arrives, and only touches the disk once its SHA-256 matched and its header
  parsed. Peak memory is therefore bounded by ``max_connections * max_payload``.
* The image header is always parsed, which is cheap and enforces ``max_pixels`` before OpenCV sees the
  bytes; a full decode (``verify_images``) is on by default.
* Authentication is checked before the payload is read: an unauthenticated peer cannot make the server
  allocate, hash or write a payload.
* The server never prints: it logs (``imgclass.transfer.server``) and keeps ``received`` and
  ``rejected`` records (the last ``history`` of each).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import ipaddress
import logging
import os
import secrets
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol, cast

from imgclass.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image
from imgclass.headers import ImageHeader, read_header
from imgclass.transfer import protocol as p
from imgclass.transfer.protocol import DEFAULT_PORT, ProtocolError, Reply, Verdict
from imgclass.transfer.store import ImageStore
from imgclass.transfer.wire import (
    Deadline,
    FrameTimeout,
    PeerClosed,
    Reader,
    drain,
    send_parts,
    tls_handshake,
)

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PORT", "Classifier", "ImageServer", "Received", "Rejected"]

MIN_TOKEN_BYTES: Final = 16
#: After a fatal error, how much of what the client is still sending we read, so the kernel does not
#: answer it with a reset that would destroy our error reply.
_DRAIN_BYTES: Final = 1 << 20
_DRAIN_SECONDS: Final = 1.0
#: A connection keeps its payload buffer between frames up to this size, saving an allocation (and
#: the page faults of touching fresh memory) per frame; larger ones are released after use.
_KEEP_BUFFER: Final = 16 * 1024 * 1024
#: The image header is parsed from a copy of this much of the payload, or of all of it if needed.
_HEADER_PROBE: Final = 64 * 1024


class Classifier(Protocol):
    """What the server needs of an estimator: sklearn's ``predict_proba`` over encoded images."""

    def predict_proba(self, X: Sequence[bytes], /) -> Any: ...


ClassifierSpec = Sequence[str] | Mapping[str, Classifier] | None


@dataclass(frozen=True)
class Received:
    """One image the server accepted."""

    peer: str
    name: str
    stored: str
    sha256: str
    size: int
    duplicate: bool
    verdicts: tuple[Verdict, ...]
    server_ms: float


@dataclass(frozen=True)
class Rejected:
    """One frame or connection the server refused, and why."""

    peer: str
    code: str
    message: str
    name: str | None = None


@dataclass
class _Connection:
    sock: socket.socket
    peer: str
    nonce: bytes
    seq: int = 0
    reader: Reader | None = None
    buffer: bytearray | None = None

    def payload_view(self, size: int) -> memoryview:
        if self.buffer is None or len(self.buffer) < size:
            self.buffer = bytearray(size)
        return memoryview(self.buffer)[:size]

    def release_buffer(self) -> None:
        if self.buffer is not None and len(self.buffer) > _KEEP_BUFFER:
            self.buffer = None


class ImageServer:
    """Receive images over TCP, store each once, classify it and reply. A context manager.

    ``classifiers`` is a list of names for :func:`imgclass.ready.ready`, a mapping
    name -> estimator, or ``None`` for those ready without fitting
    (:func:`imgclass.ready.ready_names`: shipped models and fixed rules). An empty list turns
    classification off.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        out_dir: str | os.PathLike[str] = "received",
        classifiers: ClassifierSpec = None,
        *,
        max_payload: int = p.DEFAULT_MAX_PAYLOAD,
        max_connections: int = 32,
        read_timeout: float = 30.0,
        idle_timeout: float = 60.0,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        verify_images: bool = True,
        durable: bool = True,
        allow_remote: bool = False,
        token: str | bytes | None = None,
        ssl_context: ssl.SSLContext | None = None,
        history: int | None = 10_000,
    ) -> None:
        for what, value in (("max_payload", max_payload), ("max_connections", max_connections),
                            ("max_pixels", max_pixels)):  # fmt: skip
            if value < 1:
                raise ValueError(f"{what} must be at least 1, got {value}")
        for what, seconds in (("read_timeout", read_timeout), ("idle_timeout", idle_timeout)):
            if not seconds > 0:
                raise ValueError(f"{what} must be positive, got {seconds}")
        self._key = _token_key(token)
        self._bind_host = _check_bind_policy(host, allow_remote=allow_remote, has_token=self._key is not None)
        self._port = port
        self.out_dir = Path(out_dir)
        self.max_payload = max_payload
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_pixels = max_pixels
        self.verify_images = verify_images
        self.durable = durable
        self.ssl_context = ssl_context
        self.classifiers: dict[str, Classifier] = _resolve_classifiers(classifiers)

        self._cond = threading.Condition()
        self._received: collections.deque[Received] = collections.deque(maxlen=history)
        self._rejected: collections.deque[Rejected] = collections.deque(maxlen=history)
        self._connections: dict[int, _Connection] = {}
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._store: ImageStore | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> ImageServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the server listens on; the real port when it was started with port 0."""
        if self._listener is None:
            raise ValueError("the server is not running")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def running(self) -> bool:
        return self._listener is not None and not self._stopping.is_set()

    def start(self) -> ImageServer:
        if self._listener is not None:
            raise ValueError("the server is already running")
        self._store = ImageStore(self.out_dir, durable=self.durable)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._bind_host, self._port))
            listener.listen(min(128, max(16, self.max_connections * 2)))
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._wake_r, self._wake_w = socket.socketpair()
        self._listener = listener
        self._stopping.clear()
        self._stopped.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(listener, self._wake_r), name="imgclass-accept", daemon=True
        )
        self._accept_thread.start()
        host, port = self.address
        logger.info("listening on %s:%d, storing in %s, classifiers %s", host, port, self.out_dir,
                    list(self.classifiers) or "off")  # fmt: skip
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, close every connection, wait for the handlers. Idempotent."""
        if self._listener is None:
            return
        self._stopping.set()
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        with self._cond:
            connections = list(self._connections.values())
            threads = list(self._threads)
        for conn in connections:
            _shutdown(conn.sock)
        deadline = Deadline(timeout)
        for thread in threads:
            thread.join(max(0.0, deadline.remaining() or 0.0))
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._listener = self._wake_r = self._wake_w = None
        if self._store is not None:
            self._store.remove_temporaries()
            self._store.close()
        self._stopped.set()
        logger.info("stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` has finished (for a foreground server); ``False`` on time-out."""
        return self._stopped.wait(timeout)

    # ------------------------------------------------------------------ results

    @property
    def received(self) -> list[Received]:
        with self._cond:
            return list(self._received)

    @property
    def rejected(self) -> list[Rejected]:
        with self._cond:
            return list(self._rejected)

    @property
    def active_connections(self) -> int:
        with self._cond:
            return len(self._connections)

    def wait_until(self, predicate: Callable[[ImageServer], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds; it is re-checked whenever a connection opens or
        closes or a frame is received or rejected. ``False`` on time-out."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    # ------------------------------------------------------------------ accepting

    def _accept_loop(self, listener: socket.socket, wake: socket.socket) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(listener, selectors.EVENT_READ)
            sel.register(wake, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is wake:
                        return
                    try:
                        sock, addr = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        logger.exception("accept failed")
                        continue
                    self._admit(sock, f"{addr[0]}:{addr[1]}")

    def _admit(self, sock: socket.socket, peer: str) -> None:
        sock.setblocking(True)
        with self._cond:
            busy = len(self._connections) >= self.max_connections
            if not busy:
                conn = _Connection(sock, peer, secrets.token_bytes(p.NONCE_SIZE))
                self._connections[id(conn)] = conn
                thread = threading.Thread(target=self._serve, args=(conn,), name=f"imgclass-{peer}", daemon=True)
                self._threads.add(thread)
                thread.start()
                self._cond.notify_all()
        if busy:
            message = f"the server is at its limit of {self.max_connections} connections"
            self._record_rejected(Rejected(peer, "busy", message))
            try:
                # A TLS client expects a handshake, not plain bytes, and a handshake here would let
                # slow peers stall the accept loop: it just gets closed (and retries).
                if self.ssl_context is None:
                    sock.settimeout(1.0)
                    sock.sendall(p.encode_server_frame(p.KIND_REPLY, Reply.error("busy", message).to_json()))
            except OSError:
                pass
            finally:
                sock.close()

    # ------------------------------------------------------------------ one connection

    def _serve(self, conn: _Connection) -> None:
        try:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                tls = self.ssl_context.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)
                with self._cond:
                    conn.sock = tls
                tls_handshake(tls, Deadline(self.read_timeout, "TLS handshake"))
                tls.setblocking(True)
            conn.reader = Reader(conn.sock)
            hello = p.Hello(
                nonce=conn.nonce, auth=self._key is not None, max_payload=self.max_payload,
                max_pixels=self.max_pixels, classifiers=tuple(self.classifiers),
                read_timeout=self.read_timeout, idle_timeout=self.idle_timeout,
            )  # fmt: skip
            self._send(conn, p.encode_server_frame(p.KIND_HELLO, hello.to_json()))
            while not self._stopping.is_set() and self._serve_frame(conn):
                pass
        except PeerClosed:
            pass
        except FrameTimeout as exc:
            self._record_rejected(Rejected(conn.peer, exc.code, str(exc)))
        except (OSError, ssl.SSLError) as exc:
            if not self._stopping.is_set():
                self._record_rejected(Rejected(conn.peer, "bad-frame", f"connection failed: {exc}"))
        except Exception:
            logger.exception("connection from %s failed", conn.peer)
        finally:
            conn.sock.close()
            with self._cond:
                self._connections.pop(id(conn), None)
                self._threads.discard(threading.current_thread())
                self._cond.notify_all()

    def _serve_frame(self, conn: _Connection) -> bool:
        """Serve one frame; ``False`` when the connection must close."""
        reader = conn.reader
        if reader is None:
            raise ValueError("connection has no reader")
        started = time.perf_counter()
        seq = conn.seq
        name: str | None = None
        header: p.RequestHeader | None = None
        try:
            reader.wait_frame(Deadline(self.idle_timeout, "idle connection", "idle-timeout"))
            started = time.perf_counter()
            conn.seq += 1
            deadline = Deadline(self.read_timeout, "frame")
            header = p.parse_request_header(reader.read(p.REQUEST_HEADER.size, deadline), max_payload=self.max_payload)
            raw_name, tag = p.split_tail(header, reader.read(header.tail_len, deadline))
            name = p.decode_name(raw_name)
            p.check_request_auth(header, raw_name, tag, key=self._key, nonce=conn.nonce, seq=seq)
            payload = conn.payload_view(header.payload_len)
            hasher = hashlib.sha256()
            reader.read_into(payload, deadline, hasher)
            p.check_digest(header, hasher.digest())
            reply = self._accept(conn, name, header.digest.hex(), payload, started)
        except ProtocolError as exc:
            declared = header.digest.hex() if header is not None else None
            reply = Reply.error(exc.code, str(exc), name=name, sha256=declared, server_ms=_ms(started))
            self._record_rejected(Rejected(conn.peer, exc.code, str(exc), name))
        finally:
            conn.release_buffer()
        frame = p.encode_server_frame(p.KIND_REPLY, reply.to_json(), key=self._key, nonce=conn.nonce, seq=seq)
        if not reply.close:
            self._send(conn, frame)
            return True
        try:
            # Best effort: the peer may be gone already, which is often why we are closing.
            self._send(conn, frame)
        except OSError:
            return False
        if reply.code not in ("timeout", "idle-timeout"):  # a slow or silent peer has nothing to drain
            drain(conn.sock, _DRAIN_BYTES, _DRAIN_SECONDS)
        return False

    def _accept(self, conn: _Connection, name: str, hexdigest: str, payload: memoryview, started: float) -> Reply:
        """Check a payload whose digest matched, store it, classify it: the success path."""
        store = self._store
        if store is None:
            raise ProtocolError("the server is not running", code="internal")
        data = bytes(payload) if self.verify_images or self.classifiers else None
        info = _read_image_header(payload if data is None else data)
        if info.pixels > self.max_pixels:
            raise ProtocolError(
                f"{info.format} image of {info.width}x{info.height} pixels exceeds the limit of "
                f"{self.max_pixels} pixels", code="too-many-pixels",
            )  # fmt: skip
        if data is not None and self.verify_images and store.lookup(hexdigest) is None:
            _verify_decodes(data, self.max_pixels)
        try:
            stored = store.store(name, payload, hexdigest, info.format)
        except OSError as exc:
            logger.exception("could not store %r from %s", name, conn.peer)
            raise ProtocolError(f"could not store the image: {exc}", code="internal") from None
        verdicts = self._classify(data) if data is not None and self.classifiers else ()
        server_ms = _ms(started)
        self._record_received(Received(conn.peer, name, stored.name, hexdigest, len(payload), stored.duplicate,
                                       verdicts, server_ms))  # fmt: skip
        logger.debug("%s: %r stored as %s (%d bytes, duplicate=%s)", conn.peer, name, stored.name, len(payload),
                     stored.duplicate)  # fmt: skip
        return Reply(
            status="ok", name=name, stored=stored.name, sha256=hexdigest, size=len(payload),
            duplicate=stored.duplicate, format=info.format, width=info.width, height=info.height,
            verdicts=verdicts, server_ms=server_ms,
        )  # fmt: skip

    def _classify(self, data: bytes) -> tuple[Verdict, ...]:
        from imgclass.labels import label_name

        verdicts = []
        for cname, estimator in self.classifiers.items():
            try:
                proba = estimator.predict_proba([data])
                p_real, p_animated = float(proba[0][0]), float(proba[0][1])
                verdicts.append(Verdict(cname, label_name(int(p_animated > p_real)), p_animated))
            except Exception as exc:
                # One broken classifier must not cost the client its other verdicts or its stored image.
                logger.exception("classifier %s failed", cname)
                verdicts.append(Verdict(cname, None, None, error=f"{type(exc).__name__}: {exc}"))
        return tuple(verdicts)

    def _send(self, conn: _Connection, frame: bytes) -> None:
        # The same bound as for reads: a client that never reads its replies cannot pin this thread.
        # (Only re-armed when it differs: each settimeout is a system call.)
        if conn.sock.gettimeout() != self.read_timeout:
            conn.sock.settimeout(self.read_timeout)
        send_parts(conn.sock, [frame])

    def _record_received(self, item: Received) -> None:
        with self._cond:
            self._received.append(item)
            self._cond.notify_all()

    def _record_rejected(self, item: Rejected) -> None:
        logger.warning("%s: refused %s: %s: %s", item.peer, "frame" if item.name is None else repr(item.name),
                       item.code, item.message)  # fmt: skip
        with self._cond:
            self._rejected.append(item)
            self._cond.notify_all()


def _read_image_header(payload: bytes | memoryview) -> ImageHeader:
    """The image header, parsed from a small prefix when that suffices (no copy of a large payload)."""
    try:
        if isinstance(payload, bytes):
            return read_header(payload)
        try:
            return read_header(bytes(payload[:_HEADER_PROBE]))
        except ValueError:
            if len(payload) <= _HEADER_PROBE:
                raise
            return read_header(bytes(payload))  # e.g. a JPEG whose frame header follows large metadata
    except ValueError as exc:
        raise ProtocolError(f"payload is not an image we accept: {exc}", code="not-an-image") from None


def _verify_decodes(data: bytes, max_pixels: int) -> None:
    try:
        decode_image(data, max_pixels=max_pixels)
    except ImageDecodeError as exc:
        raise ProtocolError(f"payload does not decode: {exc}", code="not-an-image") from None
    except Exception as exc:
        # OpenCV raises its own error type for some malformed inputs; to the client it is the same.
        logger.debug("decoder failed", exc_info=True)
        raise ProtocolError(f"payload does not decode: {type(exc).__name__}: {exc}", code="not-an-image") from None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _shutdown(sock: socket.socket) -> None:
    """Wake a thread blocked on ``sock`` by shutting the connection down under it.

    Through a duplicate of the descriptor, so that an ``SSLSocket`` is not torn down while another
    thread is inside its read.
    """
    try:
        fd = sock.fileno()
        if fd < 0:
            return
        with socket.socket(fileno=os.dup(fd)) as dup:
            dup.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def _token_key(token: str | bytes | None) -> bytes | None:
    if token is None:
        return None
    key = token.encode("utf-8") if isinstance(token, str) else bytes(token)
    if len(key) < MIN_TOKEN_BYTES:
        raise ValueError(f"the token must have at least {MIN_TOKEN_BYTES} bytes, got {len(key)}")
    return key


def _check_bind_policy(host: str, *, allow_remote: bool, has_token: bool) -> str:
    """Resolve ``host`` to an IPv4 address and refuse non-loopback ones unless explicitly allowed."""
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve {host!r} to an IPv4 address: {exc}") from None
    address = str(infos[0][4][0])
    if ipaddress.ip_address(address).is_loopback:
        return address
    if not allow_remote:
        raise ValueError(
            f"refusing to listen on {host} ({address}): the server binds to loopback only unless "
            "allow_remote=True (--allow-remote) is given, together with a token"
        )
    if not has_token:
        raise ValueError(f"listening on {host} ({address}) needs a shared token (and TLS is advised)")
    return address


def _resolve_classifiers(spec: ClassifierSpec) -> dict[str, Classifier]:
    if isinstance(spec, Mapping):
        return dict(spec)
    if spec is not None and not spec:
        return {}
    from imgclass.ready import ready_many, ready_names

    return {c.name: cast(Classifier, c.estimator) for c in ready_many(ready_names() if spec is None else spec)}
