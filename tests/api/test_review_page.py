"""The review page in a real headless Chromium against the live server: sign in with an operator token, see
the open queue with its snapshots, confirm one case and dismiss another, then check the ledger through the API.

Skips when /usr/bin/chromium or playwright is missing, unless FRONTAGE_REQUIRE_SERVICES=1 (CI), where it fails.
Chromium comes from the distribution (apt-get install chromium); `playwright install` is never needed.
"""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import _require_service
from tests.browser_helpers import chromium, open_page

ALL_IMAGES_LOADED = "sel => [...document.querySelectorAll(sel)].every(i => i.complete && i.naturalWidth > 0)"


@pytest.fixture(scope="module")
def browser():
    with chromium(_require_service) as b:  # one browser for the file
        yield b


@pytest.fixture
def browser_page(browser):
    page, problems = open_page(browser, (1440, 1000))  # a context of its own: a fresh sessionStorage
    yield page, problems
    page.context.close()


def test_review_queue_confirm_and_dismiss(browser_page, live, live_world, auth, tmp_path):
    from playwright.sync_api import expect

    page, problems = browser_page
    ids = live_world.ids
    page.goto(f"{live.url}/")
    page.fill("#token", auth("operator")["Authorization"].removeprefix("Bearer "))
    page.click("#login-form button[type=submit]")

    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(5)  # the open cases: detected, reminded, escalated
    order = [int(rows.nth(i).get_attribute("data-case-id")) for i in range(5)]
    assert order == [ids[n] for n in ("b_escalated", "b_detected", "a_detected", "b_reminded", "a_reminded")]
    page.wait_for_function(ALL_IMAGES_LOADED, arg="img.thumb")
    first = rows.nth(0)
    expect(first).to_contain_text("Tea Shop")
    expect(first).to_contain_text("Illegal parking")
    expect(first).to_contain_text("car")
    expect(first).to_contain_text("escalated")
    expect(page.locator("#who")).to_have_text("otto (operator)")

    confirmed, dismissed = ids["a_detected"], ids["b_detected"]
    page.click(f"#queue tbody tr[data-case-id='{confirmed}']")
    expect(page.locator("#detail-title")).to_contain_text(f"Case #{confirmed}")
    page.wait_for_function(ALL_IMAGES_LOADED, arg="#detail-snapshot")
    page.fill("#note", "chairs and a table out on the pavement")
    page.click("#confirm")
    expect(page.locator("#status")).to_have_text(f"Case #{confirmed}: confirm recorded.")
    expect(page.locator("#ledger tbody")).to_contain_text("confirm: chairs and a table out on the pavement")

    page.click(f"#queue tbody tr[data-case-id='{dismissed}']")
    expect(page.locator("#detail-title")).to_contain_text(f"Case #{dismissed}")
    page.click("#dismiss")
    expect(page.locator("#dismiss-dialog")).to_be_visible()
    page.fill("#dismiss-reason", "a delivery being unloaded, gone in two minutes")
    page.click("#dismiss-submit")
    expect(page.locator("#status")).to_have_text(f"Case #{dismissed}: dismiss recorded.")
    expect(rows).to_have_count(4)  # dismissed cases leave the open queue
    expect(page.locator("#detail-title")).to_contain_text("dismissed")
    page.wait_for_function(ALL_IMAGES_LOADED, arg="img.thumb, #detail-snapshot")
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    assert problems == []

    with httpx.Client(base_url=live.url, headers=auth("admin")) as api:
        note = api.get(f"/cases/{confirmed}").json()
        gone = api.get(f"/cases/{dismissed}").json()
    last = note["ledger"][-1]
    assert note["confirmed_at"] is not None and note["state"] == "detected"
    assert (last["actor"], last["reason"], last["data"]) == (
        "operator", "confirm: chairs and a table out on the pavement", {"by": "otto"})  # fmt: skip
    assert gone["state"] == "dismissed" and gone["open311_status"] == "closed"
    assert (gone["ledger"][-1]["from_state"], gone["ledger"][-1]["reason"], gone["ledger"][-1]["data"]) == (
        "detected", "a delivery being unloaded, gone in two minutes", {"by": "otto"})  # fmt: skip


def test_a_wrong_token_is_asked_for_again(browser_page, live):
    from playwright.sync_api import expect

    page, problems = browser_page
    page.goto(f"{live.url}/review")
    page.fill("#token", "not-the-right-token-at-all")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("That token was not accepted. Enter it again.")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('frontage.token')") is None
    assert [p for p in problems if "401" not in p] == []  # the browser logs the refused fetch itself


def test_camera_alert_banner_confirm_view_and_belongs_here(browser_page, world, cameras, serve, auth, tmp_path):
    from playwright.sync_api import expect

    page, problems = browser_page
    # cam2 tampered too, with markup in its reason: it must show as text, never as markup
    cameras.status[1].update(view_state="tampered", view_reason="<b>lens</b> covered <img src=x onerror=alert(1)>.")
    server = serve(world.app(camera_status=cameras.camera_status, camera_control=cameras))
    page.goto(f"{server.url}/")
    page.fill("#token", auth("operator")["Authorization"].removeprefix("Bearer "))
    page.click("#login-form button[type=submit]")

    alerts = page.locator("#alerts .alert")
    expect(alerts).to_have_count(2)
    cam1, cam2 = (
        page.locator("#alerts .alert[data-camera-id='cam1']"),
        page.locator("#alerts .alert[data-camera-id='cam2']"),
    )
    expect(cam1).to_be_visible()
    expect(cam1).to_contain_text(
        "Camera cam1 moved: view turned ~40 px to the left. Rules suspended until the view is confirmed."
    )
    expect(cam2).to_contain_text(
        "Camera cam2 was tampered with: <b>lens</b> covered <img src=x onerror=alert(1)>. Rules suspended"
    )
    assert page.locator("#alerts b, #alerts img").count() == 0
    page.screenshot(path=str(tmp_path / "alerts.png"), full_page=True)

    cam1.locator("button.confirm-view").click()
    expect(page.locator("#status")).to_have_text("Camera cam1: view confirmed.")
    expect(alerts).to_have_count(1)  # the camera process reports cam1 ok again
    expect(cam1).to_have_count(0)
    assert cameras.confirmed == [("cam1", "otto")]

    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(5)
    case_id = world.ids["a_detected"]
    page.click(f"#queue tbody tr[data-case-id='{case_id}']")
    expect(page.locator("#detail-title")).to_contain_text(f"Case #{case_id}")
    expect(page.locator("#belongs")).to_be_enabled()
    page.fill("#note", "the café's own bench")
    page.click("#belongs")
    expect(page.locator("#status")).to_have_text(
        f"Case #{case_id}: marked as belonging here (camera cam1 baseline v1)."
    )
    expect(rows).to_have_count(4)  # dismissed: out of the open queue
    expect(page.locator("#detail-title")).to_contain_text("dismissed")
    expect(page.locator("#ledger tbody")).to_contain_text("permitted fixture")
    assert problems == []
    assert cameras.reloaded == ["cam1"]

    with httpx.Client(base_url=server.url, headers=auth("admin")) as api:
        case = api.get(f"/cases/{case_id}").json()
        baseline = api.get("/cameras/cam1/baseline").json()
        events = api.get("/cameras/cam1/events").json()
    assert case["state"] == "dismissed" and case["ledger"][-1]["data"]["by"] == "otto"
    assert baseline["version"] == 1 and baseline["fixtures"][-1]["note"] == "the café's own bench"
    assert [e["kind"] for e in events] == ["baseline_changed", "view_confirmed"]


def test_merchants_see_no_camera_alerts_and_no_belongs_button(browser_page, world, cameras, serve, auth):
    from playwright.sync_api import expect

    page, problems = browser_page
    server = serve(world.app(camera_status=cameras.camera_status, camera_control=cameras))
    page.goto(f"{server.url}/")
    page.fill("#token", auth("merchant-own")["Authorization"].removeprefix("Bearer "))
    page.click("#login-form button[type=submit]")
    expect(page.locator("#who")).to_have_text("li (merchant)")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(2)  # shop-a's open cases only
    rows.nth(0).click()
    expect(page.locator("#detail-title")).to_contain_text("Case #")
    expect(page.locator("#belongs")).to_be_hidden()
    expect(page.locator("#alerts")).to_be_hidden()
    assert page.locator("#alerts .alert").count() == 0
    assert problems == []  # no refused /cameras fetch either
