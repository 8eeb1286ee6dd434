"""Against a real server process: killed between receipt and flush, and its memory under stalled peers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from imgclass.transfer import protocol as p
from imgclass.transfer.client import ImageClient
from imgclass.transfer.store import TEMP_PREFIX
from tests.transfer.conftest import TIMEOUT, RawPeer, make_image, sha, stored_files, wait_read

ROOT = Path(__file__).resolve().parents[2]
#: Starting a Python process that imports the package takes seconds on a loaded machine.
START_TIMEOUT = 60.0


class ServerProcess:
    """``python -m tests.transfer.server_process``: its port, pid and what it reports on stdout."""

    def __init__(self, out: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.transfer.server_process", str(out), *args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()
        started = self.wait_for(lambda m: "port" in m, START_TIMEOUT)
        self.port: int = started["port"]
        self.pid: int = started["pid"]

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            with self._cond:
                self.lines.append(json.loads(line))
                self._cond.notify_all()
        with self._cond:
            self.lines.append({"exited": True})
            self._cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.lines if predicate(m) or "exited" in m), None)

        with self._cond:
            message = self._cond.wait_for(found, timeout)
        assert message is not None and "exited" not in message, f"the server process did not report; {self.lines}"
        return message

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def server_process(out: Path, *args: str) -> Iterator[ServerProcess]:
    server = ServerProcess(out, *args)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- durability


def test_a_server_killed_between_receipt_and_flush_acknowledged_only_what_is_on_disk(
    out_dir: Path, images: list[bytes]
) -> None:
    batch = images[:100]
    acked: dict[int, p.Reply] = {}
    lock = threading.Lock()
    outcome: list[Any] = []

    def on_reply(i: int, reply: p.Reply) -> None:
        with lock:
            acked[i] = reply

    first = ServerProcess(out_dir, "--block-at-group", "2")
    port = first.port
    client = ImageClient("127.0.0.1", port, timeout=START_TIMEOUT, retry_for=START_TIMEOUT, backoff=0.05)

    def send() -> None:
        try:
            outcome.append(client.send_many(batch, progress=False, on_reply=on_reply))  # the default window
        except BaseException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        blocked = first.wait_for(lambda m: "blocked" in m, START_TIMEOUT)["blocked"]
        # The first group's replies went out before the second group's flush began; let them land.
        deadline = time.monotonic() + TIMEOUT
        while not acked and time.monotonic() < deadline:
            time.sleep(0.01)
        with lock:
            before_kill = dict(acked)
        first.kill()
    finally:
        first.stop()
    on_disk = stored_files(out_dir)

    # Every reply that arrived names a file that was linked before a flush began that then finished.
    flushed: set[str] = set()
    for start in (m for m in first.lines if "start" in m):
        if any(m.get("flush") == start["flush"] and m.get("done") for m in first.lines):
            flushed.update(start["start"])
    assert before_kill, "no image was acknowledged before the blocked flush"
    assert all(r.ok and r.stored in flushed for r in before_kill.values())
    # ... and is on disk, bit for bit, after the kill.
    for i, reply in before_kill.items():
        assert reply.stored is not None and (out_dir / reply.stored).read_bytes() == batch[i]
    # The kill came between receipt and flush: images were on disk, waiting for the blocked flush,
    # with no reply.
    blocked_start = next(m["start"] for m in first.lines if m.get("flush") == blocked)
    acked_names = {r.stored for r in before_kill.values()}
    waiting = [n for n in blocked_start if n not in acked_names and not n.startswith(TEMP_PREFIX)]
    assert waiting and set(waiting) <= set(on_disk)
    assert len(before_kill) < len(batch)

    with server_process(out_dir, "--port", str(port)):  # the client resends the rest to the new process
        sender.join(START_TIMEOUT * 2)
    client.close()
    assert not sender.is_alive() and len(outcome) == 1 and isinstance(outcome[0], list), outcome
    replies: list[p.Reply] = outcome[0]
    assert len(replies) == len(batch) and all(r.ok for r in replies), [r.code for r in replies if not r.ok]
    assert [r.digest for r in replies] == [sha(d) for d in batch]
    # Nothing lost, nothing stored twice, nothing left half-written.
    files = stored_files(out_dir)
    assert len(files) == len(batch) and not [f for f in files if f.startswith(".")]
    assert {p.digest((out_dir / f).read_bytes()).hex() for f in files} == {sha(d) for d in batch}
    # What was acknowledged kept its name; what reached the disk unacknowledged came back as a duplicate.
    assert all(replies[i].stored == r.stored for i, r in before_kill.items())
    resent_on_disk = [i for i, r in enumerate(replies) if i not in before_kill and r.stored in set(waiting)]
    assert resent_on_disk and all(replies[i].duplicate for i in resent_on_disk)


# --------------------------------------------------------------------------- memory


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc")


def test_stalled_peers_declaring_64_mib_cost_memory_for_what_they_sent(out_dir: Path) -> None:
    declared, sent, peers = 64 * 2**20, 1000, 20
    with server_process(out_dir) as server:
        with ImageClient("127.0.0.1", server.port, timeout=START_TIMEOUT) as client:  # warm up every path once
            assert client.send(make_image(1)).ok
        before = _rss_bytes(server.pid)
        stalled = []
        try:
            for i in range(peers):
                peer = RawPeer(("127.0.0.1", server.port), timeout=TIMEOUT)
                stalled.append(peer)
                head = p.encode_request_head(f"big{i}.png", declared, bytes(32))
                peer.send(head + bytes([i % 256]) * sent)
            assert wait_read(server.port), "the server did not read what the peers sent"
            grown = _rss_bytes(server.pid) - before
            temporaries = [f for f in stored_files(out_dir) if f.startswith(TEMP_PREFIX)]
        finally:
            for peer in stalled:
                peer.sock.close()
    assert grown < 100 * 2**20, (
        f"{peers} stalled declarations of {declared >> 20} MiB grew the server by {grown >> 20} MiB"
    )
    assert temporaries == []  # under one chunk each: not even a temporary file yet
