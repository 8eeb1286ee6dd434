"""The imgclass transfer protocol, version 2: pure encoding and parsing, no sockets.

The specification is ``docs/protocol.md`` (with conformance vectors in ``docs/protocol-vectors.json``);
this module is its reference implementation. In short: the client sends REQUEST frames (a 48-byte
header with the payload's BLAKE3 digest, the name, an optional tag, the payload); the server answers
with a HELLO first and then one REPLY (a JSON body) per request, in order. Integers are big-endian.
Every size is checked against its bound *before* the bytes it announces are read, so a peer cannot
make the other side allocate or wait for more than the limits.

With a shared token, every request and every reply after the HELLO carries a keyed-BLAKE3 tag over a
per-connection nonce, the frame's sequence number, its header and its name (or body). The payload is
covered through its digest in the header, so the server authenticates a frame before it reads, hashes
or stores a single payload byte.

Version 2 replaced version 1's SHA-256 and HMAC-SHA256 by BLAKE3 (about five times faster here). The
server frame layout did not change, and server frames keep version byte 1, so that a version-1 client
can still read the HELLO and the ``unsupported-version`` reply that tells it to upgrade.
"""

from __future__ import annotations

import hmac
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import blake3

from imgclass.verdict import Verdict as Verdict  # re-exported: replies carry verdicts

MAGIC: Final = b"IMGC"
#: The protocol version: the version byte of every REQUEST and the HELLO's ``"protocol"``.
VERSION: Final = 2
#: The version byte of every server frame (HELLO and REPLY), whose layout is unchanged since version 1.
SERVER_FRAME_VERSION: Final = 1
#: Request versions this side recognises well enough to answer with ``unsupported-version``.
OLD_VERSIONS: Final = frozenset({1})
#: The HELLO's name for the authentication scheme.
AUTH_SCHEME: Final = "blake3-keyed"
#: BLAKE3 key-derivation context: token -> 32-byte key (``blake3.derive_key`` mode).
KEY_CONTEXT: Final = "imgclass transfer protocol 2 token"

FLAG_AUTH: Final = 0x01
KIND_HELLO: Final = 1
KIND_REPLY: Final = 2

#: ``>4sBBHq32s``: magic, version, flags, name length, payload length, BLAKE3 digest.
REQUEST_HEADER: Final = struct.Struct(">4sBBHq32s")
#: ``>4sBBBBI``: magic, version, kind, flags, reserved, body length.
SERVER_HEADER: Final = struct.Struct(">4sBBBBI")

DIGEST_SIZE: Final = 32
TAG_SIZE: Final = 32
NONCE_SIZE: Final = 16
MAX_NAME_BYTES: Final = 255
MAX_BODY_BYTES: Final = 1024 * 1024
DEFAULT_MAX_PAYLOAD: Final = 64 * 1024 * 1024
#: The poster's port. Below 1024, so listening on it needs privileges on most systems.
DEFAULT_PORT: Final = 1004

#: Domain-separation prefixes of the tags; each ends in one NUL byte (0x00).
REQUEST_CONTEXT: Final = b"imgclass-request\x00"
REPLY_CONTEXT: Final = b"imgclass-reply\x00"

#: Error codes a REPLY may carry, and whether the server closes the connection after it.
ERROR_CODES: Final[Mapping[str, bool]] = {
    "bad-frame": True,
    "too-large": True,
    "unauthorised": True,
    "timeout": True,
    "idle-timeout": True,
    "busy": True,
    "evicted": True,
    "unsupported-version": True,
    "tls-required": True,
    "digest-mismatch": False,
    "not-an-image": False,
    "too-many-pixels": False,
    "out-of-memory": False,
    "internal": False,
}
#: Codes after which sending the same frame again (on a new connection if this one closes) may well
#: succeed. ``out-of-memory`` means the decode budget was spent by other images at that moment.
RETRYABLE_CODES: Final = frozenset({"busy", "timeout", "idle-timeout", "evicted", "out-of-memory"})


def digest(payload: bytes | bytearray | memoryview) -> bytes:
    """The payload digest a REQUEST header carries: BLAKE3, 32 bytes."""
    return blake3.blake3(payload).digest()


def hasher() -> blake3.blake3:
    """An incremental payload hasher (``update`` as bytes arrive, then ``digest``)."""
    return blake3.blake3()


def derive_key(token: str | bytes) -> bytes:
    """The 32-byte tag key for a shared token (UTF-8 bytes of a text token), by BLAKE3 key derivation."""
    raw = token.encode("utf-8") if isinstance(token, str) else bytes(token)
    return blake3.blake3(raw, derive_key_context=KEY_CONTEXT).digest()


def _tag(key: bytes, *parts: bytes) -> bytes:
    h = blake3.blake3(key=key)
    for part in parts:
        h.update(part)
    return h.digest()


class ProtocolError(ValueError):
    """The peer broke the protocol. ``code`` is the REPLY error code the server answers with."""

    def __init__(self, message: str, code: str = "bad-frame") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RequestHeader:
    """The fixed 48 bytes that open a request frame, checked."""

    flags: int
    name_len: int
    payload_len: int
    digest: bytes
    raw: bytes = field(repr=False)

    @property
    def authenticated(self) -> bool:
        return bool(self.flags & FLAG_AUTH)

    @property
    def tail_len(self) -> int:
        """Bytes between the header and the payload: the name and the tag, if any."""
        return self.name_len + (TAG_SIZE if self.authenticated else 0)


@dataclass(frozen=True)
class Request:
    """A whole, verified request frame."""

    name: str
    payload: bytes
    digest: bytes


@dataclass(frozen=True)
class ServerHeader:
    """The fixed 12 bytes that open a HELLO or REPLY frame, checked."""

    kind: int
    flags: int
    body_len: int
    raw: bytes = field(repr=False)

    @property
    def authenticated(self) -> bool:
        return bool(self.flags & FLAG_AUTH)

    @property
    def rest_len(self) -> int:
        """Bytes after the header: the body and the tag, if any."""
        return self.body_len + (TAG_SIZE if self.authenticated else 0)


# --------------------------------------------------------------------------- requests


def parse_request_header(data: bytes, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> RequestHeader:
    """Check the fixed request header; raise :class:`ProtocolError` for anything out of bounds."""
    if len(data) != REQUEST_HEADER.size:
        raise ProtocolError(f"truncated frame: header has {len(data)} of {REQUEST_HEADER.size} bytes")
    magic, version, flags, name_len, payload_len, digest = REQUEST_HEADER.unpack(data)
    _check_magic_version(magic, version, VERSION)
    if flags & ~FLAG_AUTH:
        raise ProtocolError(f"unknown flag bits 0x{flags & ~FLAG_AUTH:02x} in request header")
    if name_len > MAX_NAME_BYTES:
        raise ProtocolError(f"name of {name_len} bytes exceeds the limit of {MAX_NAME_BYTES} bytes")
    if payload_len < 0:
        raise ProtocolError(f"negative payload size {payload_len}")
    if payload_len > max_payload:
        raise ProtocolError(
            f"payload of {payload_len} bytes exceeds the limit of {max_payload} bytes", code="too-large"
        )
    return RequestHeader(flags, name_len, payload_len, digest, bytes(data))


def decode_name(raw: bytes) -> str:
    """The name bytes as text; strict UTF-8."""
    try:
        return raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"name is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def split_tail(header: RequestHeader, tail: bytes) -> tuple[bytes, bytes | None]:
    """Split the bytes after the header into the raw name and the tag (``None`` without ``AUTH``)."""
    if len(tail) != header.tail_len:
        raise ProtocolError(f"truncated frame: name and tag have {len(tail)} of {header.tail_len} bytes")
    if header.authenticated:
        return tail[: header.name_len], tail[header.name_len :]
    return tail, None


def check_request_auth(
    header: RequestHeader, raw_name: bytes, tag: bytes | None, *, key: bytes | None, nonce: bytes, seq: int
) -> None:
    """Enforce the server's authentication policy on one request."""
    if key is None:
        if tag is not None:
            raise ProtocolError("frame carries an authentication tag but the server has no token")
        return
    if tag is None:
        raise ProtocolError("the server requires a token: frame has no authentication tag", code="unauthorised")
    expected = request_tag(key, nonce, seq, header.raw, raw_name)
    if not hmac.compare_digest(expected, tag):
        raise ProtocolError("authentication tag does not match (wrong token or replayed frame)", code="unauthorised")


def check_digest(header: RequestHeader, actual: bytes) -> None:
    """Compare the payload's BLAKE3 digest with the one the header declared."""
    if not hmac.compare_digest(header.digest, actual):
        raise ProtocolError(
            f"payload BLAKE3 digest {actual.hex()} does not match the declared {header.digest.hex()}",
            code="digest-mismatch",
        )


def request_tag(key: bytes, nonce: bytes, seq: int, header: bytes, raw_name: bytes) -> bytes:
    """Keyed BLAKE3 over the request prefix, nonce, seq (uint64 big-endian), 48-byte header and name."""
    return _tag(key, REQUEST_CONTEXT, nonce, _seq(seq), header, raw_name)


def encode_request_head(
    name: str,
    payload_len: int,
    digest: bytes,
    *,
    key: bytes | None = None,
    nonce: bytes = b"",
    seq: int = 0,
) -> bytes:
    """Everything of a request frame that comes before the payload."""
    raw_name = name.encode("utf-8")
    if len(raw_name) > MAX_NAME_BYTES:
        raise ValueError(f"name of {len(raw_name)} UTF-8 bytes exceeds the limit of {MAX_NAME_BYTES}")
    if payload_len < 0:
        raise ValueError(f"negative payload size {payload_len}")
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"a BLAKE3 digest has {DIGEST_SIZE} bytes, got {len(digest)}")
    flags = FLAG_AUTH if key is not None else 0
    header = REQUEST_HEADER.pack(MAGIC, VERSION, flags, len(raw_name), payload_len, digest)
    tag = request_tag(key, nonce, seq, header, raw_name) if key is not None else b""
    return header + raw_name + tag


def encode_request(name: str, payload: bytes, *, key: bytes | None = None, nonce: bytes = b"", seq: int = 0) -> bytes:
    """A whole request frame (convenient for small payloads and tests)."""
    return encode_request_head(name, len(payload), digest(payload), key=key, nonce=nonce, seq=seq) + payload


def decode_request(
    data: bytes,
    *,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    key: bytes | None = None,
    nonce: bytes = b"",
    seq: int = 0,
) -> tuple[Request, int]:
    """Parse one request frame from the start of ``data``; return it and the bytes it used.

    The same checks, in the same order, as the server applies on a live stream.
    """
    header = parse_request_header(data[: REQUEST_HEADER.size], max_payload=max_payload)
    pos = REQUEST_HEADER.size
    raw_name, tag = split_tail(header, data[pos : pos + header.tail_len])
    name = decode_name(raw_name)
    check_request_auth(header, raw_name, tag, key=key, nonce=nonce, seq=seq)
    pos += header.tail_len
    payload = data[pos : pos + header.payload_len]
    if len(payload) != header.payload_len:
        raise ProtocolError(f"truncated frame: payload has {len(payload)} of {header.payload_len} bytes")
    check_digest(header, digest(payload))
    return Request(name, bytes(payload), header.digest), pos + header.payload_len


# --------------------------------------------------------------------------- server frames


def parse_server_header(data: bytes) -> ServerHeader:
    """Unpack and check a server frame's 12-byte header; :class:`ProtocolError` if it is not one."""
    if len(data) != SERVER_HEADER.size:
        raise ProtocolError(f"truncated frame: header has {len(data)} of {SERVER_HEADER.size} bytes")
    magic, version, kind, flags, reserved, body_len = SERVER_HEADER.unpack(data)
    _check_magic_version(magic, version, SERVER_FRAME_VERSION)
    if kind not in (KIND_HELLO, KIND_REPLY):
        raise ProtocolError(f"unknown frame kind {kind}")
    if flags & ~FLAG_AUTH or reserved:
        raise ProtocolError("unknown flag bits or non-zero reserved byte in server frame")
    if body_len > MAX_BODY_BYTES:
        raise ProtocolError(f"body of {body_len} bytes exceeds the limit of {MAX_BODY_BYTES} bytes")
    return ServerHeader(kind, flags, body_len, bytes(data))


def reply_tag(key: bytes, nonce: bytes, seq: int, header: bytes, body: bytes) -> bytes:
    """Keyed BLAKE3 over the reply prefix, nonce, seq (uint64 big-endian), 12-byte header and body."""
    return _tag(key, REPLY_CONTEXT, nonce, _seq(seq), header, body)


def encode_server_frame(
    kind: int, body: Mapping[str, Any], *, key: bytes | None = None, nonce: bytes = b"", seq: int = 0
) -> bytes:
    """A server frame: header, JSON ``body`` and, with a ``key``, the tag bound to ``nonce`` and ``seq``."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError(f"reply body of {len(raw)} bytes exceeds {MAX_BODY_BYTES}")
    header = SERVER_HEADER.pack(MAGIC, SERVER_FRAME_VERSION, kind, FLAG_AUTH if key is not None else 0, 0, len(raw))
    tag = reply_tag(key, nonce, seq, header, raw) if key is not None else b""
    return header + raw + tag


def decode_body(header: ServerHeader, rest: bytes, *, key: bytes | None, nonce: bytes, seq: int) -> dict[str, Any]:
    """Check the tag (when ``key`` is given) and parse the JSON body that follows a server header."""
    if key is not None and not server_tag_ok(header, rest, key=key, nonce=nonce, seq=seq):
        raise ProtocolError("server frame is not authenticated with our token")
    return parse_body(header, rest)


def server_tag_ok(header: ServerHeader, rest: bytes, *, key: bytes, nonce: bytes, seq: int) -> bool:
    """Whether the bytes after a server header carry a valid tag for ``key``."""
    _check_rest(header, rest)
    raw, tag = rest[: header.body_len], rest[header.body_len :]
    return header.authenticated and hmac.compare_digest(reply_tag(key, nonce, seq, header.raw, raw), tag)


def parse_body(header: ServerHeader, rest: bytes) -> dict[str, Any]:
    """The JSON object in the bytes after a server header, without looking at any tag."""
    _check_rest(header, rest)
    try:
        body = json.loads(rest[: header.body_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"server frame body is not UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError("server frame body is not a JSON object")
    return body


def _check_rest(header: ServerHeader, rest: bytes) -> None:
    want = header.rest_len
    if len(rest) != want:
        raise ProtocolError(f"truncated frame: body has {len(rest)} of {want} bytes")


def decode_server_frame(
    data: bytes, *, key: bytes | None = None, nonce: bytes = b"", seq: int = 0
) -> tuple[int, dict[str, Any], int]:
    """Parse one server frame from the start of ``data``: kind, body and the bytes it used."""
    header = parse_server_header(data[: SERVER_HEADER.size])
    end = SERVER_HEADER.size + header.rest_len
    body = decode_body(header, data[SERVER_HEADER.size : end], key=key, nonce=nonce, seq=seq)
    return header.kind, body, end


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class Hello:
    """What the server announces when a connection opens."""

    nonce: bytes
    auth: bool
    max_payload: int
    max_pixels: int
    classifiers: tuple[str, ...] = ()
    read_timeout: float = 0.0
    idle_timeout: float = 0.0
    max_name: int = MAX_NAME_BYTES
    handshake_timeout: float = 0.0
    protocol: int = VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "server": "imgclass",
            "protocol": self.protocol,
            "auth": AUTH_SCHEME if self.auth else None,
            "nonce": self.nonce.hex(),
            "max_payload": self.max_payload,
            "max_name": self.max_name,
            "max_pixels": self.max_pixels,
            "classifiers": list(self.classifiers),
            "read_timeout": self.read_timeout,
            "idle_timeout": self.idle_timeout,
            "handshake_timeout": self.handshake_timeout,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Hello:
        protocol = _int(body.get("protocol"), "protocol")
        if protocol != VERSION:
            raise ProtocolError(
                f"the server speaks imgclass transfer protocol {protocol} and this client speaks {VERSION}: "
                f"upgrade the {'server' if protocol < VERSION else 'client'}",
                code="unsupported-version",
            )
        auth = body.get("auth")
        if auth not in (None, AUTH_SCHEME):
            raise ProtocolError(f"unknown authentication scheme {auth!r}")
        nonce = _hex(body.get("nonce"), "nonce")
        if len(nonce) != NONCE_SIZE:
            raise ProtocolError(f"nonce must have {NONCE_SIZE} bytes")
        classifiers = body.get("classifiers", [])
        if not isinstance(classifiers, list) or not all(isinstance(c, str) for c in classifiers):
            raise ProtocolError("hello 'classifiers' must be a list of strings")
        return cls(
            nonce=nonce,
            auth=auth is not None,
            max_payload=_int(body.get("max_payload"), "max_payload"),
            max_pixels=_int(body.get("max_pixels"), "max_pixels"),
            classifiers=tuple(classifiers),
            read_timeout=_float(body.get("read_timeout", 0.0), "read_timeout"),
            idle_timeout=_float(body.get("idle_timeout", 0.0), "idle_timeout"),
            max_name=_int(body.get("max_name", MAX_NAME_BYTES), "max_name"),
            handshake_timeout=_float(body.get("handshake_timeout", 0.0), "handshake_timeout"),
        )


@dataclass(frozen=True)
class Reply:
    """The server's answer to one image. ``ok`` tells success from an error reply."""

    status: str
    name: str | None = None
    stored: str | None = None
    digest: str | None = None
    size: int | None = None
    duplicate: bool = False
    format: str | None = None
    width: int | None = None
    height: int | None = None
    verdicts: tuple[Verdict, ...] = ()
    server_ms: float = 0.0
    code: str | None = None
    message: str | None = None
    close: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES

    def verdict(self, classifier: str) -> Verdict:
        for v in self.verdicts:
            if v.classifier == classifier:
                return v
        raise KeyError(classifier)

    def raise_for_status(self) -> Reply:
        """Return ``self`` for a success; raise :class:`RemoteError` for an error reply."""
        if not self.ok:
            raise RemoteError(self)
        return self

    @classmethod
    def error(
        cls, code: str, message: str, *, name: str | None = None, digest: str | None = None, server_ms: float = 0.0
    ) -> Reply:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        return cls(
            status="error", code=code, message=message, name=name, digest=digest,
            server_ms=server_ms, close=ERROR_CODES[code],
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        if not self.ok:
            return {
                "status": "error", "code": self.code, "message": self.message, "name": self.name,
                "digest": self.digest, "server_ms": self.server_ms, "close": self.close,
            }  # fmt: skip
        return {
            "status": "ok", "name": self.name, "stored": self.stored, "digest": self.digest,
            "size": self.size, "duplicate": self.duplicate, "format": self.format,
            "width": self.width, "height": self.height,
            "verdicts": {v.classifier: v.to_json() for v in self.verdicts},
            "server_ms": self.server_ms, "close": self.close,
        }  # fmt: skip

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Reply:
        """Build a reply from a parsed body, checking every field's type (the server is a peer too)."""
        status = body.get("status")
        server_ms = _float(body.get("server_ms", 0.0), "server_ms")
        close = body.get("close", False)
        if not isinstance(close, bool):
            raise ProtocolError("reply 'close' must be a boolean")
        if status == "error":
            code = _str(body.get("code"), "code")
            return cls(
                status="error", code=code, message=_str(body.get("message", ""), "message"),
                name=_opt_str(body.get("name"), "name"), digest=_opt_str(body.get("digest"), "digest"),
                server_ms=server_ms, close=close,
            )  # fmt: skip
        if status != "ok":
            raise ProtocolError(f"unknown reply status {status!r}")
        raw_verdicts = body.get("verdicts", {})
        if not isinstance(raw_verdicts, dict):
            raise ProtocolError("reply 'verdicts' must be an object")
        verdicts = tuple(_verdict(name, value) for name, value in raw_verdicts.items())
        duplicate = body.get("duplicate", False)
        if not isinstance(duplicate, bool):
            raise ProtocolError("reply 'duplicate' must be a boolean")
        return cls(
            status="ok", name=_opt_str(body.get("name"), "name"), stored=_str(body.get("stored"), "stored"),
            digest=_str(body.get("digest"), "digest"), size=_int(body.get("size"), "size"),
            duplicate=duplicate, format=_opt_str(body.get("format"), "format"),
            width=_opt_int(body.get("width"), "width"), height=_opt_int(body.get("height"), "height"),
            verdicts=verdicts, server_ms=server_ms, close=close,
        )  # fmt: skip


class RemoteError(ValueError):
    """The server answered with an error reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"server refused {reply.name!r}: {reply.code}: {reply.message}")
        self.reply = reply


# --------------------------------------------------------------------------- helpers


def _check_magic_version(magic: bytes, version: int, expected: int) -> None:
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r}, expected {MAGIC!r}")
    if version == expected:
        return
    if expected == VERSION and version in OLD_VERSIONS:
        raise ProtocolError(
            f"this server speaks imgclass transfer protocol {VERSION} (BLAKE3 digests and tags) and no longer "
            f"accepts version {version} requests: upgrade the client to one that speaks version {VERSION}",
            code="unsupported-version",
        )
    raise ProtocolError(f"unknown version {version}, this side speaks {expected}")


def _seq(seq: int) -> bytes:
    return seq.to_bytes(8, "big")


def _verdict(name: object, value: object) -> Verdict:
    if not isinstance(name, str) or not isinstance(value, dict):
        raise ProtocolError("each verdict must be an object keyed by classifier name")
    if "error" in value:
        return Verdict(name, None, None, _str(value["error"], "verdict error"))
    label = value.get("label")
    if label not in ("real", "animated"):
        raise ProtocolError(f"verdict label must be 'real' or 'animated', got {label!r}")
    return Verdict(name, label, _float(value.get("score"), "verdict score"))


def _hex(value: object, what: str) -> bytes:
    try:
        return bytes.fromhex(_str(value, what))
    except ValueError:
        raise ProtocolError(f"{what} must be hexadecimal") from None


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _opt_str(value: object, what: str) -> str | None:
    return None if value is None else _str(value, what)


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{what} must be an integer, got {type(value).__name__}")
    return value


def _opt_int(value: object, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _float(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{what} must be a number, got {type(value).__name__}")
    return float(value)
