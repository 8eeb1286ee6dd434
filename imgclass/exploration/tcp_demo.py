"""A live round trip through the TCP transfer: send images, collect verdicts, check what was stored.

:func:`send_records` sends records of a data set to a running
:class:`~imgclass.transfer.server.ImageServer` with an :class:`~imgclass.transfer.client.ImageClient`
and times each round trip; :func:`verify_stored` hashes what landed on the server's disk. The server
is started and stopped by the caller (the notebook), in the background; it logs and never prints, so
nothing from its threads leaks into a notebook cell.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from imgclass.data import Dataset, Record
from imgclass.decode import decode_image

#: Classifiers the demo's server runs by default: those ready in well under a second. ``bilateral``
#: would first be fitted on the whole reference set, a feature pass of many seconds.
DEMO_CLASSIFIERS: tuple[str, ...] = ("byte-length", "byte-onehot", "colour-count")


def pick_records(dataset: Dataset, n: int, seed: int = 0) -> tuple[Record, ...]:
    """``n`` records drawn at random without replacement (all of them if ``n`` is larger), fixed by ``seed``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(dataset), size=min(n, len(dataset)), replace=False)
    return tuple(dataset.records[int(i)] for i in picked)


@dataclass(frozen=True)
class DemoRow:
    """One image's trip: what was sent, what the server said, how long it took and what it stored."""

    name: str
    label: str
    size: int
    sha256: str
    #: The protocol's digest (BLAKE3, hex) the client computed before sending; the server records the same.
    digest: str
    ok: bool
    stored: str | None
    verdicts: tuple[tuple[str, str], ...]
    round_trip_ms: float
    server_ms: float
    error: str | None = None

    def verdict(self, classifier: str) -> str | None:
        return dict(self.verdicts).get(classifier)


@dataclass(frozen=True)
class DemoRun:
    """Every row of one demo, in the order sent."""

    rows: tuple[DemoRow, ...]

    @property
    def classifiers(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for row in self.rows:
            names.update((c, None) for c, _ in row.verdicts)
        return tuple(names)

    def accuracy(self, classifier: str) -> float:
        """Share of the sent images the classifier got right (they come from the set it was fitted on)."""
        hits = [row.verdict(classifier) == row.label for row in self.rows]
        return float(np.mean(hits)) if hits else float("nan")

    def to_table(self) -> str:
        names = self.classifiers
        head = f"{'name':<40}{'class':<10}" + "".join(f"{n:>14}" for n in names) + f"{'ms':>8}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            cells = "".join(f"{(r.verdict(n) or '-'):>14}" for n in names)
            lines.append(f"{r.name[:39]:<40}{r.label:<10}{cells}{r.round_trip_ms:>8.1f}")
        return "\n".join(lines)

    def to_html(self, records: Sequence[Record] | None = None, *, thumbnail: int = 72) -> str:
        """An HTML table with a thumbnail per row when the sent ``records`` are given (same order)."""
        names = self.classifiers
        head = "".join(f"<th>{html.escape(h)}</th>" for h in ("", "name", "class", *names, "round trip", "server"))
        body = []
        for i, r in enumerate(self.rows):
            thumb = _thumbnail_tag(records[i].data, thumbnail) if records is not None else ""
            cells = [thumb, html.escape(r.name), r.label]
            for n in names:
                v = r.verdict(n) or "-"
                colour = "#2a7a2a" if v == r.label else "#b03030"
                cells.append(f'<span style="color:{colour}">{html.escape(v)}</span>')
            cells += [f"{r.round_trip_ms:.1f} ms", f"{r.server_ms:.1f} ms"]
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _thumbnail_tag(data: bytes, size: int) -> str:
    image = decode_image(data)
    scale = size / max(image.shape[:2])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit BGR image as JPEG
        return ""
    return f'<img src="data:image/jpeg;base64,{base64.b64encode(bytes(buf)).decode()}" />'


def send_records(address: tuple[str, int], records: Sequence[Record], *, timeout: float = 30.0) -> DemoRun:
    """Send each record's bytes (under its file name) over one connection and time each round trip."""
    from imgclass.transfer import ImageClient
    from imgclass.transfer.protocol import digest as protocol_digest

    rows = []
    host, port = address
    with ImageClient(host, port, timeout=timeout) as client:
        for record in records:
            start = time.perf_counter()
            reply = client.send(record.data, name=record.path.name)
            elapsed = (time.perf_counter() - start) * 1e3
            verdicts = tuple((v.classifier, v.label or "error") for v in reply.verdicts)
            rows.append(
                DemoRow(
                    name=record.path.name,
                    label=record.label_name,
                    size=len(record.data),
                    sha256=hashlib.sha256(record.data).hexdigest(),
                    digest=protocol_digest(record.data).hex(),
                    ok=reply.ok,
                    stored=reply.stored,
                    verdicts=verdicts,
                    round_trip_ms=elapsed,
                    server_ms=reply.server_ms,
                    error=None if reply.ok else f"{reply.code}: {reply.message}",
                )
            )
    return DemoRun(tuple(rows))


@dataclass(frozen=True)
class StoredCheck:
    """Whether each sent image is on the server's disk with the same SHA-256."""

    matches: tuple[bool, ...]
    missing: tuple[str, ...]

    @property
    def all_match(self) -> bool:
        return bool(self.matches) and all(self.matches) and not self.missing


def verify_stored(run: DemoRun, out_dir: str | os.PathLike[str]) -> StoredCheck:
    """Hash each stored file under ``out_dir`` and compare it with what was sent."""
    root = Path(out_dir)
    matches, missing = [], []
    for row in run.rows:
        path = root / row.stored if row.stored else None
        if path is None or not path.is_file():
            matches.append(False)
            missing.append(row.name)
            continue
        matches.append(hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256)
    return StoredCheck(tuple(matches), tuple(missing))
