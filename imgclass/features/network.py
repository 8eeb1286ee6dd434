"""The network whose top was trained on reference set v2: one log-odds of "animated" per image, by ``cv2.dnn``.

``scripts/finetune.py train`` trains the top of a pretrained network (:mod:`imgclass.finetune`, a
training-only extra) on every image of a v2 build and its augmented copies, and writes the whole network
back as ONNX with one output, ``logit``. That file ships in ``imgclass/models/network/`` with its licence,
its SHA-256 and the training command's recorded configuration (``training.json``); it is checked against
:data:`NETWORK_SHA256` when loaded. Nothing here needs torch.

It reads the same input as the frozen embedding (:func:`imgclass.features.embedding.network_input`: RGB in
[0, 1], a :data:`NETWORK_SIDE`-pixel square of the working image).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imgclass.decode import BGRImage
from imgclass.features.embedding import network_input
from imgclass.features.onnx_net import OnnxNet

NETWORK_DIR: Final = Path(__file__).resolve().parent.parent / "models" / "network"
NETWORK_MODEL: Final = NETWORK_DIR / "network.onnx"
#: Written by ``scripts/finetune.py train`` beside the network (a test checks the three agree).
NETWORK_TRAINING: Final = NETWORK_DIR / "training.json"
NETWORK_SHA256: Final = "0" * 64
NETWORK_SIDE: Final = 128

_NET: Final = OnnxNet(NETWORK_MODEL, NETWORK_SHA256)


def network_logits(images: Sequence[BGRImage], *, side: int = NETWORK_SIDE) -> npt.NDArray[np.float64]:
    """The ``(n,)`` log-odds of "animated" of decoded BGR ``uint8`` images, one forward pass each."""
    out = np.empty(len(images), dtype=np.float64)
    for i, image in enumerate(images):
        (logit,) = _NET.forward(network_input([image], side), ["logit"])
        out[i] = float(logit.reshape(-1)[0])
    return out


def training_record() -> dict[str, Any]:
    """What the training command recorded beside the shipped network (``training.json``)."""
    return json.loads(NETWORK_TRAINING.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


__all__ = ["NETWORK_MODEL", "NETWORK_SHA256", "NETWORK_SIDE", "NETWORK_TRAINING", "network_logits", "training_record"]
