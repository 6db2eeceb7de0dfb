"""Every endpoint against every kind of caller, one test per cell.

The target case belongs to shop-a: `merchant-own` holds shop-a's token, `merchant-other` shop-b's. Another
shop's case must answer 404 (not 403), so a merchant cannot tell which ids exist.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dispatch.baselines import camera_events

WHO = [None, "bad", "admin", "operator", "merchant-own", "merchant-other"]
U = (401, 401)  # no token, bad token

# name: (method, path, body kind, expected status for admin, operator, merchant-own, merchant-other)
MATRIX: dict[str, tuple[str, str, str | None, tuple[int, ...]]] = {
    "me": ("GET", "/me", None, U + (200, 200, 200, 200)),
    "list cases": ("GET", "/cases", None, U + (200, 200, 200, 200)),
    "case": ("GET", "/cases/{case}", None, U + (200, 200, 200, 404)),
    "unknown case": ("GET", "/cases/999999", None, U + (404, 404, 404, 404)),
    "snapshot": ("GET", "/cases/{case}/snapshot.jpg", None, U + (200, 200, 200, 404)),
    "confirm": ("POST", "/cases/{case}/actions", "confirm", U + (200, 200, 403, 404)),
    "acknowledge": ("POST", "/cases/{case}/actions", "acknowledge", U + (200, 200, 200, 404)),
    "dismiss": ("POST", "/cases/{case}/actions", "dismiss", U + (200, 200, 403, 404)),
    "escalate": ("POST", "/cases/{case}/actions", "escalate", U + (200, 200, 403, 404)),
    "resolve": ("POST", "/cases/{case}/actions", "resolve", U + (200, 200, 200, 404)),
    "act on unknown case": ("POST", "/cases/999999/actions", "confirm", U + (404, 404, 404, 404)),
    "fixed": ("POST", "/cases/{case}/fixed", "photo", U + (200, 403, 200, 404)),
    "shops": ("GET", "/shops", None, U + (200, 200, 200, 200)),
    "shop": ("GET", "/shops/shop-a", None, U + (200, 200, 200, 404)),
    "cameras": ("GET", "/cameras", None, U + (200, 200, 403, 403)),
    "metrics": ("GET", "/metrics", None, U + (200, 200, 403, 403)),
    "baseline": ("GET", "/cameras/{camera}/baseline", None, U + (200, 200, 403, 403)),
    "unknown camera baseline": ("GET", "/cameras/cam9/baseline", None, U + (404, 404, 403, 403)),
    "add fixture": ("POST", "/cameras/{camera}/baseline/fixtures", "fixture", U + (201, 201, 403, 403)),
    "remove fixture": ("DELETE", "/cameras/{camera}/baseline/fixtures/0", None, U + (200, 403, 403, 403)),
    "belongs": ("POST", "/cases/{case}/belongs", "note", U + (200, 200, 403, 403)),
    "belongs unknown case": ("POST", "/cases/999999/belongs", "note", U + (404, 404, 403, 403)),
    # no camera process runs beside this app: staff get the clear 409, merchants never get that far
    "confirm view": ("POST", "/cameras/{camera}/view/confirm", "reason", U + (409, 409, 403, 403)),
    "camera events": ("GET", "/cameras/{camera}/events", None, U + (200, 200, 403, 403)),
    "healthz": ("GET", "/healthz", None, (200,) * 6),
    "review page": ("GET", "/", None, (200,) * 6),
}
CELLS = [
    pytest.param(name, who, expected[i], id=f"{name}-{who or 'no-token'}")
    for name, (_, _, _, expected) in MATRIX.items()
    for i, who in enumerate(WHO)
]


@pytest.mark.parametrize(("endpoint", "who", "expected"), CELLS)
def test_cell(world, auth, jpeg, endpoint, who, expected):
    method, path, body, _ = MATRIX[endpoint]
    case_id = world.ids["a_reminded"]
    kwargs: dict = {"headers": auth(who)}
    if body == "photo":
        kwargs["files"] = {"photo": ("fixed.jpg", jpeg, "image/jpeg")}
    elif body == "fixture":
        kwargs["json"] = {"shop_id": "shop-a", "polygon": [[30, 210], [80, 210], [80, 250], [30, 250]], "note": "bench"}
    elif body == "note":
        kwargs["json"] = {"note": "the café's own bench"}
    elif body == "reason":
        kwargs["json"] = {"reason": "checked on camera 1"}
    elif body is not None:
        kwargs["json"] = {"action": body, "reason": "checked on camera 1"}
    with TestClient(world.app()) as client:
        res = client.request(method, path.format(case=case_id, camera="cam1"), **kwargs)
    assert res.status_code == expected, res.text
    if expected == 401:
        assert res.headers["www-authenticate"].startswith("Bearer")
    if expected >= 400:
        assert isinstance(res.json()["detail"], str) and res.json()["detail"]
    if method == "POST" and expected == 200:
        assert world.ledger(case_id)[-1].data.get("by") in {"ada", "otto", "li"}
    if method == "POST" and expected != 200:
        assert len(world.ledger(case_id)) == 2  # opened + reminded: a refused request leaves no trace
    if path.startswith("/cameras/") and expected != 200 and expected != 201:
        assert camera_events(world.engine, "cam1") == []  # nor in the camera ledger


def test_the_matrix_covers_every_documented_operation(world):
    schema = world.app().openapi()
    documented = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    covered = {
        (m, p.replace("{case}", "{case_id}").replace("shop-a", "{shop_id}").replace("{camera}", "{camera_id}")
         .replace("/fixtures/0", "/fixtures/{index}"))
        for m, p, _, _ in MATRIX.values()
    }  # fmt: skip
    assert documented <= covered
