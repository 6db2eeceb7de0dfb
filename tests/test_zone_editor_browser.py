"""The zone editor (/zones) in a real headless Chromium, with real mouse drags and real touches.

(a) Against a running `frontage run` (tests/test_zone_hot_reload.py's `service`: run_service in a thread on a
recorded-detections camera, its own API on a real socket, street time on a ManualClock): an admin shrinks shop-a's
frontage by dragging two vertices on the camera's frame and saves; the service clears the open case ("frontage
redrawn"). Then the admin draws shop-b's frontage anew, point by point, and saves; the car now stands in it and
the service opens shop-b's case after the dwell.
(b) Invalid polygons (over a neighbour's frontage, self-intersecting) are marked where they are with their reason,
Save stays disabled, and the server's own 422 (a check that raced) shows the same way; nothing is saved. A version
saved meanwhile by someone else answers 409, which the page says, with a reload.
(c) At 390x844 an admin drags a vertex by touch; an operator sees the same page without any edit control.

Skips when /usr/bin/chromium or playwright is missing, unless FRONTAGE_REQUIRE_SERVICES=1 (CI), where it fails.
Screenshots go to tmp_path, or to $FRONTAGE_SHOTS when set (to look at them).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import pytest

from api.app import create_app
from dispatch.db import make_engine
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import parse_config
from tests.api.conftest import LiveServer, stills
from tests.browser_helpers import chromium, open_page
from tests.media_helpers import recording
from tests.test_zone_hot_reload import A_SMALL, ADMIN, B_WIDE, T0, A, B, _applied, cases, service, until

__all__ = ["service"]  # the running service of tests/test_zone_hot_reload.py, as a fixture of this file too

W, H = 640, 360
OPERATOR = "zones-operator-token-0123456789"
PHONE, DESKTOP = (390, 844), (1280, 800)
FRAME_LOADED = "() => { const i = document.getElementById('frame'); return i.complete && i.naturalWidth === 640; }"


def frame_jpeg() -> bytes:
    """A real street still at the camera's frame size: what a camera process pushes for the editor."""
    ok, buf = cv2.imencode(".jpg", cv2.resize(stills()[0], (W, H)), [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return buf.tobytes()


def push_frame(api: httpx.Client) -> None:
    res = api.put("/cameras/cam1/snapshot.jpg", content=frame_jpeg(), headers={"Content-Type": "image/jpeg"})
    assert res.status_code == 200, res.text


def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("FRONTAGE_SHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser():
    from tests.api.conftest import _require_service

    with chromium(_require_service) as b:
        yield b


class Editor:
    """The page and the frame's place on the screen: frame pixels -> screen points for the mouse."""

    def __init__(self, page):
        self.page = page

    def at(self, x: float, y: float) -> tuple[float, float]:
        box = self.page.locator("#overlay").bounding_box()
        k = box["width"] / W
        return box["x"] + x * k, box["y"] + y * k

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.at(x, y))

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        mouse = self.page.mouse
        mouse.move(*self.at(*start))
        mouse.down()
        mouse.move(*self.at(*end), steps=6)
        mouse.up()

    def shows(self, shop: str, points: list[list[int]]) -> None:
        """Wait until the overlay draws the shop's polygon with these vertices (it redraws on the next frame)."""
        from playwright.sync_api import expect

        drawn = " ".join(f"{x},{y}" for x, y in points)
        expect(self.page.locator(f"#overlay polygon[data-shop-id='{shop}']")).to_have_attribute("points", drawn)

    def polygon(self, shop: str) -> list[list[float]]:
        points = self.page.get_attribute(f"#overlay polygon[data-shop-id='{shop}']", "points")
        return [[float(v) for v in p.split(",")] for p in points.split()]


def sign_in(page, url: str, token: str, lang: str = "en") -> Editor:
    from playwright.sync_api import expect

    page.goto(f"{url}/zones?lang={lang}")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#overlay polygon")).to_have_count(2)
    page.wait_for_function(FRAME_LOADED)
    return Editor(page)


def test_moved_and_drawn_frontages_reach_the_running_service(browser, service, tmp_path):
    from playwright.sync_api import expect

    api, clock, engine = service
    clock.set(T0 + dt.timedelta(seconds=20))  # the car parked in shop-a's frontage has dwelt 20 s
    until(lambda: cases(engine) == [("shop-a", "detected")])
    push_frame(api)
    page, problems = open_page(browser, DESKTOP)
    ed = sign_in(page, str(api.base_url).rstrip("/"), ADMIN)
    check = page.locator("#check-state")
    expect(check).to_have_text("No problems. (unchanged)")
    expect(page.locator("#version-label")).to_have_text("version 1")
    ed.shows("shop-a", A)

    # shrink shop-a's frontage: its right edge from x=400 to x=200, one vertex at a time
    ed.click(150, 300)  # select the polygon: its handles appear
    expect(page.locator("#overlay circle.vertex")).to_have_count(4)
    ed.drag((400, 200), (200, 200))
    ed.drag((400, 350), (200, 350))
    ed.shows("shop-a", A_SMALL)
    expect(check).to_have_text("No problems.")
    page.fill("#note", "shop-a's door is narrower")
    page.click("#save")
    expect(page.locator("#status")).to_have_text("Saved as version 2.")
    until(lambda: cases(engine) == [("shop-a", "resolved")])  # the running service followed
    assert _applied(api, 2)
    saved = api.get("/cameras/cam1/zones").json()
    assert (saved["version"], saved["author"], saved["note"]) == (2, "ada", "shop-a's door is narrower")
    assert [f["polygon"] for f in saved["frontages"]] == [A_SMALL, B]

    # draw shop-b's frontage anew, wider: point by point, closed on the first point
    page.click("#shops li[data-shop-id='shop-b']")
    page.click("#draw")
    for x, y in B_WIDE:
        ed.click(x, y)
    expect(page.locator("#help")).to_contain_text("(4 so far)")
    ed.click(*B_WIDE[0])
    ed.shows("shop-b", B_WIDE)
    expect(check).to_have_text("No problems.")
    page.click("#save")
    expect(page.locator("#status")).to_have_text("Saved as version 3.")
    until(lambda: _applied(api, 3))
    clock.set(T0 + dt.timedelta(seconds=40))  # past shop-b's dwell, counted from the redraw
    until(lambda: cases(engine) == [("shop-a", "resolved"), ("shop-b", "detected")])
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("ada")
    expect(rows.nth(1)).to_contain_text("shop-a's door is narrower")
    page.screenshot(path=str(shots(tmp_path) / "zones-desktop-saved.png"), full_page=True)
    assert problems == []
    page.context.close()


# -- an API-only site for the other tests: the same camera and shops, no camera process --------------------------


@dataclass
class Site:
    url: str
    api: httpx.Client


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("zone-editor")
    video = recording(root / "cam1.mp4")  # the camera's recording: the editor can draw on a frame from it
    cfg = parse_config({
        "cameras": [{"id": "cam1", "name": "Main St east", "width": W, "height": H, "source": str(video)}],
        "shops": [{"id": s, "name": name, "responsible": {"name": name},
                   "frontages": [{"camera_id": "cam1", "polygon": p}]}
                  for s, name, p in (("shop-a", "Noodle House", A), ("shop-b", "Tea Shop", B))],
        "api": {"tokens": [{"name": "ada", "role": "admin", "token": ADMIN},
                           {"name": "otto", "role": "operator", "token": OPERATOR}]},
        "timezone": "Asia/Shanghai",
    })  # fmt: skip
    engine = make_engine(f"sqlite:///{root / 'store.db'}")
    workflow = Workflow(engine, cfg, ManualClock(T0))
    app = create_app(cfg, engine, workflow, snapshot_dir=root / "snaps", upload_dir=root / "uploads")
    with LiveServer(app) as live, httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {ADMIN}"}) as api:
        push_frame(api)
        yield Site(live.url, api)
    engine.dispose()


def test_invalid_polygons_are_refused_with_their_reason_where_they_are(browser, site, tmp_path):
    from playwright.sync_api import expect

    page, problems = open_page(browser, DESKTOP)
    ed = sign_in(page, site.url, ADMIN)
    check, listed, save = page.locator("#check-state"), page.locator("#problems li"), page.locator("#save")
    expect(check).to_have_text("No problems. (unchanged)")

    # shop-b's top-left corner dragged over shop-a's frontage
    ed.click(520, 300)
    ed.drag((420, 200), (300, 250))
    expect(check).to_have_text("1 problem(s); fix them before saving:")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Overlaps another shop's frontage · Tea Shop")
    expect(listed.first).to_contain_text("overlaps shop 'shop-a''s frontage (entry 0)")
    expect(page.locator("#overlay polygon.bad")).to_have_attribute("data-shop-id", "shop-b")
    expect(page.locator("#overlay .problem-mark")).to_have_count(1)  # a red mark inside the shared part
    expect(save).to_be_disabled()
    page.screenshot(path=str(shots(tmp_path) / "zones-desktop-overlap.png"), full_page=True)

    # undone, then shop-b's top-right corner pulled below its bottom edge: the outline crosses itself
    page.click("#undo")
    expect(check).to_have_text("No problems. (unchanged)")
    ed.click(520, 300)
    ed.drag((620, 200), (520, 356))
    expect(listed.first).to_contain_text("Self-intersection · Tea Shop")
    mark = page.locator("#overlay .problem-mark circle")
    x, y = float(mark.get_attribute("cx")), float(mark.get_attribute("cy"))
    assert 510 < x < 525 and abs(y - 350) < 1  # where edge 0 crosses the bottom edge
    expect(save).to_be_disabled()

    # a check that raced (the page thinks it passed): the server refuses with 422, shown the same way
    page.evaluate("S.check = 'ok'; refreshControls()")
    expect(save).to_be_enabled()
    save.click()
    expect(page.locator("#status")).to_have_text("The server refused to save: see the problems under Check.")
    expect(listed.first).to_contain_text("Self-intersection · Tea Shop")
    expect(page.locator("#overlay polygon.bad")).to_have_attribute("data-shop-id", "shop-b")
    expect(save).to_be_disabled()
    zones = site.api.get("/cameras/cam1/zones").json()
    assert zones["version"] == 1 and [f["polygon"] for f in zones["frontages"]] == [A, B]  # nothing saved
    assert len(site.api.get("/cameras/cam1/zones/versions").json()) == 1

    # a valid edit, but someone else saved first: 409, said, and a reload shows their version
    page.click("#undo")
    ed.click(520, 300)
    ed.drag((620, 350), (600, 340))
    expect(save).to_be_enabled()
    other = [{"shop_id": "shop-a", "polygon": A_SMALL}, {"shop_id": "shop-b", "polygon": B}]
    res = site.api.put("/cameras/cam1/zones", json={"frontages": other, "note": "by hand", "base_version": 1})
    assert res.status_code == 201, res.text
    save.click()
    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#conflict-text")).to_contain_text("Someone else saved a newer version (2)")
    page.click("#conflict-reload")
    expect(page.locator("#version-label")).to_have_text("version 2")
    ed.shows("shop-a", A_SMALL)
    ed.shows("shop-b", B)
    assert len(site.api.get("/cameras/cam1/zones/versions").json()) == 2

    # the older version viewed, exported as YAML and imported back: the config's polygons as version 3
    page.click("#versions tbody tr[data-version='1'] button.view")
    expect(page.locator("#viewing-text")).to_contain_text("Viewing version 1 (config,")
    ed.shows("shop-a", A)
    with page.expect_download() as download:
        page.click("#export")
    exported = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == "zones-cam1-v1.yaml" and "shop-a" in exported
    page.click("#viewing-back")
    ed.shows("shop-a", A_SMALL)
    (tmp_path / "v1.yaml").write_text(exported)
    page.set_input_files("#import", str(tmp_path / "v1.yaml"))
    expect(page.locator("#status")).to_have_text("Imported as version 3.")
    ed.shows("shop-a", A)
    assert [f["polygon"] for f in site.api.get("/cameras/cam1/zones").json()["frontages"]] == [A, B]

    # a frame from the camera's recording instead of its live one; a time past its end says why, the frame stays
    page.fill("#recording-t", "1.5")
    page.click("#recording-form button[type=submit]")
    expect(page.locator("#frame-note")).to_contain_text("Recording frame at 1.5 s (unredacted")
    page.fill("#recording-t", "60")
    page.click("#recording-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("t=60 s is past the end of cam1.mp4 (3.0 s)")
    expect(page.locator("#frame-note")).to_contain_text("Recording frame at 1.5 s")
    assert [p for p in problems if not any(c in p for c in ("422", "409"))] == []  # the browser logs those itself
    page.context.close()


def test_phone_touch_drag_and_the_operators_read_only_view(browser, site, tmp_path):
    from playwright.sync_api import expect

    page, problems = open_page(browser, PHONE, mobile=True)
    ed = sign_in(page, site.url, ADMIN, lang="zh")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]  # no sideways scrolling
    before = ed.polygon("shop-b")
    page.touchscreen.tap(*ed.at(520, 300))
    expect(page.locator("#overlay circle.vertex")).to_have_count(4)
    cdp = page.context.new_cdp_session(page)  # a real touch drag: touchStart, touchMoves, touchEnd
    (x0, y0), (x1, y1) = ed.at(*before[2]), ed.at(before[2][0] - 40, before[2][1] - 20)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for i in range(1, 6):
        point = {"x": x0 + (x1 - x0) * i / 5, "y": y0 + (y1 - y0) * i / 5}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(page.locator("#check-state")).to_have_text("没有问题。")  # checked after the edit, so drawn too
    moved = ed.polygon("shop-b")[2]
    assert abs(moved[0] - (before[2][0] - 40)) <= 2 and abs(moved[1] - (before[2][1] - 20)) <= 2
    expect(page.locator("#save")).to_be_enabled()
    page.screenshot(path=str(shots(tmp_path) / "zones-phone-admin.png"), full_page=True)
    # a tap on the top edge's midpoint handle adds a vertex there; the delete buttons take it and the polygon out
    top = before[0][0] + (before[1][0] - before[0][0]) / 2, before[0][1]
    page.touchscreen.tap(*ed.at(*top))
    expect(page.locator("#overlay circle.vertex")).to_have_count(5)
    page.click("#delete-vertex")
    expect(page.locator("#overlay circle.vertex")).to_have_count(4)
    page.click("#delete-polygon")
    expect(page.locator("#overlay polygon")).to_have_count(1)
    page.click("#undo")
    expect(page.locator("#overlay polygon")).to_have_count(2)
    assert problems == []
    page.context.close()

    page, problems = open_page(browser, PHONE, mobile=True)
    ed = sign_in(page, site.url, OPERATOR)
    expect(page.locator("#readonly-badge")).to_be_visible()
    for hidden in ("#edit-tools", "#save-card", "#add-shop", "#import-label"):
        expect(page.locator(hidden)).to_be_hidden()
    page.touchscreen.tap(*ed.at(520, 300))
    expect(page.locator("#shops li.selected")).to_have_attribute("data-shop-id", "shop-b")
    expect(page.locator("#overlay circle")).to_have_count(0)  # no handles to drag
    versions = len(site.api.get("/cameras/cam1/zones/versions").json())
    expect(page.locator("#versions tbody tr")).to_have_count(versions)  # and the history is there to read
    page.screenshot(path=str(shots(tmp_path) / "zones-phone-operator.png"), full_page=True)
    assert problems == []
    page.context.close()
