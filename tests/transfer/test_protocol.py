"""The pure protocol: every malformed frame is a ProtocolError with a clear message, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.transfer import protocol as p
from tests.transfer.conftest import header

KEY = b"k" * 32
NONCE = bytes(range(16))


def test_request_round_trip() -> None:
    payload = b"\x89PNG pretend"
    frame = p.encode_request("cat.png", payload)
    request, used = p.decode_request(frame + b"next frame")
    assert request == p.Request("cat.png", payload, p.digest(payload))
    assert used == len(frame)
    assert frame[:4] == b"IMGC" and len(p.REQUEST_HEADER.pack(b"IMGC", 1, 0, 0, 0, b"\0" * 32)) == 48


def test_authenticated_round_trip_binds_nonce_and_sequence() -> None:
    frame = p.encode_request("a.png", b"data", key=KEY, nonce=NONCE, seq=7)
    request, _ = p.decode_request(frame, key=KEY, nonce=NONCE, seq=7)
    assert request.name == "a.png"
    for kwargs in ({"seq": 8}, {"nonce": bytes(16)}, {"key": b"x" * 32}):
        args = {"key": KEY, "nonce": NONCE, "seq": 7} | kwargs
        with pytest.raises(p.ProtocolError, match="authentication tag does not match") as info:
            p.decode_request(frame, **args)
        assert info.value.code == "unauthorised"


def test_missing_tag_when_a_token_is_required() -> None:
    with pytest.raises(p.ProtocolError, match="requires a token") as info:
        p.decode_request(p.encode_request("a", b"x"), key=KEY, nonce=NONCE)
    assert info.value.code == "unauthorised"


def test_tag_without_a_server_token_is_refused() -> None:
    with pytest.raises(p.ProtocolError, match="server has no token"):
        p.decode_request(p.encode_request("a", b"x", key=KEY, nonce=NONCE))


@pytest.mark.parametrize(
    ("frame", "message", "code"),
    [
        (header(magic=b"GIF8"), "bad magic", "bad-frame"),
        (header(version=3), "unknown version 3", "bad-frame"),
        (header(version=1), "upgrade the client", "unsupported-version"),
        (header(flags=0x80), "unknown flag bits", "bad-frame"),
        (header(name_len=256), "name of 256 bytes exceeds", "bad-frame"),
        (header(payload_len=-1), "negative payload size -1", "bad-frame"),
        (header(payload_len=-(2**63)), "negative payload size", "bad-frame"),
        (header(payload_len=1001), "payload of 1001 bytes exceeds the limit of 1000", "too-large"),
        (header(payload_len=2**63 - 1), "exceeds the limit", "too-large"),
        (header()[:47], "truncated frame: header has 47 of 48", "bad-frame"),
        (b"", "truncated frame: header has 0 of 48", "bad-frame"),
        (header(name_len=4) + b"ab", "truncated frame: name and tag have 2 of 4", "bad-frame"),
        (header(name_len=2) + b"\xff\xfe", "name is not valid UTF-8", "bad-frame"),
        (header(name_len=3) + b"\xed\xa0\x80", "name is not valid UTF-8", "bad-frame"),  # a lone surrogate
        (header(payload_len=10) + b"12345", "truncated frame: payload has 5 of 10", "bad-frame"),
        (header(payload_len=3) + b"abc", "does not match the declared", "digest-mismatch"),
    ],
)
def test_malformed_requests(frame: bytes, message: str, code: str) -> None:
    with pytest.raises(p.ProtocolError, match=message) as info:
        p.decode_request(frame, max_payload=1000)
    assert info.value.code == code


def test_encoder_refuses_what_the_parser_would() -> None:
    with pytest.raises(ValueError, match="exceeds the limit of 255"):
        p.encode_request_head("é" * 128, 1, bytes(32))
    with pytest.raises(ValueError, match="negative"):
        p.encode_request_head("a", -1, bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        p.encode_request_head("a", 1, b"short")


def test_server_frame_round_trip_and_tag() -> None:
    reply = p.Reply(status="ok", name="a", stored="a.png", digest="00" * 32, size=3, format="png",
                    width=1, height=2, verdicts=(p.Verdict("c", "animated", 0.9), p.Verdict("d", None, None, "boom")),
                    server_ms=1.5)  # fmt: skip
    frame = p.encode_server_frame(p.KIND_REPLY, reply.to_json(), key=KEY, nonce=NONCE, seq=3)
    kind, body, used = p.decode_server_frame(frame, key=KEY, nonce=NONCE, seq=3)
    assert (kind, used) == (p.KIND_REPLY, len(frame))
    assert p.Reply.from_json(body) == reply
    with pytest.raises(p.ProtocolError, match="not authenticated"):
        p.decode_server_frame(frame, key=KEY, nonce=NONCE, seq=4)


def test_hello_round_trip() -> None:
    hello = p.Hello(nonce=NONCE, auth=True, max_payload=10, max_pixels=20, classifiers=("a",), read_timeout=1.5)
    assert p.Hello.from_json(json.loads(json.dumps(hello.to_json()))) == hello


def _server_frame(body: bytes, *, kind: int = p.KIND_REPLY, flags: int = 0, reserved: int = 0) -> bytes:
    return p.SERVER_HEADER.pack(p.MAGIC, p.SERVER_FRAME_VERSION, kind, flags, reserved, len(body)) + body


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_server_frame(b"{}", kind=9), "unknown frame kind 9"),
        (_server_frame(b"{}", reserved=1), "reserved byte"),
        (p.SERVER_HEADER.pack(p.MAGIC, 1, 2, 0, 0, p.MAX_BODY_BYTES + 1), "exceeds the limit"),
        (_server_frame(b"[1, 2]"), "not a JSON object"),
        (_server_frame(b'{"a": '), "not UTF-8 JSON"),
        (_server_frame(b"\xff{}"), "not UTF-8 JSON"),
        (_server_frame(b"{}")[:-1], "truncated frame"),
        (_server_frame(b"{}", flags=p.FLAG_AUTH), "truncated frame"),
    ],
)
def test_malformed_server_frames(frame: bytes, message: str) -> None:
    with pytest.raises(p.ProtocolError, match=message):
        p.decode_server_frame(frame)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "maybe"}, "unknown reply status"),
        ({"status": "ok", "stored": 1, "digest": "x", "size": 1}, "stored must be a string"),
        ({"status": "ok", "stored": "a", "digest": "x", "size": True}, "size must be an integer"),
        ({"status": "ok", "stored": "a", "digest": "x", "size": 1, "verdicts": []}, "must be an object"),
        ({"status": "ok", "stored": "a", "digest": "x", "size": 1, "verdicts": {"c": {"label": "cat"}}}, "label"),
        ({"status": "error", "code": 3}, "code must be a string"),
        ({"status": "error", "code": "x", "close": "yes"}, "close"),
    ],
)
def test_reply_fields_are_type_checked(body: dict[str, object], message: str) -> None:
    with pytest.raises(p.ProtocolError, match=message):
        p.Reply.from_json(body)


def test_error_reply_knows_whether_the_connection_closes() -> None:
    assert p.Reply.error("too-large", "x").close
    assert not p.Reply.error("digest-mismatch", "x").close
    assert p.Reply.error("busy", "x").retryable
    with pytest.raises(p.RemoteError, match="not-an-image"):
        p.Reply.error("not-an-image", "nope", name="a").raise_for_status()
    with pytest.raises(ValueError, match="unknown error code"):
        p.Reply.error("oops", "x")


# --------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_request_parser(data: bytes) -> None:
    for stream in (data, p.MAGIC + data, p.MAGIC + bytes([p.VERSION]) + data):
        try:
            p.decode_request(stream, max_payload=1000)
        except p.ProtocolError as exc:
            assert str(exc) and exc.code in p.ERROR_CODES


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_server_frame_parser(data: bytes) -> None:
    for stream in (data, p.MAGIC + bytes([p.SERVER_FRAME_VERSION, p.KIND_REPLY]) + data):
        try:
            kind, body, _ = p.decode_server_frame(stream)
            p.Reply.from_json(body) if kind == p.KIND_REPLY else p.Hello.from_json(body)
        except p.ProtocolError as exc:
            assert str(exc)


@settings(max_examples=100, deadline=None)
@given(name=st.text(max_size=60), payload=st.binary(max_size=500), data=st.data())
def test_any_change_to_the_payload_is_caught(name: str, payload: bytes, data: st.DataObject) -> None:
    frame = bytearray(p.encode_request(name, payload))
    request, _ = p.decode_request(bytes(frame))
    assert (request.name, request.payload) == (name, payload)
    if payload:
        start = len(frame) - len(payload)
        i = data.draw(st.integers(start, len(frame) - 1))
        frame[i] ^= data.draw(st.integers(1, 255))
        with pytest.raises(p.ProtocolError, match="does not match"):
            p.decode_request(bytes(frame))
