"""``imgclass serve`` and ``imgclass send``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from imgclass.cli import main
from imgclass.transfer.client import ImageClient
from imgclass.transfer.server import ImageServer
from tests.conftest import write_bad_files
from tests.transfer.conftest import TIMEOUT, make_image, sha

Serve = Callable[..., ImageServer]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        (folder / f"img{i}.png").write_bytes(make_image(i))
    return folder


def test_send_prints_json_lines(serve: Serve, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve()
    status = main(["send", str(folder), "--port", str(server.address[1]), "--json", "--no-progress"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0
    assert [line["path"] for line in lines] == [str(folder / f"img{i}.png") for i in range(5)]
    assert all(line["status"] == "ok" and line["verdicts"]["fake"]["label"] == "animated" for line in lines)
    assert [line["digest"] for line in lines] == [sha(make_image(i)) for i in range(5)]


def test_send_random_sample_in_words(serve: Serve, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve()
    (folder / "junk.png").write_bytes(b"not a png")
    args = ["send", str(folder), "--port", str(server.address[1]), "--no-progress", "--random", "3", "--seed", "1"]
    status = main(args)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert all(re.search(r"stored as \S+\.png +fake: animated \(0\.75\)", line) or "error" in line for line in out)
    assert status == (1 if any("error not-an-image" in line for line in out) else 0)


def test_send_names_each_bad_path_once_and_sends_the_rest(
    serve: Serve, tmp_path: Path, china_jpeg: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21: one bad path never stops a send; each kind is named once (the server answers for the
    files it can read but refuses: empty, text, truncated, too many pixels)."""
    kinds = write_bad_files(tmp_path / "bad", china_jpeg)
    good = tmp_path / "good.jpg"
    good.write_bytes(china_jpeg)
    missing = tmp_path / "missing.jpg"
    named = [good, missing, *sorted((tmp_path / "bad").iterdir())]
    server = serve()
    status = main(["send", *map(str, named), "--port", str(server.address[1]), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"{good}: stored as" in out  # sent, and before the bad paths were dealt with
    del kinds["folder.jpg"]  # a folder named on the command line is a folder: its image files are sent (none)
    for path in [missing, *(tmp_path / "bad" / name for name in kinds)]:
        lines = [line for line in (out + err).splitlines() if f"{path}:" in line]
        assert len(lines) == 1, (path, out, err)
    assert f"imgclass send: {missing}: cannot read: No such file or directory" in err
    assert "broken_link.jpg: cannot read: broken symbolic link" in err
    assert "fifo.jpg: not a regular file" in err
    assert re.search(r"empty\.jpg: error not-an-image: .*empty file", out)
    assert re.search(r"bomb\.png: error too-many-pixels: png image of 100000x100000 pixels", out)
    assert re.search(r"cut_after_header\.jpg: error not-an-image: .*jpeg image could not be decoded \(corrupt", out)


def test_send_with_nothing_to_send(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", str(tmp_path), "--port", "1"]) == 2
    assert "no image files" in capsys.readouterr().err


def test_serve_refuses_to_listen_on_all_interfaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--out", str(tmp_path), "--no-classify"]) == 2
    assert "allow-remote" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_serve_runs_until_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "imgclass", "serve", "--port", "0", "--out", str(out), "--no-classify"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the server is listening (or has died)
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line + proc.stderr.read()
        with ImageClient("127.0.0.1", int(match.group(1)), timeout=TIMEOUT) as client:
            reply = client.send(make_image(1), name="sent.png")
        assert reply.ok and reply.verdicts == ()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "stopped; 1 images received, 0 refused" in err
    assert [p.name for p in out.iterdir()] == ["sent.png"]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("a token of twenty bytes", "a token of twenty bytes"),
        ("a token of twenty bytes\n", "a token of twenty bytes"),
        ("a token of twenty bytes\r\n", "a token of twenty bytes"),
    ],
)
def test_token_file_loses_one_line_ending_only(tmp_path: Path, text: str, token: str) -> None:
    import argparse

    from imgclass.cli.serve import read_token

    path = tmp_path / "token"
    path.write_bytes(text.encode())
    assert read_token(argparse.Namespace(token_file=path)) == token


@pytest.mark.parametrize("text", ["a token of twenty bytes\n\n", " a token of twenty bytes", "token \n", "\n"])
def test_token_file_with_other_white_space_is_refused(tmp_path: Path, text: str) -> None:
    import argparse

    from imgclass.cli.serve import read_token

    path = tmp_path / "token"
    path.write_bytes(text.encode())
    with pytest.raises(ValueError, match=r"white space|empty"):
        read_token(argparse.Namespace(token_file=path))


def test_send_gives_up_after_retry_for(tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import time

    with socket.socket() as placeholder:  # bound, not listening: refuses every connection
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        started = time.monotonic()
        status = main(["send", str(folder), "--port", str(port), "--retry-for", "0.5", "--no-progress"])
        elapsed = time.monotonic() - started
    assert status == 2 and 0.5 <= elapsed < TIMEOUT
    assert "retrying in" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_ctrl_c_stops_a_server_with_a_classifier_pool_quietly(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group, pool workers included: no tracebacks, a clean stop."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "imgclass", "serve", "--port", "0", "--out", str(tmp_path / "out"),
               "--classifier", "byte-length", "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        assert proc.stderr is not None
        for _ in range(5):  # "loading ...", then "listening ..."
            line = proc.stderr.readline()
            if "listening" in line or not line:
                break
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        with ImageClient("127.0.0.1", int(match.group(1)), timeout=TIMEOUT) as client:
            assert client.send(make_image(1)).verdict("byte-length").label in ("real", "animated")
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "stopped; 1 images received" in err
