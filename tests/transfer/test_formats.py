"""The server and ``imgclass classify`` give the same answer for the same file (issue 21): phone photos
(HEIC, AVIF) are classified alike, and an empty file, a text file or an SVG is refused in the same words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imgclass.bulk import classify_paths
from imgclass.transfer.client import ImageClient
from imgclass.transfer.server import ImageServer
from tests.transfer.conftest import TIMEOUT

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FILES = {
    "phone.heic": (FIXTURES / "drawing.heic").read_bytes(),
    "phone.avif": (FIXTURES / "drawing.avif").read_bytes(),
    "empty.jpg": b"",
    "notes.jpg": b"just some text\n",
    "logo.svg": b"<?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/>",
}
WORDS = {
    "empty.jpg": "empty file",
    "notes.jpg": "not a recognised image: unknown magic bytes",
    "logo.svg": "SVG is a vector format: rasterise it first",
}


@pytest.mark.slow
def test_server_and_classify_agree(serve: Callable[..., ImageServer], tmp_path: Path) -> None:
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    bulk = {Path(r.path).name: r for r in classify_paths([str(tmp_path / n) for n in FILES], classifier="fast")}
    server = serve(classifiers=["fast"], out_dir=tmp_path / "received")
    with ImageClient("127.0.0.1", server.address[1], timeout=TIMEOUT) as client:
        replies = {name: client.send(data, name=name) for name, data in FILES.items()}
    for name in ("phone.heic", "phone.avif"):
        (verdict,) = replies[name].verdicts
        assert bulk[name].error is None and verdict.error is None, (bulk[name], replies[name])
        assert (verdict.label, verdict.score) == (bulk[name].label, pytest.approx(bulk[name].score, abs=1e-9))
        assert replies[name].stored == name  # stored under the phone's own extension
    for name, words in WORDS.items():
        assert not replies[name].ok and replies[name].code == "not-an-image"
        assert words in replies[name].message and words in (bulk[name].error or ""), (replies[name], bulk[name])
