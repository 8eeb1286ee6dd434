"""No orphans: the workers of ``imgclass classify`` and ``imgclass serve`` die with them, however they die.

Each command runs in a session of its own; after its SIGKILL every process left in that session (pool
workers, the fork server, multiprocessing's resource tracker, Dask's workers) must be gone within
:data:`DEADLINE`. Found by walking ``/proc``, not by psutil, so nothing outside the test's own session is
touched.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from imgclass.parent_watch import exit_with_parent
from tests.transfer.conftest import TIMEOUT, make_image

ROOT = Path(__file__).resolve().parent.parent
#: The goal is 2 s after the parent's death; the rest is slack for a loaded 2-core CI machine.
DEADLINE = 10.0


def session_members(session: int) -> dict[int, str]:
    """Live (not zombie) processes of ``session``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            state, _ppid, _pgrp, sid = stat[stat.rindex(")") + 2 :].split()[:4]
            if int(sid) == session and state not in ("Z", "X"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):  # it ended while we looked
            continue
    return found


def survivors_after_kill(process: subprocess.Popen[bytes]) -> dict[int, str]:
    """SIGKILL the session leader ``process`` alone; what is left of its session after :data:`DEADLINE`."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + DEADLINE
    while (left := session_members(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the processes to go, not waiting for time to pass
    for pid in left:  # never leave them behind, whatever the test says
        os.kill(pid, signal.SIGKILL)
    return left


def start(*args: str, stderr: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "imgclass", *args]
    return subprocess.Popen(command, start_new_session=True, stderr=stderr, env=env)


@pytest.fixture
def many_images(tiny_set: tuple[list[bytes], object], tmp_path: Path) -> Path:
    folder = tmp_path / "many"
    folder.mkdir()
    for copy in range(3):  # 72 distinct paths, so the per-worker cache cannot answer
        for i, data in enumerate(tiny_set[0]):
            (folder / f"{copy}_{i:02d}.jpg").write_bytes(data)
    return folder


def workers_of(members: dict[int, str], marker: str) -> list[int]:
    return [pid for pid, command in members.items() if marker in command]


def run_until_lines(process: subprocess.Popen[bytes], out: Path, lines: int) -> None:
    deadline = time.monotonic() + 120
    while (not out.exists() or out.read_bytes().count(b"\n") < lines) and process.poll() is None:
        assert time.monotonic() < deadline, "no output in 120 s"
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"


@pytest.mark.slow
def test_a_killed_classify_leaves_no_worker_behind(many_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    process = start("classify", str(many_images), "--out", str(out), "--workers", "2", "--chunk-size", "2",
                    "--no-progress")  # fmt: skip
    try:
        run_until_lines(process, out, 4)  # mid-run: both workers busy
        members = session_members(process.pid)
        assert len(workers_of(members, "spawn_main")) == 2, members
        assert workers_of(members, "resource_tracker"), members
    finally:
        left = survivors_after_kill(process)
    assert not left, f"still running {DEADLINE} s after their parent's SIGKILL: {left}"


@pytest.mark.slow
def test_a_killed_dask_classify_leaves_no_worker_behind(many_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    process = start("classify", str(many_images), "--out", str(out), "--dask", "local", "--workers", "2",
                    "--chunk-size", "2", "--no-progress")  # fmt: skip
    try:
        run_until_lines(process, out, 4)
        assert len(workers_of(session_members(process.pid), "spawn_main")) == 2
    finally:
        left = survivors_after_kill(process)
    assert not left, f"still running {DEADLINE} s after their parent's SIGKILL: {left}"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_killed_server_leaves_no_classifier_worker_behind(tmp_path: Path) -> None:
    from imgclass.transfer.client import ImageClient

    process = start("serve", "--port", "0", "--out", str(tmp_path / "out"), "--classifier", "fast",
                    "--workers", "2", stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert process.stderr is not None
        line = ""
        for _ in range(5):  # "loading ...", then "listening ..."
            line = process.stderr.readline().decode()
            if "listening" in line or not line:
                break
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        with ImageClient("127.0.0.1", int(match.group(1)), timeout=TIMEOUT) as client:
            assert client.send(make_image(1)).ok
        members = session_members(process.pid)
        assert len(workers_of(members, "forkserver")) == 3, members  # the fork server and its 2 workers
    finally:
        left = survivors_after_kill(process)
    assert not left, f"still running {DEADLINE} s after their parent's SIGKILL: {left}"


def _watched() -> int | None:
    return exit_with_parent()


def test_a_process_multiprocessing_did_not_start_is_never_ended() -> None:
    assert multiprocessing.parent_process() is None
    assert exit_with_parent() is None


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_worker_watches_the_process_that_started_it(method: str) -> None:
    # A fork server's worker is the fork server's child: it must watch us, not its OS parent.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        assert pool.submit(_watched).result() == pool.submit(_watched).result() == os.getpid()


def watch_then_sleep(delay: float) -> None:  # runs in a spawned grandchild of the test
    time.sleep(delay)
    exit_with_parent()
    print("watching", flush=True)
    time.sleep(120)


MIDDLE = """
import multiprocessing, sys, time
from tests.test_parent_watch import watch_then_sleep
child = multiprocessing.get_context("spawn").Process(target=watch_then_sleep, args=(float(sys.argv[1]),))
child.start()
print("started", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("dies", ["while watched", "before the watch starts"])
def test_a_worker_ends_when_the_process_that_started_it_is_killed(dies: str) -> None:
    delay = 0.0 if dies == "while watched" else 1.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, str(delay)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        assert middle.stdout is not None
        assert middle.stdout.readline() == b"started\n"
        if dies == "while watched":
            assert middle.stdout.readline() == b"watching\n"
        assert len(session_members(middle.pid)) >= 2  # the middle process and its child
    finally:
        left = survivors_after_kill(middle)
    assert not left, left
