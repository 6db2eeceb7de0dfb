"""The signboard loop in a real headless Chromium on a phone-sized screen, against a live server.

(a) A citizen scans the QR code printed on a shop's signboard (decoded from the real PDF), reports a problem with
a photo and lands on the tracking page; the operator finds the case (source citizen, reported) in GET /cases
and in the review page's queue. (b) An inspector signs in, opens the same link, records a fail; a case with
source inspector opens, detected. (c) A description made of script and an onerror image shows as text on the
tracking page and in the operator's review page, and nothing of it runs.

Skips when /usr/bin/chromium or playwright is missing, unless FRONTAGE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from dispatch.db import make_engine
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import Config, parse_config
from register.shops import register_config_shops, shop_lookup
from register.signboard_pdf import render_pdf, signboards_for
from tests.api.conftest import CONFIG, TOKENS, LiveServer, jpeg_bytes
from tests.browser_helpers import chromium, open_page
from tests.register.test_signboard_pdf import decode_all, pages

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
INSPECTOR = "browser-inspector-token-0123456789"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
PHONE = (390, 844)
CFG: Config = parse_config(
    {**CONFIG, "api": {**CONFIG["api"], "tokens": [*CONFIG["api"]["tokens"],
                                                  {"name": "inspector Zhou", "role": "inspector", "token": INSPECTOR}]}}
)  # fmt: skip
OPERATOR = {"Authorization": f"Bearer {TOKENS['operator']}"}


@dataclass
class Site:
    url: str
    link: str  # the shop-a signboard's QR link, on this live server
    photo: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("public-browser")
    engine = make_engine(f"sqlite:///{root / 'store.db'}")
    register_config_shops(engine, CFG, T0)
    workflow = Workflow(engine, CFG, ManualClock(T0), shops=shop_lookup(engine))
    render_pdf(signboards_for(engine, CFG, shop_id="shop-a"), root / "signboard.pdf")
    (printed,) = decode_all(pages(root / "signboard.pdf")[0])
    assert printed.startswith(CFG.dispatch.public_url + "/s/")
    photo = root / "photo.jpg"
    photo.write_bytes(jpeg_bytes((640, 360)))
    app = create_app(CFG, engine, workflow, snapshot_dir=root / "snaps", upload_dir=root / "uploads")
    with LiveServer(app) as live:
        yield Site(live.url, live.url + printed.removeprefix(CFG.dispatch.public_url), photo)
    engine.dispose()


@pytest.fixture(scope="module")
def browser(require_service_module):
    with chromium(require_service_module) as b:
        yield b


@pytest.fixture(scope="module")
def require_service_module():
    from tests.api.conftest import _require_service

    return _require_service


@pytest.fixture
def phone(browser):
    page, problems = open_page(browser, PHONE, mobile=True, console=False)  # page errors only, as before
    yield page, problems
    page.close()  # and its context


def cases(site: Site, **params) -> list[dict]:
    res = httpx.get(f"{site.url}/cases", headers=OPERATOR, params={"limit": 200, **params})
    assert res.status_code == 200, res.text
    return res.json()["items"]


def test_citizen_reports_from_the_qr_link_and_the_operator_sees_it(site, phone, browser, tmp_path) -> None:
    from playwright.sync_api import expect

    page, problems = phone
    page.goto(site.link)
    expect(page.locator("h1.shop-name")).to_have_text("Noodle House")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]  # no sideways scrolling
    page.check("input[name=category][value=litter]")
    page.set_input_files("#photo", str(site.photo))
    page.fill("#description", XSS)
    page.fill("#contact", "reporter@example.cn")
    page.click("#report button[type=submit]")
    page.wait_for_url(re.compile(r".*/r/[23456789A-HJ-NP-Z]{10}$"))
    expect(page.locator("h1")).to_contain_text("反映已收到")
    expect(page.locator("dd.description")).to_have_text(XSS)  # shown as text, not markup
    expect(page.locator("dd.shop-name")).to_have_text("Noodle House")
    expect(page.locator("dd.state")).to_contain_text("已受理")
    assert "reporter@example.cn" not in page.content()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    code = page.url.rsplit("/", 1)[1]
    page.screenshot(path=str(tmp_path / "tracking.png"), full_page=True)

    mine = [c for c in cases(site, source="citizen") if c["shop_id"] == "shop-a"]
    assert [(c["kind"], c["state"]) for c in mine] == [("litter", "reported")]
    case_id = mine[0]["id"]

    # the operator's review page (desktop): the case in the queue, the citizen's words as text in its ledger
    desk = browser.new_page(viewport={"width": 1440, "height": 1000})
    desk.set_default_timeout(10_000)
    desk.on("pageerror", lambda exc: problems.append(f"review page error: {exc}"))
    desk.goto(f"{site.url}/")
    desk.fill("#token", TOKENS["operator"])
    desk.click("#login-form button[type=submit]")
    row = desk.locator(f"#queue tbody tr[data-case-id='{case_id}']")
    expect(row).to_contain_text("citizen report")
    row.click()
    expect(desk.locator("#detail-title")).to_contain_text(f"Case #{case_id}")
    expect(desk.locator("#ledger tbody")).to_contain_text(XSS)
    expect(desk.locator("#ledger tbody")).to_contain_text(code)
    assert desk.evaluate("typeof window.__pwned") == "undefined"
    assert desk.locator("#ledger img").count() == 0
    desk.close()
    assert problems == []


def test_inspector_signs_in_and_a_fail_opens_a_case(site, phone, tmp_path) -> None:
    from playwright.sync_api import expect

    page, problems = phone
    page.goto(site.link)
    expect(page.locator("#inspect")).to_have_count(0)  # no session: the citizen's page only
    page.click("p.signin a")
    page.fill("#token", INSPECTOR)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(site.link)
    expect(page.locator("#inspect")).to_contain_text("inspector Zhou")
    page.screenshot(path=str(tmp_path / "shop-page.png"), full_page=True)
    page.check("input[name=sanitation][value=pass]")
    page.check("input[name=order][value=fail]")
    page.fill("#note", "tables and chairs out on the pavement")
    page.set_input_files("#ins-photo", str(site.photo))
    page.click("#inspect button[type=submit]:not(.link)")
    expect(page.locator("h1")).to_contain_text("巡查不合格")
    found = re.search(r"#(\d+)", page.locator("p.case").inner_text())
    assert found is not None
    page.screenshot(path=str(tmp_path / "inspection.png"), full_page=True)
    case_id = int(found.group(1))
    mine = [c for c in cases(site, source="inspector") if c["id"] == case_id]
    assert [(c["shop_id"], c["kind"], c["state"]) for c in mine] == [("shop-a", "inspection_failed", "detected")]
    page.goto(site.link)
    expect(page.locator("section.status")).to_contain_text("巡查不合格")  # the open case is on the public page
    page.click("#inspect button.link")  # sign out
    page.goto(site.link)
    expect(page.locator("#inspect")).to_have_count(0)
    assert problems == []
