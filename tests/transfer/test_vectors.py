"""The conformance vectors in docs/protocol-vectors.json hold for our implementation, and are up to date."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
        assert kind == p.KIND_REPLY and body["code"] == "digest-mismatch"
    assert frame.hex().find(item["tag"]) > 0


@pytest.mark.parametrize("item", VECTORS["names"], ids=lambda i: repr(i["name"])[:30])
def test_name_cleaning(item: dict[str, Any]) -> None:
    assert candidate_names(item["name"], item["format"], item["digest"])[:2] == item["candidates"]


@pytest.mark.parametrize("case", VECTORS["conversations"], ids=lambda c: c["description"][:50])
def test_conversations_replayed_against_the_live_server(serve: Serve, case: dict[str, Any], tmp_path: Path) -> None:
    server = serve(out_dir=tmp_path / "out", classifiers=[], max_payload=1_000_000, max_pixels=67108864)
    expected: list[dict[str, Any]] = case["replies"]
    with RawPeer(server.address) as peer:
        peer.send(b"".join(bytes.fromhex(f) for f in case["frames"]))
        if expected[-1]["close"]:
            replies = [r.to_json() for r in peer.read_until_closed()]
        else:
            replies = [peer.read_reply().to_json() for _ in expected]
    assert len(replies) == len(expected)
    for reply, want in zip(replies, expected, strict=True):
        assert {k: reply.get(k) for k in want} == want


def test_the_documented_example_frame() -> None:
    import re

    text = (make_vectors.PATH.parent / "protocol.md").read_text(encoding="utf-8")
    block = text.split("Example: the name `cat.png`", 1)[1].split("```")[1]
    dumped = "".join(re.findall(r"^\d{4}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})", block, flags=re.M))
    assert bytes.fromhex(dumped) == p.encode_request("cat.png", b"hello")
