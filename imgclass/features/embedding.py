"""A frozen pretrained image embedding: MobileNetV2 (from npm ``nsfwjs`` 4.4.0, MIT) run by ``cv2.dnn``.

The network ships inside the package as ONNX (``imgclass/models/embedding/``, converted once by
``scripts/convert_nsfwjs_mobilenet.py``); nothing is downloaded, and OpenCV is the only runtime. Its
1280-d global-average-pooled feature map describes what an image shows and how it is drawn in a way
learnt from millions of images, which carries to collections our hand-made features never saw (black
and white manga, children's-book cartoons). The first hidden layer of its head (256 numbers, trained
for nsfwjs' own classes, one of which is "Drawing") carries further still: a model fitted on it scores
higher on image domains it never saw than one fitted on the pooled map, so :func:`hidden` is what
``combined`` reads. Its five NSFW classes themselves are not used.

The input is what nsfwjs feeds it: RGB scaled to [0, 1], resized to a square (aspect ignored, as
nsfwjs does). It was trained at 224 px; it runs at any size because its top is a global average pool,
and :data:`EMBEDDING_SIDE` (160 px) costs half of 224 px with no loss we could measure on the reference
set (see ``scripts/evaluate_v2.py``).

The network is loaded once per process, lazily, and shared (:class:`~imgclass.features.onnx_net.OnnxNet`:
checksum, lock, ``cv2.dnn``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.decode import BGRImage
from imgclass.features.onnx_net import OnnxNet

#: The shipped network and its SHA-256 (from ``imgclass/models/embedding/README.md``).
EMBEDDING_MODEL: Final = Path(__file__).resolve().parent.parent / "models" / "embedding" / "mobilenet_v2_nsfwjs.onnx"
EMBEDDING_SHA256: Final = "d4d644b9fec8cfcea5feb22d332d620d652718b7e2a6fc07a5753fcabc15eb12"
#: Length of one embedding vector.
EMBEDDING_SIZE: Final = 1280
#: Length of the head's first hidden layer.
HIDDEN_SIZE: Final = 256
#: nsfwjs' classes, in the order of the ``probabilities`` output.
NSFW_CLASSES: Final = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
#: Side of the square the network reads by default (trained at 224).
EMBEDDING_SIDE: Final = 160
#: Images per forward pass. cv2.dnn gains nothing from larger batches on one core (5.7 ms an image at
#: 128 px one by one, 7.1 ms in batches of 16), and one image per pass keeps memory small.
BATCH_SIZE: Final = 1
#: Sides the network is allowed to run at: below 64 px the 32x down-sampling leaves almost nothing.
MIN_SIDE: Final = 64
MAX_SIDE: Final = 448

FloatArray = npt.NDArray[np.float32]

_NET: Final = OnnxNet(EMBEDDING_MODEL, EMBEDDING_SHA256)


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


@dataclass(frozen=True)
class NetworkOutputs:
    """The three outputs of one forward pass, one row per image."""

    #: ``(n, 1280)`` global-average-pooled feature map.
    embedding: FloatArray
    #: ``(n, 256)`` first hidden layer of nsfwjs' head (after its ReLU).
    hidden: FloatArray
    #: ``(n, 5)`` nsfwjs' own class probabilities (:data:`NSFW_CLASSES`).
    probabilities: FloatArray


def network_outputs(
    images: Sequence[BGRImage], *, side: int = EMBEDDING_SIDE, batch_size: int = BATCH_SIZE
) -> NetworkOutputs:
    """Every output of the network for decoded BGR ``uint8`` images, batched."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    side = _check_side(side)
    sizes = {"embedding": EMBEDDING_SIZE, "hidden": HIDDEN_SIZE, "probabilities": len(NSFW_CLASSES)}
    out = {name: np.empty((len(images), size), dtype=np.float32) for name, size in sizes.items()}
    for start in range(0, len(images), batch_size):
        blob = network_input(images[start : start + batch_size], side)
        values = _NET.forward(blob, list(sizes))
        for (name, size), value in zip(sizes.items(), values, strict=True):
            out[name][start : start + len(blob)] = np.asarray(value).reshape(len(blob), size)
    return NetworkOutputs(**out)


def embed_with_probabilities(
    images: Sequence[BGRImage], *, side: int = EMBEDDING_SIDE, batch_size: int = BATCH_SIZE
) -> tuple[FloatArray, FloatArray]:
    """The ``(n, 1280)`` embeddings and the network's own ``(n, 5)`` class probabilities."""
    outputs = network_outputs(images, side=side, batch_size=batch_size)
    return outputs.embedding, outputs.probabilities


def embed(images: Sequence[BGRImage], *, side: int = EMBEDDING_SIDE, batch_size: int = BATCH_SIZE) -> FloatArray:
    """The ``(n, 1280)`` float32 embeddings of decoded BGR ``uint8`` images, batched."""
    return network_outputs(images, side=side, batch_size=batch_size).embedding


def hidden(images: Sequence[BGRImage], *, side: int = EMBEDDING_SIDE, batch_size: int = BATCH_SIZE) -> FloatArray:
    """The ``(n, 256)`` float32 activations of the head's first hidden layer, batched."""
    return network_outputs(images, side=side, batch_size=batch_size).hidden


__all__ = [
    "BATCH_SIZE",
    "EMBEDDING_MODEL",
    "EMBEDDING_SHA256",
    "EMBEDDING_SIDE",
    "EMBEDDING_SIZE",
    "HIDDEN_SIZE",
    "NSFW_CLASSES",
    "NetworkOutputs",
    "embed",
    "embed_with_probabilities",
    "hidden",
    "network_input",
    "network_outputs",
]
