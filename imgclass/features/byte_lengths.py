"""The poster's byte-array features: the length of the file, of its hex form and of its base64 form.

They are one number in three guises: for ``n`` bytes the hex form has ``2n`` characters and the
base64 form ``4 * ceil(n / 3)``. :func:`byte_lengths` computes them the poster's way (by encoding);
:func:`byte_lengths_fast` uses the closed forms, and the tests check that the two agree.
"""

from __future__ import annotations

import base64

import numpy as np
import numpy.typing as npt


def byte_lengths(data: bytes) -> tuple[int, int, int]:
    """``(len(bytes), len(hex), len(base64))`` of an encoded file, computed by encoding it."""
    return len(data), len(data.hex()), len(base64.b64encode(data))


def byte_lengths_fast(n_bytes: int) -> tuple[int, int, int]:
    """The same three lengths from the byte count alone, without touching the data."""
    if n_bytes < 0:
        raise ValueError(f"byte count must be >= 0, got {n_bytes}")
    return n_bytes, 2 * n_bytes, 4 * -(-n_bytes // 3)


def byte_length_matrix(images: list[bytes]) -> npt.NDArray[np.float64]:
    """An ``(n, 3)`` float array of the three lengths for each image (closed forms; identical values)."""
    return np.array([byte_lengths_fast(len(data)) for data in images], dtype=np.float64).reshape(-1, 3)
