"""The client: retries that are safe because the server deduplicates, pipelining, folders, time-outs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgclass.transfer import protocol as p
from imgclass.transfer.client import ImageClient, ServerClosed, image_files
from imgclass.transfer.server import ImageServer
from tests.transfer.conftest import TIMEOUT, BlockingClassifier, RetryLog, make_image, sha, stored_files

Serve = Callable[..., ImageServer]


def fail_once_after_storing(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> list[str]:
    """Make the connection die right after the ``after``-th image is stored, before its reply."""
    real_reply_for = ImageServer._reply_for
    calls: list[str] = []

    def reply_for(self: ImageServer, conn: Any, frame: Any) -> p.Reply:
        reply = real_reply_for(self, conn, frame)
        calls.append(frame.digest)
        if len(calls) == after + 1:
            assert reply.ok, "the image was stored before its reply was lost"
            raise ConnectionResetError("the connection died before the reply")
        return reply

    monkeypatch.setattr(ImageServer, "_reply_for", reply_for)
    return calls


def test_retries_a_refused_connection(out_dir: Path, images: list[bytes]) -> None:
    # A bound socket that does not listen refuses connections; the hook then puts a server there.
    placeholder = socket.socket()
    placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    placeholder.bind(("127.0.0.1", 0))
    port = placeholder.getsockname()[1]
    started: list[ImageServer] = []

    def start_server() -> None:
        placeholder.close()
        started.append(ImageServer(port=port, out_dir=out_dir, classifiers=[]).start())

    log = RetryLog(start_server)
    try:
        with ImageClient("127.0.0.1", port, timeout=TIMEOUT, backoff=0.01, on_retry=log) as client:
            assert client.send(images[0]).ok
    finally:
        for server in started:
            server.stop()
    assert [type(e) for e in log.errors] == [ConnectionRefusedError]


def test_gives_up_after_its_retries() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        log = RetryLog()
        client = ImageClient("127.0.0.1", placeholder.getsockname()[1], retries=2, backoff=0.001, on_retry=log)
        with pytest.raises(ConnectionRefusedError):
            client.send(b"x")
    assert len(log.errors) == 2


def test_retry_after_a_lost_reply_stores_once(
    serve: Serve, out_dir: Path, images: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fail_once_after_storing(monkeypatch)
    server = serve()
    log = RetryLog()
    with ImageClient(*server.address, timeout=TIMEOUT, backoff=0.01, on_retry=log) as client:
        reply = client.send(images[0], name="a.png")
    assert isinstance(log.errors[0], ServerClosed)
    assert reply.ok and reply.duplicate and reply.stored == "a.png"
    assert calls == [sha(images[0])] * 2
    assert stored_files(out_dir) == ["a.png"]


def test_send_many_resumes_where_the_connection_died(
    serve: Serve, out_dir: Path, images: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once_after_storing(monkeypatch, after=5)
    server = serve()
    seen: list[int] = []
    answered_first: list[int] = []
    log = RetryLog(lambda: answered_first.extend(seen))
    with ImageClient(*server.address, timeout=TIMEOUT, backoff=0.01, on_retry=log) as client:
        replies = client.send_many(images[:20], progress=False, window=4, on_reply=lambda i, r: seen.append(i))
    assert len(log.errors) == 1
    assert [r.digest for r in replies] == [sha(d) for d in images[:20]]
    assert all(r.ok for r in replies) and sorted(seen) == list(range(20))
    # Image 5 was stored before its reply was lost, so its resend is a duplicate; so are the images
    # stored in the same group, whose replies went down with it. What was answered was not resent.
    assert 5 not in answered_first and replies[5].duplicate
    assert not any(replies[i].duplicate for i in answered_first)
    assert len(stored_files(out_dir)) == 20


def test_reconnects_after_a_server_restart(serve: Serve, images: list[bytes]) -> None:
    server = serve()
    log = RetryLog()
    with ImageClient(*server.address, timeout=TIMEOUT, backoff=0.01, on_retry=log) as client:
        assert client.send(images[0]).ok
        server.stop()
        serve(port=client.port)
        assert client.send(images[1]).ok
        assert client.send(images[0]).duplicate


def test_busy_server_is_retried(serve: Serve, images: list[bytes]) -> None:
    blocker = BlockingClassifier()
    server = serve(max_connections=1, classifiers={"block": blocker})
    hog = ImageClient(*server.address, timeout=TIMEOUT, retries=0)
    hogging = threading.Thread(target=hog.send, args=(images[1],), daemon=True)
    hogging.start()
    assert blocker.entered.acquire(timeout=TIMEOUT)  # the only slot is now busy, not idle

    def free_the_slot() -> None:
        blocker.release.set()
        hogging.join(TIMEOUT)
        hog.close()
        assert server.wait_until(lambda s: s.active_connections == 0, TIMEOUT)

    log = RetryLog(free_the_slot)
    with ImageClient(*server.address, timeout=TIMEOUT, backoff=0.01, on_retry=log) as client:
        assert client.send(images[0]).ok
    assert "busy" in str(log.errors[0])


def test_retries_stop_at_the_deadline() -> None:
    log = RetryLog()
    with socket.socket() as placeholder:  # bound, not listening: refuses connections
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        client = ImageClient("127.0.0.1", port, timeout=TIMEOUT, retry_for=0.3, backoff=0.01, on_retry=log)
        started = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            client.send(make_image(1))
    assert 0.3 <= time.monotonic() - started < TIMEOUT
    assert len(log.errors) >= 3  # backed off and tried again, more than once
    assert all(0 < d <= 0.3 for d in log.delays)
    assert log.delays[1] > log.delays[0] / 2  # the back-off grows (jitter is at most a factor of 2)


def test_idle_connection_closed_by_the_server_is_replaced(serve: Serve, images: list[bytes]) -> None:
    server = serve(idle_timeout=0.2)
    log = RetryLog()
    with ImageClient(*server.address, timeout=TIMEOUT, retries=0, on_retry=log) as client:
        assert client.send(images[0]).ok
        assert server.wait_until(lambda s: s.active_connections == 0, TIMEOUT)
        assert client.send(images[1]).ok
    assert log.errors == []


def test_client_times_out_on_a_silent_server() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (in the kernel), never speaks
        client = ImageClient("127.0.0.1", silent.getsockname()[1], timeout=0.2, retries=0)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            client.send(b"x")
        assert time.monotonic() - started < TIMEOUT


def test_token_mismatch_in_either_direction(serve: Serve) -> None:
    server = serve()
    with pytest.raises(p.ProtocolError, match="does not ask for authentication"):
        ImageClient(*server.address, token="t" * 20, retries=0).send(b"x")


def test_send_many_a_folder(serve: Serve, tmp_path: Path, out_dir: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    (folder / "a.png").write_bytes(make_image(1))
    (folder / "sub" / "b.jpg").write_bytes(make_image(2, ".jpg"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    (folder / ".c.png").write_bytes(make_image(3))
    (folder / ".hidden" / "d.png").write_bytes(make_image(4))
    (folder / "notes.txt").write_text("not an image")
    assert [f.relative_to(folder).as_posix() for f in image_files(folder)] == ["a.png", "broken.jpg", "sub/b.jpg"]

    server = serve()
    with ImageClient(*server.address, timeout=TIMEOUT) as client:
        replies = client.send_many(folder, progress=False)
    assert [(r.name, r.ok) for r in replies] == [("a.png", True), ("broken.jpg", False), ("b.jpg", True)]
    assert replies[1].code == "not-an-image"
    assert stored_files(out_dir) == ["a.png", "b.jpg"]


def test_image_files_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        list(image_files(tmp_path / "missing"))
    (tmp_path / "one.png").write_bytes(b"x")
    assert list(image_files(tmp_path / "one.png")) == [tmp_path / "one.png"]


class ScriptedServer:
    """A peer that says HELLO and then reads request frames, answering only when told to."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.frames: list[tuple[int, str]] = []  # (seq, name) as they arrive
        self.cond = threading.Condition()
        self.conn: socket.socket | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        self.conn = conn
        hello = p.Hello(nonce=bytes(16), auth=False, max_payload=10**6, max_pixels=10**6)
        conn.sendall(p.encode_server_frame(p.KIND_HELLO, hello.to_json()))
        reader = conn.makefile("rb")
        while head := reader.read(p.REQUEST_HEADER.size):
            header = p.parse_request_header(head)
            name = reader.read(header.name_len).decode()
            reader.read(header.payload_len)
            with self.cond:
                self.frames.append((len(self.frames), name))
                self.cond.notify_all()

    def wait_frames(self, count: int, timeout: float = TIMEOUT) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.frames) >= count, timeout)

    def answer(self, seq: int) -> None:
        assert self.conn is not None
        name = self.frames[seq][1]
        reply = p.Reply(status="ok", name=name, stored=name, digest="00", size=1)
        self.conn.sendall(p.encode_server_frame(p.KIND_REPLY, reply.to_json()))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


def test_submit_keeps_at_most_a_window_in_flight_and_answers_in_order(images: list[bytes]) -> None:
    server = ScriptedServer()
    try:
        with ImageClient("127.0.0.1", server.port, timeout=TIMEOUT, window=3, retries=0) as client:
            futures = [client.submit(images[i], name=f"{i}.png") for i in range(3)]  # none waits for a reply
            assert server.wait_frames(3)
            fourth: list[Any] = []
            submitter = threading.Thread(target=lambda: fourth.append(client.submit(images[3], name="3.png")))
            submitter.start()
            assert not server.wait_frames(4, timeout=0.3)  # the window is full: the fourth waits
            assert submitter.is_alive() and not any(f.done() for f in futures)
            server.answer(0)
            assert futures[0].result(TIMEOUT).name == "0.png"
            submitter.join(TIMEOUT)
            assert server.wait_frames(4)  # one answer made room for one more
            for seq in (1, 2, 3):
                server.answer(seq)
            replies = [f.result(TIMEOUT) for f in [*futures, *fourth]]
    finally:
        server.close()
    assert [r.name for r in replies] == ["0.png", "1.png", "2.png", "3.png"]
    assert [name for _, name in server.frames] == ["0.png", "1.png", "2.png", "3.png"]


def test_closing_the_client_fails_what_is_in_flight(serve: Serve, images: list[bytes]) -> None:
    blocker = BlockingClassifier()
    server = serve(classifiers={"block": blocker})
    client = ImageClient(*server.address, timeout=TIMEOUT)
    future = client.submit(images[0])
    assert blocker.entered.acquire(timeout=TIMEOUT)
    client.close()
    blocker.release.set()
    with pytest.raises(ServerClosed, match="closed"):
        future.result(TIMEOUT)


def test_a_failure_that_is_not_retried_fails_every_image_in_flight() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # says its HELLO, then never answers
        port = silent.getsockname()[1]
        hello = p.encode_server_frame(p.KIND_HELLO, p.Hello(nonce=bytes(16), auth=False, max_payload=10**6,
                                                              max_pixels=10**6).to_json())  # fmt: skip
        accepted: list[socket.socket] = []

        def speak() -> None:
            conn, _ = silent.accept()
            accepted.append(conn)
            conn.sendall(hello)

        speaker = threading.Thread(target=speak)
        speaker.start()
        client = ImageClient("127.0.0.1", port, timeout=0.3, retries=0)
        futures = [client.submit(make_image(i)) for i in range(3)]
        for future in futures:
            with pytest.raises(TimeoutError):
                future.result(TIMEOUT)
        speaker.join(TIMEOUT)
        client.close()
        for conn in accepted:
            conn.close()
