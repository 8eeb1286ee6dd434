"""Benchmark the imgclass transfer against what users would otherwise pick; print a table, write JSON.

    pip install -e ".[bench]"                # ImageZMQ and pyzmq, the round-trip baseline
    python benchmarks/transfer.py            # full run, several minutes
    python benchmarks/transfer.py --quick    # a smoke run, a minute or two

Every peer runs in this process (the classifier pools in worker processes), on the same generated
images, over loopback TCP. Each figure is the median over ``--runs`` runs, the peers taking turns within
each run so that load swings hit all alike; a run uses a fresh server and output folder, and its images
are all distinct, so our deduplication never skips work. Connection set-up is outside the timed region
for every peer, and so is starting a process pool.

* Bulk: 5 MB payloads streamed over one connection. Baseline: a raw socket, length-prefixed ``sendall``
  into ``recv_into`` a preallocated buffer, one ack byte per payload, acks read at the end (the best case
  for raw). "raw + BLAKE3" adds the digest on both ends (hashed as the bytes land, as ours does), the
  floor for any protocol that verifies; "raw + SHA-256" is what protocol 1 paid; "raw + BLAKE3 + atomic
  store" does our work one step after another (receive, hash, then store), the same-work baseline.
  Ours is ``send_many`` with the client's defaults.
* Round trips: ~200 KB JPEGs, one at a time, each waiting for its reply. Baseline: ImageZMQ REQ/REP
  (``send_jpg``; the hub replies ``b"OK"`` and does nothing with the image), bare and given the same work
  as ours (BLAKE3 on both ends, atomic store in RAM), plus a raw-socket REQ/REP.
* Durable: the defaults on the real disk (decode check, flush before the reply) against protocol 1's
  defaults, emulated in the same run (each request answered before the next is read, a full decode
  check, an fsync of the file and then of the folder per image, shared with no one), for 1 client and
  for 8 at once. Each client sends its share with ``send_many`` and its default settings (protocol 1's
  client: a window of 8; ours: 32), so the server can group the flushes of a window's images.
* End to end: 8 clients, each sending its share with ``send_many`` (default window), the server
  storing on disk and classifying with the default classifier in its process pool (one worker per
  core), against the same classifier alone on the same images from disk: ``classify_paths`` with one
  worker per core.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _requires import require

require(["numpy", "cv2", "blake3", "imgclass"])  # the core package
require(["zmq", "imagezmq"], extra="bench")  # the round-trip baseline: say so before anything starts

import cv2  # noqa: E402 - only once the extras are known to be there
import numpy as np  # noqa: E402

from imgclass.transfer import protocol as p  # noqa: E402
from imgclass.transfer import server as server_module  # noqa: E402
from imgclass.transfer.client import ImageClient  # noqa: E402
from imgclass.transfer.names import candidate_names  # noqa: E402
from imgclass.transfer.server import ImageServer  # noqa: E402
from imgclass.transfer.store import Commit, ImageStore, Stored  # noqa: E402

SECTIONS = ("bulk", "round-trip", "durable", "end-to-end")
RESULTS = Path(__file__).resolve().parent / "results" / "transfer.json"
LENGTH = struct.Struct(">Q")

# --------------------------------------------------------------------------- images


def bulk_images(count: int, seed: int = 0) -> list[bytes]:
    """Distinct ~5 MB PNGs (uncompressed noise, so the size is what we ask for)."""
    rng = np.random.default_rng(seed)
    return [
        cv2.imencode(".png", rng.integers(0, 256, (1290, 1290, 3), dtype=np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 0])[
            1
        ].tobytes()
        for _ in range(count)
    ]


def jpeg_images(count: int, seed: int = 1) -> list[bytes]:
    """Distinct ~200 KB JPEGs: softened noise, 800x600, quality 92."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        pixels = cv2.GaussianBlur(rng.integers(0, 256, (600, 800, 3), dtype=np.uint8), (5, 5), 0)
        out.append(cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
    return out


# --------------------------------------------------------------------------- plumbing


def storage_dirs() -> dict[str, Path]:
    shm = Path("/dev/shm")
    ram = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return {"tmpfs": ram, "disk": Path(tempfile.gettempdir())}


@contextmanager
def our_server(base: Path, **kwargs: Any) -> Iterator[ImageServer]:
    out = Path(tempfile.mkdtemp(prefix="imgclass-bench-", dir=base))
    server = ImageServer(out_dir=out, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(out, ignore_errors=True)


#: Run every server side (ours and the baselines') in a process of its own, as in a deployment, so that
#: the client's Python and the server's do not take turns on one GIL. ``--in-process`` turns it off.
SEPARATE = True


def _cpu_seconds() -> float:
    """CPU time of this process so far, every thread's (not its children's), to the microsecond."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve_side(kind: str, kwargs: dict[str, Any], pipe: Any) -> None:
    """The server side of one timed run: tell ``pipe`` the address, serve, stop when told, then tell
    ``pipe`` the CPU seconds spent serving (a classifier pool's workers not included)."""
    with contextlib.ExitStack() as stack:
        if kind == "ours":
            protocol1 = kwargs.pop("protocol1", False)
            server = stack.enter_context(our_server(kwargs.pop("base"), **kwargs))
            if protocol1:
                stack.enter_context(protocol1_defaults(server))
            started = _cpu_seconds()
            pipe.send(server.address)
            pipe.recv()
            pipe.send(_cpu_seconds() - started)
            return
        store_in = kwargs.pop("store_in", None)
        store = stack.enter_context(scratch_store(store_in)) if store_in is not None else None
        if kind == "raw":
            raw = RawServer(kwargs["max_size"], hashed=kwargs["hashed"], store=store)
            started = _cpu_seconds()
            pipe.send(raw.address)
            pipe.recv()
            pipe.send(_cpu_seconds() - started)
            raw.close()
            return
        import imagezmq

        hub = imagezmq.ImageHub(open_port=f"tcp://127.0.0.1:{kwargs['port']}")
        started = _cpu_seconds()
        pipe.send(("127.0.0.1", kwargs["port"]))
        for _ in range(kwargs["count"]):
            msg, jpg = hub.recv_jpg()
            if store is not None:
                name, _, declared = msg.rpartition("|")
                view = np.frombuffer(jpg, dtype=np.uint8)  # a zero-copy view BLAKE3 accepts
                digest = p.digest(view).hex()
                if digest != declared:
                    raise ValueError("digest mismatch")
                store.store(name, memoryview(view), digest, "jpeg")
            hub.send_reply(b"OK")
        pipe.recv()
        pipe.send(_cpu_seconds() - started)
        hub.close()


@contextmanager
def served(kind: str, **kwargs: Any) -> Iterator[tuple[str, int]]:
    """Run :func:`_serve_side` in its own process (or a thread, without :data:`SEPARATE`)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    runner: Any
    if SEPARATE:
        runner = ctx.Process(target=_serve_side, args=(kind, kwargs, theirs))  # may start a pool
    else:
        runner = threading.Thread(target=_serve_side, args=(kind, kwargs, theirs), daemon=True)
    runner.start()
    if not mine.poll(120):
        raise RuntimeError(f"the {kind} server did not start")
    address = mine.recv()
    try:
        yield tuple(address)
    finally:
        mine.send("stop")
        # In one process the server's CPU cannot be told from the client's.
        SERVER_CPU.append(mine.recv() if SEPARATE and mine.poll(60) else float("nan"))
        runner.join(60)


#: CPU seconds of each server side, in the order they stopped (see :func:`interleaved`).
SERVER_CPU: list[float] = []


OURS = {
    "header check, tmpfs": {"storage": "tmpfs", "verify_images": False},
    "decode check, tmpfs": {"storage": "tmpfs", "verify_images": True},
    "defaults, disk": {"storage": "disk", "verify_images": True},
}


def _full_decode_check(data: bytes | memoryview, fmt: str) -> None:
    """Protocol 1's check: a full decode to 8-bit BGR, alpha flattened (``decode_image``)."""
    from imgclass.decode import decode_image

    decode_image(bytes(data))


def _protocol1_commit(store: ImageStore, batch: Any, *, background: bool = False) -> Commit:
    """Protocol 1's store, image by image: fsync the file, link it, fsync the folder, shared with no one."""
    commit = Commit(batch)
    outcomes: list[Any] = []
    for item in batch:
        fd = os.open(item.temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with store._lock:
            name = existing = store._lookup_locked(item.hexdigest)
            if existing is None:
                name = store._publish(item.temp, candidate_names(item.name, item.format, item.hexdigest))
                store._by_digest[item.hexdigest] = name
        os.unlink(item.temp)
        if store._dir_fd is not None:
            os.fsync(store._dir_fd)
        outcomes.append(Stored(name, duplicate=existing is not None))
    commit.outcomes, commit.done = outcomes, True
    return commit


@contextmanager
def protocol1_defaults(server: ImageServer) -> Iterator[None]:
    """Make a running server behave as protocol 1's defaults did: each request answered before the
    next is read, a full decode check, and an fsync of the file and then of the folder for every
    image, shared with no one."""
    store = server.store
    if store is None or store._dir_fd is None:
        raise RuntimeError("server not started, or not durable")
    store.begin_commit = functools.partial(_protocol1_commit, store)
    saved = server_module.check_decodes, server_module._MAX_IN_FLIGHT
    server_module.check_decodes = _full_decode_check
    server_module._MAX_IN_FLIGHT = 1
    try:
        yield
    finally:
        server_module.check_decodes, server_module._MAX_IN_FLIGHT = saved


def _recv_exact_into(sock: socket.socket, view: memoryview) -> bool:
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            return False
        got += n
    return True


class RawServer:
    """Length-prefixed payloads into one preallocated buffer, one ack byte each: the baseline."""

    def __init__(self, max_size: int, *, hashed: str = "", store: ImageStore | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.buffer = memoryview(bytearray(max_size))
        self.hashed = hashed or ("blake3" if store is not None else "")
        self.store = store
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = memoryview(bytearray(LENGTH.size + (32 if self.hashed else 0)))
        with conn:
            while _recv_exact_into(conn, head):
                (size,) = LENGTH.unpack_from(head)
                view = self.buffer[:size]
                if not self.hashed:
                    _recv_exact_into(conn, view)
                else:  # hash as it lands, as ours does
                    hasher, got = new_hasher(self.hashed), 0
                    while got < size:
                        n = conn.recv_into(view[got:])
                        hasher.update(view[got : got + n])
                        got += n
                    if hasher.digest() != head[LENGTH.size :]:
                        raise ValueError("digest mismatch")
                    if self.store is not None:
                        self.store.store("raw.png", view, hasher.hexdigest(), "png")
                conn.sendall(b"\x01")

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


def raw_connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def new_hasher(kind: str) -> Any:
    return p.hasher() if kind == "blake3" else hashlib.sha256()


def raw_head(payload: bytes, hashed: str) -> bytes:
    if not hashed:
        return LENGTH.pack(len(payload))
    hasher = new_hasher(hashed)
    hasher.update(payload)
    return LENGTH.pack(len(payload)) + hasher.digest()


# --------------------------------------------------------------------------- bulk


@contextmanager
def scratch_store(base: Path) -> Iterator[ImageStore]:
    """Our atomic, deduplicating store in a fresh folder, for baselines given equal work."""
    out = Path(tempfile.mkdtemp(prefix="imgclass-bench-", dir=base))
    try:
        with ImageStore(out) as store:
            yield store
    finally:
        shutil.rmtree(out, ignore_errors=True)


def bulk_raw(payloads: list[bytes], hashed: str, store_in: Path | None = None) -> float:
    hashed = hashed or ("blake3" if store_in is not None else "")
    size = max(map(len, payloads))
    with served("raw", max_size=size, hashed=hashed, store_in=store_in) as address, raw_connect(address) as sock:
        start = time.perf_counter()
        for payload in payloads:
            sock.sendall(raw_head(payload, hashed))
            sock.sendall(payload)
        acks = 0
        while acks < len(payloads):
            acks += len(sock.recv(len(payloads)))
        return time.perf_counter() - start


def bulk_ours(payloads: list[bytes], dirs: dict[str, Path], storage: str, verify_images: bool) -> float:
    with (
        served("ours", base=dirs[storage], classifiers=[], verify_images=verify_images) as address,
        ImageClient(*address, timeout=120) as client,
    ):
        start = time.perf_counter()
        replies = client.send_many(payloads, progress=False)
        elapsed = time.perf_counter() - start
    if not all(r.ok for r in replies):
        raise RuntimeError(f"bulk transfer failed: {[r.message for r in replies if not r.ok][:3]}")
    return elapsed


# --------------------------------------------------------------------------- round trips


def rtt_imagezmq(jpegs: list[bytes], store_in: Path | None = None) -> float:
    """ImageZMQ as shipped; with ``store_in``, given our guarantees: BLAKE3 checked, atomic store."""
    import imagezmq

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with served("imagezmq", port=port, count=len(jpegs) + 1, store_in=store_in):
        sender = imagezmq.ImageSender(connect_to=f"tcp://127.0.0.1:{port}")

        def label(name: str, jpg: bytes) -> str:
            return f"{name}|{p.digest(jpg).hex()}" if store_in is not None else name

        sender.send_jpg(label("warm-up.jpg", jpegs[-1]), jpegs[-1])  # ZMQ connects lazily: not timed
        start = time.perf_counter()
        for i, jpg in enumerate(jpegs):
            if sender.send_jpg(label(f"img{i}.jpg", jpg), jpg) != b"OK":
                raise RuntimeError("imagezmq reply lost")
        elapsed = time.perf_counter() - start
        sender.close()
    return elapsed


def rtt_raw(jpegs: list[bytes]) -> float:
    with served("raw", max_size=max(map(len, jpegs)), hashed="") as address, raw_connect(address) as sock:
        start = time.perf_counter()
        for jpg in jpegs:
            sock.sendall(raw_head(jpg, "") + jpg)
            if sock.recv(1) != b"\x01":
                raise RuntimeError("raw reply lost")
        return time.perf_counter() - start


def rtt_ours(jpegs: list[bytes], dirs: dict[str, Path], storage: str, verify_images: bool) -> float:
    with (
        served("ours", base=dirs[storage], classifiers=[], verify_images=verify_images) as address,
        ImageClient(*address, timeout=60) as client,
    ):
        start = time.perf_counter()
        for i, jpg in enumerate(jpegs):
            if not client.send(jpg, name=f"img{i}.jpg").ok:
                raise RuntimeError("round trip failed")
        return time.perf_counter() - start


# --------------------------------------------------------------------------- durable


#: Protocol 1's client kept this many images in flight in ``send_many``.
PROTOCOL1_WINDOW = 8


def durable_ours(jpegs: list[bytes], dirs: dict[str, Path], clients: int, *, protocol1: bool) -> float:
    """Our defaults on disk (or protocol 1's, emulated), ``clients`` at once, each with ``send_many``."""
    shares = [jpegs[k::clients] for k in range(clients)]
    window = {"window": PROTOCOL1_WINDOW} if protocol1 else {}  # else the client's default
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(served("ours", base=dirs["disk"], classifiers=[], protocol1=protocol1))
        connections = [stack.enter_context(ImageClient(*address, timeout=120)) for _ in range(clients)]

        def run(k: int) -> None:
            replies = connections[k].send_many(shares[k], progress=False, **window)
            if not all(r.ok for r in replies):
                raise RuntimeError(f"durable transfer failed: {[r.message for r in replies if not r.ok][:3]}")

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(run, range(clients)))
        return time.perf_counter() - start


# --------------------------------------------------------------------------- end to end


def e2e_ours(jpegs: list[bytes], dirs: dict[str, Path], classifier: str, clients: int) -> float:
    """8 clients (``send_many``, default window) -> store on disk -> classify in the server's process pool."""
    shares = [jpegs[k::clients] for k in range(clients)]
    with served("ours", base=dirs["disk"], classifiers=[classifier], workers=os.cpu_count() or 1) as address:
        connections = [ImageClient(*address, timeout=120) for _ in range(clients)]
        for c in connections:
            c.hello  # noqa: B018 - connect before the clock starts

        def run(k: int) -> None:
            for reply in connections[k].send_many(shares[k], progress=False):
                if not reply.ok or not reply.verdicts or reply.verdicts[0].error:
                    raise RuntimeError(f"end-to-end failed: {reply}")

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(run, range(clients)))
        elapsed = time.perf_counter() - start
        for c in connections:
            c.close()
    return elapsed


def e2e_classify_paths(folder: Path, classifier: str, executor: Any, count: int) -> float:
    """The classifier alone on all cores: ``classify_paths`` over the same images, from disk."""
    from imgclass.bulk import classify_paths

    start = time.perf_counter()
    # No result cache: every run must classify, as the server does. Small chunks, so that every worker
    # stays busy to the end (the default 32 would leave one idle for a third of a 96-image run).
    workers = getattr(executor, "_max_workers", 1)
    chunk = max(1, count // (8 * workers))
    results = list(classify_paths(folder, classifier=classifier, executor=executor, cache_size=0, chunk_size=chunk))
    elapsed = time.perf_counter() - start
    if len(results) != count or any(r.error for r in results):
        raise RuntimeError(f"classify_paths failed: {[r.error for r in results if r.error][:3]}")
    return elapsed


# --------------------------------------------------------------------------- driver


#: The row the issue's goals are judged on: our protocol with its integrity checks, minus the disk.
OUR_TRANSPORT = "imgclass (header check, tmpfs)"
#: Our work (receive, hash, store atomically) done one step after another on a raw socket.
SAME_WORK_BULK = "raw socket + BLAKE3 + atomic store, tmpfs"


def with_ratios(rows: dict[str, dict[str, Any]], baseline: str) -> dict[str, dict[str, Any]]:
    for row in rows.values():
        row["ratio"] = round(row["median"] / rows[baseline]["median"], 3)
    return rows


def summarise(runs: list[tuple[float, float]], work: float, unit: str, *, cpu: bool = True) -> dict[str, Any]:
    """Rates from ``(seconds, CPU seconds)`` runs: the median and spread, and the median CPU cost per
    unit of work (client and server processes together; none where it cannot be told: ``cpu=False``
    when worker processes do part of the work, or with the servers in this process)."""
    rates = sorted(work / t for t, _ in runs)
    cpu_ms = statistics.median(c for _, c in runs) / work * 1000.0 if cpu else float("nan")
    return {"unit": unit, "median": statistics.median(rates), "min": rates[0], "max": rates[-1], "runs": rates,
            "cpu_ms_per_unit": None if cpu_ms != cpu_ms else round(cpu_ms, 3)}  # fmt: skip


def interleaved(runs: int, peers: dict[str, Callable[[], float]]) -> dict[str, list[tuple[float, float]]]:
    """Time every peer ``runs`` times, round-robin, so that the machine's load swings hit all alike;
    with each time, the CPU seconds both ends spent. On a loaded machine the elapsed time follows the
    CPU time (each process gets its share of the cores), so the CPU column says which ratios are costs
    and which are waits."""
    for fn in peers.values():
        fn()  # warm-up: imports, page cache, allocator, lazy connections
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in peers}
    for _ in range(runs):
        for name, fn in peers.items():
            SERVER_CPU.clear()
            before = _cpu_seconds()
            elapsed = fn()
            out[name].append((elapsed, _cpu_seconds() - before + sum(SERVER_CPU)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and runs (a smoke test)")
    parser.add_argument("--runs", type=int, help="repetitions per figure (default 5, quick 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON output (default: %(default)s)")
    parser.add_argument(
        "--classifier", default=None, help="end-to-end classifier (default: the default classifier, imgclass.ready)"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the server sides in threads of this process (one GIL for both ends), as before",
    )
    args = parser.parse_args(argv)
    global SEPARATE
    SEPARATE = not args.in_process
    runs = args.runs or (3 if args.quick else 5)
    n_bulk, n_rtt, n_e2e = (6, 60, 48) if args.quick else (16, 300, 96)
    dirs = storage_dirs()

    print(f"generating images (bulk {n_bulk} x 5 MB, round trips {n_rtt} + end to end {n_e2e} x 200 KB)...",
          file=sys.stderr)  # fmt: skip
    bulk = bulk_images(n_bulk)
    jpegs = jpeg_images(n_rtt + n_e2e)
    rtt_set, e2e_set = jpegs[:n_rtt], jpegs[n_rtt:]
    bulk_mb = sum(map(len, bulk)) / 1e6

    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None},
        "settings": {"runs": runs, "quick": args.quick, "separate_processes": SEPARATE, "bulk_images": n_bulk,
                     "bulk_mean_bytes": round(bulk_mb * 1e6 / n_bulk), "round_trip_images": n_rtt,
                     "jpeg_mean_bytes": round(statistics.mean(map(len, jpegs))), "end_to_end_images": n_e2e,
                     "storage": {k: str(v) for k, v in dirs.items()}},
    }  # fmt: skip

    if "bulk" in args.only:
        print("bulk...", file=sys.stderr)
        peers: dict[str, Callable[[], float]] = {
            "raw socket": lambda: bulk_raw(bulk, hashed=""),
            "raw socket + SHA-256 (protocol 1's hash)": lambda: bulk_raw(bulk, hashed="sha256"),
            "raw socket + BLAKE3": lambda: bulk_raw(bulk, hashed="blake3"),
            SAME_WORK_BULK: lambda: bulk_raw(bulk, "blake3", dirs["tmpfs"]),
        }
        for label, cfg in OURS.items():
            peers[f"imgclass ({label})"] = lambda cfg=cfg: bulk_ours(bulk, dirs, **cfg)
        times = interleaved(runs, peers)
        results["bulk"] = with_ratios({k: summarise(v, bulk_mb, "MB/s") for k, v in times.items()}, "raw socket")

    if "round-trip" in args.only:
        print("round trips...", file=sys.stderr)
        peers = {  # type: ignore[no-redef]
            "ImageZMQ REQ/REP": lambda: rtt_imagezmq(rtt_set),
            "ImageZMQ + BLAKE3 + atomic store, tmpfs": lambda: rtt_imagezmq(rtt_set, dirs["tmpfs"]),
            "raw socket REQ/REP": lambda: rtt_raw(rtt_set),
        }
        for label, cfg in OURS.items():
            peers[f"imgclass ({label})"] = lambda cfg=cfg: rtt_ours(rtt_set, dirs, **cfg)
        times = interleaved(runs, peers)
        results["round_trip"] = with_ratios(
            {k: summarise(v, n_rtt, "images/s") for k, v in times.items()}, "ImageZMQ REQ/REP"
        )

    if "durable" in args.only:
        print("durable...", file=sys.stderr)
        peers = {}  # type: ignore[no-redef]
        for k in (1, 8):
            peers[f"protocol 1 defaults, {k} client{'s' if k > 1 else ''}"] = lambda k=k: durable_ours(
                rtt_set, dirs, k, protocol1=True
            )
            peers[f"imgclass defaults, {k} client{'s' if k > 1 else ''}"] = lambda k=k: durable_ours(
                rtt_set, dirs, k, protocol1=False
            )
        times = interleaved(runs, peers)
        results["durable"] = {k: summarise(v, n_rtt, "images/s") for k, v in times.items()}
        for k in ("1 client", "8 clients"):
            row = results["durable"][f"imgclass defaults, {k}"]
            row["ratio"] = round(row["median"] / results["durable"][f"protocol 1 defaults, {k}"]["median"], 3)
            results["durable"][f"protocol 1 defaults, {k}"]["ratio"] = 1.0

    if "end-to-end" in args.only:
        print("end to end...", file=sys.stderr)
        from imgclass.bulk import process_pool
        from imgclass.ready import DEFAULT_CLASSIFIER

        classifier: str = args.classifier or DEFAULT_CLASSIFIER
        cores = os.cpu_count() or 1
        folder = Path(tempfile.mkdtemp(prefix="imgclass-bench-e2e-", dir=dirs["disk"]))
        for i, jpg in enumerate(e2e_set):
            (folder / f"img{i:04d}.jpg").write_bytes(jpg)
        results["settings"]["end_to_end_classifier"] = {"name": classifier, "workers": cores}
        pool = process_pool(cores, classifier)
        try:
            peers = {
                f"classify_paths, {cores} workers (the classifier alone)": lambda: e2e_classify_paths(
                    folder, classifier, pool, n_e2e
                ),
                f"imgclass, 8 clients, {cores} workers": lambda: e2e_ours(e2e_set, dirs, classifier, 8),
            }
            times = interleaved(runs, peers)
        finally:
            pool.shutdown()
            shutil.rmtree(folder, ignore_errors=True)
        results["end_to_end"] = with_ratios(
            {k: summarise(v, n_e2e, "images/s", cpu=False) for k, v in times.items()}, next(iter(peers))
        )

    goals = {}
    if "bulk" in results:
        rows = results["bulk"]
        ratio = rows[OUR_TRANSPORT]["ratio"]
        goals["bulk_vs_raw"] = {"ratio": ratio, "goal": 0.6, "met": ratio >= 0.6}
        same = round(rows[OUR_TRANSPORT]["median"] / rows[SAME_WORK_BULK]["median"], 3)
        goals["bulk_vs_same_work_one_step_after_another"] = {"ratio": same, "goal": 1.2, "met": same >= 1.2}
    if "round_trip" in results:
        rows = results["round_trip"]
        bare = rows[OUR_TRANSPORT]["ratio"]
        goals["round_trip_vs_bare_imagezmq"] = {"ratio": bare, "goal": 0.6, "met": bare >= 0.6}
        same = round(rows[OUR_TRANSPORT]["median"] / rows["ImageZMQ + BLAKE3 + atomic store, tmpfs"]["median"], 3)
        goals["round_trip_vs_imagezmq_same_work"] = {"ratio": same, "goal": 1.0, "met": same >= 1.0}
    if "durable" in results:
        ratio = results["durable"]["imgclass defaults, 1 client"]["ratio"]
        goals["durable_vs_protocol1_one_client"] = {"ratio": ratio, "goal": 10.0, "met": ratio >= 10.0}
        ratio = results["durable"]["imgclass defaults, 8 clients"]["ratio"]
        goals["durable_vs_protocol1_eight_clients"] = {"ratio": ratio, "goal": 10.0, "met": ratio >= 10.0}
    if "end_to_end" in results:
        ratio = list(results["end_to_end"].values())[1]["ratio"]
        goals["end_to_end_vs_classifier_alone"] = {"ratio": ratio, "goal": 0.9, "met": ratio >= 0.9}
    results["goals"] = goals

    print(render(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


def render(results: dict[str, Any]) -> str:
    s = results["settings"]
    titles = {
        "bulk": f"Bulk: {s['bulk_images']} x {s['bulk_mean_bytes'] / 1e6:.1f} MB over one connection",
        "round_trip": f"Round trips: {s['round_trip_images']} x {s['jpeg_mean_bytes'] / 1e3:.0f} KB JPEG, "
        "one at a time",
        "durable": f"Durable defaults on disk: {s['round_trip_images']} JPEGs, send_many per client (default window)",
        "end_to_end": f"End to end: {s['end_to_end_images']} JPEGs, 8 clients with send_many, store on disk + "
        f"{s.get('end_to_end_classifier', {}).get('name')}",
    }
    machine = results["machine"]
    where = "server sides in their own processes" if s.get("separate_processes") else "all in one process"
    lines = [f"median of {s['runs']} runs; {machine['cpus']} CPUs; load average {machine['load_average']}; {where}"]
    for section, title in titles.items():
        if section not in results:
            continue
        unit = next(iter(results[section].values()))["unit"].split("/")[0].removesuffix("s")  # "image"
        lines += ["", title, "", f"| peer | median | min-max | vs baseline | CPU ms per {unit} |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for peer, row in results[section].items():
            ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
            spread = f"{row['min']:.0f}-{row['max']:.0f}"
            cpu = "" if row.get("cpu_ms_per_unit") is None else f"{row['cpu_ms_per_unit']:.2f}"
            lines.append(f"| {peer} | {row['median']:.0f} {row['unit']} | {spread} | {ratio} | {cpu} |")
    lines.append("")  # the goals as a Markdown list: the documentation draws this text from the committed JSON
    for goal, value in results["goals"].items():
        verdict = "met" if value["met"] else "missed"
        lines.append(f"- goal {goal}: {value['ratio']:.2f}x against {value['goal']}x ({verdict})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
