"""A real headless Chromium for the page tests: the distribution's /usr/bin/chromium (or FRONTAGE_CHROMIUM) driven
by playwright, never `playwright install`.

`chromium(require)` skips, or fails under FRONTAGE_REQUIRE_SERVICES=1 (CI), through `require` (the
require_service fixture) when Chromium or playwright is missing, and yields the launched Browser;
`open_page(browser, viewport)` opens a page with a 10 s default timeout and a list that collects its errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("FRONTAGE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]  # fmt: skip


@contextmanager
def chromium(require: Callable[[str], None]) -> Iterator[Browser]:
    """The launched headless Chromium, closed on the way out; `require(reason)` when it cannot run."""
    if not os.access(CHROMIUM, os.X_OK):
        require(f"{CHROMIUM} not found (apt-get install -y --no-install-recommends chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright is not installed (pip install playwright; no `playwright install` needed)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(
    browser: Browser,
    viewport: tuple[int, int] = (1440, 1000),
    scale: float = 1,
    *,
    mobile: bool = False,
    console: bool = True,
) -> tuple[Page, list[str]]:
    """A new page (in its own context, closed with it) and the list its page errors go to, and with `console`
    its console errors; `mobile` makes it a touch phone."""
    width, height = viewport
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale,
                            is_mobile=mobile, has_touch=mobile)  # fmt: skip
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    if console:
        page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    return page, problems
