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
  floor for any protocol that verifies; "raw + SHA-256" is what protocol 1 paid. Ours is ``send_many``.
* Round trips: ~200 KB JPEGs, one at a time, each waiting for its reply. Baseline: ImageZMQ REQ/REP
  (``send_jpg``; the hub replies ``b"OK"`` and does nothing with the image), bare and given the same work
  as ours (BLAKE3 on both ends, atomic store in RAM), plus a raw-socket REQ/REP.
* Durable: the defaults on the real disk (decode check, flush before the reply) against protocol 1's
  defaults, emulated in the same run (a full decode check, fsync of the file and of the folder per
  image), for 1 client and for 8 at once (where group commit can share flushes).
* End to end: 8 clients, each sending one image at a time, the server storing on disk and classifying
  with the default classifier in its process pool (one worker per core), against the same classifier
  alone on the same images from disk: ``classify_paths`` with one worker per core.
"""

from __future__ import annotations

import argparse
import contextlib
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
from imgclass.transfer.server import ImageServer  # noqa: E402
from imgclass.transfer.store import GroupSync, ImageStore  # noqa: E402

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


def _serve_side(kind: str, kwargs: dict[str, Any], pipe: Any) -> None:
    """The server side of one timed run: tell ``pipe`` the address, serve, stop when told."""
    with contextlib.ExitStack() as stack:
        if kind == "ours":
            protocol1 = kwargs.pop("protocol1", False)
            server = stack.enter_context(our_server(kwargs.pop("base"), **kwargs))
            if protocol1:
                stack.enter_context(protocol1_defaults(server))
            pipe.send(server.address)
            pipe.recv()
            return
        store_in = kwargs.pop("store_in", None)
        store = stack.enter_context(scratch_store(store_in)) if store_in is not None else None
        if kind == "raw":
            raw = RawServer(kwargs["max_size"], hashed=kwargs["hashed"], store=store)
            pipe.send(raw.address)
            pipe.recv()
            raw.close()
            return
        import imagezmq

        hub = imagezmq.ImageHub(open_port=f"tcp://127.0.0.1:{kwargs['port']}")
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
        runner.join(60)


OURS = {
    "header check, tmpfs": {"storage": "tmpfs", "verify_images": False},
    "decode check, tmpfs": {"storage": "tmpfs", "verify_images": True},
    "defaults, disk": {"storage": "disk", "verify_images": True},
}


def _full_decode_check(data: bytes | memoryview, fmt: str) -> None:
    """Protocol 1's check: a full decode to 8-bit BGR, alpha flattened (``decode_image``)."""
    from imgclass.decode import decode_image

    decode_image(bytes(data))


@contextmanager
def protocol1_defaults(server: ImageServer) -> Iterator[None]:
    """Make a running server behave as protocol 1's defaults did: full decode check, and an fsync of
    the file and then of the folder for every image, shared with no one."""
    store = server.store
    if store is None:
        raise RuntimeError("server not started")
    store._whole_fs = False  # per-file fsync
    store._name_sync = GroupSync(store._flush_dir)
    saved = server_module.check_decodes
    server_module.check_decodes = _full_decode_check
    try:
        yield
    finally:
        server_module.check_decodes = saved


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


def durable_ours(jpegs: list[bytes], dirs: dict[str, Path], clients: int, *, protocol1: bool) -> float:
    """Our defaults on disk (or protocol 1's, emulated), ``clients`` at once, each one image at a time."""
    shares = [jpegs[k::clients] for k in range(clients)]
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(served("ours", base=dirs["disk"], classifiers=[], protocol1=protocol1))
        connections = [stack.enter_context(ImageClient(*address, timeout=120)) for _ in range(clients)]

        def run(k: int) -> None:
            for i, jpg in enumerate(shares[k]):
                if not connections[k].send(jpg, name=f"c{k}-{i}.jpg").ok:
                    raise RuntimeError("durable round trip failed")

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(run, range(clients)))
        return time.perf_counter() - start


# --------------------------------------------------------------------------- end to end


def e2e_ours(jpegs: list[bytes], dirs: dict[str, Path], classifier: str, clients: int) -> float:
    """8 clients (one image at a time each) -> store on disk -> classify in the server's process pool."""
    shares = [jpegs[k::clients] for k in range(clients)]
    with served("ours", base=dirs["disk"], classifiers=[classifier], workers=os.cpu_count() or 1) as address:
        connections = [ImageClient(*address, timeout=120) for _ in range(clients)]
        for c in connections:
            c.hello  # noqa: B018 - connect before the clock starts

        def run(k: int) -> None:
            for i, jpg in enumerate(shares[k]):
                reply = connections[k].send(jpg, name=f"c{k}-{i}.jpg")
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


def with_ratios(rows: dict[str, dict[str, Any]], baseline: str) -> dict[str, dict[str, Any]]:
    for row in rows.values():
        row["ratio"] = round(row["median"] / rows[baseline]["median"], 3)
    return rows


def summarise(times: list[float], work: float, unit: str) -> dict[str, Any]:
    rates = sorted(work / t for t in times)
    return {"unit": unit, "median": statistics.median(rates), "min": rates[0], "max": rates[-1], "runs": rates}


def interleaved(runs: int, peers: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Time every peer ``runs`` times, round-robin, so that the machine's load swings hit all alike."""
    for fn in peers.values():
        fn()  # warm-up: imports, page cache, allocator, lazy connections
    times: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(runs):
        for name, fn in peers.items():
            times[name].append(fn())
    return times


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
            "raw socket + BLAKE3 + atomic store, tmpfs": lambda: bulk_raw(bulk, "blake3", dirs["tmpfs"]),
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
            {k: summarise(v, n_e2e, "images/s") for k, v in times.items()}, next(iter(peers))
        )

    goals = {}
    if "bulk" in results:
        ratio = results["bulk"][OUR_TRANSPORT]["ratio"]
        goals["bulk_vs_raw"] = {"ratio": ratio, "goal": 0.8, "met": ratio >= 0.8}
    if "round_trip" in results:
        rows = results["round_trip"]
        ours = rows[OUR_TRANSPORT]["median"]
        same = ours / rows["ImageZMQ + BLAKE3 + atomic store, tmpfs"]["median"]
        goals["round_trip_vs_imagezmq_same_work"] = {"ratio": round(same, 3), "goal": 1.0, "met": same >= 1.0}
        bare = rows[OUR_TRANSPORT]["ratio"]
        goals["round_trip_vs_bare_imagezmq"] = {"ratio": bare, "goal": 0.5, "met": bare >= 0.5}
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
        "durable": f"Durable defaults on disk: {s['round_trip_images']} JPEGs, one at a time per client",
        "end_to_end": f"End to end: {s['end_to_end_images']} JPEGs, store on disk + "
        f"{s.get('end_to_end_classifier', {}).get('name')}",
    }
    machine = results["machine"]
    where = "server sides in their own processes" if s.get("separate_processes") else "all in one process"
    lines = [f"median of {s['runs']} runs; {machine['cpus']} CPUs; load average {machine['load_average']}; {where}"]
    for section, title in titles.items():
        if section not in results:
            continue
        lines += ["", title, "", "| peer | median | min-max | vs baseline |", "|---|---:|---:|---:|"]
        for peer, row in results[section].items():
            ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
            spread = f"{row['min']:.0f}-{row['max']:.0f}"
            lines.append(f"| {peer} | {row['median']:.0f} {row['unit']} | {spread} | {ratio} |")
    lines.append("")  # the goals as a Markdown list: the documentation draws this text from the committed JSON
    for goal, value in results["goals"].items():
        verdict = "met" if value["met"] else "missed"
        lines.append(f"- goal {goal}: {value['ratio']:.2f}x against {value['goal']}x ({verdict})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
