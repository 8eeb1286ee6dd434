"""One shipped ONNX network, checked against its SHA-256, loaded once per process and run by ``cv2.dnn``.

``cv2.dnn.Net.forward`` is not safe to call from two threads on one net, so calls are serialised with a
lock (a forward pass is one batched call, so the lock is held once per batch). The thread count is
OpenCV's (``cv2.setNumThreads``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np


class OnnxNet:
    """The network in ``path``, loaded on first use after its SHA-256 is checked against ``sha256``."""

    def __init__(self, path: Path, sha256: str) -> None:
        self.path = Path(path)
        self.sha256 = sha256
        self._lock = threading.Lock()
        self._net: Any = None

    def _load(self) -> Any:
        # Called with the lock held.
        if self._net is None:
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                raise ValueError(f"network {self.path} is missing: {exc.strerror or exc}") from None
            if hashlib.sha256(data).hexdigest() != self.sha256:
                raise ValueError(f"network {self.path} does not match its checksum (corrupt file)")
            self._net = cv2.dnn.readNetFromONNX(str(self.path))
        return self._net

    def forward(self, blob: np.ndarray, outputs: Sequence[str]) -> list[np.ndarray]:
        """The named outputs for one input blob, in order."""
        with self._lock:
            net = self._load()
            net.setInput(blob)
            return [np.asarray(v) for v in net.forward(list(outputs))]


__all__ = ["OnnxNet"]
