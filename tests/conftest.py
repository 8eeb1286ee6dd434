"""Shared fixtures: small real photos (scikit-learn's bundled samples) and drawn images made here."""

from __future__ import annotations

import csv
import hashlib
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import sklearn
from threadpoolctl import threadpool_limits

from tests.browser import checked_chromium

SAMPLE_DIR = Path(sklearn.__file__).parent / "datasets" / "images"


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_library() -> object:
    """Tests fit tiny models: OpenMP/BLAS threads only add spin-waiting, badly so on a busy 2-core CI.

    The package limits its own fits (imgclass.threads); tests/test_threads.py lifts this limit to check that.
    """
    with threadpool_limits(limits=1):
        yield


#: Variables that fix a thread count for every process started after them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture(autouse=True)
def _no_thread_variables_left_behind() -> object:
    """Put the thread variables back as they were after each test.

    A Dask nanny sets ``OMP_NUM_THREADS=1`` (and MKL's and OpenBLAS's) in the environment of the process that
    starts it, for good. The notebooks run last, in kernels that inherit this process's environment: after
    the bulk tests they all ran on one thread, which hid how slow fitting was without it (issue 21).
    """
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def draw_cartoon(seed: int, size: int = 256) -> np.ndarray:
    """A flat-shaded drawing: a few filled shapes with dark outlines on a plain background."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = rng.integers(150, 256, 3)
    for _ in range(6):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = tuple(int(c) for c in rng.integers(20, size - 20, 2))
        radius = int(rng.integers(10, size // 4))
        cv2.circle(image, centre, radius, colour, -1)
        cv2.circle(image, centre, radius, (20, 20, 20), 2)
    return image


def noisy_photo(seed: int, size: int = 256) -> np.ndarray:
    """A crop of a real photo with sensor-like noise, so every pixel differs a little."""
    rng = np.random.default_rng(seed)
    photo = cv2.imread(str(SAMPLE_DIR / ("china.jpg" if seed % 2 else "flower.jpg")))
    y, x = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
    crop = photo[y : y + size, x : x + size].astype(np.int16)
    crop += rng.normal(0, 4, crop.shape).astype(np.int16)
    return np.clip(crop, 0, 255).astype(np.uint8)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a huge image (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


#: Every kind of bad file a run may meet (issue 21): file name -> words its message carries. Root reads a
#: file without read permission, so "unreadable" is a FIFO and a folder named like an image, which no one reads.
BAD_KINDS = {
    "empty.jpg": "empty file",
    "text.jpg": "not a recognised image: unknown magic bytes",
    "cut_in_header.jpg": "jpeg: data ends before the start of scan",
    "cut_after_header.jpg": "jpeg image could not be decoded (corrupt or truncated)",
    "bomb.png": "png image of 100000x100000 pixels exceeds the limit of 67108864 pixels",
    "broken_link.jpg": "cannot read: broken symbolic link",
    "fifo.jpg": "not a regular file",
    "folder.jpg": "a folder, not a file",
}


def write_bad_files(folder: Path, jpeg: bytes) -> dict[str, str]:
    """One file of every :data:`BAD_KINDS` in ``folder``, cut from the good ``jpeg``; returns the kinds."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("just some text, not pixels\n")
    (folder / "cut_in_header.jpg").write_bytes(jpeg[:20])
    (folder / "cut_after_header.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "bomb.png").write_bytes(png_bomb())
    (folder / "broken_link.jpg").symlink_to(folder / "nowhere.jpg")
    os.mkfifo(folder / "fifo.jpg")
    (folder / "folder.jpg").mkdir()
    return dict(BAD_KINDS)


def encode(image: np.ndarray, ext: str = ".png", *params: int) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    if not ok:
        raise ValueError(f"could not encode {ext}")
    return buf.tobytes()


def write_tiny_v2(root: Path, domains: dict[str, tuple[str, ...]], per_domain: int = 8) -> Path:
    """A v2-style folder in ``root``: ``per_domain`` 96-pixel JPEGs of each domain (``label -> domains``),
    noisy photos for "real" and cartoons for "animated", and a manifest whose first two of each are faces."""
    rows = []
    for label, names in domains.items():
        (root / label).mkdir(parents=True)
        draw = noisy_photo if label == "real" else draw_cartoon
        for d, domain in enumerate(names):
            for i in range(per_domain):
                data = encode(draw(10 * d + i, size=96), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)
                path = f"{label}/{domain}_{i}.jpg"
                (root / path).write_bytes(data)
                rows.append(
                    {
                        "path": path,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "label": label,
                        "domain": domain,
                        "group": path,
                        "faces": "1" if i < 2 else "0",
                    }
                )
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture(scope="session")
def china_jpeg() -> bytes:
    return (SAMPLE_DIR / "china.jpg").read_bytes()


@pytest.fixture(scope="session")
def flower_jpeg() -> bytes:
    return (SAMPLE_DIR / "flower.jpg").read_bytes()


@pytest.fixture(scope="session")
def cartoon_png() -> bytes:
    return encode(draw_cartoon(0))


@pytest.fixture(scope="session")
def tiny_set() -> tuple[list[bytes], np.ndarray]:
    """24 images, half noisy photo crops (real) and half drawings (animated), all JPEG q90 256x256."""
    images, labels = [], []
    for i in range(12):
        images.append(encode(noisy_photo(i), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90))
        labels.append(0)
        images.append(encode(draw_cartoon(i), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90))
        labels.append(1)
    return images, np.array(labels)


@pytest.fixture
def tiny_dir(tmp_path: Path, tiny_set: tuple[list[bytes], np.ndarray]) -> Path:
    """``tiny_set`` written as a folder-per-class set with source prefixes."""
    images, labels = tiny_set
    for i, (data, label) in enumerate(zip(images, labels, strict=True)):
        folder = tmp_path / "set" / ("animated" if label else "real")
        folder.mkdir(parents=True, exist_ok=True)
        source = ("drawn" if label else "photo") + ("_a" if i % 4 < 2 else "_b")
        (folder / f"{source}__{i:03d}.jpg").write_bytes(data)
    return tmp_path / "set"


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium for Playwright; skips without it (fails under ``IMGCLASS_REQUIRE_BROWSER=1``)."""
    return checked_chromium()
