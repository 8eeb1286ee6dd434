"""Memory bombs, restarts, old clients, wrong tokens, pipelined errors, grouped fsyncs, the classifier pool."""

from __future__ import annotations

import errno
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from imgclass.transfer import protocol as p
from imgclass.transfer.budget import DecodeBudget, decode_cost
from imgclass.transfer.client import ImageClient
from imgclass.transfer.server import ImageServer, ServerOptions
from imgclass.transfer.store import ImageStore, Staged, Stored
from tests.transfer.conftest import TIMEOUT, RawPeer, make_image, sha, stored_files

Serve = Callable[..., ImageServer]


def with_text_chunk(png: bytes, text: bytes) -> bytes:
    """The same PNG with a tEXt chunk before IEND: other bytes, the same pixels."""
    chunk = b"tEXt" + b"Comment\0" + text
    packed = struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return png[:-12] + packed + png[-12:]


@pytest.fixture(scope="module")
def rgba16_bombs() -> list[bytes]:
    """Eight distinct 4096x4096 16-bit RGBA PNGs: ~130 KB each on the wire, 128 MiB each decoded."""
    pixels = np.zeros((4096, 4096, 4), np.uint16)
    pixels[::64, ::64] = 65535
    ok, buf = cv2.imencode(".png", pixels)
    assert ok
    return [with_text_chunk(buf.tobytes(), b"copy %d" % i) for i in range(8)]


def _vm_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
    except OSError:
        return False
    return True


def test_decode_cost_reads_channels_and_depth_from_the_header(rgba16_bombs: list[bytes]) -> None:
    from imgclass.headers import read_header

    bomb = rgba16_bombs[0]
    assert decode_cost(read_header(bomb), bomb[:64], full=False) == 4096 * 4096 * 4 * 2
    small = make_image(1, ".png")  # 8-bit RGB: priced as if it might gain alpha
    assert decode_cost(read_header(small), small[:64], full=False) == 16 * 16 * 4 * 1
    assert decode_cost(read_header(small), small[:64], full=True) > decode_cost(read_header(small), small, full=False)


def test_eight_memory_bombs_at_once_stay_within_the_budget(
    serve: Serve, out_dir: Path, rgba16_bombs: list[bytes]
) -> None:
    budget = 300 * 2**20  # two of them at a time
    server = serve(classifiers=[], decode_budget=budget, max_pixels=2**26)
    resettable = _reset_peak_rss()
    before = _vm_kib("VmRSS")

    def send(data: bytes) -> p.Reply:
        with ImageClient(*server.address, timeout=TIMEOUT * 3) as client:
            return client.send(data, name="bomb.png")

    barrier = threading.Barrier(len(rgba16_bombs))
    replies: list[p.Reply] = []
    lock = threading.Lock()

    def run(data: bytes) -> None:
        barrier.wait(TIMEOUT)
        reply = send(data)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=run, args=(d,)) for d in rgba16_bombs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 6)
    assert len(replies) == 8 and all(r.ok for r in replies), [r.message for r in replies if not r.ok]
    assert server.budget.peak <= budget
    assert server.budget.peak >= 2 * 4096 * 4096 * 8 * 0.9  # two did overlap: the budget was used
    assert len(stored_files(out_dir)) == 8
    peak = _vm_kib("VmHWM")
    if resettable and before is not None and peak is not None:
        grown = (peak - before) * 1024
        assert grown < budget + 100 * 2**20, f"resident memory grew by {grown / 2**20:.0f} MiB"


def test_an_image_larger_than_the_whole_budget_is_refused_without_decoding(
    serve: Serve, out_dir: Path, rgba16_bombs: list[bytes]
) -> None:
    server = serve(classifiers=[], decode_budget=64 * 2**20, max_pixels=2**26)
    with ImageClient(*server.address, timeout=TIMEOUT) as client:
        reply = client.send(rgba16_bombs[0])
    assert reply.code == "too-many-pixels" and "decode budget" in (reply.message or "")
    assert stored_files(out_dir) == []


def test_budget_waits_then_reports_out_of_memory_as_retryable() -> None:
    budget = DecodeBudget(100)
    budget.acquire(80, None)
    with pytest.raises(Exception, match="stayed taken") as info:
        budget.acquire(30, 0.05)
    assert not info.value.too_big
    freed = threading.Timer(0.05, budget.release, args=(80,))
    freed.start()
    budget.acquire(30, TIMEOUT)  # waits for the release
    assert budget.used == 30 and budget.peak == 80
    assert p.Reply.error("out-of-memory", "x").retryable


def test_memory_error_is_out_of_memory_never_not_an_image(
    serve: Serve, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted(*args: object) -> None:
        raise MemoryError

    server = serve(classifiers=[])
    monkeypatch.setattr(cv2, "imdecode", exhausted)
    with ImageClient(*server.address, timeout=TIMEOUT, retries=0) as client:
        reply = client.send(make_image(1))
    assert reply.code == "out-of-memory" and not reply.close and reply.retryable
    assert stored_files(out_dir) == []


def test_memory_error_in_a_classifier_is_out_of_memory(serve: Serve, out_dir: Path) -> None:
    class Hungry:
        def predict_proba(self, X: object) -> None:
            raise MemoryError

    server = serve(classifiers={"hungry": Hungry()})
    with ImageClient(*server.address, timeout=TIMEOUT, retries=0) as client:
        reply = client.send(make_image(1))
    assert reply.code == "out-of-memory"
    assert stored_files(out_dir) == []


# --------------------------------------------------------------------------- restarts


def test_server_restarted_mid_batch_loses_nothing_and_stores_nothing_twice(out_dir: Path, images: list[bytes]) -> None:
    batch = images[:40]
    servers = [ImageServer(out_dir=out_dir, classifiers=[], workers=0).start()]
    port = servers[0].address[1]
    restarted = threading.Event()

    def restart() -> None:
        servers[0].stop()
        # Down for a while, as a real restart is: the client must keep trying, not give up.
        threading.Event().wait(0.5)
        servers.append(ImageServer(port=port, out_dir=out_dir, classifiers=[], workers=0).start())
        restarted.set()

    restarter = threading.Thread(target=restart)

    def on_reply(i: int, reply: p.Reply) -> None:
        if i == 10:
            restarter.start()

    try:
        with ImageClient("127.0.0.1", port, timeout=TIMEOUT, backoff=0.05) as client:
            replies = client.send_many(batch, progress=False, window=4, on_reply=on_reply)
        assert restarted.wait(TIMEOUT)
    finally:
        restarter.join(TIMEOUT)
        for server in servers:
            server.stop()
    assert len(replies) == 40 and all(r.ok for r in replies), [r.code for r in replies if not r.ok]
    assert [r.digest for r in replies] == [sha(d) for d in batch]
    files = stored_files(out_dir)
    assert len(files) == 40 and not [f for f in files if f.startswith(".")]
    assert {p.digest((out_dir / f).read_bytes()).hex() for f in files} == {sha(d) for d in batch}


# --------------------------------------------------------------------------- versions and authentication


def test_a_version_1_client_is_told_to_upgrade(serve: Serve, out_dir: Path) -> None:
    import hashlib

    server = serve()
    with RawPeer(server.address, read_hello=False) as old:
        head = old.sock.recv(p.SERVER_HEADER.size, 0)
        assert head[4] == 1  # a version-1 client can read the HELLO's header ...
        header = p.parse_server_header(head)
        old._recv_exact(header.rest_len)
        data = make_image(1)
        v1 = p.REQUEST_HEADER.pack(p.MAGIC, 1, 0, 5, len(data), hashlib.sha256(data).digest())
        old.send(v1 + b"a.png" + data)
        [reply] = old.read_until_closed()
    assert reply.code == "unsupported-version" and reply.close
    assert "upgrade the client" in (reply.message or "")
    assert stored_files(out_dir) == []


def test_a_version_2_client_refuses_a_version_1_server() -> None:
    body = p.Hello(nonce=bytes(16), auth=False, max_payload=1, max_pixels=1).to_json() | {"protocol": 1}
    with pytest.raises(p.ProtocolError, match="upgrade the server"):
        p.Hello.from_json(body)


def test_a_wrong_token_gets_an_unsigned_reply(serve: Serve) -> None:
    token = "a shared secret of some length"
    server = serve(token=token)
    with RawPeer(server.address) as peer:
        assert peer.hello is not None and peer.hello.auth
        key = p.derive_key("not the right token at all")
        peer.send(p.encode_request("a.png", make_image(1), key=key, nonce=peer.hello.nonce, seq=0))
        head = peer._recv_exact(p.SERVER_HEADER.size)
        assert head is not None
        header = p.parse_server_header(head)
        rest = peer._recv_exact(header.rest_len)
        assert rest is not None
    assert not header.authenticated
    assert p.parse_body(header, rest)["code"] == "unauthorised"


def test_after_a_closing_error_the_rest_of_a_pipeline_is_neither_answered_nor_stored(
    serve: Serve, out_dir: Path, images: list[bytes]
) -> None:
    server = serve(max_payload=100_000)
    frames = [p.encode_request("a.png", images[0]), p.REQUEST_HEADER.pack(p.MAGIC, p.VERSION, 0, 0, 200_000,
              bytes(32)), p.encode_request("c.png", images[2])]  # fmt: skip
    with RawPeer(server.address) as peer:
        peer.send(b"".join(frames))
        replies = peer.read_until_closed()
    assert [r.code for r in replies] == [None, "too-large"]
    assert stored_files(out_dir) == ["a.png"]


# --------------------------------------------------------------------------- durable group commit


def _stage(store: ImageStore, name: str, data: bytes) -> Staged:
    incoming = store.incoming()
    incoming.write(data)
    return incoming.finish(name, sha(data), "png")


def test_batches_queued_together_share_one_round_of_flushes(tmp_path: Path, images: list[bytes]) -> None:
    with ImageStore(tmp_path / "s", durable=True) as store:
        at_start = store.flushes
        commits = [store.begin_commit([_stage(store, f"{i}.png", d)]) for i, d in enumerate(images[:32])]
        while not all(c.done for c in commits):
            store.advance(commits[-1])
        # Two flushes for all 32 (data, then names) on Linux; one folder flush elsewhere.
        assert store.flushes - at_start <= 2
    files = stored_files(tmp_path / "s")
    assert len(files) == 32
    assert {p.digest((tmp_path / "s" / f).read_bytes()).hex() for f in files} == {sha(d) for d in images[:32]}


def test_a_steady_stream_costs_one_flush_per_batch(tmp_path: Path, images: list[bytes]) -> None:
    with ImageStore(tmp_path / "s", durable=True) as store:
        at_start = store.flushes
        previous = None
        for i in range(10):
            commit = store.begin_commit([_stage(store, f"{i}.png", images[i])])
            store.advance(commit)  # one round: flushes this batch's data and the previous batch's names
            assert previous is None or previous.done
            previous = commit
        store.advance(previous)
        # With syncfs, one flush per batch plus the last batch's names; without, one per batch.
        assert previous.done and store.flushes - at_start == (11 if store._whole_fs else 10)


def test_nothing_is_reported_stored_before_the_flush_after_its_link(tmp_path: Path, images: list[bytes]) -> None:
    with ImageStore(tmp_path / "s", durable=True) as store:
        first = store.begin_commit([_stage(store, "a.png", images[0])])
        store.advance(first)  # linked ...
        assert not first.done or not store._whole_fs  # ... but not yet flushed (with syncfs)
        assert (tmp_path / "s" / "a.png").exists()
        again = store.begin_commit([_stage(store, "b.png", images[0])])  # the same bytes, still settling
        while not again.done:
            store.advance(again)
        assert first.done  # the duplicate could not be answered before the original's name was flushed
        assert again.outcomes == [Stored("a.png", duplicate=True)]


def test_a_failed_flush_stores_nothing_and_takes_the_names_back(
    tmp_path: Path, images: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ImageStore(tmp_path / "s", durable=True) as store:
        staged = [_stage(store, f"{i}.png", d) for i, d in enumerate(images[:3])]

        def broken() -> None:
            raise OSError(errno.EIO, "disk on fire")

        monkeypatch.setattr(store, "_flush", broken)
        outcomes = store.commit(staged)
        assert all(isinstance(o, OSError) and "disk on fire" in str(o) for o in outcomes)
        assert stored_files(tmp_path / "s") == [] and len(store) == 0
        monkeypatch.undo()
        assert store.store("0.png", images[0], sha(images[0]), "png") == Stored("0.png", duplicate=False)


# --------------------------------------------------------------------------- the classifier pool


def test_classifier_process_pool(out_dir: Path, images: list[bytes]) -> None:
    options = ServerOptions(out_dir=out_dir, classifiers=["byte-length"], workers=1)
    with ImageServer(options) as server, ImageClient(*server.address, timeout=TIMEOUT * 3) as client:
        replies = client.send_many(images[:5], progress=False)
    assert all(r.ok and r.verdict("byte-length").label in ("real", "animated") for r in replies)


def test_options_are_checked_and_keywords_still_work(out_dir: Path) -> None:
    with pytest.raises(ValueError, match="decode_budget"):
        ServerOptions(decode_budget=0)
    with pytest.raises(ValueError, match="handshake_timeout"):
        ServerOptions(handshake_timeout=0)
    server = ImageServer(ServerOptions(out_dir=out_dir, classifiers=[]), max_connections=3)
    assert server.options.max_connections == 3 and server.max_connections == 3
    assert ImageServer("127.0.0.1", 0, out_dir, []).options.out_dir == out_dir


def test_a_pixel_classifier_decode_is_the_only_decode(
    serve: Serve, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgclass.ready import ready
    from imgclass.transfer import server as server_module

    def no_second_decode(*args: object) -> None:
        raise AssertionError("the server decoded the image a second time")

    monkeypatch.setattr(server_module, "check_decodes", no_second_decode)
    server = serve(classifiers={"cc": ready("colour-count").estimator})
    with ImageClient(*server.address, timeout=TIMEOUT, retries=0) as client:
        good = client.send(make_image(1, shape=(40, 40)))
        truncated = client.send(make_image(2, shape=(40, 40))[:80])
    assert good.ok and good.verdict("cc").label in ("real", "animated")
    assert truncated.code == "not-an-image"  # found by the classifier's own decode
    assert stored_files(out_dir) == [good.stored]
