"""The review page's Shops tab in a real headless Chromium on a phone-sized screen: an operator searches the
register, pages through it, filters by street, edits a shop and sees the change in its history; a shop name
with markup stays text; a merchant sees only their own shop and no edit form.

Skips when /usr/bin/chromium or playwright is missing, unless FRONTAGE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.orm import Session

from register import shops
from register.shops import ShopRecord
from tests.api.conftest import _require_service
from tests.browser_helpers import chromium, open_page

PHONE = (390, 844)
MARKUP = "<img src=x onerror=window.pwned=1>Bad Shop"
LEDGER = [
    *(ShopRecord(id=f"R{i:03d}", name=f"Shop {i}", address=f"{i} River Rd", street="湖滨街道" if i % 2 else "小营街道",
                 community="东坡社区", contact_phone=f"139 0000 {i:04d}") for i in range(1, 46)),
    ShopRecord(id="X001", name=MARKUP, street="小营街道"),
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    with chromium(_require_service) as b:  # one browser for the file
        yield b


@pytest.fixture
def phone_page(browser):
    page, problems = open_page(browser, PHONE, scale=2)  # a context of its own: a fresh sessionStorage
    yield page, problems
    page.context.close()


def sign_in(page, url: str, token: str) -> None:
    page.goto(f"{url}/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")


def test_operator_searches_edits_and_sees_history_on_a_phone(phone_page, world, serve, auth, tmp_path):
    from playwright.sync_api import expect

    page, problems = phone_page
    with Session(world.engine) as s, s.begin():
        shops.upsert(s, LEDGER, "ledger", world.clock.now())
    total = shops.search(world.engine, limit=1)[0] + len(
        [c for c in world.cfg.shops if not shops.get(world.engine, c.id)]
    )
    server = serve(world.app())
    sign_in(page, server.url, auth("operator")["Authorization"].removeprefix("Bearer "))
    expect(page.locator("#queue tbody tr").first).to_be_visible()  # the case queue, as before

    page.click("#tab-shops")
    expect(page.locator("#shops")).to_be_visible()
    expect(page.locator("#review")).to_be_hidden()
    rows = page.locator("#shops-list tbody tr")
    expect(rows).to_have_count(20)
    expect(page.locator("#shops-range")).to_have_text(f"1–20 of {total}")
    expect(page.locator("#shops-prev")).to_be_disabled()
    page.click("#shops-next")
    expect(page.locator("#shops-range")).to_have_text(f"21–40 of {total}")
    expect(page.locator("#shops-list th.wide").first).to_be_hidden()  # street and community columns: too narrow

    page.select_option("#shops-street", "小营街道")
    expect(page.locator("#shops-range")).to_have_text("1–20 of 23")  # 22 even R-numbers and X001
    page.fill("#shops-q", "onerror")
    page.click("#shops-search button[type=submit]")
    expect(rows).to_have_count(1)
    expect(page.locator("#shops-list tbody tr[data-shop-id='X001']")).to_contain_text(MARKUP)  # text, not markup
    assert page.locator("#shops-list img").count() == 0 and page.evaluate("window.pwned") is None

    page.select_option("#shops-street", "")
    page.fill("#shops-q", "river rd")
    page.click("#shops-search button[type=submit]")
    expect(page.locator("#shops-range")).to_have_text("1–20 of 45")
    page.fill("#shops-q", "r007")
    page.press("#shops-q", "Enter")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#shop-title")).to_have_text("Shop 7 · R007")
    expect(page.locator("#shop-facts")).to_contain_text("139 0000 0007")  # operators see the phone
    expect(page.locator("#shop-history tbody tr")).to_have_count(1)

    form = page.locator("#shop-edit")
    form.locator("input[name=street]").fill("小营街道")
    form.locator("input[name=contact_person]").fill("王五")
    form.locator("input[name=lat]").fill("30.2581")
    form.locator("input[name=duties][value=greenery]").uncheck()
    page.click("#shop-save")
    expect(page.locator("#status")).to_have_text("Shop R007: saved (4 fields).")
    history = page.locator("#shop-history tbody tr")
    expect(history).to_have_count(2)
    newest = history.first
    expect(newest).to_contain_text("otto")
    expect(newest).to_contain_text("Street: 湖滨街道 → 小营街道")
    expect(newest).to_contain_text("Person responsible: '' → 王五")
    expect(newest).to_contain_text("Duties: sanitation, order, greenery → sanitation, order")
    expect(page.locator("#shops-list tbody tr[data-shop-id='R007']")).to_contain_text("Shop 7")
    page.click("#shop-save")
    expect(page.locator("#status")).to_have_text("Nothing to change.")
    form.locator("input[name=lat]").fill("north")
    page.click("#shop-save")
    expect(page.locator("#status")).to_have_text("Latitude must be a number")
    form.locator("input[name=contact_phone]").fill("call me")
    form.locator("input[name=lat]").fill("30.2581")
    page.click("#shop-save")
    expect(page.locator("#status")).to_contain_text("422: a phone number holds only digits")
    page.screenshot(path=str(tmp_path / "shops-phone.png"), full_page=True)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # nothing scrolls sideways

    page.click("#tab-cases")
    expect(page.locator("#review")).to_be_visible()
    expect(page.locator("#shops")).to_be_hidden()
    assert [p for p in problems if "422" not in p] == []  # the browser logs the refused PATCH itself

    with httpx.Client(base_url=server.url, headers=auth("admin")) as api:
        shop = api.get("/shops/R007").json()
        entries = api.get("/shops/R007/history").json()
    assert (shop["street"], shop["contact_person"], shop["lat"]) == ("小营街道", "王五", 30.2581)
    assert shop["duties"] == ["sanitation", "order"]
    assert [(e["actor"], e["action"]) for e in entries] == [("ledger", "import"), ("otto", "edit")]


def test_merchant_sees_only_their_shop_without_the_edit_form(phone_page, world, serve, auth):
    from playwright.sync_api import expect

    page, problems = phone_page
    server = serve(world.app())
    sign_in(page, server.url, auth("merchant-own")["Authorization"].removeprefix("Bearer "))
    expect(page.locator("#who")).to_contain_text("(merchant)")
    page.click("#tab-shops")
    rows = page.locator("#shops-list tbody tr")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#shop-title")).to_have_text("Noodle House · shop-a")
    expect(page.locator("#shop-facts")).not_to_contain_text("Phone")
    expect(page.locator("#shop-edit")).to_be_hidden()
    expect(page.locator("#shop-history-pane")).to_be_hidden()
    page.click("#signout")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#tabs")).to_be_hidden()
    expect(page.locator("#shops")).to_be_hidden()
    assert problems == []
