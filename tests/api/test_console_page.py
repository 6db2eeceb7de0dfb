"""The console's cases page in a real headless Chromium against a live server: filters, search and pagination
agree with the API on a seeded world and survive a reload (they live in the URL); a case shows its ledger; on a
390x844 phone nothing scrolls sideways, for an operator and for a merchant; the language follows the browser or
the switch, and times are the deployment's (Asia/Shanghai), not the browser's (America/New_York).

Skips when /usr/bin/chromium or playwright is missing, unless FRONTAGE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dispatch.cases import CaseRecorder
from frontage.config import RuleKind
from tests.api.conftest import POLYGONS, T0, TOKENS, LiveServer, World, _require_service, make_world, stills
from tests.browser_helpers import chromium
from zones.dwell import EventType, ViolationEvent

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 1000}
SHOTS = os.environ.get("FRONTAGE_SHOTS")  # a folder to keep the screenshots in, to look at them
EXTRA = 20  # cases added to the API world's seven, so that paging has pages
NO_OVERFLOW = "document.scrollingElement.scrollWidth <= window.innerWidth"
CJK = re.compile(r"[\u4e00-\u9fff]")


def add_cases(world: World, n: int = EXTRA) -> None:
    """n more camera cases, every 5 hours from T0 + 1 h, alternating shops, kinds and hence cameras: a week of a
    street, with real evidence JPEGs. The clock is not ticked: they stay detected, the seeded ones as they were."""
    rec = CaseRecorder(world.engine, world.snapshot_dir, POLYGONS, workflow=world.workflow)
    frames = stills()
    for i in range(n):
        shop, cam, x = ("shop-a", "cam1", 60) if i % 2 else ("shop-b", "cam2", 380)
        kind, cls = (RuleKind.illegal_parking, "car") if i % 3 else (RuleKind.out_of_store_trading, "chair")
        t = 3600 + i * 5 * 3600
        world.clock.set(T0 + dt.timedelta(seconds=t))
        box = (x, 220.0, x + 120, 330.0)
        ev = ViolationEvent(EventType.opened, f"extra/{i}", cam, shop, kind, cls, t - 30, t, box, 30.0, opened_t=t)
        rec.handle(ev, T0, frames[i % len(frames)])


@pytest.fixture(scope="module")
def console_world(template, tmp_path_factory) -> Iterator[World]:
    w = make_world(template, tmp_path_factory.mktemp("console"))
    add_cases(w)
    yield w
    w.engine.dispose()


@pytest.fixture(scope="module")
def server(console_world) -> Iterator[LiveServer]:
    with LiveServer(console_world.app()) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with chromium(_require_service) as b:  # one browser for the file; a context per test
        yield b


def new_page(browser, viewport=DESKTOP, locale="en-US", timezone="America/New_York"):
    """A page in its own context: the browser's language and timezone as a user's laptop in New York has them."""
    context = browser.new_context(viewport=viewport, locale=locale, timezone_id=timezone)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    return page, problems


def sign_in(page, url: str, who: str) -> None:
    page.goto(url)
    page.fill("#token", TOKENS[who])
    page.click("#login-form button[type=submit]")
    page.locator("#who").wait_for()


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def api_total(url: str, who: str = "operator", **params) -> int:
    res = httpx.get(f"{url}/cases", params={"limit": 1, **params}, headers={"Authorization": f"Bearer {TOKENS[who]}"})
    assert res.status_code == 200, res.text
    return res.json()["total"]


def shown_ids(page) -> list[int]:
    rows = page.locator("#queue tbody tr")
    return [int(v) for v in rows.evaluate_all("rows => rows.map(r => r.dataset.caseId)")]


def test_filters_search_and_pages_agree_with_the_api_and_live_in_the_url(browser, server):
    from playwright.sync_api import expect

    page, problems = new_page(browser)
    sign_in(page, f"{server.url}/", "operator")
    rows = page.locator("#queue tbody tr")
    open_total = api_total(server.url, open="true")
    assert open_total > 20  # the open queue has two pages
    expect(page.locator("#count")).to_have_text(f"({open_total})")
    expect(rows).to_have_count(20)
    expect(page.locator("#range")).to_have_text(f"1–20 of {open_total}")
    first_page = shown_ids(page)
    page.click("#next")
    expect(page.locator("#range")).to_have_text(f"21–{open_total} of {open_total}")
    assert "page=2" in page.url and not set(shown_ids(page)) & set(first_page)
    expect(page.locator("#next")).to_be_disabled()

    # every case of cam2 that is illegal parking, any state
    page.select_option("#f-state", "all")
    page.select_option("#f-kind", "illegal_parking")
    page.fill("#f-camera", "cam2")
    page.click("#filters button[type=submit]")
    wanted = api_total(server.url, kind="illegal_parking", camera_id="cam2")
    expect(page.locator("#count")).to_have_text(f"({wanted})")
    expect(rows).to_have_count(wanted)
    expect(page.locator("#queue tbody td.c-kind")).to_have_text(["Illegal parking"] * wanted)

    # a time range on the deployment's wall clock: 3 March 00:00 to 5 March 00:00 in Shanghai
    page.select_option("#f-kind", "")
    page.fill("#f-camera", "")
    page.fill("#f-from", "2026-03-03T00:00")
    page.fill("#f-to", "2026-03-05T00:00")
    page.click("#filters button[type=submit]")
    wanted = api_total(server.url, opened_from="2026-03-02T16:00:00Z", opened_to="2026-03-04T16:00:00Z")
    assert 0 < wanted < 20
    expect(page.locator("#count")).to_have_text(f"({wanted})")
    expect(rows).to_have_count(wanted)

    # search by shop name, with a state: then reload, and the same view comes back from the URL
    page.fill("#f-from", "")
    page.fill("#f-to", "")
    page.fill("#f-q", "tea")
    page.select_option("#f-state", "reminded")  # a select applies at once
    wanted = api_total(server.url, q="tea", state="reminded")
    expect(page.locator("#count")).to_have_text(f"({wanted})")
    assert wanted > 0 and rows.count() == wanted
    expect(page.locator("#queue tbody td.c-shop")).to_have_text(["Tea Shop"] * wanted)
    assert "q=tea" in page.url and "state=reminded" in page.url
    page.reload()
    expect(page.locator("#count")).to_have_text(f"({wanted})")
    expect(page.locator("#f-q")).to_have_value("tea")
    expect(page.locator("#f-state")).to_have_value("reminded")

    # the case number; then the filters cleared give the open queue again
    target = shown_ids(page)[-1]
    page.fill("#f-q", f"#{target}")
    page.press("#f-q", "Enter")
    expect(rows).to_have_count(1)
    assert shown_ids(page) == [target]
    page.click("#f-clear")
    expect(page.locator("#count")).to_have_text(f"({open_total})")
    assert "q=" not in page.url
    # a range that ends before it starts is refused with its reason, nothing fetched
    page.fill("#f-from", "2026-03-05T00:00")
    page.fill("#f-to", "2026-03-03T00:00")
    page.click("#filters button[type=submit]")
    expect(page.locator("#status")).to_have_text("“Opened from” must be before “Opened before”.")
    shot(page, "desktop-en-filters")
    assert problems == []
    page.context.close()


def test_a_case_shows_its_ledger_and_the_roles_actions(browser, server, console_world):
    from playwright.sync_api import expect

    page, problems = new_page(browser)
    cid = console_world.ids["b_escalated"]
    sign_in(page, f"{server.url}/?state=all&size=50&case={cid}", "operator")  # a shared link to one case
    expect(page.locator("#detail-title")).to_have_text(f"Case #{cid} · Illegal parking · escalated")
    case = httpx.get(f"{server.url}/cases/{cid}", headers={"Authorization": f"Bearer {TOKENS['admin']}"}).json()
    ledger = page.locator("#ledger tbody tr")
    expect(ledger).to_have_count(len(case["ledger"]))
    expect(ledger.nth(0).locator(".l-move")).to_have_text("— → detected")
    expect(ledger.nth(2)).to_contain_text("reminded → escalated")
    expect(ledger.nth(2)).to_contain_text("operator")
    expect(ledger.nth(2)).to_contain_text("blocking the fire lane")
    expect(ledger.nth(2)).to_contain_text("by=seed")
    expect(page.locator("#facts")).to_contain_text("Tea Shop (shop-b)")
    expect(page.locator("#escalate")).to_be_disabled()  # already escalated
    expect(page.locator("#confirm")).to_be_enabled()
    expect(page.locator("#acknowledge")).to_be_hidden()  # a merchant's move

    # open another from the list: its ledger replaces this one's, and the URL names it
    other = console_world.ids["a_reminded"]
    page.click(f"#queue tbody tr[data-case-id='{other}']")
    expect(page.locator("#detail-title")).to_contain_text(f"Case #{other}")
    expect(ledger).to_have_count(2)
    assert f"case={other}" in page.url
    page.go_back()
    expect(page.locator("#detail-title")).to_contain_text(f"Case #{cid}")
    shot(page, "desktop-en-case")
    assert problems == []
    page.context.close()


@pytest.mark.parametrize("who", ["operator", "merchant-own"])
def test_a_phone_never_scrolls_sideways(browser, server, who):
    from playwright.sync_api import expect

    page, problems = new_page(browser, PHONE, locale="zh-CN", timezone="Asia/Shanghai")
    sign_in(page, f"{server.url}/", who)
    rows = page.locator("#queue tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#filters")).to_be_hidden()  # folded behind the button
    expect(page.locator("#queue thead")).to_be_hidden()  # cards, not a table
    # a merchant's header links only the cases page; staff get every page of the console
    expect(page.locator("#pages a:visible")).to_have_count(5 if who == "operator" else 1)
    assert page.evaluate(NO_OVERFLOW), "the list scrolls sideways"
    shot(page, f"phone-zh-{who}-list")

    page.click("#filters-toggle")
    expect(page.locator("#filters")).to_be_visible()
    assert page.evaluate(NO_OVERFLOW), "the filters scroll sideways"
    shot(page, f"phone-zh-{who}-filters")

    cid = shown_ids(page)[0]
    rows.first.click()
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#queue-pane")).to_be_hidden()  # one pane at a time
    case = httpx.get(f"{server.url}/cases/{cid}", headers={"Authorization": f"Bearer {TOKENS[who]}"}).json()
    expect(page.locator("#ledger tbody tr")).to_have_count(len(case["ledger"]))
    assert page.evaluate(NO_OVERFLOW), "the case scrolls sideways"
    buttons = ["#confirm", "#escalate", "#dismiss"] if who == "operator" else ["#acknowledge", "#fixed-form"]
    for selector in buttons:
        expect(page.locator(selector)).to_be_visible()
    shot(page, f"phone-zh-{who}-case")
    page.click("#detail-back")
    expect(page.locator("#queue-pane")).to_be_visible()
    assert problems == []
    page.context.close()


# Text or a labelling attribute that is an I18N key itself ("shops.title"): a string the page never registered.
RAW_KEYS = """() => {
  const key = /^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)+$/;
  const els = [...document.querySelectorAll("body *")];
  const texts = els.flatMap((el) => [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data.trim()));
  const attrs = els.flatMap((el) => ["placeholder", "title", "aria-label", "alt"].map((a) => el.getAttribute(a) || ""));
  return [...texts, ...attrs].filter((t) => key.test(t));
}"""


def visible_text(page) -> str:
    """What the page shows, but the language switch (labelled in the other language)."""
    return page.evaluate("document.body.innerText.replace(document.getElementById('lang').innerText, '')")


def test_language_follows_the_browser_and_the_switch_and_times_are_the_deployments(browser, server, console_world):
    from playwright.sync_api import expect

    cid = console_world.ids["a_reminded"]  # opened at 2026-03-02 08:00 UTC: 16:00 in Shanghai, 03:00 in New York
    page, problems = new_page(browser)  # en-US, America/New_York
    page.goto(f"{server.url}/")
    expect(page.locator("#login h2")).to_have_text("Sign in")
    assert not CJK.search(visible_text(page))
    sign_in(page, f"{server.url}/?state=all&size=50", "operator")
    row = page.locator(f"#queue tbody tr[data-case-id='{cid}']")
    expect(row.locator(".c-opened")).to_have_text("2026-03-02 16:00:00")
    expect(page.locator("#pages a[aria-current=page]")).to_have_text("Cases")
    expect(page.locator("#lang")).to_have_text("中文")
    expect(page.locator("#tz-hint")).to_contain_text("Asia/Shanghai")
    row.click()
    ledger = page.locator("#ledger tbody tr")
    expect(ledger.first.locator(".l-at")).to_have_text("2026-03-02 16:00:00")
    expect(ledger.nth(1).locator(".l-data")).to_contain_text("deadline=2026-03-02 16:10:00")  # 08:10 UTC
    assert not CJK.search(visible_text(page)), "Chinese on an English page"
    assert page.evaluate(RAW_KEYS) == []

    page.click("#lang")  # the switch: Chinese, and everything shown is redrawn
    expect(page.locator("#lang")).to_have_text("English")
    expect(page.locator("#pages a[aria-current=page]")).to_have_text("案件")
    expect(row.locator(".c-opened")).to_have_text("2026-03-02 16:00:00")
    expect(row.locator(".c-kind")).to_have_text("违停")
    expect(page.locator("#detail-title")).to_have_text(f"案件 #{cid} · 违停 · 已提醒")
    expect(page.locator("#queue thead th").nth(7)).to_have_text("立案时间")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.evaluate(RAW_KEYS) == []
    shot(page, "desktop-zh-case")
    page.click("#tab-shops")  # the Shops tab and a shop with its edit form and history, in Chinese too
    page.locator("#shops-list tbody tr").first.click()
    expect(page.locator("#shop-edit")).to_be_visible()
    expect(page.locator("#shops-list thead th").first).to_have_text("编号")
    assert page.evaluate(RAW_KEYS) == []

    page.goto(f"{server.url}/credit")  # the same tab: still signed in, still Chinese
    expect(page.locator("#pages a[aria-current=page]")).to_have_text("信用")
    expect(page.locator("#scores-pane h2")).to_contain_text("信用分")
    assert page.evaluate(RAW_KEYS) == []
    page.click("#lang")
    expect(page.locator("#scores-pane h2")).to_contain_text("Scores")
    expect(page.locator("#pages a[aria-current=page]")).to_have_text("Credit")
    assert not CJK.search(visible_text(page)), "Chinese on an English page"
    page.context.close()

    page, more = new_page(browser, locale="zh-CN")  # a Chinese browser, still in New York
    page.goto(f"{server.url}/")
    expect(page.locator("#login h2")).to_have_text("登录")
    page.goto(f"{server.url}/?lang=en")  # a link that asks for English wins
    expect(page.locator("#login h2")).to_have_text("Sign in")
    page.context.close()
    assert problems + more == []
