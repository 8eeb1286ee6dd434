"""The conformance vectors in docs/protocol-vectors.json hold for our implementation, and are up to date."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import pytest

from imgclass.transfer import protocol as p
from imgclass.transfer.names import candidate_names
from imgclass.transfer.server import ImageServer
from tests.transfer import make_vectors
from tests.transfer.conftest import RawPeer

VECTORS: dict[str, Any] = json.loads(make_vectors.PATH.read_text(encoding="utf-8"))
Serve = Callable[..., ImageServer]


def test_the_file_is_what_the_generator_writes() -> None:
    assert make_vectors.PATH.read_text(encoding="utf-8") == make_vectors.render()


def test_digests_and_key() -> None:
    for item in VECTORS["digests"]:
        assert p.digest(bytes.fromhex(item["payload"])).hex() == item["blake3"]
    key = VECTORS["key"]
    assert p.derive_key(key["token"]).hex() == key["key"] and key["context"] == p.KEY_CONTEXT
    # The context is the string's UTF-8 bytes, no terminator: BLAKE3's derive_key takes exactly those.
    context = bytes.fromhex(key["context_utf8"])
    assert context == p.KEY_CONTEXT.encode("utf-8") and b"\0" not in context
    assert blake3.blake3(key["token"].encode(), derive_key_context=context.decode("utf-8")).hexdigest() == key["key"]


@pytest.mark.parametrize("item", VECTORS["authenticated"], ids=lambda i: f"{i['kind']}-{i['seq']}")
def test_authenticated_frames(item: dict[str, Any]) -> None:
    key, nonce = bytes.fromhex(VECTORS["key"]["key"]), bytes.fromhex(VECTORS["nonce"])
    frame = bytes.fromhex(item["frame"])
    if item["kind"] == "request":
        request, used = p.decode_request(frame, key=key, nonce=nonce, seq=item["seq"])
        assert used == len(frame) and request.name == "red.png"
        with pytest.raises(p.ProtocolError, match="does not match"):
            p.decode_request(frame, key=key, nonce=nonce, seq=item["seq"] + 1)
    else:
        kind, body, _ = p.decode_server_frame(frame, key=key, nonce=nonce, seq=item["seq"])
        assert kind == p.KIND_REPLY and body["status"] == "error"
        if body["code"] != "digest-mismatch":  # unsolicited: nothing was read, so no name
            assert body["name"] is None and body["close"]
        for other in {max(0, item["seq"] - 1), item["seq"] + 1} - {item["seq"]}:
            with pytest.raises(p.ProtocolError, match="not authenticated"):
                p.decode_server_frame(frame, key=key, nonce=nonce, seq=other)
    assert frame.hex().find(item["tag"]) > 0


@pytest.mark.parametrize("item", VECTORS["unsigned_replies"], ids=lambda i: i["code"])
def test_unsigned_replies(item: dict[str, Any]) -> None:
    frame = bytes.fromhex(item["frame"])
    header = p.parse_server_header(frame[: p.SERVER_HEADER.size])
    assert not header.authenticated and item["code"] in p.UNSIGNED_CODES
    body = p.parse_body(header, frame[p.SERVER_HEADER.size :])
    assert body["status"] == "error" and body["code"] == item["code"] and p.ERROR_CODES[item["code"]]


def test_hellos() -> None:
    frame, *cases = VECTORS["hellos"]
    kind, body, used = p.decode_server_frame(bytes.fromhex(frame["frame"]))
    assert kind == p.KIND_HELLO and used == len(bytes.fromhex(frame["frame"]))
    assert p.Hello.from_json(body).nonce == bytes.fromhex(VECTORS["nonce"])
    for case in cases:
        if case["valid"]:
            hello = p.Hello.from_json(case["body"])
            assert isinstance(hello.read_timeout, float) and hello.max_payload == case["body"]["max_payload"]
        else:
            with pytest.raises(p.ProtocolError):
                p.Hello.from_json(case["body"])


@pytest.mark.parametrize("item", VECTORS["names"], ids=lambda i: repr(i["name"])[:30])
def test_name_cleaning(item: dict[str, Any]) -> None:
    assert candidate_names(item["name"], item["format"], item["digest"])[:2] == item["candidates"]


def _replay(serve: Serve, case: dict[str, Any], folder: Path, token: str | None) -> None:
    """Replay one conversation on a fresh server and folder, as the vectors' "about" says."""
    setup = VECTORS["setup"]
    server = serve(out_dir=folder, classifiers=setup["classifiers"], max_payload=setup["max_payload"],
                   max_pixels=setup["max_pixels"], token=token)  # fmt: skip
    key = None if token is None else p.derive_key(token)
    expected: list[dict[str, Any]] = case["replies"]
    frames: list[tuple[p.ServerHeader, bytes]] = []
    with RawPeer(server.address) as peer:
        assert peer.hello is not None
        peer.send(b"".join(bytes.fromhex(f) for f in case["frames"]))
        while len(frames) < len(expected) or expected[-1]["close"]:
            head = peer._recv_exact(p.SERVER_HEADER.size)
            if head is None:
                break
            header = p.parse_server_header(head)
            rest = peer._recv_exact(header.rest_len)
            assert rest is not None
            frames.append((header, rest))
        nonce = peer.hello.nonce
    assert len(frames) == len(expected)
    for seq, ((header, rest), want) in enumerate(zip(frames, expected, strict=True)):
        reply = p.Reply.from_json(p.parse_body(header, rest)).to_json()
        if key is not None:
            reply["signed"] = p.server_tag_ok(header, rest, key=key, nonce=nonce, seq=seq)
        assert {k: reply.get(k) for k in want} == want


def test_the_setup_matches_the_serve_command() -> None:
    from imgclass.cli import build_parser

    setup = VECTORS["setup"]
    args = build_parser().parse_args(setup["serve"].split()[1:])
    assert args.max_payload == setup["max_payload"] and args.max_pixels == setup["max_pixels"]
    assert args.no_classify and setup["classifiers"] == [] and args.port == 0


@pytest.mark.parametrize("case", VECTORS["conversations"], ids=lambda c: c["description"][:50])
def test_conversations_replayed_against_the_live_server(serve: Serve, case: dict[str, Any], tmp_path: Path) -> None:
    _replay(serve, case, tmp_path / "out", token=None)


@pytest.mark.parametrize("case", VECTORS["token_conversations"], ids=lambda c: c["description"][:50])
def test_token_conversations_replayed_against_the_live_server(
    serve: Serve, case: dict[str, Any], tmp_path: Path
) -> None:
    _replay(serve, case, tmp_path / "out", token=VECTORS["key"]["token"])


def test_the_documented_example_frame() -> None:
    import re

    text = (make_vectors.PATH.parent / "protocol.md").read_text(encoding="utf-8")
    block = text.split("Example: the name `cat.png`", 1)[1].split("```")[1]
    dumped = "".join(re.findall(r"^\d{4}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})", block, flags=re.M))
    assert bytes.fromhex(dumped) == p.encode_request("cat.png", b"hello")
