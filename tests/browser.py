"""Shared by the browser tests: Debian's Chromium for Playwright (never `playwright install`), and the skip rule.

Without Chromium or Playwright a browser test skips, unless ``IMGCLASS_REQUIRE_BROWSER=1`` (as in CI), where
it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing(reason: str) -> None:
    if os.environ.get("IMGCLASS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"IMGCLASS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    for candidate in (os.environ.get("IMGCLASS_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    missing("no Chromium found (apt-get install chromium, or set IMGCLASS_CHROMIUM)")
    raise AssertionError("unreachable")


def checked_chromium() -> str:
    """Chromium's path, once Playwright is known to be importable (the ``chromium`` fixture of conftest)."""
    executable = chromium_path()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("Playwright for Python is not installed (pip install playwright; never `playwright install`)")
    return executable
