"""Notebook 04 in a real JupyterLab, driven by Debian's Chromium through Playwright.

Starts ``jupyter lab`` on 127.0.0.1 with a random free port and token on a temporary copy of the
notebook (the repository's stripped notebook is never touched), runs all cells, moves the threshold
slider with the keyboard and checks that the slider's readout and the live accuracy text change.
Skips when Chromium or Playwright is missing, unless ``IMGCLASS_REQUIRE_BROWSER=1`` (as in CI).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import browser as chromium_support
from tests.browser import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "04_colour_count.ipynb"
#: Generous: a busy 2-core machine runs the whole notebook (a colour count of every image) in here.
RUN_ALL_TIMEOUT_MS = 480_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_server(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # only ever 127.0.0.1
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # polling a server that is starting up, bounded by the deadline
    pytest.fail(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab on a copy of the notebook: ``(base url, token)``; stopped (by its pid) afterwards."""
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    # Keep JupyterLab's state (workspaces, runtime files, settings) inside the test's folder.
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTER_CONFIG_DIR", "config")):  # fmt: skip
        env[var] = str(tmp_path / sub)
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp_path / "jupyter.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", proc, log)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_missing_chromium_skips_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chromium_support, "CHROMIUM_CANDIDATES", ())
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("IMGCLASS_CHROMIUM", raising=False)
    monkeypatch.delenv("IMGCLASS_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium found"):
        chromium_support.chromium_path()
    monkeypatch.setenv("IMGCLASS_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="IMGCLASS_REQUIRE_BROWSER=1 but no Chromium"):
        chromium_support.chromium_path()


def test_notebook_04_runs_and_its_slider_moves(chromium: str, lab: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, token = lab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            notebook = page.locator(".jp-NotebookPanel")
            expect(notebook).to_be_visible(timeout=120_000)
            expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible(timeout=120_000)

            notebook.locator(".jp-Cell").first.click()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

            # Every code cell numbered (none pending "[*]", none unrun "[ ]"), and no error output.
            page.wait_for_function(
                """() => {
                    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                }""",
                timeout=RUN_ALL_TIMEOUT_MS,
            )
            errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
            assert errors.count() == 0, errors.first.inner_text()
            assert notebook.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0

            readout = notebook.locator(".imgclass-readout")
            expect(readout).to_contain_text("accuracy", timeout=60_000)
            slider = notebook.locator(".widget-hslider", has_text="threshold")
            value = slider.locator(".widget-readout")
            before_text = readout.inner_text()
            # The notebook's own check cell left the threshold at 0.60; ten steps of 0.01 make 0.70.
            before_value = float(value.inner_text())
            target = f"{before_value + 0.10:.2f}"

            slider.locator(".noUi-handle").focus()
            for _ in range(10):
                page.keyboard.press("ArrowRight")
            expect(value).to_have_text(target, timeout=30_000)
            # Each key press reaches the kernel; the readout follows the last one.
            expect(readout).to_contain_text(f"share > {float(target):g}.", timeout=60_000)
            assert readout.inner_text() != before_text
            expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(tmp_path / "notebook04.png"), full_page=False)
        finally:
            browser.close()
    assert (tmp_path / "notebook04.png").stat().st_size > 10_000
