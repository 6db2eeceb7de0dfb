"""The evidence each caller gets: merchants and inspectors the merchant's rendering, staff a redacted view by default
and the original on request (403 for anyone else, every view logged and listed for admins), the city platform a
signed link without a token (tampered: 404), and 410 with the reason once retention deleted the evidence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from detector.types import Detection
from dispatch.cases import CaseRecorder
from dispatch.db import CaseRow, make_engine
from dispatch.retention import purge_evidence
from dispatch.workflow import Action, Actor, Workflow
from frontage.assets import shared_dir
from frontage.clock import ManualClock
from frontage.config import RuleKind
from register.evidence_keys import evidence_key_source
from register.shops import register_config_shops, shop_lookup
from tests.api.conftest import CFG, POLYGONS, T0, headers
from zones.dwell import EventType, ViolationEvent

STILL = "trucks-stopped-by-arcade-shops.jpg"
# The real model's boxes on that still (tests/dispatch/test_privacy.py runs the model on it), at the camera's
# 640x360: the stopped truck (read as a bus, the case's subject), a person beside it, the other vehicles.
SUBJECT = (226.5, 160.0, 354.0, 290.0)
PERSON = (257.5, 297.5, 280.0, 335.0)
OTHER_VEHICLES = [("bus", (351.0, 98.5, 436.5, 188.5)), ("car", (467.0, 82.0, 493.0, 105.0))]


class Box:
    def __init__(self, root: Path):
        image = cv2.imread(str(shared_dir() / "media" / "muenster-webcam" / STILL))
        assert image is not None, f"{STILL} does not decode"
        self.image = cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA)
        self.clock = ManualClock(T0)
        self.engine = make_engine(f"sqlite:///{root / 'cases.db'}")
        register_config_shops(self.engine, CFG, T0)
        self.wf = Workflow(self.engine, CFG, self.clock, shops=shop_lookup(self.engine),
                           evidence_key=evidence_key_source(self.engine, CFG, self.clock))  # fmt: skip
        self.snaps = root / "snaps"
        privacy = [Detection("person", 0.8, PERSON), Detection("bus", 0.7, SUBJECT)]
        privacy += [Detection(cls, 0.5, box) for cls, box in OTHER_VEHICLES]
        rec = CaseRecorder(self.engine, self.snaps, POLYGONS, workflow=self.wf, find_privacy=lambda _: privacy)
        self.ids = [self._case(rec, i) for i in range(2)]
        self.client = TestClient(create_app(CFG, self.engine, self.wf, snapshot_dir=self.snaps,
                                            upload_dir=root / "uploads"))  # fmt: skip

    def _case(self, rec: CaseRecorder, i: int) -> int:
        ev = ViolationEvent(EventType.opened, f"privacy/{i}", "cam1", "shop-a", RuleKind.illegal_parking, "car", 0.0,
                            60.0, SUBJECT, 60.0, opened_t=60.0)  # fmt: skip
        case_id = rec.handle(ev, T0, self.image, [Detection("car", 0.6, OTHER_VEHICLES[1][1])])
        assert case_id is not None
        return case_id

    def get(self, path: str, who: str | None) -> tuple[int, np.ndarray | None, dict]:
        res = self.client.get(path, headers=headers(who))
        img = cv2.imdecode(np.frombuffer(res.content, np.uint8), cv2.IMREAD_COLOR) if res.status_code == 200 else None
        return res.status_code, img, dict(res.headers) | ({"json": res.json()} if res.status_code != 200 else {})


@pytest.fixture(scope="module")
def box(tmp_path_factory, assets_ready) -> Box:
    return Box(tmp_path_factory.mktemp("privacy"))


def region(img: np.ndarray, b: tuple[float, float, float, float]) -> np.ndarray:
    x1, y1, x2, y2 = (int(round(v)) for v in b)
    return img[y1:y2, x1:x2].astype(int)


def kept(a: np.ndarray, b: np.ndarray, where: tuple[float, float, float, float]) -> float:
    """The share of pixels in `where` that two renderings share (within JPEG noise)."""
    return float((np.abs(region(a, where) - region(b, where)) <= 3).all(axis=2).mean())


def test_each_role_gets_its_rendering(box):
    snap = f"/cases/{box.ids[0]}/snapshot.jpg"
    status, original, head = box.get(snap + "?original=true", "admin")
    assert status == 200 and head["x-evidence-audience"] == "admin"
    seen = {}
    for who, audience in [("merchant-own", "merchant"), ("inspector", "merchant"), ("operator", "console"),
                          ("admin", "console")]:  # fmt: skip
        status, img, head = box.get(snap, who)
        assert status == 200 and head["x-evidence-audience"] == audience, who
        assert kept(original, img, PERSON) < 0.25, f"{who}: the person keeps its pixels"
        assert kept(original, img, SUBJECT) > 0.95, f"{who}: the subject is blurred"
        seen[who] = img
    for _, vehicle in OTHER_VEHICLES:
        assert kept(original, seen["merchant-own"], vehicle) < 0.5  # plates of others: not for merchants
        assert kept(original, seen["operator"], vehicle) > 0.95  # staff's default view keeps them
    assert box.get(snap, "merchant-other")[0] == 404


def test_originals_are_for_staff_only_and_every_view_is_logged(box):
    case_id = box.ids[0]
    snap = f"/cases/{case_id}/snapshot.jpg"
    before = box.client.get(f"/evidence/access-log?case_id={case_id}", headers=headers("admin")).json()["total"]
    for who, status in [("merchant-own", 403), ("inspector", 403), ("merchant-other", 404), (None, 401)]:
        got, _, head = box.get(snap + "?original=true", who)
        assert got == status and head["json"]["detail"], who
    box.get(snap, "operator")  # a redacted view is not an original: not logged
    box.clock.set(T0 + dt.timedelta(minutes=5))
    assert box.get(snap + "?original=true", "operator")[0] == 200
    box.clock.set(T0 + dt.timedelta(minutes=6))
    assert box.get(snap + "?original=true", "admin")[0] == 200
    res = box.client.get(f"/evidence/access-log?case_id={case_id}", headers=headers("admin"))
    page = res.json()
    assert res.status_code == 200 and page["total"] == before + 2
    newest = [(e["actor"], e["role"], e["what"], e["case_id"], e["at"]) for e in page["items"][:2]]
    assert newest == [("ada", "admin", "original", case_id, "2026-03-02T08:06:00Z"),
                      ("otto", "operator", "original", case_id, "2026-03-02T08:05:00Z")]  # fmt: skip
    only_otto = box.client.get("/evidence/access-log?actor=otto", headers=headers("admin")).json()
    assert {e["actor"] for e in only_otto["items"]} == {"otto"}
    for who in ("operator", "merchant-own", "inspector"):
        assert box.client.get("/evidence/access-log", headers=headers(who)).status_code == 403


def test_the_platform_gets_a_signed_link_and_a_tampered_one_is_404(box):
    a, b = box.ids
    with Session(box.engine) as s:
        url = box.wf._service_request(s.get(CaseRow, a))["media_url"]
    parts = urlsplit(url)
    assert url.startswith("http://frontage.test/evidence/") and parts.query.startswith("sig=")
    path = f"{parts.path}?{parts.query}"
    status, img, head = box.get(path, None)  # no token: the platform has none
    assert status == 200 and head["x-evidence-audience"] == "platform"
    _, original, _ = box.get(f"/cases/{a}/snapshot.jpg?original=true", "admin")
    assert kept(original, img, PERSON) < 0.25 and kept(original, img, SUBJECT) > 0.95
    assert kept(original, img, OTHER_VEHICLES[0][1]) > 0.95  # plates kept for enforcement
    sig = parts.query.removeprefix("sig=")
    tampered = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    for bad in (f"{parts.path}?sig={tampered}", f"/evidence/{b}/platform.jpg?sig={sig}", parts.path,
                f"/evidence/999999/platform.jpg?sig={sig}"):  # fmt: skip
        status, _, head = box.get(bad, None)
        assert status == 404 and head["json"]["detail"] == "no such evidence", bad


def test_bad_input_gets_a_clear_422(box):
    for path, who, loc in [
        ("/evidence/access-log?limit=0", "admin", ["query", "limit"]),
        ("/evidence/access-log?case_id=abc", "admin", ["query", "case_id"]),
        (f"/cases/{box.ids[0]}/snapshot.jpg?original=maybe", "admin", ["query", "original"]),
        (f"/evidence/{box.ids[0]}/platform.jpg?sig={'x' * 201}", None, ["query", "sig"]),
        ("/evidence/0/platform.jpg?sig=x", None, ["path", "case_id"]),
    ]:
        res = box.client.get(path, headers=headers(who))
        assert res.status_code == 422 and res.json()["detail"][0]["loc"] == loc, path


def test_after_retention_the_pages_say_the_evidence_was_deleted(tmp_path, assets_ready):
    w = Box(tmp_path)
    case_id = w.ids[1]
    with Session(w.engine) as s:
        link = urlsplit(w.wf._service_request(s.get(CaseRow, case_id))["media_url"])
    w.wf.act(case_id, Action.resolve, Actor.operator, "gone")
    w.clock.set(T0 + dt.timedelta(days=91))
    assert [p.case_id for p in purge_evidence(w.engine, w.snaps, 90, w.clock.now())] == [case_id]
    for path, who in [(f"/cases/{case_id}/snapshot.jpg", "merchant-own"), (f"/cases/{case_id}/snapshot.jpg?original"
                      "=true", "admin"), (f"{link.path}?{link.query}", None)]:  # fmt: skip
        status, _, head = w.get(path, who)
        assert status == 410 and head["json"]["detail"].startswith("evidence deleted after 90 days"), path
    case = w.client.get(f"/cases/{case_id}", headers=headers("operator")).json()
    assert case["snapshot_url"] is None and case["evidence_deleted_after_days"] == 90
    assert case["evidence_deleted_at"].startswith("2026-06-01")
    assert case["ledger"][-1]["reason"].startswith("evidence deleted after 90 days")
    logged = w.client.get(f"/evidence/access-log?case_id={case_id}", headers=headers("admin")).json()
    assert logged["total"] == 0  # a 410 shows nothing, so it logs nothing
    assert w.get(f"/cases/{w.ids[0]}/snapshot.jpg", "merchant-own")[0] == 200  # the open case keeps its evidence
