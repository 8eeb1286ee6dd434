"""The live server: bit-exact, concurrent, and unharmed by malformed, hostile, slow or dying clients."""

from __future__ import annotations

import resource
import select
import socket
import ssl
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import trustme

import imgclass.decode
from imgclass.transfer import protocol as p
from imgclass.transfer.client import ImageClient
from imgclass.transfer.server import ImageServer
from imgclass.transfer.store import TEMP_PREFIX
from tests.transfer.conftest import (
    TIMEOUT,
    BlockingClassifier,
    BrokenClassifier,
    RawPeer,
    header,
    make_image,
    sha,
    stored_files,
    wait_read,
)

Serve = Callable[..., ImageServer]


def client_for(server: ImageServer, **kwargs: object) -> ImageClient:
    return ImageClient(*server.address, timeout=TIMEOUT, retries=0, **kwargs)  # type: ignore[arg-type]


def assert_clean(out_dir: Path, expected: set[str] | None = None) -> None:
    """Nothing partial: no temporary files, and exactly the expected images."""
    names = stored_files(out_dir)
    assert not [n for n in names if n.startswith(".")], names
    if expected is not None:
        assert set(names) == expected


# --------------------------------------------------------------------------- the happy path


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
def test_round_trip_is_bit_exact(serve: Serve, out_dir: Path, ext: str) -> None:
    server = serve()
    data = [make_image(i, ext, shape=(40, 30)) for i in range(3)]
    with client_for(server) as client:
        replies = [client.send(d, name=f"img{i}{ext}") for i, d in enumerate(data)]
    for d, reply in zip(data, replies, strict=True):
        assert reply.ok and reply.digest == sha(d) and reply.size == len(d)
        assert p.digest((out_dir / reply.stored).read_bytes()).hex() == sha(d)
        assert reply.verdict("fake").label == "animated" and reply.verdict("fake").score == 0.75
        assert (reply.width, reply.height) == (30, 40)
    assert [r.digest for r in server.received] == [sha(d) for d in data]
    assert_clean(out_dir)


def test_a_large_image_arrives_intact(serve: Serve, out_dir: Path) -> None:
    server = serve(classifiers=[])
    data = make_image(7, ".png", shape=(700, 800))  # noise does not compress: ~1.7 MB
    assert len(data) > 1_000_000
    with client_for(server) as client:
        reply = client.send(data, name="big.png")
    assert (out_dir / reply.stored).read_bytes() == data


def test_sixteen_concurrent_clients(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    """16 clients x 25 images; every image goes out twice, from different clients at once."""
    server = serve(max_connections=16)
    jobs = [[images[(k * 25 + j) % len(images)] for j in range(25)] for k in range(16)]

    def run(k: int) -> list[p.Reply]:
        with client_for(server) as client:
            if k % 2:
                return client.send_many(jobs[k], progress=False, window=4)
            return [client.send(data, name=f"c{k}-{j}.png") for j, data in enumerate(jobs[k])]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(run, range(16)))

    for job, replies in zip(jobs, results, strict=True):
        assert [r.digest for r in replies] == [sha(d) for d in job]
        assert all(r.ok and r.verdict("fake").label == "animated" for r in replies)
    on_disk = {sha((out_dir / name).read_bytes()): name for name in stored_files(out_dir)}
    assert len(on_disk) == len(stored_files(out_dir)) == len(images)  # each content exactly once
    assert set(on_disk) == {sha(d) for d in images}
    for replies in results:
        assert all(on_disk[r.digest] == r.stored for r in replies)
    assert sum(r.duplicate for replies in results for r in replies) == 400 - len(images)
    assert_clean(out_dir)


def test_same_name_different_images_are_both_kept(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    server = serve()
    with client_for(server) as client:
        first, second, again = (client.send(d, name="cat.png") for d in (images[0], images[1], images[0]))
    assert first.stored == "cat.png" and second.stored == f"cat-{sha(images[1])[:8]}.png"
    assert again.duplicate and again.stored == "cat.png"
    assert stored_files(out_dir) == sorted([first.stored, second.stored])


def test_deduplicates_across_restarts(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    with client_for(serve()) as client:
        first = client.send(images[0], name="a.png")
    with client_for(serve()) as client:
        again = client.send(images[0], name="b.png")
    assert again.duplicate and again.stored == first.stored == "a.png"


NASTY_NAMES = [
    "../escape.png",
    "../../../../../../tmp/escape.png",
    "/etc/passwd",
    "..\\..\\escape.png",
    "sub/dir/../../escape.png",
    ".hidden.png",
    "..",
    "",
    "nul\x00byte.png",
    "line\nbreak.png",
    "evil\u202egnp.exe",
    "CON",
    "x" * 255,
]


def test_path_traversal_stays_inside(serve: Serve, tmp_path: Path, out_dir: Path) -> None:
    server = serve()
    with client_for(server) as client:
        replies = [client.send(make_image(100 + i), name=name) for i, name in enumerate(NASTY_NAMES)]
    assert all(r.ok for r in replies)
    assert [entry.name for entry in tmp_path.iterdir()] == ["out"]
    for reply in replies:
        path = (out_dir / reply.stored).resolve()
        assert path.parent == out_dir.resolve() and path.is_file()
        assert not reply.stored.startswith(".") and reply.stored.endswith(".png")
    assert len(stored_files(out_dir)) == len(NASTY_NAMES)


def test_a_broken_classifier_costs_only_its_own_verdict(serve: Serve, out_dir: Path) -> None:
    from tests.transfer.conftest import FakeClassifier

    server = serve(classifiers={"broken": BrokenClassifier(), "fake": FakeClassifier(0.1)})
    with client_for(server) as client:
        reply = client.send(make_image(1), name="a.png")
    assert reply.ok and reply.verdict("broken").error == "RuntimeError: model file went missing"
    assert reply.verdict("fake").label == "real"
    assert stored_files(out_dir) == ["a.png"]


# --------------------------------------------------------------------------- malformed frames


def _good_frame(data: bytes, name: str = "ok.png") -> bytes:
    return p.encode_request(name, data)


MALFORMED = {
    "bad magic": (header(magic=b"HTTP"), "bad-frame"),
    "unknown version": (header(version=9), "bad-frame"),
    "unknown flags": (header(flags=0x40), "bad-frame"),
    "name too long": (header(name_len=1000), "bad-frame"),
    "negative size": (header(payload_len=-5), "bad-frame"),
    "oversized": (header(payload_len=2**62), "too-large"),
    "bad utf-8": (header(name_len=2) + b"\xc3\x28", "bad-frame"),
    "tag without token": (p.encode_request("a.png", b"x", key=b"k" * 32), "bad-frame"),
    "http request": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 30, "bad-frame"),
    "truncated header": (header()[:20], "bad-frame"),
    "truncated name": (header(name_len=10) + b"abc", "bad-frame"),
    "truncated payload": (_good_frame(make_image(3))[:-10], "bad-frame"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_frame_is_refused_and_others_are_served(
    serve: Serve, out_dir: Path, images: list[bytes], case: str
) -> None:
    frame, code = MALFORMED[case]
    server = serve(max_payload=1 << 20)
    with client_for(server) as bystander:
        assert bystander.send(images[0], name="before.png").ok
        with RawPeer(server.address) as bad:
            bad.send(frame)
            bad.finish()  # for the truncated cases: the server sees the stream end mid-frame
            replies = bad.read_until_closed()
        assert [r.code for r in replies] == [code]
        assert replies[0].close and not replies[0].ok and replies[0].message
        assert bystander.send(images[1], name="after.png").ok
    assert server.wait_until(lambda s: s.active_connections == 0, TIMEOUT)
    assert_clean(out_dir, {"before.png", "after.png"})


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: p.encode_request_head("x.png", 4, bytes(32)) + b"abcd", "digest-mismatch"),
        (lambda: _good_frame(b"this is not an image"), "not-an-image"),
        (lambda: _good_frame(make_image(5)[:60]), "not-an-image"),  # a truncated PNG
        (lambda: _good_frame(b""), "not-an-image"),
    ],
)
def test_bad_payload_gets_an_error_and_the_connection_survives(
    serve: Serve, out_dir: Path, make: Callable[[], bytes], code: str
) -> None:
    server = serve()
    good = make_image(6)
    with RawPeer(server.address) as peer:
        peer.send(make() + _good_frame(good, "good.png"))
        bad, ok = peer.read_reply(), peer.read_reply()
    assert (bad.code, bad.close) == (code, False)
    assert ok.ok and ok.stored == "good.png"
    assert_clean(out_dir, {"good.png"})


def test_image_bomb_header_is_refused_before_decoding(
    serve: Serve, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_decode(*args: object) -> None:
        raise AssertionError("the server decoded an image-bomb")

    monkeypatch.setattr(imgclass.decode.cv2, "imdecode", must_not_decode)
    # A PNG signature and an IHDR claiming 100000 x 100000 pixels, then nothing of substance.
    bomb = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sIIBBBBB", 13, b"IHDR", 100_000, 100_000, 8, 2, 0, 0, 0) + b"\0" * 64
    server = serve(max_pixels=10_000_000)
    with client_for(server) as client:
        reply = client.send(bomb, name="bomb.png")
    assert reply.code == "too-many-pixels" and "100000x100000" in (reply.message or "")
    assert_clean(out_dir, set())


def test_pixel_limit_is_configurable(serve: Serve, out_dir: Path) -> None:
    server = serve(max_pixels=100)
    with client_for(server) as client:
        assert client.send(make_image(1, shape=(10, 10))).ok
        assert client.send(make_image(2, shape=(11, 10))).code == "too-many-pixels"
    assert len(stored_files(out_dir)) == 1


def test_payload_limit(serve: Serve, out_dir: Path) -> None:
    big = make_image(1, shape=(64, 64))
    server = serve(max_payload=len(big) - 1)
    with client_for(server) as client:
        with pytest.raises(ValueError, match="accepts at most"):
            client.send(big)
        [local] = client.send_many([big], progress=False)
    assert local.code == "too-large" and "not sent" in (local.message or "")
    with RawPeer(server.address) as peer:  # a client that ignores the limit it was told
        peer.send(_good_frame(big))
        [reply] = peer.read_until_closed()
    assert reply.code == "too-large" and reply.close
    assert_clean(out_dir, set())


# --------------------------------------------------------------------------- hostile and slow clients


def test_a_full_server_evicts_its_longest_idle_connection(serve: Serve, images: list[bytes]) -> None:
    server = serve(max_connections=2)
    with RawPeer(server.address) as oldest, RawPeer(server.address) as newer:
        with client_for(server) as client:  # a third connection: the oldest idle one makes room
            assert client.send(images[0]).ok
        [reply] = oldest.read_until_closed()
        assert reply.code == "evicted" and reply.close and reply.retryable
        newer.send(_good_frame(images[1]))
        assert newer.read_reply().ok  # untouched
    assert "evicted" in [r.code for r in server.rejected]


def _unsolicited(peer: RawPeer, key: bytes) -> tuple[p.Reply, bool, bool]:
    """The reply a peer got without asking, and whether its tag is valid for seq 0 and for seq 1."""
    head = peer._recv_exact(p.SERVER_HEADER.size)
    assert head is not None and peer.hello is not None
    header = p.parse_server_header(head)
    rest = peer._recv_exact(header.rest_len)
    assert rest is not None
    reply = p.Reply.from_json(p.parse_body(header, rest))
    nonce = peer.hello.nonce
    seq0 = p.server_tag_ok(header, rest, key=key, nonce=nonce, seq=0)
    return reply, seq0, p.server_tag_ok(header, rest, key=key, nonce=nonce, seq=1)


def test_an_unsolicited_reply_is_signed_with_the_next_seq_even_right_after_the_hello(
    serve: Serve, images: list[bytes]
) -> None:
    token = "a shared secret of some length"
    key = p.derive_key(token)
    server = serve(max_connections=1, token=token)
    with RawPeer(server.address) as first, RawPeer(server.address) as second:
        # The second connection took the only slot: the first, which had its HELLO, is evicted
        # before sending anything, with a reply signed for seq 0.
        reply, seq0, seq1 = _unsolicited(first, key)
        assert reply.code == "evicted" and reply.name is None and seq0 and not seq1
        assert second.hello is not None
        second.send(p.encode_request("a.png", images[0], key=key, nonce=second.hello.nonce, seq=0))
        assert second.read_reply().ok
        with RawPeer(server.address):  # now the second is idle after one request: evicted with seq 1
            reply, seq0, seq1 = _unsolicited(second, key)
    assert reply.code == "evicted" and not seq0 and seq1


def test_busy_only_when_every_connection_is_being_served(serve: Serve, images: list[bytes]) -> None:
    blocker = BlockingClassifier()
    server = serve(max_connections=1, classifiers={"block": blocker})
    with RawPeer(server.address) as working:
        working.send(_good_frame(images[0]))
        assert blocker.entered.acquire(timeout=TIMEOUT)
        with RawPeer(server.address, read_hello=False) as newcomer:
            [reply] = newcomer.read_until_closed()
        assert reply.code == "busy" and reply.close
        blocker.release.set()
        assert working.read_reply().ok  # the connection being served was not touched
    assert server.rejected[-1].code == "busy"


def test_one_address_holds_at_most_its_share(serve: Serve, images: list[bytes]) -> None:
    server = serve(max_connections=10, max_per_address=2, limit_loopback=True)
    with RawPeer(server.address) as first, RawPeer(server.address) as second:
        with RawPeer(server.address) as third:  # over the address's share: its own oldest goes
            [reply] = first.read_until_closed()
            assert reply.code == "evicted"
            assert server.wait_until(lambda s: s.active_connections == 2, TIMEOUT)
            third.send(_good_frame(images[0]))
            assert third.read_reply().ok
        second.send(_good_frame(images[1]))
        assert second.read_reply().ok


def test_first_frame_has_a_tight_deadline(serve: Serve) -> None:
    server = serve(handshake_timeout=0.3, idle_timeout=TIMEOUT)
    with RawPeer(server.address) as stalled:
        assert stalled.hello is not None and stalled.hello.handshake_timeout == 0.3
        stalled.send(header()[:10])  # a frame begins, never completes
        started = time.monotonic()
        [reply] = stalled.read_until_closed()
    assert reply.code == "timeout" and "first frame" in (reply.message or "")
    assert time.monotonic() - started < TIMEOUT


def test_two_hundred_stalled_connections_cannot_lock_a_client_out(
    serve: Serve, out_dir: Path, images: list[bytes]
) -> None:
    """The issue's attack: connections that connect and send nothing. 200 of them, against 32 slots."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 600:
        pytest.skip(f"needs about 450 file descriptors, the limit is {soft}")
    server = serve(max_connections=32, handshake_timeout=TIMEOUT)
    stalled = []
    try:
        for _ in range(200):
            stalled.append(socket.create_connection(server.address, timeout=TIMEOUT))
        assert server.wait_until(lambda s: s.active_connections <= 32, TIMEOUT)
        started = time.monotonic()
        with ImageClient(*server.address, timeout=TIMEOUT, backoff=0.01) as client:
            reply = client.send(images[0])
        elapsed = time.monotonic() - started
    finally:
        for sock in stalled:
            sock.close()
    assert reply.ok and reply.verdict("fake").label == "animated"
    assert elapsed < 2.0, f"the real client waited {elapsed:.2f} s"
    assert sum(r.code == "evicted" for r in server.rejected) >= 200 - 32


def test_idle_client_is_dropped(serve: Serve) -> None:
    server = serve(idle_timeout=0.2)
    with RawPeer(server.address) as idle:
        assert idle.hello is not None and idle.hello.idle_timeout == 0.2
        [reply] = idle.read_until_closed()
    assert reply.code == "idle-timeout"


def test_stalled_client_is_dropped(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    server = serve(read_timeout=0.3)
    with client_for(server) as bystander:
        with RawPeer(server.address) as stalled:
            stalled.send(_good_frame(images[0])[:100])  # then nothing
            started = time.monotonic()
            [reply] = stalled.read_until_closed()
        assert reply.code == "timeout" and time.monotonic() - started < TIMEOUT
        assert bystander.send(images[1]).ok
    assert_clean(out_dir)
    assert len(stored_files(out_dir)) == 1


def test_slowloris_is_dropped_although_bytes_keep_coming(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    """One byte every 20 ms would satisfy any per-recv time-out; the whole-frame deadline still fires."""
    server = serve(read_timeout=0.4)
    frame = _good_frame(images[0])
    with RawPeer(server.address) as slow:
        started = time.monotonic()
        for byte in frame:
            readable, _, _ = select.select([slow.sock], [], [], 0.02)
            if readable:  # the server answered (and is closing): it dropped us
                break
            slow.send(bytes([byte]))
        else:
            pytest.fail("the server accepted a frame dripped over the whole deadline")
        [reply] = slow.read_until_closed()
    assert reply.code == "timeout"
    assert 0.4 <= time.monotonic() - started < TIMEOUT
    assert_clean(out_dir, set())


@pytest.mark.parametrize("size", [20, 48 + 6 + 100, 48 + 6 + 1_000_000])
def test_client_killed_mid_frame_leaves_no_file(serve: Serve, out_dir: Path, size: int) -> None:
    server = serve()
    frame = _good_frame(make_image(9, shape=(700, 800)), "dying.png")
    peer = RawPeer(server.address)
    peer.send(frame[:size])
    peer.reset()
    assert server.wait_until(lambda s: s.active_connections == 0, TIMEOUT)
    assert server.rejected and server.rejected[-1].code == "bad-frame"
    assert_clean(out_dir, set())


def test_stop_closes_connected_clients(serve: Serve, out_dir: Path) -> None:
    server = serve()
    with RawPeer(server.address) as idle, RawPeer(server.address) as mid_frame:
        mid_frame.send(header(payload_len=1000))
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < TIMEOUT
        assert server.active_connections == 0
        assert idle.read_frame() is None
    assert_clean(out_dir, set())


# --------------------------------------------------------------------------- exposure, tokens and TLS

TOKEN = "correct horse battery staple"


def test_binds_to_loopback_unless_told_otherwise(out_dir: Path) -> None:
    with pytest.raises(ValueError, match="loopback only unless allow_remote"):
        ImageServer("0.0.0.0", 0, out_dir, [])
    with pytest.raises(ValueError, match="needs a shared token"):
        ImageServer("0.0.0.0", 0, out_dir, [], allow_remote=True)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ImageServer("0.0.0.0", 0, out_dir, [], allow_remote=True, token="short")
    assert ImageServer("localhost", 0, out_dir, [])._bind_host == "127.0.0.1"


def test_remote_listening_with_token(serve: Serve, images: list[bytes]) -> None:
    server = serve(host="0.0.0.0", allow_remote=True, token=TOKEN)
    assert server.address[0] == "0.0.0.0"
    with ImageClient("127.0.0.1", server.address[1], timeout=TIMEOUT, token=TOKEN) as client:
        assert client.send(images[0]).ok


def test_token_authentication(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    server = serve(token=TOKEN)
    with client_for(server, token=TOKEN) as client:
        assert client.hello.auth
        assert [r.ok for r in client.send_many(images[:3], progress=False)] == [True] * 3
        assert client.send(images[3]).ok
    with client_for(server, token="wrong " + TOKEN) as intruder:
        reply = intruder.send(images[4])
    assert reply.code == "unauthorised"
    with pytest.raises(p.ProtocolError, match="requires a token"):
        client_for(server).send(images[5])
    assert len(stored_files(out_dir)) == 4


def test_frames_cannot_be_replayed(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    server = serve(token=TOKEN)
    with RawPeer(server.address) as first:
        assert first.hello is not None
        frame = p.encode_request("a.png", images[0], key=p.derive_key(TOKEN), nonce=first.hello.nonce, seq=0)
        first.send(frame)
        assert first.read_reply().ok
        first.send(frame)  # the same frame again on the same connection: wrong sequence number
        assert first.read_reply().code == "unauthorised"
    with RawPeer(server.address) as second:  # and on another connection: wrong nonce
        second.send(frame)
        assert second.read_reply().code == "unauthorised"
    assert stored_files(out_dir) == ["a.png"]


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


def test_tls_round_trip(serve: Serve, out_dir: Path, tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server = serve(token=TOKEN, ssl_context=tls[0])
    data = make_image(1, shape=(300, 300))
    with client_for(server, token=TOKEN, ssl_context=tls[1]) as client:
        replies = [client.send(data, name="tls.png"), *client.send_many([make_image(2)], progress=False)]
    assert all(r.ok for r in replies)
    assert (out_dir / "tls.png").read_bytes() == data


def test_tls_refuses_untrusted_and_plain_peers(serve: Serve, tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server = serve(ssl_context=tls[0], handshake_timeout=0.5)
    with pytest.raises(ssl.SSLCertVerificationError):
        client_for(server, ssl_context=ssl.create_default_context()).send(make_image(1))
    # A plain client waits for our HELLO in silence: it is told, in plain text, to use TLS.
    with pytest.raises(p.ProtocolError, match="TLS only") as info:
        ImageClient(*server.address, timeout=TIMEOUT, retries=0).send(make_image(1))
    assert info.value.code == "tls-required"
    with RawPeer(server.address, read_hello=False) as plain:  # one that speaks first is told at once
        plain.send(_good_frame(make_image(2)))
        [reply] = plain.read_until_closed()
    assert reply.code == "tls-required"
    with client_for(server, ssl_context=tls[1]) as client:
        assert client.send(make_image(1)).ok


def test_tls_server_at_its_limit_evicts_an_idle_client(
    serve: Serve, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server = serve(ssl_context=tls[0], max_connections=1)
    hog = client_for(server, ssl_context=tls[1])
    assert hog.hello  # holds the only slot, idle
    with client_for(server, ssl_context=tls[1]) as client:
        assert client.send(make_image(1)).ok
    assert server.wait_until(lambda s: "evicted" in [r.code for r in s.rejected], TIMEOUT)
    hog.close()


# --------------------------------------------------------------------------- fuzzing the live server


def test_random_streams_never_harm_the_server(serve: Serve, out_dir: Path, images: list[bytes]) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    server = serve(max_payload=4096, read_timeout=2.0)
    prefixes = st.sampled_from([b"", p.MAGIC, p.MAGIC + b"\x01", p.MAGIC + b"\x01\x00\x00\x05"])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(prefix=prefixes, body=st.binary(max_size=400))
    def feed(prefix: bytes, body: bytes) -> None:
        with RawPeer(server.address) as peer:
            peer.send(prefix + body)
            peer.finish()
            replies = peer.read_until_closed()
        assert all(not r.ok and r.code in p.ERROR_CODES and r.message for r in replies)
        assert stored_files(out_dir) == []

    feed()
    assert server.wait_until(lambda s: s.active_connections == 0, TIMEOUT)
    with client_for(server) as client:
        assert client.send(images[0]).ok
    assert_clean(out_dir)
    assert np.all([r.code in p.ERROR_CODES for r in server.rejected])


# --------------------------------------------------------------------------- the temporary file


def test_the_temporary_file_appears_with_the_first_chunk_and_holds_what_arrived(serve: Serve, out_dir: Path) -> None:
    from imgclass.transfer.receive import CHUNK

    payload = make_image(7, ".bmp", shape=(600, 600))  # about 1 MB, uncompressed
    server = serve(classifiers=[])
    port = server.address[1]
    head = p.encode_request_head("big.bmp", len(payload), p.digest(payload))

    def temporaries() -> list[Path]:
        return [out_dir / f for f in stored_files(out_dir) if f.startswith(TEMP_PREFIX)]

    with RawPeer(server.address) as peer:
        peer.send(head + payload[:1000])
        assert wait_read(port)
        assert temporaries() == []  # authenticated, receiving, but under one chunk: no file yet
        peer.send(payload[1000 : CHUNK + 5000])
        assert wait_read(port)
        [temp] = temporaries()
        assert temp.read_bytes() == payload[:CHUNK]  # exactly the chunks that arrived
        peer.send(payload[CHUNK + 5000 :])
        reply = peer.read_reply()
    assert reply.ok and (out_dir / "big.bmp").read_bytes() == payload
    assert temporaries() == []


def test_a_small_payload_with_a_wrong_digest_never_touches_the_disk(
    serve: Serve, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgclass.transfer.store import ImageStore

    created: list[str] = []
    real = ImageStore._create_temporary

    def counting(self: ImageStore) -> tuple[str, int]:
        temp, fd = real(self)
        created.append(temp)
        return temp, fd

    monkeypatch.setattr(ImageStore, "_create_temporary", counting)
    server = serve(classifiers=[])
    with RawPeer(server.address) as peer:
        data = make_image(1)
        peer.send(p.encode_request_head("x.png", len(data), bytes(32)) + data)
        assert peer.read_reply().code == "digest-mismatch"
        peer.send(p.encode_request("y.png", data))
        assert peer.read_reply().ok
    assert len(created) == 1 and stored_files(out_dir) == ["y.png"]
