"""A small in-memory data set for the exploration tests, built from the shared ``tiny_set``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imgclass.data import Dataset, Record


def as_dataset(images: list[bytes], labels: np.ndarray) -> Dataset:
    records = tuple(
        Record(data, int(label), ("drawn" if label else "photo") + ("_a" if i % 4 < 2 else "_b"), Path(f"{i:03d}.jpg"))
        for i, (data, label) in enumerate(zip(images, labels, strict=True))
    )
    return Dataset(Path("tiny"), records)


@pytest.fixture(scope="session")
def tiny_dataset(tiny_set: tuple[list[bytes], np.ndarray]) -> Dataset:
    """24 JPEGs, 12 noisy photo crops (real) and 12 drawings (animated), four sources."""
    return as_dataset(*tiny_set)
