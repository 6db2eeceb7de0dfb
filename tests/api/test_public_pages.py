"""The public shop pages behind the signboard QR codes: what they show and never show, one invalid page for every
bad code, the report form (303 to the tracking page, refusals re-rendered with their status), the inspector's
sign-in (signed session cookie, CSRF) and inspection form, the public view picture with people blurred."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from api.pages import HEADERS
from api.routes_public import _safe_next
from dispatch.db import CaseRow
from dispatch.evidence import public_view
from frontage.config import parse_config
from register.db import CreditScoreRow, ShopRow
from register.signboard_pdf import render_pdf, signboards_for
from register.signboards import code_for, revoke, rotate_key, signboard_url
from tests.api.conftest import CONFIG, SEEDED_AT, jpeg_bytes
from tests.register.test_signboard_pdf import decode_all, pages

INSPECTOR = "inspector-token-0123456789abcdef"
CFG = parse_config(
    {
        **CONFIG,
        "api": {**CONFIG["api"], "tokens": [*CONFIG["api"]["tokens"],
                                             {"name": "zhou", "role": "inspector", "token": INSPECTOR}]},
        "district": {"hotline": "12345-8", "reports": {"per_client": 3, "per_shop": 10, "window_s": 600,
                                                      "max_photo_bytes": 150_000}},
    }
)  # fmt: skip
PHONE = "13812345678"
PHOTO = jpeg_bytes((320, 180))


def add_shops(engine) -> None:
    with Session(engine) as s, s.begin():  # over what the seeding registered from the config
        for row in (
                ShopRow(id="shop-a", name="Noodle House 老王面馆", address="1 Main St", street="解放街道",
                        community="东风社区", party_id="p-a", party_name="王氏餐饮", contact_person="王建国",
                        contact_phone=PHONE, duties=["sanitation", "order"], created_at=SEEDED_AT,
                        updated_at=SEEDED_AT),
                ShopRow(id="shop-b", name="Tea Shop", party_id="p-b", party_name="Tea Ltd", contact_phone="139",
                        duties=["order"], created_at=SEEDED_AT, updated_at=SEEDED_AT),
        ):  # fmt: skip
            s.merge(row)


@pytest.fixture
def snaps(world, tmp_path) -> Path:
    folder = tmp_path / "snaps"
    shutil.copytree(world.snapshot_dir, folder)
    return folder


@pytest.fixture
def http(world, snaps):
    add_shops(world.engine)
    app = create_app(CFG, world.engine, world.workflow, snapshot_dir=snaps, upload_dir=world.upload_dir)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def code_of(world, shop_id: str = "shop-a") -> str:
    with Session(world.engine) as s:
        shop = s.get(ShopRow, shop_id)
        s.expunge(shop)
    return code_for(world.engine, CFG, shop)


def test_shop_page_shows_the_shop_and_nothing_personal(world, http) -> None:
    with Session(world.engine) as s, s.begin():
        s.add(CreditScoreRow(party_id="p-a", score=70.0, standing="black", computed_at=SEEDED_AT))
    res = http.get(f"/s/{code_of(world)}")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    assert res.headers["content-security-policy"] == HEADERS["Content-Security-Policy"]
    body = res.text
    shown = ("Noodle House 老王面馆", "1 Main St", "解放街道", "东风社区", "王氏餐饮", "市容环境卫生", "秩序",
             "12345-8", "黑榜", "暂无画面", 'name="category"')  # fmt: skip
    for needed in shown:
        assert needed in body, needed
    assert "绿化" not in body  # not one of this shop's duties
    # the responsible party (a business) is shown; the person (责任人) and the phone are personal data: never
    assert PHONE not in body and "王建国" not in body and "责任人" not in body and "<script" not in body
    assert res.headers["cache-control"] == "no-cache"  # nothing private on it
    # seeded: shop-a has a reminded parking case and a detected trading case open; resolved/dismissed ones are not
    assert "正在处理的问题 2 件" in body and "乱停车" in body and "店外经营" in body
    other = http.get(f"/s/{code_of(world, 'shop-b')}").text
    assert "未上榜" in other and "Tea Shop" in other


def test_a_case_routed_to_a_bike_operator_is_not_counted_against_the_shop(world, http) -> None:
    with Session(world.engine) as s, s.begin():
        parked = s.scalars(select(CaseRow).where(CaseRow.shop_id == "shop-a", CaseRow.kind == "illegal_parking",
                                                 CaseRow.state == "reminded")).one()  # fmt: skip
        parked.party_id, parked.routed_by = "meituan-bike", "shared-bikes-meituan"
    body = http.get(f"/s/{code_of(world)}").text
    assert "正在处理的问题 1 件" in body and "1 open case(s) now" in body  # the trading case alone


def test_every_bad_code_gets_the_same_invalid_page(world, http) -> None:
    valid = code_of(world)
    revoked = code_of(world, "shop-b")
    revoke(world.engine, "shop-b", "ada", SEEDED_AT)
    guessed = valid.split(".")[0] + ".AAAAAAAAAAAAAAAA"
    answers = []
    for code in (revoked, guessed, "garbage", "x" * 3000, "%3Cscript%3E", "bm9wZQ.AAAAAAAAAAAAAAAA", "a/b/c", "..x"):
        for method, path in (("GET", ""), ("GET", "/view.jpg"), ("POST", "/report"), ("POST", "/inspection")):
            res = http.request(method, f"/s/{code}{path}", files={"photo": ("p.jpg", PHOTO, "image/jpeg")}
                               if method == "POST" else None)  # fmt: skip
            answers.append((res.status_code, res.content))
    assert {status for status, _ in answers} == {404}
    assert len({body for _, body in answers}) == 1
    assert "此二维码已失效或无效" in answers[0][1].decode()
    assert http.get(f"/s/{valid}").status_code == 200
    assert http.get(f"/s/{valid}/nothing-here").content == answers[0][1]
    rotate_key(world.engine, SEEDED_AT)
    assert http.get(f"/s/{valid}").content == answers[0][1]


def test_printed_qr_opens_the_shop_page(world, http, tmp_path) -> None:
    boards = signboards_for(world.engine, CFG, shop_id="shop-a")
    render_pdf(boards, tmp_path / "a.pdf")
    (url,) = decode_all(pages(tmp_path / "a.pdf")[0])
    assert url == signboard_url(CFG, code_of(world))
    path = url.removeprefix(CFG.dispatch.public_url)
    assert path.startswith("/s/")
    res = http.get(path)
    assert res.status_code == 200 and "Noodle House 老王面馆" in res.text
    revoke(world.engine, "shop-a", "ada", SEEDED_AT)
    assert http.get(path).status_code == 404


def test_report_redirects_to_its_tracking_page(world, http) -> None:
    code = code_of(world)
    text = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    res = http.post(f"/s/{code}/report", data={"category": "litter", "description": text, "contact": "me@x.cn"},
                    files={"photo": ("p.jpg", PHOTO, "image/jpeg")})  # fmt: skip
    assert res.status_code == 303, res.text
    where = res.headers["location"]
    assert re.fullmatch(r"/r/[23456789A-HJ-NP-Z]{10}", where)
    page = http.get(where)
    assert page.status_code == 200
    body = page.text
    assert "垃圾" in body and "Noodle House" in body and "已受理" in body
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in body and "<script" not in body and "<img src" not in body
    assert "me@x.cn" not in body  # the contact is for staff only
    with Session(world.engine) as s:
        case = s.scalars(select(CaseRow).where(CaseRow.source == "citizen", CaseRow.shop_id == "shop-a")).one()
    assert (case.kind, case.state) == ("litter", "reported")
    assert http.get("/r/ZZZZZZZZZZ").status_code == 404
    assert http.get("/r/" + "<b>" * 30).status_code == 404


@pytest.mark.parametrize(
    ("form", "photo", "status", "reason"),
    [
        ({"category": "litter"}, None, 422, "photo"),
        ({"category": "nonsense"}, PHOTO, 422, "unknown category"),
        ({"category": "other", "description": " "}, PHOTO, 422, "describe"),
        ({"category": "litter"}, b"GIF89a" + b"\0" * 100, 415, ""),
        ({"category": "litter"}, b"\xff\xd8\xff" + b"\0" * 200_000, 413, ""),
    ],
)
def test_refused_report_rerenders_the_form(world, http, form, photo, status, reason) -> None:
    keep = {"description": "<b>piles</b> of boxes", "contact": "010-1234", **form}
    files = {"photo": ("p.jpg", photo, "image/jpeg")} if photo is not None else None
    res = http.post(f"/s/{code_of(world)}/report", data=keep, files=files)
    assert res.status_code == status, res.text
    assert 'role="alert"' in res.text and reason in res.text
    assert 'name="category"' in res.text  # the form again
    if keep["description"].strip():
        assert "&lt;b&gt;piles&lt;/b&gt; of boxes</textarea>" in res.text
    assert 'value="010-1234"' in res.text


def test_rate_limit_answers_429_with_retry_after(world, http) -> None:
    code = code_of(world)
    for kind in ("litter", "piled_materials", "other"):
        res = http.post(f"/s/{code}/report", data={"category": kind, "description": "boxes"},
                        files={"photo": ("p.jpg", PHOTO, "image/jpeg")})  # fmt: skip
        assert res.status_code == 303
    res = http.post(f"/s/{code}/report", data={"category": "litter"}, files={"photo": ("p.jpg", PHOTO, "image/jpeg")})
    assert res.status_code == 429 and int(res.headers["retry-after"]) > 0
    assert "too many reports" in res.text


def sign_in(http, token: str, next_path: str = "/login"):
    return http.post("/login", data={"token": token, "next": next_path})


def test_inspector_signs_in_and_records_a_fail(world, http) -> None:
    code = code_of(world, "shop-b")
    assert "巡查员登录" in http.get(f"/s/{code}").text and "inspection" not in http.get(f"/s/{code}").text
    assert sign_in(http, "not-a-token-but-long").status_code == 401
    assert sign_in(http, "operator-token-0123456789abcdef").status_code == 403  # the page is for inspectors
    assert http.cookies.get("frontage_session") is None
    res = sign_in(http, INSPECTOR, f"/s/{code}")
    assert res.status_code == 303 and res.headers["location"] == f"/s/{code}"
    cookie = res.headers["set-cookie"]
    assert "frontage_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert INSPECTOR not in cookie  # a signed session, not the token
    page = http.get(f"/s/{code}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert f'action="/s/{code}/inspection"' in page and "zhou" in page
    forged = http.post(f"/s/{code}/inspection", data={"csrf": "x" * 32, "order": "fail"})
    assert forged.status_code == 403
    empty = http.post(f"/s/{code}/inspection", data={"csrf": csrf, "note": "<i>n</i>"})
    assert empty.status_code == 422 and "&lt;i&gt;n&lt;/i&gt;</textarea>" in empty.text
    done = http.post(f"/s/{code}/inspection", data={"csrf": csrf, "order": "fail", "note": "boxes out"},
                     files={"photo": ("p.jpg", PHOTO, "image/jpeg")})  # fmt: skip
    assert done.status_code == 200, done.text
    with Session(world.engine) as s:
        case = s.scalars(select(CaseRow).where(CaseRow.source == "inspector", CaseRow.shop_id == "shop-b")).one()
    assert (case.kind, case.state) == ("inspection_failed", "detected")
    assert f"#{case.id}" in done.text
    passed = http.post(f"/s/{code}/inspection", data={"csrf": csrf, "order": "pass"})
    assert passed.status_code == 200 and f"#{case.id}" in passed.text and "已整改" in passed.text
    assert http.post("/logout", data={"csrf": csrf}).status_code == 303
    http.cookies.clear()
    assert http.post(f"/s/{code}/inspection", data={"csrf": csrf, "order": "fail"}).status_code == 401


def test_pages_with_the_csrf_token_or_the_inspectors_name_are_private_no_store(world, http) -> None:
    code = code_of(world)  # shop-a keeps sanitation and order
    assert http.get(f"/s/{code}").headers["cache-control"] == "no-cache"
    assert http.get("/login").headers["cache-control"] == "no-cache"
    signed = sign_in(http, INSPECTOR, f"/s/{code}")
    assert signed.headers["cache-control"] == "private, no-store"
    page = http.get(f"/s/{code}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answers = {
        "shop page": page,
        "signed in": http.get("/login"),
        "refused inspection": http.post(f"/s/{code}/inspection", data={"csrf": csrf}),
        "refused report": http.post(f"/s/{code}/report", data={"category": "litter"}),
        "inspection done": http.post(f"/s/{code}/inspection", data={"csrf": csrf, "order": "pass"}),
    }
    for what, res in answers.items():
        assert res.headers["cache-control"] == "private, no-store", what
        assert "zhou" in res.text or what == "inspection done", what
    # the pass covered order only: sanitation was not looked at, so nothing is resolved, and the page says so
    partial = answers["inspection done"].text
    assert "部分合格" in partial and "Not inspected: Street cleanliness" in partial and "已整改结案" not in partial


def test_logout_needs_the_forms_csrf_token(world, http) -> None:
    code = code_of(world)
    sign_in(http, INSPECTOR)
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get(f"/s/{code}").text).group(1)
    for forged in ({}, {"csrf": ""}, {"csrf": "x" * 32}):
        res = http.post("/logout", data=forged)
        assert res.status_code == 403, forged
        assert "frontage_session" not in res.headers.get("set-cookie", "")
        assert 'name="csrf"' in http.get(f"/s/{code}").text  # still signed in
    out = http.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'frontage_session=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    assert 'name="csrf"' not in http.get(f"/s/{code}").text
    http.cookies.clear()
    assert http.post("/logout").status_code == 303  # not signed in: nothing to protect


def test_a_session_holds_across_worker_processes_and_restarts_until_the_key_rotates(world, snaps, http) -> None:
    """Several `frontage serve` workers on one store: each derives the session key from the district's signboard
    key, so a cookie signed by one is good at another (and after a restart)."""
    code = code_of(world, "shop-b")
    sign_in(http, INSPECTOR, f"/s/{code}")
    cookie = http.cookies.get("frontage_session")
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get(f"/s/{code}").text).group(1)
    other = create_app(CFG, world.engine, world.workflow, snapshot_dir=snaps, upload_dir=world.upload_dir)
    with TestClient(other, follow_redirects=False, cookies={"frontage_session": cookie}) as second:
        assert "zhou" in second.get("/login").text
        done = second.post(f"/s/{code}/inspection", data={"csrf": csrf, "order": "fail"})
        assert done.status_code == 200 and "巡查不合格" in done.text
        rotate_key(world.engine, SEEDED_AT)  # rotating the signboard key signs everyone out, everywhere
        assert 'name="token"' in second.get("/login").text
    assert 'name="token"' in http.get("/login").text


def test_session_cookie_cannot_be_forged_or_outlive_its_day(world, http) -> None:
    code = code_of(world)
    sign_in(http, INSPECTOR)
    good = http.cookies.get("frontage_session")
    payload, sig = good.split(".")
    http.cookies.clear()
    http.cookies.set("frontage_session", payload + "." + sig[:-2] + "AA")
    assert 'name="csrf"' not in http.get(f"/s/{code}").text
    http.cookies.clear()
    http.cookies.set("frontage_session", good)
    assert 'name="csrf"' in http.get(f"/s/{code}").text
    world.clock.advance(13 * 3600)
    assert 'name="csrf"' not in http.get(f"/s/{code}").text


BAD_NEXT = ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "/\t/evil.example",
            "/\n/evil.example", "/\r/evil.example", "/ /evil.example", "\t//evil.example", "/\x7f/x", "/\x00/x",
            "/\\/evil.example", "evil.example", "http:/evil.example", "/s/x\n")  # fmt: skip


def test_login_never_redirects_off_site(http) -> None:
    for bad in BAD_NEXT:
        assert _safe_next(bad) == "/login", repr(bad)
    for good in ("/s/abc.DEF", "/s/abc?x=1#top", "/login", "/r/ABCDEFGHJK"):
        assert _safe_next(good) == good
    for bad in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "/\t/evil.x"):
        res = sign_in(http, INSPECTOR, bad)
        assert res.status_code == 303 and res.headers["location"] == "/login", bad
    # signed in, the page's Continue link is the next path: a tab would make it //evil.example in a browser
    signed_in = http.get("/login", params={"next": "/\t/evil.example"}).text
    assert 'href="/login"' in signed_in and "evil" not in signed_in
    http.cookies.clear()
    assert 'value="/login"' in http.get("/login", params={"next": "//evil.example"}).text
    assert "evil" not in http.get("/login", params={"next": "/\t/evil.example"}).text


def test_view_picture_blurs_people_and_draws_the_frontage(world, http, snaps) -> None:
    code = code_of(world)
    assert http.get(f"/s/{code}/view.jpg").status_code == 404
    frame = cv2.resize(cv2.imdecode(np.frombuffer(PHOTO, np.uint8), cv2.IMREAD_COLOR), (640, 360))
    (snaps / "views").mkdir()
    (snaps / "views" / "cam1.jpg").write_bytes(public_view(frame, [(400, 50, 500, 150)], []))
    assert 'src="/s/' in http.get(f"/s/{code}").text
    res = http.get(f"/s/{code}/view.jpg")
    assert res.status_code == 200 and res.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(res.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (360, 640, 3)
    # shop-a's polygon on cam1 is tinted yellow; shop-b's on cam2 is not drawn
    inside, outside = img[260:340, 40:280].astype(float), frame[260:340, 40:280].astype(float)
    assert inside[..., 1].mean() > outside[..., 1].mean() + 5 and inside[..., 0].mean() < outside[..., 0].mean()


def high_freq(img: np.ndarray) -> float:
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_64F)).mean())


@pytest.fixture(scope="module")
def street(weights):
    """The real model as rules that watch cars and bicycles (not people) load it, and a real still with people."""
    from detector.yolo import YoloDetector
    from frontage.assets import shared_dir
    from frontage.config import DetectorConfig

    image = cv2.imread(str(shared_dir() / "media" / "muenster-webcam" / "pedestrians-bikes-shopfronts.jpg"))
    assert image is not None
    return YoloDetector(DetectorConfig(), weights, {"car", "bicycle"}), image


def _finder(model, rule_classes: list[str]):
    """The camera process's finder for what rules watching `rule_classes` leave out (people, other vehicles)."""
    from dispatch.evidence import privacy_finder
    from frontage.config import parse_config

    cfg = parse_config({"rules": {"illegal_parking": {"classes": rule_classes, "dwell_s": 60},
                                  "out_of_store_trading": {"classes": ["chair"], "dwell_s": 60}}})  # fmt: skip
    return cfg, privacy_finder(model, cfg)


@pytest.mark.model
def test_public_view_blurs_the_people_the_model_finds(street) -> None:
    model, image = street
    people = [d.xyxy for d in _finder(model, ["car", "bicycle"])[1](image) if d.cls == "person"]
    assert len(people) >= 2
    out = cv2.imdecode(np.frombuffer(public_view(image, people, []), np.uint8), cv2.IMREAD_COLOR)
    mask = np.zeros(image.shape[:2], bool)
    for x1, y1, x2, y2 in people:
        x1, y1, x2, y2 = (int(v) for v in (x1, y1, x2, y2))
        if (x2 - x1) * (y2 - y1) < 400:
            continue
        before, after = high_freq(image[y1:y2, x1:x2]), high_freq(out[y1:y2, x1:x2])
        assert after < 0.35 * before, (x1, y1, x2, y2, before, after)
        mask[max(0, y1 - 40) : y2 + 40, max(0, x1 - 40) : x2 + 40] = True
    # away from the people the picture is intact (JPEG aside)
    diff = np.abs(out.astype(int) - image.astype(int)).mean(axis=2)
    assert diff[~mask].mean() < 4.0


@pytest.mark.model
def test_camera_process_writes_a_blurred_view_every_five_minutes(street, tmp_path) -> None:
    from detector.types import Detection, Evidence
    from dispatch.evidence import privacy_classes
    from frontage.public_views import PublicViews

    rules_see, image = street
    cfg, find = _finder(rules_see, ["car", "bicycle"])
    assert find is not None
    assert rules_see._keep == {"car", "bicycle"}  # the copy asks for people; the rules' detector is unchanged
    found = find(image)
    people = [d.xyxy for d in found if d.cls == "person"]
    assert len(people) >= 2 and {d.cls for d in found} <= {"person", "truck", "bus", "motorcycle"}
    views = PublicViews(tmp_path / "views", find, privacy_classes(cfg))
    assert not views.offer("cam1", image, [], Evidence.unchanged, 0.0)  # only frames the model saw
    assert views.offer("cam1", image, [], Evidence.seen, 10.0)
    written = tmp_path / "views" / "cam1.jpg"
    out = cv2.imread(str(written))
    x1, y1, x2, y2 = (int(v) for v in max(people, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])))
    assert high_freq(out[y1:y2, x1:x2]) < 0.35 * high_freq(image[y1:y2, x1:x2])
    pushed = views.latest["cam1"]  # what the camera process pushes to the zone editor: the same redacted frame
    assert pushed.shape == image.shape and high_freq(pushed[y1:y2, x1:x2]) < 0.35 * high_freq(image[y1:y2, x1:x2])
    before = written.stat().st_mtime_ns
    assert not views.offer("cam1", image, [], Evidence.seen, 10.0 + 299)  # once per 300 s per camera
    assert views.offer("cam1", image, [], Evidence.seen, 10.0 + 300) and written.stat().st_mtime_ns >= before
    # where the rules watch people, the frame's own detections say where they are: no extra model call
    everything, nothing_left = _finder(rules_see, ["person", "car", "truck", "bus", "motorcycle", "bicycle"])
    assert nothing_left is None
    own = PublicViews(tmp_path / "own", None, privacy_classes(everything))
    assert own.offer("cam2", image, [Detection("person", 0.9, (x1, y1, x2, y2))], Evidence.seen, 0.0)
    mine = cv2.imread(str(tmp_path / "own" / "cam2.jpg"))
    assert high_freq(mine[y1:y2, x1:x2]) < 0.35 * high_freq(image[y1:y2, x1:x2])


def test_blur_leaves_the_callers_frame_alone() -> None:
    frame = np.random.default_rng(1).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    copy = frame.copy()
    public_view(frame, [(10, 10, 60, 60)], [[(0, 0), (50, 0), (50, 50)]])
    assert np.array_equal(frame, copy)


def test_when_shows_the_config_timezone() -> None:
    from api.public_pages import status_page

    body = status_page({"tracking_code": "ABCDEFGHJK", "category": "litter", "shop_name": "<x>", "state": "resolved",
                        "received_at": dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)}, "Asia/Shanghai")  # fmt: skip
    assert "2026-03-02 16:00" in body and "&lt;x&gt;" in body and "已整改" in body
