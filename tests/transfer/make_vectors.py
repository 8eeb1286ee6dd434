"""Write ``docs/protocol-vectors.json``, the conformance vectors of the transfer protocol.

    python -m tests.transfer.make_vectors        # rewrite the file (then review the diff)

The file is what another implementation tests against; ``test_vectors.py`` replays it against ours and
checks that this script would write it unchanged. Every vector is built from fixed bytes, so the file is
deterministic.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

from imgclass.transfer import protocol as p
from imgclass.transfer.names import candidate_names

PATH = Path(__file__).resolve().parents[2] / "docs" / "protocol-vectors.json"
TOKEN = "correct horse battery staple"
NONCE = bytes(range(16))


def tiny_png(rgb: tuple[int, int, int], width: int = 1, height: int = 1) -> bytes:
    """A valid 8-bit RGB PNG of one colour, built byte by byte (no encoder version can change it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def bomb_png() -> bytes:
    """A PNG header that declares 100000 x 100000 pixels, and nothing else of substance."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    body = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


def header(
    *, version: int = p.VERSION, flags: int = 0, name_len: int = 0, size: int = 0, digest: bytes = bytes(32)
) -> bytes:
    return p.REQUEST_HEADER.pack(p.MAGIC, version, flags, name_len, size, digest)


def ok(stored: str, *, name: str, duplicate: bool = False) -> dict[str, Any]:
    return {"status": "ok", "name": name, "stored": stored, "duplicate": duplicate, "close": False}


def error(code: str, *, name: str | None = None, signed: bool | None = None) -> dict[str, Any]:
    """An expected error reply; ``name`` is what its ``name`` field must say (``None``: JSON null, the
    error came before the name was read). ``signed`` (token conversations only): whether it carries a
    valid tag for the frame's ``seq``."""
    out: dict[str, Any] = {"status": "error", "code": code, "name": name, "close": p.ERROR_CODES[code]}
    if signed is not None:
        out["signed"] = signed
    return out


def conversations() -> list[dict[str, Any]]:
    red, blue = tiny_png((255, 0, 0)), tiny_png((0, 0, 255), 2, 2)
    hello = b"hello"
    cases: list[tuple[str, list[bytes], list[dict[str, Any]]]] = [
        ("one PNG is stored under its cleaned name", [p.encode_request("red.png", red)],
         [ok("red.png", name="red.png")]),
        ("the same bytes twice are stored once", [p.encode_request("a.png", red), p.encode_request("b.png", red)],
         [ok("a.png", name="a.png"), ok("a.png", name="b.png", duplicate=True)]),
        ("the extension comes from the content", [p.encode_request("../x/evil.exe", blue)],
         [ok("evil.png", name="../x/evil.exe")]),
        ("a Windows device name is prefixed", [p.encode_request("CONOUT$.png", blue)],
         [ok("_CONOUT$.png", name="CONOUT$.png")]),
        ("CLOCK$ and CONFIG$ are device names too",
         [p.encode_request("clock$.png", blue), p.encode_request("CONFIG$", red)],
         [ok("_clock$.png", name="clock$.png"), ok("_CONFIG$.png", name="CONFIG$")]),
        ("an empty name is stored as image, and the reply's name is the empty string",
         [p.encode_request("", red)], [ok("image.png", name="")]),
        ("not an image: the connection stays open",
         [p.encode_request("cat.png", hello), p.encode_request("r.png", red)],
         [error("not-an-image", name="cat.png"), ok("r.png", name="r.png")]),
        ("a wrong digest: the connection stays open",
         [p.encode_request_head("x.png", 5, bytes(32)) + hello, p.encode_request("r.png", red)],
         [error("digest-mismatch", name="x.png"), ok("r.png", name="r.png")]),
        ("a header declaring too many pixels is refused before decoding", [p.encode_request("b.png", bomb_png())],
         [error("too-many-pixels", name="b.png")]),
        ("bad magic closes the connection; the name is null (not read)", [b"HTTP" + header()[4:]],
         [error("bad-frame")]),
        ("a version-1 request is told to upgrade", [header(version=1)], [error("unsupported-version")]),
        ("an unknown version", [header(version=3)], [error("bad-frame")]),
        ("unknown flag bits", [header(flags=0x02)], [error("bad-frame")]),
        ("a negative size", [header(size=-1)], [error("bad-frame")]),
        ("a size above max_payload is refused before the payload (exactly max_payload is allowed)",
         [header(size=1_000_001)], [error("too-large")]),
        ("a name that is not UTF-8: refused, name null", [header(name_len=2) + b"\xff\xfe"], [error("bad-frame")]),
        ("a tag the server did not ask for", [header(flags=p.FLAG_AUTH, name_len=1) + b"t" + bytes(32)],
         [error("bad-frame", name="t")]),
        ("after a closing error, pipelined requests get no reply and are not stored",
         [p.encode_request("r.png", red), header(size=1_000_001), p.encode_request("b.png", blue)],
         [ok("r.png", name="r.png"), error("too-large")]),
    ]  # fmt: skip
    return [{"description": d, "frames": [f.hex() for f in frames], "replies": replies} for d, frames, replies in cases]


def token_conversations() -> list[dict[str, Any]]:
    """Frames that fail before or at the tag check, replayed against a server with the vectors' token.

    A live server's nonce is random, so none of these frames carries a valid tag: they show the order of
    the checks (header fields, then name, then tag) and which replies are signed.
    """
    red = tiny_png((255, 0, 0))
    unsigned = p.encode_request("red.png", red)  # AUTH flag clear
    forged = header(flags=p.FLAG_AUTH, name_len=7, size=len(red), digest=p.digest(red)) + b"red.png" + bytes(32) + red
    cases: list[tuple[str, list[bytes], list[dict[str, Any]]]] = [
        ("no tag on a token server: unauthorised, unsigned; the name was read", [unsigned],
         [error("unauthorised", name="red.png", signed=False)]),
        ("a wrong tag: unauthorised, unsigned", [forged], [error("unauthorised", name="red.png", signed=False)]),
        ("the size is checked before the tag: too-large, signed with the frame's seq",
         [header(flags=p.FLAG_AUTH, size=1_000_001)], [error("too-large", signed=True)]),
        ("the flags are checked before the tag: bad-frame, signed", [header(flags=p.FLAG_AUTH | 0x02)],
         [error("bad-frame", signed=True)]),
        ("a version-1 request: unsupported-version, unsigned", [header(version=1, flags=p.FLAG_AUTH)],
         [error("unsupported-version", signed=False)]),
    ]  # fmt: skip
    return [{"description": d, "frames": [f.hex() for f in frames], "replies": replies} for d, frames, replies in cases]


def authenticated() -> list[dict[str, Any]]:
    """Frames signed for a known nonce: check them with your own tag code (a live server's nonce is random)."""
    key = p.derive_key(TOKEN)
    red = tiny_png((255, 0, 0))
    out = []
    for seq in (0, 1, 2**32 + 5):
        frame = p.encode_request("red.png", red, key=key, nonce=NONCE, seq=seq)
        out.append({"kind": "request", "seq": seq, "frame": frame.hex(), "tag": frame[48 + 7 : 48 + 7 + 32].hex()})
    replies = [
        (1, "a reply to request 1", p.Reply.error("digest-mismatch", "example", name="red.png")),
        (3, "unsolicited, after requests 0-2 were answered: signed with the seq the next request would have",
         p.Reply.error("evicted", "closed to make room for a new connection")),
        (0, "unsolicited right after the HELLO (a HELLO does not promise a slot): seq 0",
         p.Reply.error("idle-timeout", "idle connection: nothing complete within 60 s")),
    ]  # fmt: skip
    for seq, note, reply in replies:
        frame = p.encode_server_frame(p.KIND_REPLY, reply.to_json(), key=key, nonce=NONCE, seq=seq)
        out.append({"kind": "reply", "seq": seq, "note": note, "frame": frame.hex(), "tag": frame[-32:].hex()})
    return out


def unsigned_replies() -> list[dict[str, Any]]:
    """Replies a server with a token still sends without a tag (flags 0): a client must accept them only
    as errors."""
    out = []
    for code in sorted(p.UNSIGNED_CODES):
        frame = p.encode_server_frame(p.KIND_REPLY, p.Reply.error(code, "example").to_json())
        out.append({"code": code, "frame": frame.hex()})
    return out


def hellos() -> list[dict[str, Any]]:
    """HELLO bodies a client must accept or refuse: counts and sizes are JSON integers (no fraction, no
    exponent); time-outs are numbers of seconds, with or without a fraction; unknown fields are ignored."""
    base = p.Hello(nonce=NONCE, auth=True, max_payload=p.DEFAULT_MAX_PAYLOAD, max_pixels=64 * 2**20,
                   classifiers=("combined",), read_timeout=30.0, idle_timeout=60.0, handshake_timeout=5.0)  # fmt: skip
    body = base.to_json()
    frame = p.encode_server_frame(p.KIND_HELLO, body)
    cases: list[tuple[str, dict[str, Any], bool]] = [
        ("as our server writes it", body, True),
        ("time-outs written as integers", body | {"read_timeout": 30, "idle_timeout": 60, "handshake_timeout": 5},
         True),
        ("an unknown field is ignored", body | {"future": [1, 2]}, True),
        ("max_payload with a fraction is refused", body | {"max_payload": 67108864.0}, False),
        ("max_pixels as a string is refused", body | {"max_pixels": "67108864"}, False),
        ("protocol 1 is refused (upgrade the server)", body | {"protocol": 1}, False),
        ("a 15-byte nonce is refused", body | {"nonce": NONCE[:15].hex()}, False),
    ]  # fmt: skip
    return [{"frame": frame.hex()}] + [{"description": d, "body": b, "valid": v} for d, b, v in cases]


def names() -> list[dict[str, str]]:
    digest = p.digest(b"example").hex()
    cases = [
        ("cat.png", "png"), ("photo.JPEG", "jpeg"), ("photo.png", "jpeg"), ("../../etc/passwd", "png"),
        ("..\\..\\windows\\win.ini", "gif"), (".bashrc", "png"), ("", "png"), ("...", "webp"),
        ("a<b>c:d\"e|f?g*h.png", "png"), ("evil\u202egnp.exe", "png"), ("e\u0301.png", "png"),
        ("CON", "png"), ("con.tar.gz", "png"), ("COM\u00b9.png", "png"), ("lpt\u00b3 .png", "png"),
        ("CONIN$", "png"), ("conout$.txt", "png"), ("CLOCK$", "png"), ("config$.jpg", "jpeg"), ("nul...", "png"),
        ("COM10.png", "png"),
        ("trailing. ", "bmp"), ("x" * 200 + ".tif", "tiff"),
    ]  # fmt: skip
    return [
        {"name": name, "format": fmt, "digest": digest, "candidates": candidate_names(name, fmt, digest)[:2]}
        for name, fmt in cases
    ]


#: How the conversations are replayed: what a server must be started with (``imgclass serve`` flags).
SETUP = {
    "max_payload": 1_000_000,
    "max_pixels": 67_108_864,
    "classifiers": [],
    "serve": "imgclass serve --port 0 --out EMPTY_FOLDER --no-classify --max-payload 1000000 --max-pixels 67108864",
}


def vectors() -> dict[str, Any]:
    key = p.derive_key(TOKEN)
    return {
        "protocol": p.VERSION,
        "about": "Conformance vectors for docs/protocol.md. Bytes are lower-case hex. 'conversations' are replayed "
        "against a live server started as 'setup' says, a fresh server with a new, empty folder for each "
        "conversation: connect, read the HELLO, send all the frames at once, then read the replies (until the "
        "server closes, when the last reply closes). 'token_conversations' likewise, with the server also given "
        "the token of 'key'. Only the listed reply fields are compared; 'name': null means JSON null; 'signed' "
        "says whether the reply carries a valid tag for its seq.",
        "setup": SETUP,
        "digests": [
            {"payload": data.hex(), "blake3": p.digest(data).hex()} for data in (b"", b"hello", bytes(range(256)) * 5)
        ],
        "key": {
            "token": TOKEN,
            "context": p.KEY_CONTEXT,
            "context_utf8": p.KEY_CONTEXT.encode("utf-8").hex(),
            "key": key.hex(),
        },
        "nonce": NONCE.hex(),
        "authenticated": authenticated(),
        "unsigned_replies": unsigned_replies(),
        "hellos": hellos(),
        "conversations": conversations(),
        "token_conversations": token_conversations(),
        "names": names(),
    }


def render() -> str:
    return json.dumps(vectors(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH}")
