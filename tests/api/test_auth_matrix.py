"""Every endpoint against every kind of caller, one test per cell.

The target case belongs to shop-a: `merchant-own` holds shop-a's token, `merchant-other` shop-b's. Another
shop's case must answer 404 (not 403), so a merchant cannot tell which ids exist. An inspector reads shops and
cases and records inspections; every other change is for operators and admins. The public routes (signboard
pages, citizen reports, the lists) answer everyone alike, whatever token comes with the request.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dispatch.baselines import camera_events
from dispatch.db import CaseRow
from dispatch.evidence_links import platform_sig
from register.db import ShopRow
from register.evidence_keys import evidence_key
from register.signboards import code_for
from tests.api.conftest import CFG, jpeg_bytes

WHO = [None, "bad", "admin", "operator", "merchant-own", "merchant-other", "inspector"]
U = (401, 401)  # no token, bad token
PUBLIC = lambda status: (status,) * 7  # noqa: E731  (the same answer for every caller)
STAFF_READ = U + (200, 200, 403, 403, 403)

# name: (method, path, body kind, expected status for admin, operator, merchant-own, merchant-other)
MATRIX: dict[str, tuple[str, str, str | None, tuple[int, ...]]] = {
    "me": ("GET", "/me", None, U + (200, 200, 200, 200, 200)),
    "list cases": ("GET", "/cases", None, U + (200, 200, 200, 200, 200)),
    "case": ("GET", "/cases/{case}", None, U + (200, 200, 200, 404, 200)),
    "unknown case": ("GET", "/cases/999999", None, U + (404, 404, 404, 404, 404)),
    "snapshot": ("GET", "/cases/{case}/snapshot.jpg", None, U + (200, 200, 200, 404, 200)),
    "confirm": ("POST", "/cases/{case}/actions", "confirm", U + (200, 200, 403, 404, 403)),
    "acknowledge": ("POST", "/cases/{case}/actions", "acknowledge", U + (200, 200, 200, 404, 403)),
    "dismiss": ("POST", "/cases/{case}/actions", "dismiss", U + (200, 200, 403, 404, 403)),
    "escalate": ("POST", "/cases/{case}/actions", "escalate", U + (200, 200, 403, 404, 403)),
    "resolve": ("POST", "/cases/{case}/actions", "resolve", U + (200, 200, 200, 404, 403)),
    "act on unknown case": ("POST", "/cases/999999/actions", "confirm", U + (404, 404, 404, 404, 404)),
    "fixed": ("POST", "/cases/{case}/fixed", "photo", U + (200, 403, 200, 404, 403)),
    "shops": ("GET", "/shops", None, U + (200, 200, 200, 200, 200)),
    "shop": ("GET", "/shops/shop-a", None, U + (200, 200, 200, 404, 200)),
    "cameras": ("GET", "/cameras", None, U + (200, 200, 403, 403, 403)),
    "metrics": ("GET", "/metrics", None, U + (200, 200, 403, 403, 403)),
    "baseline": ("GET", "/cameras/{camera}/baseline", None, U + (200, 200, 403, 403, 403)),
    "unknown camera baseline": ("GET", "/cameras/cam9/baseline", None, U + (404, 404, 403, 403, 403)),
    "add fixture": ("POST", "/cameras/{camera}/baseline/fixtures", "fixture", U + (201, 201, 403, 403, 403)),
    "remove fixture": ("DELETE", "/cameras/{camera}/baseline/fixtures/0", None, U + (200, 403, 403, 403, 403)),
    "belongs": ("POST", "/cases/{case}/belongs", "note", U + (200, 200, 403, 403, 403)),
    "belongs unknown case": ("POST", "/cases/999999/belongs", "note", U + (404, 404, 403, 403, 403)),
    # no camera process runs beside this app: staff get the clear 409, merchants never get that far
    "confirm view": ("POST", "/cameras/{camera}/view/confirm", "reason", U + (409, 409, 403, 403, 403)),
    "camera events": ("GET", "/cameras/{camera}/events", None, U + (200, 200, 403, 403, 403)),
    # the register
    "shops search": ("GET", "/shops?q=noodle&street=&limit=5", None, U + (200, 200, 200, 200, 200)),
    "register-only shop": ("GET", "/shops/shop-r", None, U + (200, 200, 404, 404, 200)),
    "edit shop": ("PATCH", "/shops/shop-a", "shop edit", U + (200, 200, 403, 403, 403)),
    "shop history": ("GET", "/shops/shop-a/history", None, STAFF_READ),
    # citizens
    "public report": ("POST", "/public/reports", "report", PUBLIC(201)),
    "public report, bad code": ("POST", "/public/reports", "report bad code", PUBLIC(404)),
    "report status": ("GET", "/public/reports/{tracking}", None, PUBLIC(200)),
    "reports": ("GET", "/reports", None, STAFF_READ),
    "report photo": ("GET", "/reports/1/photo.jpg", None, STAFF_READ),
    # inspectors
    "inspect": ("POST", "/shops/shop-a/inspections", "inspection", U + (201, 403, 403, 403, 201)),
    "inspect unknown shop": ("POST", "/shops/nowhere/inspections", "inspection", U + (404, 403, 403, 403, 404)),
    "inspections": ("GET", "/shops/shop-r/inspections", None, U + (200, 200, 403, 403, 200)),
    "inspection photo": ("GET", "/inspections/1/photo.jpg", None, U + (200, 200, 403, 403, 200)),
    # credit, lists, statistics
    "credit parties": ("GET", "/credit/parties", None, STAFF_READ),
    "credit party": ("GET", "/credit/parties/party-r", None, STAFF_READ),
    "recompute credit": ("POST", "/credit/recompute", None, U + (200, 403, 403, 403, 403)),
    "public lists": ("GET", "/public/lists", None, PUBLIC(200)),
    "stats": ("GET", "/stats", None, STAFF_READ),
    "monthly csv": ("GET", "/reports/monthly.csv?month=2026-03", None, STAFF_READ),
    "monthly pdf": ("GET", "/reports/monthly.pdf?month=2026-03", None, STAFF_READ),
    # pages (not in the schema)
    "signboard page": ("GET", "/s/{code}", None, PUBLIC(200)),
    "invalid signboard page": ("GET", "/s/not-a-code", None, PUBLIC(404)),
    "tracking page": ("GET", "/r/{tracking}", None, PUBLIC(200)),
    "sign-in page": ("GET", "/login", None, PUBLIC(200)),
    "credit page": ("GET", "/credit", None, PUBLIC(200)),
    # zone editor page (the page holds no data; its API calls carry the token)
    "zones page": ("GET", "/zones", None, PUBLIC(200)),
    # privacy of evidence (issue 11): originals for staff only (logged), the log for admins, the platform's link
    "original snapshot": ("GET", "/cases/{case}/snapshot.jpg?original=true", None, U + (200, 200, 403, 404, 403)),
    "evidence access log": ("GET", "/evidence/access-log?case_id=1", None, U + (200, 403, 403, 403, 403)),
    "platform evidence": ("GET", "/evidence/{case}/platform.jpg?sig={sig}", None, PUBLIC(200)),
    "platform evidence, forged": ("GET", "/evidence/{case}/platform.jpg?sig=forged", None, PUBLIC(404)),
    "healthz": ("GET", "/healthz", None, (200,) * 7),
    "review page": ("GET", "/", None, (200,) * 7),
    # the zone editor (issue 11): admins write, operators read; camera processes push frames with an admin token
    "zones": ("GET", "/cameras/{camera}/zones", None, STAFF_READ),
    "unknown camera zones": ("GET", "/cameras/cam9/zones", None, U + (404, 404, 403, 403, 403)),
    "zone versions": ("GET", "/cameras/{camera}/zones/versions", None, STAFF_READ),
    "zone version": ("GET", "/cameras/{camera}/zones/1", None, STAFF_READ),
    "check zones": ("POST", "/cameras/{camera}/zones/check", "zones", U + (200, 403, 403, 403, 403)),
    "save zones": ("PUT", "/cameras/{camera}/zones", "zones", U + (201, 403, 403, 403, 403)),
    "export zones": ("GET", "/cameras/{camera}/zones.yaml", None, STAFF_READ),
    "import zones": ("POST", "/cameras/{camera}/zones.yaml", "zones yaml", U + (201, 403, 403, 403, 403)),
    # cam1's source is a stream: staff get the clear 409, everyone else never gets that far
    "recording frame": ("GET", "/cameras/{camera}/recording-frame.jpg?t=1", None, U + (409, 409, 403, 403, 403)),
    "push camera snapshot": ("PUT", "/cameras/{camera}/snapshot.jpg", "frame", U + (200, 403, 403, 403, 403)),
    "camera snapshot, none pushed": ("GET", "/cameras/{camera}/snapshot.jpg", None, U + (404, 404, 403, 403, 403)),
    # where and when (issue 11): statistics, heat map, district map
    "insights summary": ("GET", "/insights/summary", None, STAFF_READ),
    "insights summary csv": ("GET", "/insights/summary.csv", None, STAFF_READ),
    "camera heatmap": ("GET", "/cameras/{camera}/heatmap", None, STAFF_READ),
    "unknown camera heatmap": ("GET", "/cameras/cam9/heatmap", None, U + (404, 404, 403, 403, 403)),
    "shops map": ("GET", "/insights/shops-map", None, STAFF_READ),
    "insights page": ("GET", "/insights", None, PUBLIC(200)),
    "map page": ("GET", "/map", None, PUBLIC(200)),
}
CELLS = [
    pytest.param(name, who, expected[i], id=f"{name}-{who or 'no-token'}")
    for name, (_, _, _, expected) in MATRIX.items()
    for i, who in enumerate(WHO)
]


def _signboard_code(world, shop_id: str = "shop-a") -> str:
    with Session(world.engine) as s:
        return code_for(world.engine, CFG, s.get(ShopRow, shop_id))


def _platform_sig(world, case_id: int) -> str:
    with Session(world.engine) as s:
        key = s.get(CaseRow, case_id).violation_key
    return platform_sig(evidence_key(world.engine, CFG, world.clock.now()), case_id, key)


@pytest.mark.parametrize(("endpoint", "who", "expected"), CELLS)
def test_cell(district_world, auth, jpeg, endpoint, who, expected):
    world = district_world
    method, path, body, _ = MATRIX[endpoint]
    case_id = world.ids["a_reminded"]
    kwargs: dict = {"headers": auth(who)}
    photo = {"photo": ("photo.jpg", jpeg_bytes((320, 180)), "image/jpeg")}
    if body in ("report", "report bad code"):
        code = _signboard_code(world) if body == "report" else "guessed-code"
        kwargs |= {"files": photo, "data": {"code": code, "category": "litter", "description": "bags"}}
    elif body == "inspection":
        kwargs |= {"files": photo, "data": {"sanitation": "pass", "order": "pass", "greenery": "pass", "note": "ok"}}
    elif body == "shop edit":
        kwargs["json"] = {"address": "1 Main St, east door"}
    elif body == "photo":
        kwargs["files"] = {"photo": ("fixed.jpg", jpeg, "image/jpeg")}
    elif body == "fixture":
        kwargs["json"] = {"shop_id": "shop-a", "polygon": [[30, 210], [80, 210], [80, 250], [30, 250]], "note": "bench"}
    elif body == "zones":
        polygon = [[20, 200], [300, 200], [300, 350], [20, 350]]
        kwargs["json"] = {"frontages": [{"shop_id": "shop-a", "polygon": polygon}], "note": "door", "base_version": 1}
    elif body == "zones yaml":
        kwargs |= {"content": "shops: [{id: shop-a, frontages: [{camera_id: cam1, polygon: [[20, 200], [300, 200], "
                   "[300, 350]]}]}]", "headers": {**auth(who), "Content-Type": "application/yaml"}}  # fmt: skip
    elif body == "frame":
        frame = cv2.imencode(".jpg", np.full((CFG.cameras[0].height, CFG.cameras[0].width, 3), 90, np.uint8))[1]
        kwargs |= {"content": frame.tobytes(), "headers": {**auth(who), "Content-Type": "image/jpeg"}}
    elif body == "note":
        kwargs["json"] = {"note": "the café's own bench"}
    elif body == "reason":
        kwargs["json"] = {"reason": "checked on camera 1"}
    elif body is not None:
        kwargs["json"] = {"action": body, "reason": "checked on camera 1"}
    url = path.format(case=case_id, camera="cam1", tracking=world.ids["tracking"], code=_signboard_code(world),
                      sig=_platform_sig(world, case_id))  # fmt: skip
    with TestClient(world.app()) as client:
        res = client.request(method, url, **kwargs)
    assert res.status_code == expected, res.text
    if expected == 401:
        assert res.headers["www-authenticate"].startswith("Bearer")
    if expected >= 400 and res.headers["content-type"].startswith("application/json"):
        assert isinstance(res.json()["detail"], str) and res.json()["detail"]
    if method == "POST" and expected == 200 and path.startswith("/cases/"):
        assert world.ledger(case_id)[-1].data.get("by") in {"ada", "otto", "li"}
    if method == "POST" and expected != 200:
        assert len(world.ledger(case_id)) == 2  # opened + reminded: a refused request leaves no trace
    if path.startswith("/cameras/") and expected != 200 and expected != 201:
        assert camera_events(world.engine, "cam1") == []  # nor in the camera ledger


PARAMS = [  # concrete values in MATRIX paths -> the schema's path parameters
    ("{case}", "{case_id}"), ("shop-a", "{shop_id}"), ("shop-r", "{shop_id}"), ("nowhere", "{shop_id}"),
    ("{camera}", "{camera_id}"), ("/fixtures/0", "/fixtures/{index}"), ("{tracking}", "{tracking_code}"),
    ("/reports/1/", "/reports/{report_id}/"), ("/inspections/1/", "/inspections/{inspection_id}/"),
    ("party-r", "{party_id}"), ("/zones/1", "/zones/{version}"),
]  # fmt: skip


def test_the_matrix_covers_every_documented_operation(world):
    schema = world.app().openapi()
    documented = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    covered = set()
    for m, p, _, _ in MATRIX.values():
        p = p.split("?")[0]
        for concrete, param in PARAMS:
            p = p.replace(concrete, param)
        covered.add((m, p))
    assert documented <= covered, documented - covered
