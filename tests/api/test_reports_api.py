"""Citizen reports and inspections over HTTP: a report sent with a shop's signboard code lands in the operator
queue as a citizen case; its reporter follows it by tracking code; limits answer 429 with Retry-After; photos
are checked and stored without EXIF; inspectors record passes and fails; every error is {"detail": reason}."""

from __future__ import annotations

import io
import re

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from api.app import create_app
from frontage.config import parse_config
from register.db import ShopRow
from register.signboards import code_for, revoke
from tests.api.conftest import CONFIG, SEEDED_AT, headers
from tests.api.test_review_page import browser, browser_page  # noqa: F401 (fixtures)

INSPECTOR = "inspector-token-0123456789abcdef"
_TOKENS = CONFIG["api"]["tokens"]
_INSPECTORS = (
    []
    if any(t["role"] == "inspector" for t in _TOKENS)
    else [{"name": "zhou", "role": "inspector", "token": INSPECTOR}]
)
CFG = parse_config(
    {
        **CONFIG,
        "api": {**CONFIG["api"], "tokens": [*_TOKENS, *_INSPECTORS]},
        "district": {"reports": {"per_client": 3, "per_shop": 4, "window_s": 600, "max_photo_bytes": 150_000}},
    }
)  # fmt: skip
XSS = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}$")


def auth(who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {INSPECTOR}"} if who == "inspector" else headers(who)


def gps_jpeg() -> bytes:
    """A phone photo with its position in the EXIF."""
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 1.0)}
    img = np.random.default_rng(3).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(cv2.GaussianBlur(img, (5, 5), 2)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


PHOTO = gps_jpeg()


@pytest.fixture
def app(world):
    with Session(world.engine, expire_on_commit=False) as s, s.begin():
        for shop_id, name in (("shop-a", "Noodle House"), ("shop-b", "Tea Shop")):
            if s.get(ShopRow, shop_id) is None:  # the seeded world may already hold them
                s.add(ShopRow(id=shop_id, name=name, party_id=f"p-{shop_id}", party_name="x", contact_phone="138",
                              duties=["order"], created_at=SEEDED_AT, updated_at=SEEDED_AT))  # fmt: skip
    return create_app(CFG, world.engine, world.workflow, snapshot_dir=world.snapshot_dir,
                      upload_dir=world.upload_dir)  # fmt: skip


@pytest.fixture
def http(app):
    with TestClient(app) as client:
        yield client


def code_of(world, shop_id: str = "shop-a") -> str:
    with Session(world.engine) as s:
        return code_for(world.engine, CFG, s.get(ShopRow, shop_id))


def report(http, code: str, category="litter", description="bags of rubbish", contact="", photo=PHOTO, **kw):
    data = {"code": code, "category": category, "description": description, "contact": contact}
    return http.post("/public/reports", data=data, files={"photo": ("p.jpg", photo, "image/jpeg")}, **kw)


def test_a_citizen_report_reaches_the_operator_queue_and_its_status_page(world, http):
    res = report(http, code_of(world), description=XSS, contact="wx: li_wei")
    assert res.status_code == 201, res.text
    body = res.json()
    assert CODE.match(body["tracking_code"]) and body["status_url"] == f"/r/{body['tracking_code']}"
    assert body["duplicate"] is False and set(body) == {"tracking_code", "status_url", "duplicate"}
    mine = {"source": "citizen", "shop_id": "shop-a"}
    queue = http.get("/cases", params=mine, headers=auth("operator")).json()["items"]
    (case,) = queue
    assert (case["state"], case["shop_id"], case["kind"], case["shop_name"]) == ("reported", "shop-a", "litter",
                                                                                 "Noodle House")  # fmt: skip
    snap = http.get(case["snapshot_url"], headers=auth("operator"))
    assert (
        snap.status_code == 200 and b"Exif" not in snap.content and Image.open(io.BytesIO(snap.content)).getexif() == {}
    )
    status = http.get(f"/public/reports/{body['tracking_code'].lower()}")
    assert status.status_code == 200
    assert status.json()["state"] == "reported" and status.json()["shop_name"] == "Noodle House"
    assert "contact" not in status.json() and "wx" not in status.text and "script" not in status.text
    # the operator confirms it: from now on a camera case's lifecycle
    ok = http.post(f"/cases/{case['id']}/actions", json={"action": "confirm"}, headers=auth("operator"))
    assert ok.status_code == 200 and ok.json()["state"] == "detected"
    listed = http.get("/reports", params={"shop_id": "shop-a"}, headers=auth("operator")).json()["items"][0]
    assert listed["description"] == XSS and listed["contact"] == "wx: li_wei"  # verbatim; pages escape it
    assert listed["case_state"] == "detected" and listed["case_id"] == case["id"]
    photo = http.get(listed["photo_url"], headers=auth("admin"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    (seen,) = http.get("/evidence/access-log", params={"case_id": case["id"]}, headers=auth("admin")).json()["items"]
    assert (seen["what"], seen["role"]) == ("report photo", "admin")  # unredacted: logged like an original


def test_a_second_report_of_the_same_problem_is_linked(world, http):
    code = code_of(world)
    first = report(http, code).json()
    second = report(http, code, description="still there").json()
    assert second["duplicate"] is True
    items = http.get("/reports", params={"shop_id": "shop-a"}, headers=auth("admin")).json()["items"]
    assert [i["tracking_code"] for i in items] == [second["tracking_code"], first["tracking_code"]]  # newest first
    assert items[0]["case_id"] == items[1]["case_id"]
    mine = {"source": "citizen", "shop_id": "shop-a"}
    assert http.get("/cases", params=mine, headers=auth("operator")).json()["total"] == 1
    others = http.get("/reports", params={"shop_id": "shop-b"}, headers=auth("admin")).json()["items"]
    assert not {first["tracking_code"], second["tracking_code"]} & {i["tracking_code"] for i in others}


def reports_total(http) -> int:
    return http.get("/reports", headers=auth("admin")).json()["total"]


def test_any_bad_signboard_code_is_the_same_404(world, http):
    before = reports_total(http)
    code = code_of(world, "shop-b")
    revoke(world.engine, "shop-b", "ada", SEEDED_AT)
    answers = [report(http, c) for c in (code, "guess", code_of(world, "shop-a")[:-2] + "AA", "x" * 500)]
    assert [a.status_code for a in answers] == [404] * 4
    assert len({a.json()["detail"] for a in answers}) == 1 and "not valid" in answers[0].json()["detail"]
    assert reports_total(http) == before


def test_too_many_reports_answer_429_with_a_reason_and_retry_after(world, http):
    code_a, code_b = code_of(world), code_of(world, "shop-b")
    for cat in ("litter", "other", "piled_materials"):
        assert report(http, code_a, category=cat).status_code == 201
    res = report(http, code_b)
    assert res.status_code == 429 and "too many reports from you" in res.json()["detail"]
    assert res.headers["Retry-After"] == "600"
    world.clock.advance(600)  # the app's clock: the window has passed
    assert report(http, code_b).status_code == 201


@pytest.mark.parametrize(
    ("photo", "status", "why"),
    [
        (PHOTO + b"\0" * 150_001, 413, "150000 bytes"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", 415, "JPEG, PNG or WebP"),
        (b"\x89PNG\r\n\x1a\nnot really", 422, "cannot be read"),
        (cv2.imencode(".jpg", np.full((100, 100, 3), 200, np.uint8))[1].tobytes(), 422, "blank"),
    ],
    ids=["big", "gif", "broken", "blank"],
)
def test_bad_photos_get_their_status_and_reason(world, http, photo, status, why):
    before = reports_total(http)
    res = report(http, code_of(world), photo=photo)
    assert res.status_code == status and why in res.json()["detail"]
    assert reports_total(http) == before


def test_refused_photos_use_up_the_limit_too(world, http):
    """Each refused photo cost the server its decoding: after per_client (3) of them the answer is 429 at once."""
    blank = cv2.imencode(".png", np.full((2000, 2000, 3), 90, np.uint8))[1].tobytes()  # 12 MB decoded, 20 kB sent
    for _ in range(3):
        res = report(http, code_of(world), photo=blank)
        assert res.status_code == 422 and "blank" in res.json()["detail"]
    res = report(http, code_of(world), photo=blank)
    assert res.status_code == 429 and "too many reports from you" in res.json()["detail"]
    assert res.headers["Retry-After"] == "600"


def test_bad_fields_are_422(world, http):
    fireworks = report(http, code_of(world), category="fireworks").json()["detail"]
    assert fireworks[0]["loc"] == ["body", "category"] and "litter" in fireworks[0]["msg"]
    assert report(http, code_of(world), description="x" * 1001).status_code == 422
    no_photo = http.post("/public/reports", data={"code": code_of(world), "category": "litter"})
    assert no_photo.status_code == 422
    assert http.get("/public/reports/NOPE").status_code == 404
    assert http.get("/public/reports/ABCDEFGHJK").json() == {"detail": "no report with that tracking code"}


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("operator", 200), ("merchant-own", 403),
                                             ("inspector", 403), (None, 401), ("bad", 401)])  # fmt: skip
def test_who_may_list_reports(http, who, status):
    assert http.get("/reports", headers=auth(who)).status_code == status
    assert http.get("/reports/999999/photo.jpg", headers=auth(who)).status_code == (404 if status == 200 else status)


def test_an_inspector_fail_opens_a_case_and_a_pass_resolves_it(world, http):
    res = http.post("/shops/shop-a/inspections", headers=auth("inspector"),
                    data={"sanitation": "pass", "order": "fail", "note": XSS},
                    files={"photo": ("x.jpg", PHOTO, "image/jpeg")})  # fmt: skip
    assert res.status_code == 201, res.text
    fail = res.json()
    assert fail["passed"] is False and fail["results"] == {"sanitation": "pass", "order": "fail"}
    assert fail["inspector"] == "zhou" and fail["note"] == XSS and fail["case_id"] and fail["resolved"] == []
    case = http.get(f"/cases/{fail['case_id']}", headers=auth("operator")).json()
    assert (case["source"], case["kind"], case["state"]) == ("inspector", "inspection_failed", "detected")
    photo = http.get(fail["photo_url"], headers=auth("inspector"))
    assert photo.status_code == 200 and b"Exif" not in photo.content
    log = http.get("/evidence/access-log", params={"case_id": fail["case_id"]}, headers=auth("admin")).json()
    assert [(v["what"], v["role"]) for v in log["items"]] == [("inspection photo", "inspector")]
    world.clock.advance(3600)
    ok = http.post("/shops/shop-a/inspections", headers=auth("admin"),
                   data={"sanitation": "pass", "order": "pass", "greenery": "pass"})  # fmt: skip
    assert ok.status_code == 201 and ok.json()["passed"] and ok.json()["resolved"] == [fail["case_id"]]
    assert http.get(f"/cases/{fail['case_id']}", headers=auth("operator")).json()["state"] == "resolved"
    listed = http.get("/shops/shop-a/inspections", headers=auth("operator")).json()
    assert listed["total"] == 2 and [i["id"] for i in listed["items"]] == [ok.json()["id"], fail["id"]]


@pytest.mark.parametrize(("who", "post", "get"), [("admin", 201, 200), ("inspector", 201, 200),
                                                  ("operator", 403, 200), ("merchant-own", 403, 403),
                                                  (None, 401, 401)])  # fmt: skip
def test_who_may_record_and_read_inspections(http, who, post, get):
    res = http.post("/shops/shop-b/inspections", headers=auth(who), data={"greenery": "pass"})
    assert res.status_code == post
    assert http.get("/shops/shop-b/inspections", headers=auth(who)).status_code == get


def test_bad_inspections_are_refused_with_a_reason(http):
    insp = auth("inspector")
    unknown = http.post("/shops/nowhere/inspections", headers=insp, data={"order": "pass"})
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no shop nowhere"}
    assert http.get("/shops/nowhere/inspections", headers=insp).status_code == 404
    empty = http.post("/shops/shop-a/inspections", headers=insp, data={"note": "looked"})
    assert empty.status_code == 422 and "at least one duty" in empty.json()["detail"]
    assert http.post("/shops/shop-a/inspections", headers=insp, data={"order": "maybe"}).status_code == 422
    gif = http.post("/shops/shop-a/inspections", headers=insp, data={"order": "fail"},
                    files={"photo": ("x.gif", b"GIF89a\x01\x00", "image/gif")})  # fmt: skip
    assert gif.status_code == 415 and http.get("/shops/shop-a/inspections", headers=insp).json()["total"] == 0
    assert http.get("/inspections/999999/photo.jpg", headers=insp).status_code == 404


def test_the_review_page_shows_a_citizen_report_and_confirms_it(world, app, serve, browser_page):  # noqa: F811
    """In Chromium: the report waits in the queue as `reported` from a citizen; its text shows as text, and
    Confirm report starts the reminder clock."""
    from playwright.sync_api import expect

    page, problems = browser_page
    with TestClient(app) as http:
        tracking = report(http, code_of(world), category="piled_materials", description=XSS).json()["tracking_code"]
    server = serve(app)
    page.goto(f"{server.url}/")
    page.fill("#token", headers("operator")["Authorization"].removeprefix("Bearer "))
    page.click("#login-form button[type=submit]")
    row = page.locator("#queue tbody tr", has_text="citizen report").filter(has_text="Noodle House")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Piled materials")  # the browser asks for English
    expect(row).to_contain_text("reported")
    row.click()
    expect(page.locator("#facts")).to_contain_text("citizen report")
    expect(page.locator("#confirm")).to_have_text("Confirm report")
    expect(page.locator("#belongs")).to_be_disabled()
    expect(page.locator("#ledger")).to_contain_text(XSS)  # shown as text
    assert page.evaluate("document.querySelectorAll('#ledger img, #ledger script').length") == 0
    assert page.title() == "frontage · cases"
    page.click("#confirm")
    expect(page.locator("#detail-title")).to_contain_text("detected")
    case_id = int(row.get_attribute("data-case-id"))
    assert world.case(case_id).state == "detected" and world.case(case_id).remind_due_at is not None
    assert report_status_state(world, tracking) == "detected"
    assert problems == []


def report_status_state(world, tracking: str) -> str:
    from register.reports import report_status

    return report_status(world.engine, tracking)["state"]


def test_a_wrong_method_names_every_method_of_the_path(http):
    """Starlette's 405 names only the first route's methods; /shops/{shop_id}/inspections has GET and POST."""
    res = http.request("PUT", "/shops/shop-a/inspections", headers=auth("inspector"))
    assert res.status_code == 405 and res.json() == {"detail": "Method Not Allowed"}
    assert res.headers["Allow"] == "GET, POST"
    assert http.delete("/public/reports").headers["Allow"] == "POST"
