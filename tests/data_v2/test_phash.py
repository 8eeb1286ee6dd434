"""Perceptual hashes: pinned values, and the properties dedupe relies on."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from imgclass.phash import dhash, hamming, near_pairs, phash


def _gradient() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:48]
    return ((x * 3 + y * 2) % 256).astype(np.uint8)


def _checker() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:48]
    return (((x // 8) + (y // 8)) % 2 * 255).astype(np.uint8)


def _noise() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (40, 50), dtype=np.uint8)


@pytest.mark.parametrize(
    ("make", "expected_d", "expected_p"),
    [
        (_gradient, 0xFFFFFFFFFFFFFFFE, 0x852A552A55AA57AF),
        (_checker, 0xDB24DB24DB24DB24, 0xD6897E0967A9A329),
        (_noise, 0x5524524A498B8A45, 0xA31FEC62EE878861),
    ],
)
def test_golden_values(make, expected_d, expected_p) -> None:
    image = make()
    assert dhash(image) == expected_d
    assert phash(image) == expected_p


def test_hashes_fit_64_bits() -> None:
    for image in (_gradient(), _checker(), _noise()):
        assert 0 <= dhash(image) < 2**64
        assert 0 <= phash(image) < 2**64


def test_rescaled_and_brightened_copy_is_near() -> None:
    photo = cv2.GaussianBlur(_noise(), (0, 0), 3).astype(np.float32)
    photo = cv2.resize(photo, (400, 320), interpolation=cv2.INTER_CUBIC)
    photo = np.clip((photo - photo.min()) * 255 / np.ptp(photo), 0, 255).astype(np.uint8)
    copy = cv2.resize(photo, (150, 120), interpolation=cv2.INTER_AREA)
    copy = np.clip(copy.astype(np.int16) + 12, 0, 255).astype(np.uint8)
    assert hamming(phash(photo), phash(copy)) <= 4
    assert hamming(dhash(photo), dhash(copy)) <= 8


def test_unrelated_images_are_far() -> None:
    a = _noise()
    b = np.random.default_rng(1).integers(0, 256, (40, 50), dtype=np.uint8)
    assert hamming(phash(a), phash(b)) > 12
    assert hamming(dhash(a), dhash(b)) > 12


def test_hamming_counts_bits() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(2**64 - 1, 0) == 64


def test_near_pairs() -> None:
    hashes = np.array([0, 1, 0xFF, 3, 0xE000000000000000], dtype=np.uint64)
    assert near_pairs(hashes, 2) == [(0, 1), (0, 3), (1, 3)]
    assert near_pairs(hashes, 0) == []


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.uint8), np.zeros((0, 5), np.uint8)])
def test_bad_input_is_a_value_error(bad) -> None:
    with pytest.raises(ValueError, match="perceptual hashes"):
        phash(bad)
    with pytest.raises(ValueError, match="perceptual hashes"):
        dhash(bad)
