"""The image server: receive, verify, store atomically, classify, reply. Runs in background threads.

Design decisions (the issue leaves these to us):

* One thread per connection, at most ``max_connections``. No peer can hold the slots hostage: until
  its first request's header, name and tag are in (and its TLS handshake is done), a connection has
  only ``handshake_timeout`` (5 s); one address may hold at most ``max_per_address`` slots; and when a
  new connection finds every slot (or its address's share) taken, the connection that has been idle
  longest, one not in the middle of being served, is closed with an ``evicted`` reply to make room.
  Only when every connection is being served does the newcomer get ``busy``.
* Time-outs: ``idle_timeout`` bounds the wait for a frame to begin; ``read_timeout`` bounds the *whole*
  frame from its first byte, so a slowloris client that drips one byte at a time is dropped as surely
  as a stalled one. Replies are sent under the same ``read_timeout``, so a client that never reads
  cannot pin a thread either.
* A payload is received into memory (it has to be decoded to be verified and classified anyway),
  hashed (BLAKE3) chunk by chunk as it arrives, and only touches the disk once its digest matched and
  its header parsed. Payload memory is therefore bounded by ``max_connections * max_payload``.
* Decoding is priced from the image header (width x height x channels x bytes per channel) and must
  reserve that much of ``decode_budget`` first (:mod:`imgclass.transfer.budget`), so a small PNG that
  inflates to gigabytes waits its turn instead of exhausting memory; out of memory is reported as the
  retryable ``out-of-memory``, never as ``not-an-image``.
* The image header is always parsed, which is cheap and enforces ``max_pixels`` before OpenCV sees the
  bytes; a reduced decode proves the image decodes (``verify_images``, on by default), and classifiers
  run in a process pool with one worker per core (:mod:`imgclass.transfer.classify`).
* Authentication is checked before the payload is read: an unauthenticated peer cannot make the server
  allocate, hash or write a payload.
* The server never prints: it logs (``imgclass.transfer.server``) and keeps ``received`` and
  ``rejected`` records (the last ``history`` of each).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import ipaddress
import logging
import os
import secrets
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from imgclass.decode import DEFAULT_MAX_PIXELS
from imgclass.headers import ImageHeader, read_header
from imgclass.transfer import protocol as p
from imgclass.transfer.budget import BudgetExceeded, DecodeBudget, decode_cost
from imgclass.transfer.classify import Classifier, Classifiers, ClassifierSpec, check_decodes
from imgclass.transfer.protocol import DEFAULT_PORT, ProtocolError, Reply, Verdict
from imgclass.transfer.receive import ChunkBuffer, receive_payload
from imgclass.transfer.store import Commit, ImageStore, Staged, Stored, read_staged
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

__all__ = ["DEFAULT_PORT", "Classifier", "ImageServer", "Received", "Rejected", "ServerOptions"]

MIN_TOKEN_BYTES: Final = 16
#: After a fatal error, how much of what the client is still sending we read, so the kernel does not
#: answer it with a reset that would destroy our error reply.
_DRAIN_BYTES: Final = 1 << 20
_DRAIN_SECONDS: Final = 1.0
#: Frames one connection may have between authentication and reply before the server stops reading
#: from it to answer (more than any client window needs).
_MAX_IN_FLIGHT: Final = 64
#: Closing codes after which reading on is pointless (nothing is coming, or nothing is wanted).
_NO_DRAIN: Final = frozenset({"timeout", "idle-timeout", "evicted"})
#: The first byte of every TLS record that opens a handshake.
_TLS_HANDSHAKE_RECORD: Final = 0x16


@dataclass(frozen=True)
class ServerOptions:
    """Everything an :class:`ImageServer` can be told, checked once. See the module notes for the why.

    ``classifiers``: names (or model files) for :func:`imgclass.ready.ready`, a mapping name -> estimator,
    or ``None`` for the ready ones; an empty list turns classification off. ``workers``: classifier
    processes (``None``: one per core; ``0``: classify in the connection's thread).
    ``decode_budget``: bytes all decodes in flight may use together (see :mod:`~imgclass.transfer.budget`).
    ``max_per_address``: connections one IP address may hold; loopback peers are exempt unless
    ``limit_loopback``. ``durable``: flush files and names to disk (in groups) before replying.
    """

    host: str = "127.0.0.1"
    port: int = 0
    out_dir: str | os.PathLike[str] = "received"
    classifiers: ClassifierSpec = None
    max_payload: int = p.DEFAULT_MAX_PAYLOAD
    max_connections: int = 64
    max_per_address: int = 16
    limit_loopback: bool = False
    handshake_timeout: float = 5.0
    read_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    decode_budget: int = 2 * 1024**3
    budget_wait: float = 10.0
    verify_images: bool = True
    durable: bool = True
    workers: int | None = None
    allow_remote: bool = False
    token: str | bytes | None = dataclasses.field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = None
    history: int | None = 10_000

    def __post_init__(self) -> None:
        for what in ("max_payload", "max_connections", "max_per_address", "max_pixels", "decode_budget"):
            value = getattr(self, what)
            if value < 1:
                raise ValueError(f"{what} must be at least 1, got {value}")
        for what in ("handshake_timeout", "read_timeout", "idle_timeout", "budget_wait"):
            seconds = getattr(self, what)
            if not seconds > 0:
                raise ValueError(f"{what} must be positive, got {seconds}")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"workers must not be negative, got {self.workers}")


@dataclass(frozen=True)
class Received:
    """One image the server accepted."""

    peer: str
    name: str
    stored: str
    digest: str
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


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    peer: str
    address: str
    nonce: bytes
    seq: int = 0
    reader: Reader | None = None
    #: Where payload bytes land and are hashed before they are written on (allocated on first use).
    buffer: ChunkBuffer = dataclasses.field(default_factory=ChunkBuffer)
    #: Frames authenticated and not yet answered, oldest first.
    pending: collections.deque[_Frame] = dataclasses.field(default_factory=collections.deque)
    #: When the connection last made progress: opened, had a frame authenticated, or was answered.
    active: float = dataclasses.field(default_factory=time.monotonic)
    #: Between a frame's authentication and its reply: not to be evicted.
    working: bool = False
    evicted: bool = False


@dataclass(frozen=True)
class _Checked:
    """A payload that passed every check, staged in its temporary file, with what its reply says."""

    staged: Staged
    size: int
    info: ImageHeader
    verdicts: tuple[Verdict, ...]


@dataclass(eq=False)
class _Frame:
    """One request on its way from receipt to reply: an error reply, or a payload being checked (in
    the server's pool), checked, or being committed to the store with the frames around it."""

    seq: int
    started: float
    name: str | None = None
    digest: str | None = None
    error: Reply | None = None
    checked: _Checked | None = None
    future: Future[_Checked] | None = None
    commit: Commit | None = None
    #: This frame's place in its commit's batch.
    slot: int = 0

    @property
    def closes(self) -> bool:
        return self.error is not None and self.error.close

    def checking(self) -> bool:
        return self.future is not None and not self.future.done()

    def answerable(self) -> bool:
        """Whether its reply can be written now (the frames before it permitting)."""
        if self.future is not None:
            return False
        return self.error is not None or (self.commit is not None and self.commit.done)

    def settle(self) -> None:
        """Wait for the check, if it runs in the pool, and take its outcome."""
        future, self.future = self.future, None
        if future is None:
            return
        try:
            self.checked = future.result()
        except ProtocolError as exc:
            self.error = Reply.error(exc.code, str(exc), name=self.name, digest=self.digest)
        except Exception as exc:  # a bug, not the client's fault: answer, log, keep serving
            logger.exception("checking %r failed", self.name)
            self.error = Reply.error("internal", f"the server failed checking the image: {exc}", name=self.name,
                                     digest=self.digest)  # fmt: skip

    def discard(self) -> None:
        """Abandon the frame unanswered: remove its temporary file, unless a commit has it."""
        with contextlib.suppress(Exception):
            self.settle()
        if self.checked is not None and self.commit is None:
            self.checked.staged.discard()


class ImageServer:
    """Receive images over TCP, store each once, classify it and reply. A context manager.

    Configure with a :class:`ServerOptions` (``ImageServer(options)``), or with its fields as keywords
    (``ImageServer(out_dir="in", classifiers=[])``), or both: keywords override the options' fields.
    The first four fields may also be given by position, as before: ``ImageServer(host, port, out_dir,
    classifiers)``.
    """

    def __init__(self, options: ServerOptions | str | None = None, /, *positional: Any, **overrides: Any) -> None:
        if isinstance(options, str):
            positional, options = (options, *positional), None
        if len(positional) > 4:
            raise TypeError("ImageServer takes at most host, port, out_dir and classifiers by position")
        overrides.update(zip(("host", "port", "out_dir", "classifiers"), positional, strict=False))
        options = dataclasses.replace(options or ServerOptions(), **overrides)
        self.options = options
        self._key = _token_key(options.token)
        self._bind_host = _check_bind_policy(options.host, allow_remote=options.allow_remote,
                                             has_token=self._key is not None)  # fmt: skip
        self.out_dir = Path(options.out_dir)
        workers = options.workers if options.workers is not None else (os.cpu_count() or 1)
        self._classifiers = Classifiers(options.classifiers, workers)
        self.classifiers: tuple[str, ...] = self._classifiers.names
        self.budget = DecodeBudget(options.decode_budget)
        #: Whether a payload is decoded before its reply (the server's check, or the classifiers').
        self._decodes = bool(self.classifiers) or options.verify_images
        self._checkers = max(2, os.cpu_count() or 1) + self._classifiers.workers
        self._pool: ThreadPoolExecutor | None = None

        self._cond = threading.Condition()
        self._received: collections.deque[Received] = collections.deque(maxlen=options.history)
        self._rejected: collections.deque[Rejected] = collections.deque(maxlen=options.history)
        self._connections: dict[int, _Connection] = {}
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._store: ImageStore | None = None

    # Read-only views of the options, for callers of the old keyword interface.
    @property
    def max_payload(self) -> int:
        return self.options.max_payload

    @property
    def max_connections(self) -> int:
        return self.options.max_connections

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self.options.ssl_context

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
        opts = self.options
        self._store = ImageStore(self.out_dir, durable=opts.durable)
        self._classifiers.start()
        # Decodes release the GIL, so threads check one connection's pipelined images on every core.
        self._pool = ThreadPoolExecutor(self._checkers, thread_name_prefix="imgclass-check")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._bind_host, opts.port))
            listener.listen(min(1024, max(64, opts.max_connections * 4)))
            listener.setblocking(False)
        except OSError:
            listener.close()
            self._classifiers.close()
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
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
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._classifiers.close()
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

    @property
    def store(self) -> ImageStore | None:
        return self._store

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
                    self._admit(sock, str(addr[0]), f"{addr[0]}:{addr[1]}")

    def _limits_address(self, address: str) -> bool:
        return self.options.limit_loopback or not ipaddress.ip_address(address).is_loopback

    def _make_room(self, address: str) -> str | None:
        """Free a slot for a newcomer from ``address`` (lock held); the refusal message if none can be."""
        opts = self.options
        # Connections already evicted are on their way out: they no longer count against any limit.
        candidates = [c for c in self._connections.values() if not c.evicted]
        limit = opts.max_connections
        if self._limits_address(address):
            mine = [c for c in candidates if c.address == address]
            if len(mine) >= opts.max_per_address:
                candidates, limit = mine, opts.max_per_address
        if len(candidates) < limit:
            return None
        idle = [c for c in candidates if not c.working]
        if not idle:
            scope = f"{limit} connections" + (" from your address" if limit != opts.max_connections else "")
            return f"the server is at its limit of {scope}, all of them busy"
        victim = min(idle, key=lambda c: c.active)
        victim.evicted = True
        # Shutting down the read side wakes its thread (blocked in recv) with an end of stream; the
        # thread sends the "evicted" reply itself, so no two threads ever write to one socket.
        _shutdown(victim.sock, socket.SHUT_RD)
        return None

    def _admit(self, sock: socket.socket, address: str, peer: str) -> None:
        sock.setblocking(True)
        with self._cond:
            refusal = self._make_room(address)
            if refusal is None:
                conn = _Connection(sock, peer, address, secrets.token_bytes(p.NONCE_SIZE))
                self._connections[id(conn)] = conn
                thread = threading.Thread(target=self._serve, args=(conn,), name=f"imgclass-{peer}", daemon=True)
                self._threads.add(thread)
                thread.start()
                self._cond.notify_all()
        if refusal is not None:
            self._record_rejected(Rejected(peer, "busy", refusal))
            try:
                # A TLS client expects a handshake, not plain bytes, and a handshake here would let
                # slow peers stall the accept loop: it just gets closed (and retries).
                if self.options.ssl_context is None:
                    sock.settimeout(1.0)
                    sock.sendall(p.encode_server_frame(p.KIND_REPLY, Reply.error("busy", refusal).to_json()))
            except OSError:
                pass
            finally:
                sock.close()

    # ------------------------------------------------------------------ one connection

    def _hello(self, conn: _Connection) -> p.Hello:
        opts = self.options
        return p.Hello(
            nonce=conn.nonce, auth=self._key is not None, max_payload=opts.max_payload,
            max_pixels=opts.max_pixels, classifiers=self.classifiers, read_timeout=opts.read_timeout,
            idle_timeout=opts.idle_timeout, handshake_timeout=opts.handshake_timeout,
        )  # fmt: skip

    def _serve(self, conn: _Connection) -> None:
        opts = self.options
        # Until the first request is authenticated, everything shares this one short deadline.
        first = Deadline(opts.handshake_timeout, "connection's first frame")
        closing: _Frame | None = None
        try:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if opts.ssl_context is not None:
                if not self._tls_client_hello(conn, first):
                    return
                tls = opts.ssl_context.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)
                with self._cond:
                    conn.sock = tls
                tls_handshake(tls, first)
                tls.setblocking(True)
            reader = conn.reader = Reader(conn.sock)
            self._send(conn, p.encode_server_frame(p.KIND_HELLO, self._hello(conn).to_json()))
            while not self._stopping.is_set():
                if conn.pending:
                    # While more requests are already here, read them: their images then share a
                    # commit's flush. Never wait on the peer with an answer owed.
                    more = len(conn.pending) < _MAX_IN_FLIGHT and reader.input_waiting()
                    self._advance(conn, background=more)
                    if conn.pending and not more:
                        self._wait_progress(conn)
                        continue
                try:
                    frame = self._receive(conn, first if conn.seq == 0 else None)
                except PeerClosed:
                    break
                conn.pending.append(frame)
                if frame.closes:
                    closing = frame
                    break
            while conn.pending:
                self._advance(conn, background=False)
                if conn.pending:
                    self._wait_progress(conn)
            if closing is not None and closing.error is not None and closing.error.code not in _NO_DRAIN:
                drain(conn.sock, _DRAIN_BYTES, _DRAIN_SECONDS)
        except PeerClosed:
            pass
        except FrameTimeout as exc:
            self._record_rejected(Rejected(conn.peer, exc.code, str(exc)))
        except (OSError, ssl.SSLError) as exc:
            if conn.evicted:
                self._record_rejected(Rejected(conn.peer, "evicted", "closed to make room for a new connection"))
            elif not self._stopping.is_set() and closing is None:
                self._record_rejected(Rejected(conn.peer, "bad-frame", f"connection failed: {exc}"))
        except Exception:
            logger.exception("connection from %s failed", conn.peer)
        finally:
            for frame in conn.pending:  # never answered (the peer went away): nothing of them is kept
                frame.discard()
            conn.pending.clear()
            conn.sock.close()
            with self._cond:
                self._connections.pop(id(conn), None)
                self._threads.discard(threading.current_thread())
                self._cond.notify_all()

    def _tls_client_hello(self, conn: _Connection, deadline: Deadline) -> bool:
        """Whether the peer opened a TLS handshake. A plain client, which waits for our HELLO and
        sends nothing (or sends a request), is told in plain text that TLS is required."""
        byte = b""
        with contextlib.suppress(OSError):
            conn.sock.settimeout(max(0.001, deadline.remaining() or 0.0))
            byte = conn.sock.recv(1, socket.MSG_PEEK)
        if byte and byte[0] == _TLS_HANDSHAKE_RECORD:
            conn.sock.settimeout(None)
            return True
        if conn.evicted:
            return False
        message = "this server speaks TLS only: connect with TLS (imgclass send --tls)"
        self._record_rejected(Rejected(conn.peer, "tls-required", message))
        with contextlib.suppress(OSError):
            conn.sock.settimeout(1.0)
            conn.sock.sendall(p.encode_server_frame(p.KIND_REPLY, Reply.error("tls-required", message).to_json()))
        return False

    # ------------------------------------------------------------------ receiving

    def _receive(self, conn: _Connection, first: Deadline | None) -> _Frame:
        """Read one request frame and start checking it; an error becomes the frame's reply.

        ``first``: the deadline of a connection's first frame, which covers its wait and everything up
        to its authentication. :class:`PeerClosed` when the peer closed cleanly between frames.
        """
        reader = conn.reader
        if reader is None:
            raise ValueError("connection has no reader")
        opts = self.options
        frame = _Frame(conn.seq, time.perf_counter())
        header: p.RequestHeader | None = None
        try:
            try:
                wait = Deadline(opts.idle_timeout, "idle connection", "idle-timeout")
                if first is not None and (first.remaining() or 0.0) < opts.idle_timeout:
                    wait = first  # a new connection's wait ends with whichever deadline comes first
                reader.wait_frame(wait)
            except PeerClosed:
                if conn.evicted:
                    raise ProtocolError("closed to make room for a new connection", code="evicted") from None
                raise
            frame.started = time.perf_counter()
            conn.seq += 1
            deadline = Deadline(opts.read_timeout, "frame")
            head = first or deadline
            header = p.parse_request_header(reader.read(p.REQUEST_HEADER.size, head), max_payload=opts.max_payload)
            frame.digest = header.digest.hex()
            raw_name, tag = p.split_tail(header, reader.read(header.tail_len, head))
            frame.name = p.decode_name(raw_name)
            p.check_request_auth(header, raw_name, tag, key=self._key, nonce=conn.nonce, seq=frame.seq)
            with self._cond:
                conn.active = time.monotonic()
                conn.working = True
            staged, prefix, whole = self._receive_payload(conn, reader, header, frame.name, deadline)
            with self._cond:
                if conn.evicted:  # chosen just as its payload completed: it no longer holds a slot
                    staged.discard()
                    raise ProtocolError("closed to make room for a new connection", code="evicted")
            if self._decodes and (self.classifiers or conn.pending or reader.input_waiting()):
                # Decoding takes milliseconds, classifying tens of them: let the pool do it while this
                # thread reads on. (A lone decode check runs here: a hand-over would cost more.)
                frame.future = self._pool_submit(self._check, staged, header.payload_len, prefix, None)
            else:
                frame.checked = self._check(staged, header.payload_len, prefix, whole)
        except ProtocolError as exc:
            code = "evicted" if conn.evicted else exc.code
            message = "closed to make room for a new connection" if conn.evicted else str(exc)
            frame.error = Reply.error(code, message, name=frame.name, digest=frame.digest)
        return frame

    def _receive_payload(
        self, conn: _Connection, reader: Reader, header: p.RequestHeader, name: str, deadline: Deadline
    ) -> tuple[Staged, bytes, memoryview | None]:
        """Receive a payload into its temporary file as it arrives (:mod:`~imgclass.transfer.receive`).

        A payload that fits in one chunk is written only once its digest matched. Returns the staged
        file, the payload's first bytes (for its image header) and, when it fitted in one chunk, a view
        of the whole payload (valid until this connection's next frame).
        """
        store = self._store
        if store is None:
            raise ProtocolError("the server is not running", code="internal")
        incoming = store.incoming()
        try:
            arrived = receive_payload(reader, header.payload_len, deadline, incoming, conn.buffer)
            p.check_digest(header, arrived.digest)
            try:
                if arrived.failed is not None:
                    raise arrived.failed
                incoming.write(arrived.tail)
                staged = incoming.finish(name, header.digest.hex(), "")
            except OSError as exc:
                logger.error("could not store %r from %s: %s", name, conn.peer, exc)
                raise ProtocolError(f"could not store the image: {exc}", code="internal") from None
        except BaseException:
            incoming.discard()
            raise
        return staged, arrived.prefix, arrived.tail if arrived.whole else None

    # ------------------------------------------------------------------ checking

    def _pool_submit(self, fn: Callable[..., _Checked], *args: Any) -> Future[_Checked]:
        pool = self._pool
        if pool is None:
            raise ProtocolError("the server is stopping", code="internal")
        return pool.submit(fn, *args)

    def _check(self, staged: Staged, size: int, prefix: bytes, whole: memoryview | None) -> _Checked:
        """Check a payload whose digest matched (image header, pixel limit, decode) and classify it.

        ``whole`` is the payload when it is still in memory; otherwise it is read back from its
        temporary file, with its bytes counted in the decode budget. Removes the file on failure.
        """
        try:
            return self._check_staged(staged, size, prefix, whole)
        except BaseException:
            staged.discard()
            raise

    def _check_staged(self, staged: Staged, size: int, prefix: bytes, whole: memoryview | None) -> _Checked:
        store = self._store
        if store is None:
            raise ProtocolError("the server is not running", code="internal")
        opts = self.options
        info = self._image_header(staged, size, prefix, whole)
        if info.pixels > opts.max_pixels:
            raise ProtocolError(
                f"{info.format} image of {info.width}x{info.height} pixels exceeds the limit of "
                f"{opts.max_pixels} pixels", code="too-many-pixels",
            )  # fmt: skip
        staged = dataclasses.replace(staged, format=info.format)
        verify = opts.verify_images and store.lookup(staged.hexdigest) is None
        verdicts: tuple[Verdict, ...] = ()
        if verify or self.classifiers:
            # The encoded bytes read back for the decoders count against the same budget.
            cost = decode_cost(info, prefix, full=bool(self.classifiers)) + (size if whole is None else 0)
            try:
                self.budget.acquire(cost, opts.budget_wait)
            except BudgetExceeded as exc:
                raise ProtocolError(str(exc), code="too-many-pixels" if exc.too_big else "out-of-memory") from None
            try:
                payload = whole if whole is not None else memoryview(_read_back(staged, size))
                if verify and not self._classifiers.decode:  # else the classifiers' decodes are the check
                    check_decodes(payload, info.format)
                if self.classifiers:
                    verdicts = self._classifiers.run(bytes(payload), opts.max_pixels)
            finally:
                self.budget.release(cost)
        return _Checked(staged, size, info, verdicts)

    def _image_header(self, staged: Staged, size: int, prefix: bytes, whole: memoryview | None) -> ImageHeader:
        """The image header, parsed from the payload's first bytes, or from all of them if need be
        (a JPEG whose frame header follows large metadata)."""
        try:
            try:
                return read_header(prefix)
            except ValueError:
                if size <= len(prefix):
                    raise
            if whole is not None:
                return read_header(bytes(whole))
            with self.budget.reserve(size, self.options.budget_wait):
                return read_header(bytes(_read_back(staged, size)))
        except BudgetExceeded as exc:
            raise ProtocolError(str(exc), code="too-many-pixels" if exc.too_big else "out-of-memory") from None
        except ValueError as exc:
            raise ProtocolError(f"payload is not an image we accept: {exc}", code="not-an-image") from None

    # ------------------------------------------------------------------ replying

    def _advance(self, conn: _Connection, *, background: bool) -> None:
        """Move the connection's frames along without waiting: queue the checked ones, in order, for a
        commit (``background``: let the store's helper run it while this thread reads on), then send
        the replies that are ready at the head of the queue, all in one write."""
        pending = conn.pending
        store = self._store
        if store is None:
            raise ProtocolError("the server is not running", code="internal")
        batch: list[_Frame] = []
        for frame in pending:
            if frame.checking():
                break  # commits keep the frames' order: names and duplicates depend on it
            frame.settle()
            if frame.checked is not None and frame.commit is None:
                batch.append(frame)
        if batch:
            commit = store.begin_commit([f.checked.staged for f in batch if f.checked is not None],
                                        background=background)  # fmt: skip
            for slot, frame in enumerate(batch):
                frame.commit, frame.slot = commit, slot
        ready: list[_Frame] = []
        while pending and pending[0].answerable():
            ready.append(pending.popleft())
        if not ready:
            return
        replies: list[bytes] = []
        for frame in ready:
            reply = self._reply_for(conn, frame)
            key = None if reply.code in p.UNSIGNED_CODES else self._key
            replies.append(p.encode_server_frame(p.KIND_REPLY, reply.to_json(), key=key, nonce=conn.nonce,
                                                 seq=frame.seq))  # fmt: skip
        closing = ready[-1].closes
        with self._cond:  # before the send: a peer that has its last reply may count us idle
            if not pending:
                conn.working = False
            conn.active = time.monotonic()
        try:
            self._send(conn, b"".join(replies))
        except OSError:
            if not closing:
                raise
            # Best effort: the peer may be gone already, which is often why we are closing.

    def _wait_progress(self, conn: _Connection) -> None:
        """Block until the oldest frame moves: its check ends, or its commit goes one round further
        (this thread runs the round if no other is running one)."""
        head = conn.pending[0]
        if head.future is not None:
            head.settle()
        elif head.commit is not None and self._store is not None:
            self._store.advance(head.commit)

    def _reply_for(self, conn: _Connection, frame: _Frame) -> Reply:
        """The reply to an answerable frame, recorded as received or rejected."""
        checked = frame.checked
        outcome = frame.commit.outcomes[frame.slot] if frame.commit is not None else None
        if isinstance(outcome, OSError):
            logger.error("could not store %r from %s: %s", frame.name, conn.peer, outcome)
            frame.error = Reply.error("internal", f"could not store the image: {outcome}", name=frame.name,
                                      digest=frame.digest)  # fmt: skip
        if frame.error is not None or checked is None or not isinstance(outcome, Stored):
            error = frame.error or Reply.error("internal", "the frame was lost", name=frame.name, digest=frame.digest)
            error = dataclasses.replace(error, server_ms=_ms(frame.started))
            self._record_rejected(Rejected(conn.peer, error.code or "internal", error.message or "", frame.name))
            return error
        name = frame.name or ""
        info, server_ms = checked.info, _ms(frame.started)
        self._record_received(Received(conn.peer, name, outcome.name, checked.staged.hexdigest, checked.size,
                                       outcome.duplicate, checked.verdicts, server_ms))  # fmt: skip
        logger.debug("%s: %r stored as %s (%d bytes, duplicate=%s)", conn.peer, name, outcome.name, checked.size,
                     outcome.duplicate)  # fmt: skip
        return Reply(
            status="ok", name=name, stored=outcome.name, digest=checked.staged.hexdigest, size=checked.size,
            duplicate=outcome.duplicate, format=info.format, width=info.width, height=info.height,
            verdicts=checked.verdicts, server_ms=server_ms,
        )  # fmt: skip

    def _send(self, conn: _Connection, frame: bytes) -> None:
        # The same bound as for reads: a client that never reads its replies cannot pin this thread.
        # (Only re-armed when it differs: each settimeout is a system call.)
        timeout = self.options.read_timeout
        if conn.sock.gettimeout() != timeout:
            conn.sock.settimeout(timeout)
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


def _read_back(staged: Staged, size: int) -> bytearray:
    try:
        return read_staged(staged, size)
    except OSError as exc:
        raise ProtocolError(f"could not read the image back: {exc}", code="internal") from None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _shutdown(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    """Wake a thread blocked on ``sock`` by shutting the connection down under it.

    Through a duplicate of the descriptor, so that an ``SSLSocket`` is not torn down while another
    thread is inside its read.
    """
    try:
        fd = sock.fileno()
        if fd < 0:
            return
        with socket.socket(fileno=os.dup(fd)) as dup:
            dup.shutdown(how)
    except (OSError, ValueError):
        pass


def _token_key(token: str | bytes | None) -> bytes | None:
    if token is None:
        return None
    raw = token.encode("utf-8") if isinstance(token, str) else bytes(token)
    if len(raw) < MIN_TOKEN_BYTES:
        raise ValueError(f"the token must have at least {MIN_TOKEN_BYTES} bytes, got {len(raw)}")
    return p.derive_key(raw)


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
