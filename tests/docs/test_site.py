"""The built documentation site in Debian's Chromium: a page loads, search finds a class, a notebook shows a figure.

The site is built before the tests (``sphinx-build -W -n -b html docs docs/_build/html``; ``.ci/run`` does it
first, since building executes the notebooks and takes minutes). Without a built site the test skips, unless
``IMGCLASS_REQUIRE_BROWSER=1`` (as in CI), where it fails. The site is served over HTTP on 127.0.0.1 (port 0),
as a reader's browser would get it, so its search index loads the way it does online.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS, missing

SITE = Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"
NOTEBOOK_PAGE = "notebooks/04_colour_count.html"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The built site's base URL on 127.0.0.1; stopped afterwards."""
    if not (SITE / "index.html").is_file():
        missing(f"no built site at {SITE} (sphinx-build -W -n -b html docs docs/_build/html)")
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_site_loads_searches_and_shows_a_rendered_notebook(chromium: str, site: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))

            page.goto(f"{site}/index.html")
            expect(page).to_have_title("imgclass — imgclass", timeout=30_000)
            expect(page.get_by_role("link", name="Getting started").first).to_be_visible()

            # The search box as a reader uses it: open it with the theme's shortcut, type, press Enter.
            page.keyboard.press("Control+k")
            box = page.locator("input[name='q']:visible").first
            expect(box).to_be_visible(timeout=10_000)
            box.fill("CombinedClassifier")
            box.press("Enter")
            page.wait_for_url("**/search.html?q=CombinedClassifier*", timeout=30_000)
            hit = page.locator("#search-results a", has_text="CombinedClassifier").first
            expect(hit).to_be_visible(timeout=60_000)
            hit.click()
            expect(page.locator("dt#imgclass\\.classifiers\\.combined\\.CombinedClassifier")).to_be_visible()

            page.goto(f"{site}/{NOTEBOOK_PAGE}")
            figure = page.locator(".cell_output img").first
            expect(figure).to_be_visible(timeout=30_000)
            width = figure.evaluate("img => img.complete ? img.naturalWidth : 0")
            assert width > 100, f"the notebook's figure did not render (natural width {width})"
            assert not errors, f"JavaScript errors: {errors}"
            page.screenshot(path=str(tmp_path / "site.png"), full_page=False)
        finally:
            browser.close()
    assert (tmp_path / "site.png").stat().st_size > 10_000
