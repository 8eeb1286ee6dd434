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


def ok(stored: str, *, duplicate: bool = False) -> dict[str, Any]:
    return {"status": "ok", "stored": stored, "duplicate": duplicate, "close": False}


def error(code: str) -> dict[str, Any]:
    return {"status": "error", "code": code, "close": p.ERROR_CODES[code]}


def conversations() -> list[dict[str, Any]]:
    red, blue = tiny_png((255, 0, 0)), tiny_png((0, 0, 255), 2, 2)
    hello = b"hello"
    cases: list[tuple[str, list[bytes], list[dict[str, Any]]]] = [
        ("one PNG is stored under its cleaned name", [p.encode_request("red.png", red)], [ok("red.png")]),
        ("the same bytes twice are stored once", [p.encode_request("a.png", red), p.encode_request("b.png", red)],
         [ok("a.png"), ok("a.png", duplicate=True)]),
        ("the extension comes from the content", [p.encode_request("../x/evil.exe", blue)], [ok("evil.png")]),
        ("a Windows device name is prefixed", [p.encode_request("CONOUT$.png", blue)], [ok("_CONOUT$.png")]),
        ("not an image: the connection stays open",
         [p.encode_request("cat.png", hello), p.encode_request("r.png", red)], [error("not-an-image"), ok("r.png")]),
        ("a wrong digest: the connection stays open",
         [p.encode_request_head("x.png", 5, bytes(32)) + hello, p.encode_request("r.png", red)],
         [error("digest-mismatch"), ok("r.png")]),
        ("a header declaring too many pixels is refused before decoding", [p.encode_request("b.png", bomb_png())],
         [error("too-many-pixels")]),
        ("bad magic closes the connection", [b"HTTP" + header()[4:]], [error("bad-frame")]),
        ("a version-1 request is told to upgrade", [header(version=1)], [error("unsupported-version")]),
        ("an unknown version", [header(version=3)], [error("bad-frame")]),
        ("unknown flag bits", [header(flags=0x02)], [error("bad-frame")]),
        ("a negative size", [header(size=-1)], [error("bad-frame")]),
        ("a size above max_payload is refused before the payload", [header(size=1_000_001)], [error("too-large")]),
        ("a name that is not UTF-8", [header(name_len=2) + b"\xff\xfe"], [error("bad-frame")]),
        ("a tag the server did not ask for", [header(flags=p.FLAG_AUTH) + bytes(32)], [error("bad-frame")]),
        ("after a closing error, pipelined requests get no reply and are not stored",
         [p.encode_request("r.png", red), header(size=1_000_001), p.encode_request("b.png", blue)],
         [ok("r.png"), error("too-large")]),
    ]  # fmt: skip
    return [{"description": d, "frames": [f.hex() for f in frames], "replies": replies} for d, frames, replies in cases]


def authenticated() -> list[dict[str, Any]]:
    """Frames signed for a known nonce: check them with your own tag code (a live server's nonce is random)."""
    key = p.derive_key(TOKEN)
    red = tiny_png((255, 0, 0))
    out = []
    for seq in (0, 1, 2**32 + 5):
        frame = p.encode_request("red.png", red, key=key, nonce=NONCE, seq=seq)
        out.append({"seq": seq, "frame": frame.hex(), "tag": frame[48 + 7 : 48 + 7 + 32].hex()})
    reply = p.Reply.error("digest-mismatch", "example").to_json()
    frame = p.encode_server_frame(p.KIND_REPLY, reply, key=key, nonce=NONCE, seq=1)
    return [{"kind": "request", **item} for item in out] + [
        {"kind": "reply", "seq": 1, "frame": frame.hex(), "tag": frame[-32:].hex()}
    ]


def names() -> list[dict[str, str]]:
    digest = p.digest(b"example").hex()
    cases = [
        ("cat.png", "png"), ("photo.JPEG", "jpeg"), ("photo.png", "jpeg"), ("../../etc/passwd", "png"),
        ("..\\..\\windows\\win.ini", "gif"), (".bashrc", "png"), ("", "png"), ("...", "webp"),
        ("a<b>c:d\"e|f?g*h.png", "png"), ("evil\u202egnp.exe", "png"), ("e\u0301.png", "png"),
        ("CON", "png"), ("con.tar.gz", "png"), ("COM\u00b9.png", "png"), ("lpt\u00b3 .png", "png"),
        ("CONIN$", "png"), ("conout$.txt", "png"), ("nul...", "png"), ("COM10.png", "png"),
        ("trailing. ", "bmp"), ("x" * 200 + ".tif", "tiff"),
    ]  # fmt: skip
    return [
        {"name": name, "format": fmt, "digest": digest, "candidates": candidate_names(name, fmt, digest)[:2]}
        for name, fmt in cases
    ]


def vectors() -> dict[str, Any]:
    key = p.derive_key(TOKEN)
    return {
        "protocol": p.VERSION,
        "about": "Conformance vectors for docs/protocol.md. Bytes are lower-case hex. 'conversations' are "
        "replayed against a live server (no token, max_payload 1000000, max_pixels 67108864, empty folder, "
        "each on one new connection after reading the HELLO); only the listed reply fields are compared.",
        "digests": [
            {"payload": data.hex(), "blake3": p.digest(data).hex()} for data in (b"", b"hello", bytes(range(256)) * 5)
        ],
        "key": {"token": TOKEN, "context": p.KEY_CONTEXT, "key": key.hex()},
        "nonce": NONCE.hex(),
        "authenticated": authenticated(),
        "conversations": conversations(),
        "names": names(),
    }


def render() -> str:
    return json.dumps(vectors(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH}")
