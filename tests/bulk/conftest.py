"""Folders of good and bad images for the bulk-classification tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import png_bomb


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory, tiny_set: tuple[list[bytes], np.ndarray]) -> Path:
    """12 good JPEGs (6 photo crops, 6 drawings), named by class."""
    folder = tmp_path_factory.mktemp("images")
    images, labels = tiny_set
    for i, (data, label) in enumerate(zip(images[:12], labels[:12], strict=True)):
        (folder / f"{'animated' if label else 'real'}_{i:02d}.jpg").write_bytes(data)
    return folder


@pytest.fixture(scope="session")
def bad_files() -> dict[str, str]:
    """File name in ``bad_dir`` -> a piece of the error its result must carry."""
    return dict(BAD_FILES)


BAD_FILES = {
    "truncated.jpg": "truncated",
    "not_an_image.jpg": "not a recognised image",
    "empty.png": "empty file",
    "bomb.png": "100000x100000 pixels exceeds the limit",
    "garbage_body.png": "could not be decoded",
    "broken_link.jpg": "broken symbolic link",
    "fifo.jpg": "not a regular file",
}


@pytest.fixture
def bad_dir(tmp_path: Path, china_jpeg: bytes, cartoon_png: bytes) -> Path:
    """One good image and one file of every bad kind (plus an unreadable one when not root)."""
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(china_jpeg)
    (folder / "truncated.jpg").write_bytes(china_jpeg[: len(china_jpeg) // 2])
    (folder / "not_an_image.jpg").write_text("just some text, not pixels\n")
    (folder / "empty.png").write_bytes(b"")
    (folder / "bomb.png").write_bytes(png_bomb())
    # A valid PNG signature and IHDR (the header check passes), then noise where the pixels should be.
    (folder / "garbage_body.png").write_bytes(cartoon_png[:33] + bytes(range(256)) * 40)
    (folder / "broken_link.jpg").symlink_to(folder / "nowhere.jpg")
    os.mkfifo(folder / "fifo.jpg")
    if os.geteuid() != 0:  # root reads anything, so the permission case only exists for other users
        unreadable = folder / "unreadable.jpg"
        unreadable.write_bytes(china_jpeg)
        unreadable.chmod(0)
    return folder
