"""The statistics page, the heat map and the district map in a real headless Chromium against a live server, with
data: the district world of the API tests plus cases on other days (tests/insights_seed.py).

Checked from the page: the charts hold one series per kind and per source, the top-shops table names the shop
with the most cases, the heat map's canvas is coloured at each case's ground point and clear far from them; the
map draws one circle per shop with a position on a plain background (no tiles configured, as offline), coloured
by open cases, and the credit toggle recolours them. Screenshots at desktop and phone size go to
/tmp/shots/insights (FRONTAGE_SHOTS to change), to be looked at.

Skips when /usr/bin/chromium or playwright is missing, unless FRONTAGE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from register.db import ShopRow
from tests.api.conftest import TOKENS, LiveServer, World, _require_service, _template, make_world
from tests.browser_helpers import chromium, open_page
from tests.insights_seed import HEAT_POINTS, place_shops, seed_cases

SHOTS = Path(os.environ.get("FRONTAGE_SHOTS", "/tmp/shots/insights"))
PHONE = (390, 844)
PERIOD = "from=2026-02-25&to=2026-03-03"  # local days, as the page's form takes them
OPEN_COLOURS = {"shop-a": "#c62828", "shop-b": "#c62828", "shop-r": "#f9a825"}  # 4, 6 and 1 open cases
MARKUP_NAME = "Corner Store <i>late</i>"
CREDIT_COLOURS = {"shop-a": "#ef6c00", "shop-b": "#1a7f37", "shop-r": "#212121"}  # below base, red list, black


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    w = make_world(_template(tmp_path_factory, district=True), tmp_path_factory.mktemp("insights-browser"))
    seed_cases(w)
    place_shops(w)
    with Session(w.engine) as s, s.begin():  # a register name with markup in it: shown as text, never parsed
        s.execute(update(ShopRow).where(ShopRow.id == "shop-r").values(name=MARKUP_NAME))
    yield w
    w.engine.dispose()


@pytest.fixture(scope="module")
def site(world) -> Iterator[LiveServer]:
    with LiveServer(world.app()) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium(_require_service) as b:
        yield b


def _signed_in(browser, site, path: str, viewport=(1440, 1000), mobile: bool = False):
    """A page on `path`, signed in as the operator; console errors collected, except the camera's own frame
    answering 404 (no camera process runs beside this server: the page falls back by design)."""
    page, problems = open_page(browser, viewport, mobile=mobile, console=False)

    def console(msg) -> None:
        if msg.type == "error" and not ("/snapshot.jpg" in (msg.location or {}).get("url", "") and "404" in msg.text):
            problems.append(f"console: {msg.text} {msg.location}")

    page.on("console", console)
    page.goto(f"{site.url}{path}")
    page.fill("#token", TOKENS["operator"])
    page.click("#login-form button[type=submit]")
    return page, problems


def _alpha(page, x: float, y: float) -> int:
    """The heat canvas's alpha at frame pixel (x, y)."""
    return page.evaluate("([x, y]) => $('heat-canvas').getContext('2d').getImageData(x, y, 1, 1).data[3]", [x, y])


def test_statistics_and_heat_map(browser, site):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    page, problems = _signed_in(browser, site, f"/insights?{PERIOD}&lang=en")
    frame = page.locator("#heat-frame")
    expect(frame).to_have_attribute("data-points", "6")  # cam1's cases of the period, the dismissed one left out
    expect(page.locator("#chart-kind")).to_have_attribute("data-series", "3")  # parking, trading, failed inspection
    expect(page.locator("#chart-source")).to_have_attribute("data-series", "2")  # camera, inspector
    assert page.locator("#chart-kind .u-legend .u-series").count() == 4  # the day, then the three kinds
    assert page.locator("#chart-kind canvas").count() == 1
    first = page.locator("#top-shops tbody tr").first
    expect(first).to_have_attribute("data-shop-id", "shop-a")  # 6 confirmed cases in the period
    expect(first).to_contain_text("Noodle House")
    expect(page.locator("#top-cameras tbody tr").first).to_have_attribute("data-camera-id", "cam1")
    expect(page.locator("#k-confirmed")).to_have_text("12")
    expect(page.locator("#k-share")).to_have_text("16.7%")  # 2 of 12 fixed before escalation
    expect(page.locator("#k-median")).to_have_text("30 min")  # (20 s + 3600 s) / 2
    assert frame.get_attribute("data-background") in ("camera", "case")  # a real picture under the heat
    assert page.evaluate("$('heat-bg').naturalWidth") > 0
    assert (frame.get_attribute("data-width"), frame.get_attribute("data-height")) == ("640", "360")
    for x, y in HEAT_POINTS:
        assert _alpha(page, x, y) > 100, (x, y)
    assert _alpha(page, 630, 10) == 0  # far from every case: the picture shows through
    page.screenshot(path=str(SHOTS / "insights-desktop.png"), full_page=True)

    page.select_option("#heat-kind", "out_of_store_trading")  # only x2 (500, 250) and a_detected (120, 330)
    expect(frame).to_have_attribute("data-points", "2")
    assert _alpha(page, 230, 180) == 0
    page.uncheck("#heat-dots")
    assert _alpha(page, 500, 250) > 100  # the heat itself, not only the dot
    page.select_option("#heat-kind", "")
    page.select_option("#heat-camera", "cam3")  # not in the config, no snapshot: a plain 1280x720 frame
    expect(frame).to_have_attribute("data-background", "none")
    expect(frame).to_have_attribute("data-points", "1")
    assert (frame.get_attribute("data-width"), frame.get_attribute("data-height")) == ("1280", "720")
    assert _alpha(page, 650, 400) > 100 and _alpha(page, 100, 100) == 0
    page.click("#lang")
    expect(page.locator("#chart-kind .u-legend")).to_contain_text("违停")
    page.check("#heat-dots")
    page.select_option("#heat-camera", "cam1")
    expect(frame).to_have_attribute("data-points", "6")
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    narrow = page.evaluate("Math.max(200, $('chart-kind').clientWidth)")
    assert narrow < PHONE[0]
    expect(page.locator("#chart-kind")).to_have_attribute("data-width", str(narrow))  # the charts follow a resize
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]  # nothing runs off a phone's screen
    page.screenshot(path=str(SHOTS / "insights-phone.png"), full_page=True)
    assert problems == []


def test_district_map_offline_and_credit_toggle(browser, site):
    from playwright.sync_api import expect

    page, problems = _signed_in(browser, site, "/map?lang=en")
    markers = page.locator("path.shop-marker")
    expect(markers).to_have_count(3)
    expect(page.locator("#map")).to_have_class(re.compile(r"\bplain\b"))
    assert page.locator("img.leaflet-tile").count() == 0  # no tiles: offline

    def fills() -> dict[str, str]:
        return {m.get_attribute("data-shop-id"): m.get_attribute("fill") for m in markers.all()}

    assert fills() == OPEN_COLOURS
    page.screenshot(path=str(SHOTS / "map-desktop.png"))
    page.check("input[name=colour][value=credit]")
    assert fills() == CREDIT_COLOURS
    expect(page.locator(".legend")).to_contain_text("Black list")

    page.locator("path.shop-marker[data-shop-id='shop-r']").click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Corner Store")
    expect(popup).to_contain_text("70")
    assert popup.locator("a").get_attribute("href") == "/?shop_id=shop-r"
    assert popup.locator("strong").text_content() == MARKUP_NAME and popup.locator("i").count() == 0
    tip = page.locator(".leaflet-tooltip")
    expect(tip).to_have_text(MARKUP_NAME)  # the tooltip, too: Leaflet would parse a string as HTML
    assert tip.locator("i").count() == 0
    page.screenshot(path=str(SHOTS / "map-credit-desktop.png"))
    page.close()

    phone, more = _signed_in(browser, site, "/map", PHONE, mobile=True)
    expect(phone.locator("path.shop-marker")).to_have_count(3)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    phone.screenshot(path=str(SHOTS / "map-phone.png"))
    assert problems == [] and more == []
