"""A frozen pretrained image embedding: MobileNetV2 (from npm ``nsfwjs`` 4.4.0, MIT) run by ``cv2.dnn``.

The network ships inside the package as ONNX (``imgclass/models/embedding/``, converted once by
``scripts/convert_nsfwjs_mobilenet.py``); nothing is downloaded, and OpenCV is the only runtime. Its
1280-d global-average-pooled feature map describes what an image shows and how it is drawn in a way
learnt from millions of images, which carries to collections our hand-made features never saw (black
and white manga, children's-book cartoons). Its own five NSFW classes are not used.

The input is what nsfwjs feeds it: RGB scaled to [0, 1], resized to a square (aspect ignored, as
nsfwjs does). It was trained at 224 px; it runs at any size because its top is a global average pool,
and :data:`EMBEDDING_SIDE` (160 px) costs half of 224 px with no loss we could measure on the reference
set (see ``scripts/evaluate_v2.py``).

The network is loaded once per process, lazily, and shared; ``cv2.dnn.Net.forward`` is not safe to call
from two threads on one net, so calls are serialised with a lock (a forward pass is one batched call,
so the lock is held once per batch). The thread count is OpenCV's (``cv2.setNumThreads``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.decode import BGRImage

#: The shipped network and its SHA-256 (from ``imgclass/models/embedding/README.md``).
EMBEDDING_MODEL: Final = Path(__file__).resolve().parent.parent / "models" / "embedding" / "mobilenet_v2_nsfwjs.onnx"
EMBEDDING_SHA256: Final = "a7b7f26d88b5f84923362fa16def4fc26706e61c680bc80bb3cf0f5ed9c68c3b"
#: Length of one embedding vector.
EMBEDDING_SIZE: Final = 1280
#: Side of the square the network reads by default (trained at 224).
EMBEDDING_SIDE: Final = 160
#: Images per forward pass. cv2.dnn gains nothing from larger batches on one core (5.7 ms an image at
#: 128 px one by one, 7.1 ms in batches of 16), and one image per pass keeps memory small.
BATCH_SIZE: Final = 1
#: Sides the network is allowed to run at: below 64 px the 32x down-sampling leaves almost nothing.
MIN_SIDE: Final = 64
MAX_SIDE: Final = 448

FloatArray = npt.NDArray[np.float32]

_lock = threading.Lock()
_net: Any = None


def _load_net() -> Any:
    global _net
    with _lock:
        if _net is None:
            try:
                data = EMBEDDING_MODEL.read_bytes()
            except OSError as exc:
                raise ValueError(f"embedding network {EMBEDDING_MODEL} is missing: {exc.strerror or exc}") from None
            if hashlib.sha256(data).hexdigest() != EMBEDDING_SHA256:
                raise ValueError(f"embedding network {EMBEDDING_MODEL} does not match its checksum (corrupt file)")
            _net = cv2.dnn.readNetFromONNX(str(EMBEDDING_MODEL))
        return _net


def _check_side(side: int) -> int:
    side = int(side)
    if not MIN_SIDE <= side <= MAX_SIDE:
        raise ValueError(f"embedding side must be between {MIN_SIDE} and {MAX_SIDE}, got {side}")
    return side


def network_input(images: Sequence[BGRImage], side: int = EMBEDDING_SIDE) -> FloatArray:
    """The ``(n, 3, side, side)`` float32 blob of BGR ``uint8`` images: RGB in [0, 1], area-resized square."""
    side = _check_side(side)
    blob = np.empty((len(images), 3, side, side), dtype=np.float32)
    for i, image in enumerate(images):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image {i}: expected an (H, W, 3) uint8 BGR array, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
        # Area averaging when shrinking (no aliasing), bilinear when enlarging.
        shrink = height >= side and width >= side
        square = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        blob[i] = square[:, :, ::-1].transpose(2, 0, 1)
    blob *= np.float32(1 / 255)
    return blob


def embed_with_probabilities(
    images: Sequence[BGRImage], *, side: int = EMBEDDING_SIDE, batch_size: int = BATCH_SIZE
) -> tuple[FloatArray, FloatArray]:
    """The ``(n, 1280)`` embeddings and the network's own ``(n, 5)`` class probabilities."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    side = _check_side(side)
    net = _load_net()
    embeddings = np.empty((len(images), EMBEDDING_SIZE), dtype=np.float32)
    probabilities = np.empty((len(images), 5), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        blob = network_input(images[start : start + batch_size], side)
        with _lock:
            net.setInput(blob)
            embedding, probability = net.forward(["embedding", "probabilities"])
        embeddings[start : start + len(blob)] = np.asarray(embedding).reshape(len(blob), EMBEDDING_SIZE)
        probabilities[start : start + len(blob)] = np.asarray(probability).reshape(len(blob), 5)
    return embeddings, probabilities


def embed(images: Sequence[BGRImage], *, side: int = EMBEDDING_SIDE, batch_size: int = BATCH_SIZE) -> FloatArray:
    """The ``(n, 1280)`` float32 embeddings of decoded BGR ``uint8`` images, batched."""
    return embed_with_probabilities(images, side=side, batch_size=batch_size)[0]


__all__ = [
    "BATCH_SIZE",
    "EMBEDDING_MODEL",
    "EMBEDDING_SHA256",
    "EMBEDDING_SIDE",
    "EMBEDDING_SIZE",
    "embed",
    "embed_with_probabilities",
    "network_input",
]
