"""Bring images to one resolution and one encoding before anything measures them.

Animated sources arrive as transparent PNG/WEBP/GIF at every size, photographs as opaque JPEG. Left as
they are, a classifier can learn "has alpha", "is PNG" or "is small" instead of content. Every image
therefore goes through :func:`normalise_image`: alpha flattened onto white (by
:func:`imgclass.decode.decode_image`), short side scaled to ``size``, centre-cropped to a square and
re-encoded as baseline JPEG with fixed parameters, so the output bytes depend on the pixels only.

:func:`prepare_folder` applies that to a folder-per-class data set (``real/``, ``animated/``).

Name collisions: the output name is ``<stem>.jpg``, so ``a.png`` and ``a.webp`` in one class folder, or an
existing different file in the destination, would clash. Such a file is *skipped and reported* rather
than renamed with a number: a numbered name would depend on processing order and on what an earlier run
left behind, so a rerun could silently produce a differently named set. An existing file with exactly
the bytes we would write is left alone and counted as written, so rerunning is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from imgclass.decode import BGRImage, decode_image
from imgclass.labels import LABEL_NAMES
from imgclass.progress import progress as progress_bar

logger = logging.getLogger(__name__)

#: Class folder names a prepared data set may contain, in label order (``real`` = 0, ``animated`` = 1).
CLASS_NAMES = LABEL_NAMES

DEFAULT_SIZE = 512
DEFAULT_QUALITY = 90
#: Refuse absurd output sizes: a 16k x 16k square is far beyond any use and would allocate ~800 MB.
MAX_SIZE = 8192


@dataclass(frozen=True)
class PrepareReport:
    """What :func:`prepare_folder` did: files written (or already identical), and files skipped."""

    written: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...]


def _check_int(name: str, value: object, low: int, high: int) -> int:
    # bool is an int subclass; size=True is surely a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def scale_short_side(image: BGRImage, size: int) -> BGRImage:
    """Resize so the shorter side is ``size``, keeping the aspect ratio (the long side is rounded)."""
    height, width = image.shape[:2]
    short = min(height, width)
    if short == size:
        return image
    scale = size / short
    new_w = size if width == short else max(size, round(width * scale))
    new_h = size if height == short else max(size, round(height * scale))
    # INTER_AREA averages when shrinking (no aliasing); INTER_CUBIC interpolates smoothly when enlarging.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (new_w, new_h), interpolation=interpolation), dtype=np.uint8)


def centre_crop(image: BGRImage, size: int) -> BGRImage:
    """The central ``size`` x ``size`` square (the image must be at least that large both ways)."""
    height, width = image.shape[:2]
    if height < size or width < size:
        raise ValueError(f"cannot crop {size}x{size} from a {width}x{height} image")
    top = (height - size) // 2
    left = (width - size) // 2
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def encode_jpeg(image: BGRImage, quality: int) -> bytes:
    """Baseline JPEG with every encoder choice pinned, so equal pixels give equal bytes."""
    params = [
        cv2.IMWRITE_JPEG_QUALITY, quality,
        cv2.IMWRITE_JPEG_PROGRESSIVE, 0,
        cv2.IMWRITE_JPEG_OPTIMIZE, 0,
        cv2.IMWRITE_JPEG_RST_INTERVAL, 0,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    ]  # fmt: skip
    ok, buf = cv2.imencode(".jpg", image, params)
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def normalise_image(data: bytes, *, size: int = DEFAULT_SIZE, quality: int = DEFAULT_QUALITY) -> bytes:
    """Decode ``data`` and return a ``size`` x ``size`` JPEG at ``quality``.

    Alpha is flattened onto white, the short side scaled to ``size``, then the centre cropped.
    Raises :class:`imgclass.decode.ImageDecodeError` (a ``ValueError``) for undecodable input and
    ``ValueError`` for bad arguments.
    """
    size = _check_int("size", size, 1, MAX_SIZE)
    quality = _check_int("quality", quality, 1, 100)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be bytes, got {type(data).__name__}")
    image = decode_image(bytes(data))
    return encode_jpeg(centre_crop(scale_short_side(image, size), size), quality)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _collect_inputs(src: Path) -> tuple[list[tuple[str, Path]], list[tuple[Path, str]]]:
    """(class, file) pairs to convert, and entries that cannot be converted, with the reason."""
    if not src.is_dir():
        raise ValueError(f"source {src} is not a directory")
    entries = sorted(p for p in src.iterdir() if _visible(p))
    unknown = [p.name for p in entries if p.is_dir() and p.name not in CLASS_NAMES]
    if unknown:
        raise ValueError(
            f"source {src} has folders that are not classes: {', '.join(unknown)} "
            f"(expected only {', '.join(CLASS_NAMES)})"
        )
    class_dirs = [src / name for name in CLASS_NAMES if (src / name).is_dir()]
    if not class_dirs:
        raise ValueError(f"source {src} has none of the class folders {', '.join(CLASS_NAMES)}")
    skipped = [(p, "not inside a class folder") for p in entries if not p.is_dir()]
    inputs: list[tuple[str, Path]] = []
    for class_dir in class_dirs:
        for path in sorted(p for p in class_dir.iterdir() if _visible(p)):
            if path.is_file():
                inputs.append((class_dir.name, path))
            else:
                skipped.append((path, "not a regular file (subfolders are not descended into)"))
    return inputs, skipped


def _check_not_inside(src: Path, dst: Path) -> None:
    src_r, dst_r = src.resolve(), dst.resolve()
    if dst_r == src_r or src_r in dst_r.parents:
        raise ValueError(f"destination {dst} must not be the source folder or inside it")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a hidden temp file in the same folder and ``os.replace``.

    Readers never see a half-written file, and a crash leaves only a dot-file that
    :func:`prepare_folder` ignores.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _convert_one(path: Path, target: Path, claimed: set[Path], *, size: int, quality: int) -> str | None:
    """Write ``target`` from ``path``; return the reason it was skipped, or ``None`` on success."""
    if target in claimed:
        return f"output name {target.name} already taken by another file in this run"
    try:
        output = normalise_image(path.read_bytes(), size=size, quality=quality)
    except (ValueError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if target.exists():
        try:
            same = target.read_bytes() == output
        except OSError as exc:
            return f"cannot read existing output {target}: {exc}"
        if not same:
            return f"would overwrite a different existing file {target}"
        claimed.add(target)
        return None
    write_atomic(target, output)
    claimed.add(target)
    return None


def prepare_folder(
    src: Path,
    dst: Path,
    *,
    size: int = DEFAULT_SIZE,
    quality: int = DEFAULT_QUALITY,
    progress: bool = True,
) -> PrepareReport:
    """Normalise every image of ``src/<class>/`` into ``dst/<class>/<stem>.jpg``.

    Files that cannot be converted are skipped, logged and listed in the report; nothing is dropped
    silently. See the module docstring for how name collisions are handled.
    Raises ``ValueError`` for a malformed source layout or bad arguments.
    """
    size = _check_int("size", size, 1, MAX_SIZE)
    quality = _check_int("quality", quality, 1, 100)
    src, dst = Path(src), Path(dst)
    _check_not_inside(src, dst)
    inputs, skipped = _collect_inputs(src)
    for bad_path, why in skipped:
        logger.warning("skipping %s: %s", bad_path, why)
    written: list[Path] = []
    claimed: set[Path] = set()
    for class_name in sorted({c for c, _ in inputs}):
        (dst / class_name).mkdir(parents=True, exist_ok=True)
    bar: Iterable[tuple[str, Path]] = progress_bar(inputs, enabled=progress, desc="prepare", unit="img")
    for class_name, path in bar:
        target = dst / class_name / f"{path.stem}.jpg"
        reason = _convert_one(path, target, claimed, size=size, quality=quality)
        if reason is None:
            written.append(target)
        else:
            logger.warning("skipping %s: %s", path, reason)
            skipped.append((path, reason))
    logger.info("prepared %d images into %s, skipped %d", len(written), dst, len(skipped))
    return PrepareReport(written=tuple(written), skipped=tuple(skipped))
