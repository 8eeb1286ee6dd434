"""Argument checks shared by the feature functions."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_bgr(image: Any) -> None:
    """Raise ``ValueError`` unless ``image`` is a non-empty ``(H, W, 3)`` uint8 array."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise ValueError(f"expected an (H, W, 3) uint8 image, got shape {shape} dtype {getattr(image, 'dtype', None)}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("image has no pixels")


def check_gray(image: Any) -> None:
    """Raise ``ValueError`` unless ``image`` is a non-empty ``(H, W)`` uint8 array."""
    if not isinstance(image, np.ndarray) or image.ndim != 2 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise ValueError(f"expected an (H, W) uint8 image, got shape {shape} dtype {getattr(image, 'dtype', None)}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("image has no pixels")
