"""Perceptual hashes of images (difference hash and DCT hash) for finding near-duplicates.

Both take a 2-D greyscale array of any size and return a 64-bit integer; two pictures that look the
same (rescaled, re-encoded, slightly brightened) get hashes a few bits apart, unrelated pictures about 32.
Pure NumPy and OpenCV resizing, so the values are the same on every machine.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

HASH_BITS = 64


def _grey_square(grey: npt.NDArray[np.generic], width: int, height: int) -> npt.NDArray[np.float64]:
    if grey.ndim != 2:
        raise ValueError(f"perceptual hashes need a 2-D greyscale array, got shape {grey.shape}")
    if grey.shape[0] < 1 or grey.shape[1] < 1:
        raise ValueError("perceptual hashes need a non-empty image")
    small = cv2.resize(np.asarray(grey, dtype=np.float32), (width, height), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.float64)


def _pack(bits: npt.NDArray[np.bool_]) -> int:
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return value


def dhash(grey: npt.NDArray[np.generic]) -> int:
    """Difference hash: 8x8 bits saying whether each pixel of a 9x8 thumbnail is brighter than its right neighbour."""
    small = _grey_square(grey, 9, 8)
    return _pack(small[:, 1:] > small[:, :-1])


def _dct_matrix(n: int) -> npt.NDArray[np.float64]:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix = np.asarray(np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n), dtype=np.float64)
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT32 = _dct_matrix(32)


def phash(grey: npt.NDArray[np.generic]) -> int:
    """DCT hash: the 8x8 lowest frequencies of a 32x32 thumbnail (DC excluded from the median), above their median."""
    small = _grey_square(grey, 32, 32)
    coefficients = (_DCT32 @ small @ _DCT32.T)[:8, :8]
    median = float(np.median(coefficients.ravel()[1:]))
    return _pack(coefficients > median)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def near_pairs(hashes: npt.NDArray[np.uint64], max_distance: int) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, whose hashes differ in at most ``max_distance`` bits."""
    values = np.asarray(hashes, dtype=np.uint64).ravel()
    pairs: list[tuple[int, int]] = []
    for i in range(len(values) - 1):
        distances = np.bitwise_count(values[i + 1 :] ^ values[i])
        for j in np.flatnonzero(distances <= max_distance):
            pairs.append((i, i + 1 + int(j)))
    return pairs
